/**
 * `wasl_alerts_open{channel,rule}`: 1 while the rule has an open alert, else 0, one series per rule
 * this process evaluates. Read at scrape time from the evaluator's last round (which read the
 * store), so every evaluating process reports the same shared state.
 */
import { Gauge, type Registry } from 'prom-client';
import type { AlertEvaluator } from './evaluator';

export function registerAlertsGauge(registry: Registry, evaluator: Pick<AlertEvaluator, 'openRuleKeys' | 'watchedRules'>): Gauge<'channel' | 'rule'> {
  return new Gauge({
    name: 'wasl_alerts_open',
    help: 'Open alerts per channel and rule (1 open, 0 not), as of the last alert evaluation',
    labelNames: ['channel', 'rule'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const open = evaluator.openRuleKeys();
      for (const rule of evaluator.watchedRules()) this.set({ channel: rule.channel, rule: rule.name }, open.has(rule.key) ? 1 : 0);
    },
  });
}
