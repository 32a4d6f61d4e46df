/**
 * channels.yaml alert rules as the evaluator reads them: each with its name and store key, its
 * hold time and its notification targets (the rule's `notify`, else the channel's `alertNotify`).
 */
import { alertRuleName } from '../channels/alert-names';
import { DEFAULTS } from '../channels/defaults';
import type { AlertNotifyConfig, ChannelConfig } from '../channels/types';
import type { AlertRule, NotifyTargets } from './types';

/** Every rule of every channel, disabled channels included (their open alerts must close). */
export function alertRulesOf(channels: readonly ChannelConfig[]): AlertRule[] {
  return channels.flatMap((channel) =>
    (channel.alerts ?? []).map((config): AlertRule => {
      const name = alertRuleName(config);
      return {
        key: alertRuleKey(channel.id, name),
        channel: channel.id,
        name,
        kind: config.kind,
        forSeconds: config.forSeconds ?? DEFAULTS.alerts.forSeconds,
        notify: targetsOf(config.notify ?? channel.alertNotify),
        channelEnabled: channel.enabled !== false,
        config,
      };
    }),
  );
}

/** `<channel>/<rule>`: channel ids and rule names are kebab-case, so the slash cannot be ambiguous. */
export function alertRuleKey(channel: string, rule: string): string {
  return `${channel}/${rule}`;
}

/** An empty webhook (`${WASL_ALERT_WEBHOOK:-}` with the variable unset) means none. */
function targetsOf(notify: AlertNotifyConfig | undefined): NotifyTargets {
  return { webhook: notify?.webhook || undefined, email: [...(notify?.email ?? [])] };
}
