/**
 * HealthWindow: the figures `GET /api/v1/integrations/health` and the ops page show per adapter,
 * computed from the {@link AdapterCallEvent}s its HTTP client reports. In memory and bounded, so
 * recording stays O(1) however busy an adapter is:
 *
 * - a ring of 1,440 one-minute slots (the last 24 h) of call counts per outcome;
 * - a ring of 60 one-minute latency histograms (the last hour), log-scale with 8 buckets per
 *   doubling from 1/16 ms to about 17 minutes (about 9 % wide; a percentile is interpolated inside
 *   its bucket and clamped to the smallest and largest latency seen, so it is within a few %).
 *
 * "The last hour" is the current minute and the 59 before it; "the day" the current and 1,439.
 * Times come from the events (`at`) and the `now` a caller passes, so tests need no clock.
 *
 * Status:
 * - `down`: the breaker is open, or the last `downAfterFailures` calls that reached (or were
 *   refused for) the remote side all failed as transient or breaker-open. Cache hits and refused
 *   input say nothing about the remote side and are skipped; an ok or a 4xx answer (it answered)
 *   ends the run;
 * - `degraded`: an error of any kind in the last 5 minutes, the hour's availability under 99 %,
 *   or the breaker half-open;
 * - `up` otherwise, also when there were no calls.
 * Availability is (ok + cached) / all calls, every outcome counted; null when there were none.
 */
import type { AdapterCallEvent, AdapterStatus } from './types';

export type CallOutcome = AdapterCallEvent['outcome'];

const OUTCOMES: readonly CallOutcome[] = ['ok', 'cached', 'transient', 'integration', 'validation', 'breaker-open'];
const OUTCOME_INDEX = new Map(OUTCOMES.map((o, i) => [o, i]));
const OK = OUTCOME_INDEX.get('ok')!;
const CACHED = OUTCOME_INDEX.get('cached')!;

const MINUTE = 60_000;
const DAY_SLOTS = 1440;
const HOUR_SLOTS = 60;

/** Histogram: bucket 0 holds latencies up to 2^MIN_EXP ms, then SUB buckets per doubling. */
const SUB = 8;
const MIN_EXP = -4;
const MAX_EXP = 20;
const BUCKETS = (MAX_EXP - MIN_EXP) * SUB + 2;

export interface HealthWindowOptions {
  /** Transient or breaker-open failures in a row that make an adapter `down` (default 5). */
  downAfterFailures?: number;
  /** An error this recent makes it `degraded` (default 5 minutes). */
  degradedWithinMs?: number;
  /** Hourly availability below this makes it `degraded` (default 0.99). */
  minAvailability?: number;
}

export interface HealthFigures {
  adapter: string;
  status: AdapterStatus;
  /** (ok + cached) / all calls, 0..1; null without calls. */
  availability: { hour: number | null; day: number | null };
  /** Over the last hour, calls that reached the remote side (ok, transient, integration); null without any. */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  lastError: { code: string; at: string } | null;
  /** Calls per outcome. */
  calls: { hour: Record<CallOutcome, number>; day: Record<CallOutcome, number> };
  /** Current run of transient / breaker-open failures (see the status rules). */
  consecutiveFailures: number;
}

type BreakerProbe = () => 'closed' | 'open' | 'half-open';

/** One adapter's rings. */
class AdapterRings {
  readonly dayMinute = new Float64Array(DAY_SLOTS).fill(-1);
  readonly dayCounts = new Uint32Array(DAY_SLOTS * OUTCOMES.length);
  readonly hourMinute = new Float64Array(HOUR_SLOTS).fill(-1);
  readonly hourHist = new Uint32Array(HOUR_SLOTS * BUCKETS);
  readonly hourMin = new Float64Array(HOUR_SLOTS);
  readonly hourMax = new Float64Array(HOUR_SLOTS);
  lastError?: { code: string; at: number };
  consecutiveFailures = 0;
  breaker?: BreakerProbe;

  record(e: AdapterCallEvent): void {
    const outcome = OUTCOME_INDEX.get(e.outcome);
    if (outcome === undefined || !Number.isFinite(e.at)) return;
    const minute = Math.floor(e.at / MINUTE);

    const slot = minute % DAY_SLOTS;
    if (this.dayMinute[slot] !== minute) {
      if (this.dayMinute[slot] > minute) return; // older than the day the ring holds
      this.dayMinute[slot] = minute;
      this.dayCounts.fill(0, slot * OUTCOMES.length, (slot + 1) * OUTCOMES.length);
    }
    this.dayCounts[slot * OUTCOMES.length + outcome]++;

    if (outcome !== OK && outcome !== CACHED) {
      if (!this.lastError || e.at >= this.lastError.at) this.lastError = { code: e.code ?? e.outcome.toUpperCase(), at: e.at };
    }
    if (e.outcome === 'transient' || e.outcome === 'breaker-open') this.consecutiveFailures++;
    else if (e.outcome === 'ok' || e.outcome === 'integration') this.consecutiveFailures = 0;

    if ((e.outcome === 'ok' || e.outcome === 'transient' || e.outcome === 'integration') && Number.isFinite(e.latencyMs)) {
      const h = minute % HOUR_SLOTS;
      if (this.hourMinute[h] !== minute) {
        if (this.hourMinute[h] > minute) return;
        this.hourMinute[h] = minute;
        this.hourHist.fill(0, h * BUCKETS, (h + 1) * BUCKETS);
        this.hourMin[h] = Infinity;
        this.hourMax[h] = -Infinity;
      }
      const ms = Math.max(0, e.latencyMs);
      this.hourHist[h * BUCKETS + bucketOf(ms)]++;
      if (ms < this.hourMin[h]) this.hourMin[h] = ms;
      if (ms > this.hourMax[h]) this.hourMax[h] = ms;
    }
  }

