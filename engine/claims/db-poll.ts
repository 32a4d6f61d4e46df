/**
 * The claims source loop (wasl-db-poll): claim a batch of staging rows, seal it, store it as one
 * message row, queue it into the channel, and only then look for the next. A batch that could not
 * be queued leaves its rows `in_flight`; their lease runs out and a later poll (this process or
 * another) claims them again, so a crash or a broker outage loses nothing.
 *
 * A full batch polls again at once (more rows are waiting); an empty or partial one waits
 * `intervalMs`. Up to `maxInFlight` batches are being stored and queued at once, which keeps the
 * next claim query overlapping the previous batch's queue confirm.
 */
import { hostname } from 'node:os';
import { toWaslError, type WaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { batchManifest, sealBatch, type Sealer } from '../../connectors/claims/batch';
import type { ClaimsStaging } from '../../connectors/claims/staging';
import { messageIdFor } from '../runtime/hl7-intake';
import type { WaslRuntime } from '../runtime/types';
import type { WaslMsg } from '../runtime/wasl-msg';

export interface DbPollOptions {
  runtime: WaslRuntime;
  channel: string;
  staging: ClaimsStaging;
  table: string;
  sealer: Sealer;
  batchSize: number;
  intervalMs: number;
  maxInFlight: number;
  logger: Logger;
  submit(msg: WaslMsg): void;
  /** Reports each poll's outcome (node status, channel health). */
  onState?(state: { ok: true; batches: number; claims: number } | { ok: false; error: WaslError }): void;
  queueTimeoutMs?: number;
}

export const SENDER = 'db-poll';

export function workerId(): string {
  return `${hostname()}:${process.pid}`.slice(0, 64);
}

export class DbPoll {
  private timer?: NodeJS.Timeout;
  private closed = false;
  private inFlight = new Set<Promise<void>>();
  private polling = false;
  /** Channel paused (channel-control.ts): no new claims until resumed. */
  private paused = false;
  private batches = 0;
  private claims = 0;

  constructor(private readonly o: DbPollOptions) {}

  start(): void {
    setImmediate(() => void this.poll());
  }

  /** Polls now (a tick, or an input message); joins a poll already running. */
  async poll(): Promise<void> {
    if (this.closed || this.paused || this.polling) return;
    this.polling = true;
    clearTimeout(this.timer);
    let again = false;
    try {
      while (!this.closed && !this.paused && this.inFlight.size < this.o.maxInFlight) {
        const started = performance.now();
        const claimed = await this.o.staging.claimBatch(this.o.batchSize);
        if (!claimed) break;
        const pollMs = performance.now() - started;
        const batch = sealBatch(claimed.batchId, { table: this.o.table, claimedBy: workerId(), claimedAt: claimed.claimedAt }, claimed.claims, this.o.sealer);
        batch.timings.poll = round(pollMs);
        this.o.runtime.stageStats?.record(this.o.channel, 'poll', batch.claims.length, 0, pollMs);
        this.o.runtime.metrics.claimStageSeconds.observe({ channel: this.o.channel, stage: 'poll' }, pollMs / 1000);
        const p = this.intake(batch).finally(() => {
          this.inFlight.delete(p);
          // A slot freed: keep the pipeline full while rows are waiting.
          if (again) void this.poll();
        });
        this.inFlight.add(p);
        again = claimed.claims.length === this.o.batchSize;
        if (!again) break;
      }
      this.o.onState?.({ ok: true, batches: this.batches, claims: this.claims });
    } catch (err) {
      const error = toWaslError(err);
      this.o.logger.warn('claims staging poll failed', { code: error.code });
      this.o.onState?.({ ok: false, error });
      again = false;
    } finally {
      this.polling = false;
    }
    if (!this.closed && !this.paused && !again) this.timer = setTimeout(() => void this.poll(), this.o.intervalMs);
  }

  /** Stores and queues one batch; its rows stay leased (and are claimed again later) if this fails. */
  private async intake(batch: ReturnType<typeof sealBatch>): Promise<void> {
    const { runtime, channel } = this.o;
    try {
      const id = messageIdFor(channel, SENDER, batch.batchId);
      const received = await runtime.store.receive({
        id,
        channel,
        correlationId: id,
        sender: SENDER,
        controlId: batch.batchId,
        messageType: 'claims-batch',
        raw: batchManifest(batch),
      });
      if (received.duplicate && received.accepted) return;
      const receipt = runtime.receipts.open(this.o.queueTimeoutMs ?? 30_000);
      try {
        this.o.submit({ payload: batch, wasl: { correlationId: received.correlationId, messageId: received.id, channel, receipt: receipt.id, attempt: 1 } });
      } catch (err) {
        runtime.receipts.fail(receipt.id, err);
      }
      await receipt.settled;
      await runtime.store.markAccepted(received.id);
      this.batches += 1;
      this.claims += batch.claims.length;
      runtime.metrics.messages.inc({ channel, outcome: 'received' });
    } catch (err) {
      const e = toWaslError(err);
      this.o.logger.warn('claims batch not queued; its rows will be claimed again when their lease ends', { code: e.code, batch: batch.batchId });
      this.o.onState?.({ ok: false, error: e });
    }
  }

  /** Claims nothing more; resolves once the batches being stored and queued are done. */
  async pause(): Promise<void> {
    this.paused = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Polls again after {@link pause}. */
  resume(): void {
    if (!this.paused || this.closed) return;
    this.paused = false;
    this.start();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlight]);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
