/**
 * Reprocessing: stored messages go through their channel again as new messages. Each gets a new
 * row (new id, which is also its correlation id, `reprocess_of` = the original; store/lineage.ts)
 * and is published to `<channel>.in` with the headers the queue stage gives a message from the
 * source, so the channel cannot tell it from fresh input. The original row is left as it was.
 *
 * Order per chunk: rows first, then the queue, as the intake does: a stage that gets the copy
 * always finds its row. A copy the transport refused is deleted again and reported as skipped,
 * so the browser never shows a message nothing will process.
 */
import { randomUUID } from 'node:crypto';
import { toWaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { ChannelConfig } from '../channels/types';
import { messageBrowserFor } from '../store/browser';
import type { ReprocessCopy } from '../store/lineage';
import type { MessageHeaders } from '../transport/types';
import { CONTENT_TYPE, RECEIVED_AT } from './queue-stage';
import { reprocessPayload, type QueuedPayload, type ReprocessSkipReason } from './reprocess-payload';
import type { WaslRuntime } from './types';

export type { ReprocessSkipReason } from './reprocess-payload';

/** Most messages one call reprocesses: bounds the request's time and the queue burst it makes. */
export const MAX_REPROCESS = 10_000;

/** Copies written and published together: one transaction of rows, then their publishes in parallel. */
const CHUNK = 500;

export interface ReprocessResult {
  reprocessed: Array<{ original: string; id: string }>;
  skipped: Array<{ id: string; reason: ReprocessSkipReason }>;
}

interface Planned extends ReprocessCopy, QueuedPayload {}

/**
 * Reprocesses `ids` (duplicates ignored, order kept; at most MAX_REPROCESS, the caller checks).
 * `channels` are the configured channels; a message of a channel no longer configured is skipped.
 */
export async function reprocessMessages(runtime: WaslRuntime, channels: readonly ChannelConfig[], ids: readonly string[], log: Logger): Promise<ReprocessResult> {
  const browser = messageBrowserFor(runtime.store);
  const unique = [...new Set(ids)];
  const originals = await browser.readForReprocess(unique);
  const byId = new Map(channels.map((c) => [c.id, c]));
  const result: ReprocessResult = { reprocessed: [], skipped: [] };

  const planned: Planned[] = [];
  for (const id of unique) {
    const original = originals.get(id);
    if (!original) {
      result.skipped.push({ id, reason: 'not-found' });
      continue;
    }
    const payload = reprocessPayload(byId.get(original.channel), original);
    if ('skip' in payload) result.skipped.push({ id, reason: payload.skip });
    else planned.push({ id: randomUUID(), original, ...payload });
  }

  const declared = new Map<string, Promise<void>>();
  for (let i = 0; i < planned.length; i += CHUNK) {
    const chunk = planned.slice(i, i + CHUNK);
    await browser.insertCopies(chunk);
    const outcomes = await Promise.allSettled(chunk.map((p) => publish(runtime, p, declared)));
    const failed = chunk.filter((_, j) => outcomes[j].status === 'rejected');
    if (failed.length) {
      const first = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      log.warn('reprocessed messages not queued; their copies are removed', { count: failed.length, error: toWaslError(first?.reason).code });
      await browser.deleteCopies(failed.map((p) => p.id));
    }
    for (const [j, p] of chunk.entries()) {
      if (outcomes[j].status === 'rejected') {
        result.skipped.push({ id: p.original.id, reason: 'queue-unavailable' });
      } else {
        result.reprocessed.push({ original: p.original.id, id: p.id });
        // Queued for good: what `accepted` means for a message from a source.
        runtime.store.markAccepted(p.id).catch(() => undefined);
      }
    }
  }
  log.info('messages reprocessed', { reprocessed: result.reprocessed.length, skipped: result.skipped.length });
  return result;
}

async function publish(runtime: WaslRuntime, p: Planned, declared: Map<string, Promise<void>>): Promise<void> {
  const queue = `${p.original.channel}.in`;
  // The channel's queue node declares it at start; declaring again is idempotent and covers a
  // process (an API-only one, a worker) where that node has not run yet.
  let ready = declared.get(queue);
  if (!ready) declared.set(queue, (ready = runtime.transport.assertQueue(queue)));
  await ready;
  const headers: MessageHeaders = {
    correlationId: p.id,
    messageId: p.id,
    channel: p.original.channel,
    attempt: 1,
    [CONTENT_TYPE]: p.contentType,
    // A new message as far as latency goes: it was received (again) now.
    [RECEIVED_AT]: String(Date.now()),
  };
  await runtime.transport.publish(queue, p.body, headers);
}
