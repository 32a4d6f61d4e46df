/**
 * Per-channel figures for the ops pages, in memory, for this process: counts in 10-second buckets
 * over the last hour, and end-to-end latency percentiles over the last 5 minutes.
 *
 * Prometheus has the same events as counters and histograms (metrics.ts), but its histograms
 * only give bucket bounds and its counters no history; the channel pages want "how many in each
 * 10 s of the last hour" and "p95 right now" without a Prometheus server. Fed from where outcomes
 * are already counted (wasl_messages_total and the queue stages), each event costs an array
 * increment, and latency keeps a bounded random sample per 10 s (reservoir sampling), so memory
 * stays fixed however busy a channel is. Percentiles weight each bucket's samples by how many
 * messages they stand for, so a quiet bucket cannot outvote a busy one.
 *
 * Per process: with WASL_ROLE split, an intake process sees `received`, workers see the rest.
 */
export const BUCKET_SECONDS = 10;
const BUCKET_MS = BUCKET_SECONDS * 1000;
/** One hour of buckets. */
const SERIES_BUCKETS = 360;
/** The sparkline: the last 5 minutes. */
const THROUGHPUT_BUCKETS = 30;
/** Latency percentiles cover the last 5 minutes. */
const LATENCY_BUCKETS = 30;
const SAMPLES_PER_BUCKET = 256;
/** A message sent to several destinations waits this long for the others, then is forgotten. */
const JOIN_TTL_MS = 10 * 60_000;
const JOIN_MAX = 50_000;

export type CountedOutcome = 'received' | 'filtered' | 'sent' | 'errored';
type Series = CountedOutcome | 'done';
const SERIES: readonly Series[] = ['received', 'filtered', 'sent', 'errored', 'done'];

export interface LatencyPercentiles {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface ChannelSeries {
  bucketSeconds: number;
  /** Start of the oldest bucket (ISO 8601). */
  startedAt: string;
  received: number[];
  sent: number[];
  errored: number[];
  filtered: number[];
}

export interface StageError {
  code: string;
  message: string;
  /** Queue stage where it happened (`in`, `dest.<name>`). */
  stage: string;
  at: string;
}

/** One delivery a destination finished, for the end-to-end join. */
export interface DestinationDone {
  messageId: string;
  /** Destinations the router sent the message to (1 when unknown). */
  routes: number;
  /** When the source received the message, epoch ms (undefined when unknown). */
  receivedAt?: number;
  ok: boolean;
}

class ChannelWindow {
  readonly bucketIds = new Float64Array(SERIES_BUCKETS).fill(-1);
  readonly counts: Record<Series, Uint32Array> = {
    received: new Uint32Array(SERIES_BUCKETS),
    filtered: new Uint32Array(SERIES_BUCKETS),
    sent: new Uint32Array(SERIES_BUCKETS),
    errored: new Uint32Array(SERIES_BUCKETS),
    done: new Uint32Array(SERIES_BUCKETS),
  };
  readonly latencyIds = new Float64Array(LATENCY_BUCKETS).fill(-1);
  readonly latencySeen = new Uint32Array(LATENCY_BUCKETS);
  readonly latencySamples = Array.from({ length: LATENCY_BUCKETS }, () => new Float64Array(SAMPLES_PER_BUCKET));
  lastError?: StageError;

  add(series: Series, bucket: number, n: number): void {
    const i = slot(bucket, SERIES_BUCKETS);
    if (this.bucketIds[i] !== bucket) {
      this.bucketIds[i] = bucket;
      for (const s of SERIES) this.counts[s][i] = 0;
    }
    this.counts[series][i] += n;
  }

  read(series: Series, bucket: number): number {
    const i = slot(bucket, SERIES_BUCKETS);
    return this.bucketIds[i] === bucket ? this.counts[series][i] : 0;
  }

  sample(ms: number, bucket: number, random: () => number): void {
    const i = slot(bucket, LATENCY_BUCKETS);
    if (this.latencyIds[i] !== bucket) {
      this.latencyIds[i] = bucket;
      this.latencySeen[i] = 0;
    }
    const seen = ++this.latencySeen[i];
    if (seen <= SAMPLES_PER_BUCKET) this.latencySamples[i][seen - 1] = ms;
    else {
      const j = Math.floor(random() * seen);
      if (j < SAMPLES_PER_BUCKET) this.latencySamples[i][j] = ms;
    }
  }
}

export class ChannelStats {
  private readonly channels = new Map<string, ChannelWindow>();
  private readonly pending = new Map<string, { remaining: number; ok: boolean; at: number }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Counts outcomes as wasl_messages_total does (sent and errored per destination delivery). */
  count(channel: string, outcome: CountedOutcome, n = 1): void {
    this.window(channel).add(outcome, this.bucket(), n);
  }