  /** Calls per outcome over the `slots` minutes ending with `nowMinute`. */
  counts(nowMinute: number, slots: number): Record<CallOutcome, number> {
    const out = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<CallOutcome, number>;
    for (let i = 0; i < DAY_SLOTS; i++) {
      const m = this.dayMinute[i];
      if (m > nowMinute - slots && m <= nowMinute) {
        OUTCOMES.forEach((o, k) => (out[o] += this.dayCounts[i * OUTCOMES.length + k]));
      }
    }
    return out;
  }

  /** p50/p95/p99 over the last hour's histograms. */
  percentiles(nowMinute: number): HealthFigures['latencyMs'] {
    const merged = new Float64Array(BUCKETS);
    let n = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let h = 0; h < HOUR_SLOTS; h++) {
      const m = this.hourMinute[h];
      if (!(m > nowMinute - HOUR_SLOTS && m <= nowMinute)) continue;
      for (let b = 0; b < BUCKETS; b++) {
        const c = this.hourHist[h * BUCKETS + b];
        merged[b] += c;
        n += c;
      }
      min = Math.min(min, this.hourMin[h]);
      max = Math.max(max, this.hourMax[h]);
    }
    if (n === 0) return { p50: null, p95: null, p99: null };
    const at = (p: number) => round1(Math.min(max, Math.max(min, quantile(merged, n, p))));
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
  }
}

/** Per-adapter call figures over the last hour and day. */
export class HealthWindow {
  private readonly rings = new Map<string, AdapterRings>();
  private readonly downAfterFailures: number;
  private readonly degradedWithinMs: number;
  private readonly minAvailability: number;

  constructor(options: HealthWindowOptions = {}) {
    this.downAfterFailures = Math.max(1, options.downAfterFailures ?? 5);
    this.degradedWithinMs = options.degradedWithinMs ?? 5 * MINUTE;
    this.minAvailability = options.minAvailability ?? 0.99;
  }

  /** Records one call. O(1); events older than the day the ring holds are dropped. */
  record(e: AdapterCallEvent): void {
    this.ringsOf(e.adapter).record(e);
  }

  /** Where `figures` reads the breaker state of an adapter (its `breakerState()`). */
  watchBreaker(adapterId: string, probe: BreakerProbe): void {
    this.ringsOf(adapterId).breaker = probe;
  }

  /** Drops everything about an adapter. */
  forget(adapterId: string): void {
    this.rings.delete(adapterId);
  }

  /** Adapter ids with figures. */
  adapters(): string[] {
    return [...this.rings.keys()];
  }

  /** The figures of one adapter at `now` (an adapter without events is `up` with null figures). */
  figures(adapterId: string, now: number = Date.now()): HealthFigures {
    const rings = this.rings.get(adapterId) ?? new AdapterRings();
    const nowMinute = Math.floor(now / MINUTE);
    const hour = rings.counts(nowMinute, HOUR_SLOTS);
    const day = rings.counts(nowMinute, DAY_SLOTS);
    const availability = { hour: availabilityOf(hour), day: availabilityOf(day) };
    const lastError = rings.lastError ? { code: rings.lastError.code, at: new Date(rings.lastError.at).toISOString() } : null;

    let breaker: ReturnType<BreakerProbe> = 'closed';
    try {
      breaker = rings.breaker?.() ?? 'closed';
    } catch {
      // an adapter that cannot say is not taken as down
    }
    let status: AdapterStatus = 'up';
    if (breaker === 'open' || rings.consecutiveFailures >= this.downAfterFailures) status = 'down';
    else if (
      breaker === 'half-open' ||
      (rings.lastError && now - rings.lastError.at < this.degradedWithinMs) ||
      (availability.hour !== null && availability.hour < this.minAvailability)
    ) {
      status = 'degraded';
    }
    return {
      adapter: adapterId,
      status,
      availability,
      latencyMs: rings.percentiles(nowMinute),
      lastError,
      calls: { hour, day },
      consecutiveFailures: rings.consecutiveFailures,
    };
  }

  private ringsOf(adapterId: string): AdapterRings {
    let rings = this.rings.get(adapterId);
    if (!rings) {
      rings = new AdapterRings();
      this.rings.set(adapterId, rings);
    }
    return rings;
  }
}

function availabilityOf(counts: Record<CallOutcome, number>): number | null {
  const all = Object.values(counts).reduce((a, b) => a + b, 0);
  if (all === 0) return null;
  return Math.round(((counts.ok + counts.cached) / all) * 10_000) / 10_000;
}

function bucketOf(ms: number): number {
  if (ms <= 2 ** MIN_EXP) return 0;
  return Math.min(BUCKETS - 1, Math.floor((Math.log2(ms) - MIN_EXP) * SUB) + 1);
}

/** Lower and upper bound (ms) of bucket `b`. */
function boundsOf(b: number): [number, number] {
  if (b === 0) return [0, 2 ** MIN_EXP];
  return [2 ** (MIN_EXP + (b - 1) / SUB), 2 ** (MIN_EXP + b / SUB)];
}

/** The nearest-rank quantile, interpolated linearly inside its bucket. */
function quantile(hist: Float64Array, n: number, p: number): number {
  const rank = Math.max(1, Math.ceil(p * n));
  let seen = 0;
  for (let b = 0; b < hist.length; b++) {
    const c = hist[b];
    if (c === 0) continue;
    if (seen + c >= rank) {
      const [lo, hi] = boundsOf(b);
      return lo + ((hi - lo) * (rank - seen - 0.5)) / c;
    }
    seen += c;
  }
  return boundsOf(hist.length - 1)[1];
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
