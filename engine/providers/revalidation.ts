/**
 * NPPES revalidation: every provider Wasl knows (ProviderStore.list, page by page) is looked up
 * again in NPPES, bypassing the response cache, and the result is written back through
 * `ProviderStore.upsert`, which records each change (status, name, address, taxonomy).
 *
 * Deactivation (NPPES.md §4): the API lists active NPIs only, so an NPI that NPPES no longer
 * returns, or returns with a deactivated status, is marked deactivated and raises ONE alert
 * (`npi-deactivated`, key = the NPI; the store makes raising it again a no-op). A lookup that
 * fails (NPPES down, rate limit queue closed) changes nothing for that provider: it is counted as
 * failed and tried again on the next run. Absence is not proof of a typo either: the NPIs in the
 * store passed the check digit when they were stored.
 *
 * The schedule is deliberately simple: an interval (default weekly) on an unref'd timer, plus
 * `runOnce()` for tests, the CLI and an operator's "now". One run at a time; a tick during a run
 * joins it.
 */
import { ValidationError, toWaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import { displayName, type NppesAddress, type NppesRecord } from '../../connectors/nppes/parse';
import type { ProviderAddress, ProviderChange, ProviderRecord, ProviderStore } from './types';

/** What revalidation needs of the NPPES adapter (connectors/nppes/client.ts NppesAdapter). */
export interface NppesLookup {
  lookup(npi: string, opts?: { fresh?: boolean }): Promise<NppesRecord | undefined>;
}

export interface RevalidationDeps {
  store: ProviderStore;
  nppes: NppesLookup;
  logger?: Logger;
  clock?: () => Date;
}

export interface RevalidationOptions {
  /**
   * How often: `weekly` (default), `daily`, `hourly`, `<n>ms|s|m|h|d|w` (`12h`), `every 3d`, an
   * ISO 8601 duration (`P7D`, `PT6H`), or milliseconds as a number.
   */
  schedule?: string | number;
  /** Providers per ProviderStore.list page (default 100). */
  pageSize?: number;
  /** Lookups in flight at once (default 4; the adapter's rate limiter queues the rest). */
  concurrency?: number;
  /** Called after each scheduled or manual run (tests, metrics). */
  onRun?: (report: RevalidationReport) => void;
}

export interface RevalidationReport {
  startedAt: string;
  finishedAt: string;
  /** Providers looked up. */
  checked: number;
  unchanged: number;
  /** Providers with at least one recorded change. */
  changed: number;
  /** Providers that went from active to deactivated in this run. */
  deactivated: number;
  reactivated: number;
  alertsRaised: number;
  failed: number;
  /** Every change recorded in this run. */
  changes: ProviderChange[];
  /** Failed lookups: NPI and error code (no messages: they may quote NPPES). */
  errors: { npi: string; code: string }[];
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const NAMED: Record<string, number> = { weekly: UNIT_MS.w, daily: UNIT_MS.d, hourly: UNIT_MS.h };
/** setTimeout's ceiling (about 24.8 days); longer waits are chained. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/** The interval of a schedule (see {@link RevalidationOptions.schedule}); ValidationError when unreadable. */
export function parseSchedule(schedule: string | number | undefined): number {
  if (schedule === undefined || schedule === '') return NAMED.weekly;
  const bad = () => new ValidationError('REVALIDATION_SCHEDULE', 'revalidation schedule must be weekly, daily, hourly, <n><ms|s|m|h|d|w>, an ISO 8601 duration or milliseconds', { path: 'schedule' });
  if (typeof schedule === 'number') {
    if (!Number.isFinite(schedule) || schedule <= 0) throw bad();
    return schedule;
  }
  const s = schedule.trim().toLowerCase().replace(/^every\s+/, '');
  if (NAMED[s]) return NAMED[s];
  const simple = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(s);
  if (simple) {
    const ms = Number(simple[1]) * UNIT_MS[simple[2]];
    if (ms > 0) return ms;
    throw bad();
  }
  if (/^\d+$/.test(s) && Number(s) > 0) return Number(s);
  const iso = /^p(?:(\d+)w)?(?:(\d+)d)?(?:t(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?)?$/.exec(s);
  if (iso && s !== 'p' && s !== 'pt') {
    const [, w, d, h, m, sec] = iso;
    const ms = Number(w ?? 0) * UNIT_MS.w + Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(m ?? 0) * UNIT_MS.m + Number(sec ?? 0) * 1000;
    if (ms > 0) return ms;
  }
  throw bad();
}

function providerAddress(a: NppesAddress): ProviderAddress {
  const out: ProviderAddress = { purpose: a.purpose, line: [...a.line], city: a.city ?? '', state: a.state ?? '', postalCode: a.postalCode ?? '' };
  if (a.countryCode) out.country = a.countryCode;
  if (a.phone) out.phone = a.phone;
  return out;
}

/** The provider record an NPPES record gives (source `nppes`); CAQH fields are left to the store's merge. */
export function providerRecordFromNppes(record: NppesRecord, now: Date): ProviderRecord {
  const out: ProviderRecord = {
    npi: record.npi,
    kind: record.kind,
    name: displayName(record),
    taxonomies: record.taxonomies.map((t) => t.code),
    addresses: [...record.addresses, ...record.practiceLocations].map(providerAddress),
    status: record.status,
    source: 'nppes',
    updatedAt: now.toISOString(),
  };
  if (record.status === 'deactivated' && record.deactivatedOn) out.deactivatedOn = record.deactivatedOn;
  return out;
}

/** Runs `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export class NppesRevalidationJob {
  readonly intervalMs: number;
  private readonly pageSize: number;
  private readonly concurrency: number;
  private readonly log: Logger;
  private readonly clock: () => Date;
  private timer?: NodeJS.Timeout;
  private running?: Promise<RevalidationReport>;
  private stopped = true;

  constructor(
    private readonly deps: RevalidationDeps,
    private readonly opts: RevalidationOptions = {},
  ) {
    this.intervalMs = parseSchedule(opts.schedule);
    this.pageSize = Math.max(1, Math.floor(opts.pageSize ?? 100));
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
    this.log = deps.logger ?? createLogger({ stage: 'nppes-revalidation' });
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Starts the schedule (first run one interval from now). Idempotent. The timer never holds the process open. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm(this.intervalMs);
  }

  /** Stops the schedule and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One full pass now; a pass already running is joined, not doubled. */
  runOnce(): Promise<RevalidationReport> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Chained timeouts: weekly is within setTimeout's range, a longer schedule is not. */
  private arm(remainingMs: number): void {
    if (this.stopped) return;
    const wait = Math.min(remainingMs, MAX_TIMEOUT);
    this.timer = setTimeout(() => {
      if (remainingMs > wait) return this.arm(remainingMs - wait);
      void this.runOnce()
        .catch((err) => this.log.error('NPPES revalidation run failed', { code: toWaslError(err).code }))
        .finally(() => this.arm(this.intervalMs));
    }, wait);
    this.timer.unref();
  }

  private async pass(): Promise<RevalidationReport> {
    const started = this.clock();
    const report: RevalidationReport = {
      startedAt: started.toISOString(), finishedAt: '', checked: 0, unchanged: 0, changed: 0, deactivated: 0, reactivated: 0, alertsRaised: 0, failed: 0, changes: [], errors: [],
    };
    this.log.info('NPPES revalidation started');
    let afterNpi: string | undefined;
    for (;;) {
      const page = await this.deps.store.list({ limit: this.pageSize, ...(afterNpi !== undefined ? { afterNpi } : {}) });
      if (page.length === 0) break;
      await pool(page, this.concurrency, (p) => this.revalidate(p, report));
      if (page.length < this.pageSize) break;
      afterNpi = page[page.length - 1].npi;
    }
    report.finishedAt = this.clock().toISOString();
    const { checked, changed, deactivated, reactivated, alertsRaised, failed } = report;
    this.log[failed ? 'warn' : 'info']('NPPES revalidation finished', { checked, changed, deactivated, reactivated, alertsRaised, failed });
    this.opts.onRun?.(report);
    return report;
  }

  private async revalidate(stored: ProviderRecord, report: RevalidationReport): Promise<void> {
    let found: NppesRecord | undefined;
    try {
      found = await this.deps.nppes.lookup(stored.npi, { fresh: true });
    } catch (err) {
      const e = toWaslError(err);
      report.failed += 1;
      report.errors.push({ npi: stored.npi, code: e.code });
      return;
    }
    report.checked += 1;
    const now = this.clock();
    let next: ProviderRecord;
    if (found && found.status === 'active') {
      next = providerRecordFromNppes(found, now);
    } else {
      // Not listed (the API's way of saying deactivated) or listed as deactivated: keep what we
      // know of the provider, change only the status.
      const on = found?.deactivatedOn ?? stored.deactivatedOn ?? now.toISOString().slice(0, 10);
      next = found ? { ...providerRecordFromNppes(found, now), deactivatedOn: on } : { ...stored, status: 'deactivated', deactivatedOn: on, source: 'nppes', updatedAt: now.toISOString() };
    }
    const changes = await this.deps.store.upsert(next);
    report.changes.push(...changes);
    if (changes.length) report.changed += 1;
    else report.unchanged += 1;
    const statusChange = changes.find((c) => c.field === 'status');
    if (statusChange && next.status === 'deactivated') report.deactivated += 1;
    if (statusChange && next.status === 'active') report.reactivated += 1;
    if (next.status === 'deactivated') {
      const how = found ? `deactivated on ${next.deactivatedOn}` : `no longer listed by NPPES (seen ${next.deactivatedOn})`;
      const raised = await this.deps.store.raiseAlert({ kind: 'npi-deactivated', key: stored.npi, message: `NPI ${stored.npi} is ${how}` });
      if (raised) report.alertsRaised += 1;
    }
  }
}