  /** A message is finished without reaching a destination: filtered, or dead-lettered before routing. */
  finished(channel: string): void {
    this.window(channel).add('done', this.bucket(), 1);
  }

  /**
   * A destination finished its delivery (sent, or dead-lettered). When it was the message's last
   * destination, the message counts as done and, if every destination sent it and its receipt
   * time is known, the end-to-end latency in seconds is returned (and kept for percentiles).
   */
  destinationFinished(channel: string, d: DestinationDone): number | undefined {
    let ok = d.ok;
    if (d.routes > 1) {
      const now = this.now();
      const entry = this.pending.get(d.messageId) ?? { remaining: d.routes, ok: true, at: now };
      entry.remaining -= 1;
      entry.ok &&= d.ok;
      if (entry.remaining > 0) {
        if (!this.pending.has(d.messageId)) {
          this.pending.set(d.messageId, entry);
          this.sweep(now);
        }
        return undefined;
      }
      this.pending.delete(d.messageId);
      ok = entry.ok;
    }
    const w = this.window(channel);
    const bucket = this.bucket();
    w.add('done', bucket, 1);
    if (!ok || d.receivedAt === undefined) return undefined;
    const ms = Math.max(0, this.now() - d.receivedAt);
    w.sample(ms, bucket, this.random);
    return ms / 1000;
  }

  recordError(channel: string, error: Omit<StageError, 'at'>): void {
    this.window(channel).lastError = { ...error, at: new Date(this.now()).toISOString() };
  }

  lastError(channel: string): StageError | undefined {
    return this.channels.get(channel)?.lastError;
  }

  /** Messages done per 10 s bucket, the last 30 buckets, oldest first (the current bucket last). */
  throughput(channel: string): number[] {
    return this.lastBuckets(channel, 'done', THROUGHPUT_BUCKETS);
  }

  /** The last hour in 10 s buckets, oldest first. */
  series(channel: string): ChannelSeries {
    const current = this.bucket();
    return {
      bucketSeconds: BUCKET_SECONDS,
      startedAt: new Date((current - SERIES_BUCKETS + 1) * BUCKET_MS).toISOString(),
      received: this.lastBuckets(channel, 'received', SERIES_BUCKETS),
      sent: this.lastBuckets(channel, 'sent', SERIES_BUCKETS),
      errored: this.lastBuckets(channel, 'errored', SERIES_BUCKETS),
      filtered: this.lastBuckets(channel, 'filtered', SERIES_BUCKETS),
    };
  }

  /** End-to-end latency (receive → last destination done) over the last 5 minutes, in ms. */
  latency(channel: string): LatencyPercentiles {
    const w = this.channels.get(channel);
    const none = { p50: null, p95: null, p99: null };
    if (!w) return none;
    const current = this.bucket();
    const values: number[] = [];
    const weights: number[] = [];
    for (let b = current - LATENCY_BUCKETS + 1; b <= current; b++) {
      const i = slot(b, LATENCY_BUCKETS);
      if (w.latencyIds[i] !== b) continue;
      const seen = w.latencySeen[i];
      const kept = Math.min(seen, SAMPLES_PER_BUCKET);
      for (let k = 0; k < kept; k++) {
        values.push(w.latencySamples[i][k]);
        weights.push(seen / kept);
      }
    }
    if (values.length === 0) return none;
    const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
    const total = weights.reduce((a, b) => a + b, 0);
    const at = (q: number): number => {
      let sum = 0;
      for (const i of order) {
        sum += weights[i];
        if (sum >= q * total - 1e-9) return round(values[i]);
      }
      return round(values[order[order.length - 1]]);
    };
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
  }

  private lastBuckets(channel: string, series: Series, count: number): number[] {
    const w = this.channels.get(channel);
    const current = this.bucket();
    const out = new Array<number>(count).fill(0);
    if (!w) return out;
    for (let k = 0; k < count; k++) out[k] = w.read(series, current - count + 1 + k);
    return out;
  }

  private window(channel: string): ChannelWindow {
    let w = this.channels.get(channel);
    if (!w) this.channels.set(channel, (w = new ChannelWindow()));
    return w;
  }

  private bucket(): number {
    return Math.floor(this.now() / BUCKET_MS);
  }

  /**
   * Forgets joins that waited too long (a destination in another process, a message
   * dead-lettered elsewhere): the map is in insertion order, so the oldest are at the front.
   */
  private sweep(now: number): void {
    for (const [id, entry] of this.pending) {
      if (this.pending.size <= JOIN_MAX && now - entry.at < JOIN_TTL_MS) break;
      this.pending.delete(id);
    }
  }
}

/** Ring index of a bucket number (also for the negative numbers a test clock may give). */
function slot(bucket: number, size: number): number {
  return ((bucket % size) + size) % size;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
