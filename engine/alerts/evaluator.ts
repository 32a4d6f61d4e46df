/**
 * The alert evaluator: every `intervalMs` it reads each rule's signals and decides, per rule,
 * whether an alert opens (the condition started) or closes (it cleared). Each change is written to
 * the store first and notified only by the process whose write landed, so an alert opens once and
 * closes once however many engines share the database, and a restart neither re-opens an open
 * alert nor forgets to close it (the open set is read from the store every round).
 *
 * `forSeconds` is a hold: the condition must be seen holding (or cleared) for that long before the
 * alert opens (or closes), so a flapping signal does not flood anyone. The hold is timed in memory:
 * after a restart it starts again, which only delays a change, never repeats one.
 *
 * Notifications run beside the rounds, one chain per alert so its close never overtakes its open.
 * A failed notification is logged and recorded on the alert; it never re-opens or re-sends.
 */
import { toWaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import type { Notifier } from './notify/notifier';
import { readRule } from './readings';
import type { AlertSignals } from './signals';
import type { KnexAlertStore } from './store';
import type { AlertNotice, AlertRecord, AlertRule, Reading } from './types';

export interface AlertEvaluatorOptions {
  rules: AlertRule[];
  store: Pick<KnexAlertStore, 'openAlerts' | 'open' | 'close' | 'recordNotification'>;
  signals: AlertSignals;
  notifier: Notifier;
  /** Between rounds (WASL_ALERT_INTERVAL_MS, default 10000). */
  intervalMs: number;
  clock?: () => Date;
  logger?: Logger;
}

/** What one round changed (for tests and logs). */
export interface RoundResult {
  opened: AlertRecord[];
  closed: AlertRecord[];
}

export class AlertEvaluator {
  private readonly rules: AlertRule[];
  private readonly clock: () => Date;
  private readonly log: Logger;
  private readonly startedAt: Date;
  /** When each rule was first seen firing (or cleared) without a change since: the `forSeconds` hold. */
  private readonly firingSince = new Map<string, number>();
  private readonly clearSince = new Map<string, number>();
  /** Open alerts by rule key, as the store said at the last round (plus that round's changes). */
  private open = new Map<string, AlertRecord>();
  /** Last failure code per rule, so a store outage logs once per rule, not once per round. */
  private readonly lastReadError = new Map<string, string>();
  private readonly chains = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly options: AlertEvaluatorOptions) {
    this.rules = options.rules;
    this.clock = options.clock ?? (() => new Date());
    this.log = options.logger ?? createLogger({ stage: 'alerts' });
    this.startedAt = this.clock();
  }

  /** Runs a round now, then one every `intervalMs` after the previous one ends. */
  start(): void {
    if (this.stopped || this.timer || this.round) return;
    const loop = async (): Promise<void> => {
      this.timer = undefined;
      if (this.stopped) return;
      this.round = this.evaluate().catch((err) => this.log.warn('alert round failed; next round at the next interval', { code: toWaslError(err).code }));
      await this.round;
      this.round = undefined;
      if (!this.stopped) this.timer = setTimeout(() => void loop(), this.options.intervalMs).unref();
    };
    void loop();
  }

  /** Stops the rounds and waits for the current one and for notifications under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
    await this.idle();
  }

  /** Resolves once every notification started so far has finished (and been recorded). */
  async idle(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  /** Rule keys with an open alert, as of the last round. */
  openRuleKeys(): ReadonlySet<string> {
    return new Set(this.open.keys());
  }

  /** The rules this evaluator watches. */
  watchedRules(): readonly AlertRule[] {
    return this.rules;
  }

  /** One round over every rule. Exposed for tests; `start` calls it on a timer. */
  async evaluate(): Promise<RoundResult> {
    const result: RoundResult = { opened: [], closed: [] };
    const open = new Map((await this.options.store.openAlerts()).map((a) => [a.ruleKey, a]));
    this.open = open;
    for (const rule of this.rules) {
      const reading = await this.read(rule, open.get(rule.key));
      if (!reading) continue;
      try {
        await this.decide(rule, reading, open, result);
      } catch (err) {
        // The store refused the write: nothing was notified, and the next round decides again.
        this.log.warn('alert state could not be written; tried again next round', { channel: rule.channel, rule: rule.name, code: toWaslError(err).code });
      }
    }
    result.closed.push(...(await this.closeOrphans(open)));
    return result;
  }

  /** Opens or closes the rule's alert when its condition changed and held for `forSeconds`. */
  private async decide(rule: AlertRule, reading: Reading, open: Map<string, AlertRecord>, result: RoundResult): Promise<void> {
    const now = this.clock();
    const current = open.get(rule.key);
    const holdMs = rule.forSeconds * 1000;
    if (reading.firing) {
      this.clearSince.delete(rule.key);
      const since = this.firingSince.get(rule.key) ?? now.getTime();
      this.firingSince.set(rule.key, since);
      if (current || now.getTime() - since < holdMs) return;
      const opened = await this.options.store.open(rule, reading, now);
      // Undefined: another process opened it first, and notifies.
      if (!opened) return;
      open.set(rule.key, opened);
      result.opened.push(opened);
      this.log.warn('alert opened', { alert: opened.id, channel: rule.channel, rule: rule.name, kind: rule.kind, value: reading.value, threshold: reading.threshold });
      this.notify(rule, opened, 'open', reading, now);
      return;
    }
    this.firingSince.delete(rule.key);
    const since = this.clearSince.get(rule.key) ?? now.getTime();
    this.clearSince.set(rule.key, since);
    if (!current || now.getTime() - since < holdMs) return;
    // False: another process closed it first, and notifies.
    const won = await this.options.store.close(current.id, now);
    open.delete(rule.key);
    if (!won) return;
    const closed: AlertRecord = { ...current, state: 'closed', closedAt: now };
    result.closed.push(closed);
    this.log.info('alert closed', { alert: current.id, channel: rule.channel, rule: rule.name, kind: rule.kind, value: reading.value, threshold: reading.threshold });
    this.notify(rule, closed, 'closed', reading, now);
  }

  /** The rule's reading; undefined when its signals cannot be read now (nothing changes this round). */
  private async read(rule: AlertRule, open: AlertRecord | undefined): Promise<Reading | undefined> {
    // A disabled channel watches nothing: read as cleared, so an alert it had closes (and says so).
    if (!rule.channelEnabled) return { firing: false, value: 0, threshold: 0, message: `channel ${rule.channel} is disabled` };
    try {
      const reading = await readRule(rule, this.options.signals, { now: this.clock(), startedAt: this.startedAt, openedAt: open?.openedAt });
      this.lastReadError.delete(rule.key);
      return reading;
    } catch (err) {
      const code = toWaslError(err).code;
      if (this.lastReadError.get(rule.key) !== code) {
        this.log.warn('alert rule could not be read; it keeps its state until it can', { channel: rule.channel, rule: rule.name, kind: rule.kind, code });
      }
      this.lastReadError.set(rule.key, code);
      return undefined;
    }
  }

  /**
   * Open alerts of rules no longer in channels.yaml close without a notice: the removed rule took
   * its targets with it. Their row says when.
   */
  private async closeOrphans(open: Map<string, AlertRecord>): Promise<AlertRecord[]> {
    const known = new Set(this.rules.map((r) => r.key));
    const closed: AlertRecord[] = [];
    for (const [key, alert] of open) {
      if (known.has(key)) continue;
      const now = this.clock();
      open.delete(key);
      if (!(await this.options.store.close(alert.id, now))) continue;
      this.log.info('alert closed: its rule is no longer in the channels file', { alert: alert.id, channel: alert.channel, rule: alert.rule });
      closed.push({ ...alert, state: 'closed', closedAt: now });
    }
    return closed;
  }

  private notify(rule: AlertRule, alert: AlertRecord, state: AlertNotice['state'], reading: Reading, at: Date): void {
    const notice: AlertNotice = {
      alert: alert.id,
      state,
      channel: rule.channel,
      rule: rule.name,
      kind: rule.kind,
      value: reading.value,
      threshold: reading.threshold,
      at: at.toISOString(),
      message: reading.message,
    };
    const targets = rule.notify;
    if (!targets.webhook && targets.email.length === 0) return;
    const previous = this.chains.get(alert.id) ?? Promise.resolve();
    const chain = previous.then(() => this.deliver(notice, rule));
    this.chains.set(alert.id, chain);
    void chain.finally(() => {
      if (this.chains.get(alert.id) === chain) this.chains.delete(alert.id);
    });
  }

  /** Sends and records; never throws. */
  private async deliver(notice: AlertNotice, rule: AlertRule): Promise<void> {
    let error: string | null;
    try {
      error = await this.options.notifier.send(notice, rule.notify);
    } catch (err) {
      error = `notify: ${toWaslError(err).code}`;
    }
    const fields = { alert: notice.alert, channel: notice.channel, rule: notice.rule, state: notice.state };
    if (error) this.log.warn('alert notification failed', { ...fields, error });
    else this.log.info('alert notified', { ...fields, webhook: Boolean(rule.notify.webhook), emails: rule.notify.email.length });
    try {
      await this.options.store.recordNotification(notice.alert, this.clock(), error);
    } catch (err) {
      this.log.warn('could not record an alert notification', { alert: notice.alert, code: toWaslError(err).code });
    }
  }
}
