/**
 * The delivery object both transports hand to handlers, and the rule for handler errors.
 */
import type { Logger } from '../../common/logger';
import { toWaslError } from '../../common/errors';
import type { Delivery, DeliveryHandler, MessageHeaders } from './types';

/** What a transport does to settle one delivery; each runs at most once per delivery. */
export interface SettleOps {
  ack(): Promise<void>;
  retry(delayMs: number, reason: string): Promise<void>;
  deadLetter(reason: string): Promise<void>;
}

/** Delay applied when a handler throws instead of settling (the interface's contract). */
export const HANDLER_ERROR_RETRY_MS = 1000;

export interface TrackedDelivery extends Delivery {
  /** True once a settle call has started (successful or still running). */
  readonly settling: boolean;
}

/**
 * Wraps settle operations so a delivery is settled once. A second call is ignored with a
 * warning rather than thrown: by then the message has already been acked, delayed or
 * dead-lettered, and throwing would only turn a harmless double call into a handler error.
 * A failed settle (broker or disk trouble) frees the guard so the caller may try again.
 */
export function createDelivery(
  queue: string,
  body: Buffer,
  headers: MessageHeaders,
  ops: SettleOps,
  log: Logger,
  onSettled: () => void,
): TrackedDelivery {
  let settling = false;
  let settled = false;
  const once = async (what: string, run: () => Promise<void>): Promise<void> => {
    if (settling) {
      log.warn('delivery already settled; call ignored', { queue, messageId: headers.messageId, call: what });
      return;
    }
    settling = true;
    try {
      await run();
    } catch (err) {
      settling = false;
      throw err;
    }
    if (!settled) {
      settled = true;
      onSettled();
    }
  };
  return {
    queue,
    body,
    headers,
    get settling() {
      return settling;
    },
    ack: () => once('ack', () => ops.ack()),
    retry: (delayMs: number, reason: string) => once('retry', () => ops.retry(Math.max(0, delayMs), reason)),
    deadLetter: (reason: string) => once('deadLetter', () => ops.deadLetter(reason)),
  };
}

/**
 * Runs a handler. Returning does not ack: the handler (or a flow it started) settles the
 * delivery when the work is really done, as with AMQP manual acks. A throw before settling
 * becomes `retry(1000)`, so a bug never acks a message silently.
 */
export async function runHandler(delivery: TrackedDelivery, handler: DeliveryHandler, log: Logger): Promise<void> {
  try {
    await handler(delivery);
  } catch (err) {
    const e = toWaslError(err);
    const ctx = { queue: delivery.queue, messageId: delivery.headers.messageId, correlationId: delivery.headers.correlationId, code: e.code };
    if (delivery.settling) {
      log.warn('handler failed after settling its delivery', ctx);
      return;
    }
    log.warn('handler failed; retrying delivery', { ...ctx, delayMs: HANDLER_ERROR_RETRY_MS });
    try {
      await delivery.retry(HANDLER_ERROR_RETRY_MS, `${e.code}: ${e.message}`);
    } catch (retryErr) {
      log.error('could not retry delivery after handler error', { ...ctx, retryCode: toWaslError(retryErr).code });
    }
  }
}
