/**
 * Receipts let a node that hands a message into the flow learn when the flow is done with it,
 * without passing functions through `msg` (Node-RED clones messages on fan-out, and a message
 * must stay plain data for the debug panel and Catch nodes).
 *
 * A source opens a receipt and puts its id on `msg.wasl.receipt`. The node that finishes the
 * message's journey through this stage (a queue node after the broker confirmed, a filter that
 * drops it, a destination after the outside system answered) completes it; a node that fails
 * the message fails it with a classified error. A router that sends one message to N outputs
 * raises the number of completions the receipt waits for.
 */
import { randomUUID } from 'node:crypto';
import { TransientError, WaslError, toWaslError } from '../../common/errors';

export type ReceiptOutcome = 'DONE' | 'FILTERED';

interface Pending {
  remaining: number;
  outcome: ReceiptOutcome;
  resolve(outcome: ReceiptOutcome): void;
  reject(err: WaslError): void;
  timer?: NodeJS.Timeout;
}

export interface OpenReceipt {
  id: string;
  settled: Promise<ReceiptOutcome>;
}

export class Receipts {
  private readonly pending = new Map<string, Pending>();

  /**
   * Opens a receipt. After `timeoutMs` without settling it fails with a transient error, so a
   * flow that lost the message (a node left unwired) is retried instead of hanging a sender.
   */
  open(timeoutMs: number): OpenReceipt {
    const id = randomUUID();
    let entry!: Pending;
    const settled = new Promise<ReceiptOutcome>((resolve, reject) => {
      entry = { remaining: 1, outcome: 'DONE', resolve, reject };
    });
    entry.timer = setTimeout(() => {
      this.fail(id, new TransientError('RECEIPT_TIMEOUT', `flow did not finish the message within ${timeoutMs} ms`));
    }, timeoutMs);
    entry.timer.unref();
    this.pending.set(id, entry);
    return { id, settled };
  }

  /** A node sent the message to `count` outputs instead of one. */
  fanOut(id: string | undefined, count: number): void {
    const entry = id ? this.pending.get(id) : undefined;
    if (!entry) return;
    if (count <= 0) {
      this.complete(id, 'FILTERED');
      return;
    }
    entry.remaining += count - 1;
  }

  complete(id: string | undefined, outcome: ReceiptOutcome = 'DONE'): void {
    const entry = id ? this.pending.get(id) : undefined;
    if (!entry || !id) return;
    if (outcome === 'DONE') entry.outcome = 'DONE';
    else if (entry.remaining === 1 && entry.outcome === 'DONE' && outcome === 'FILTERED') entry.outcome = 'FILTERED';
    entry.remaining -= 1;
    if (entry.remaining > 0) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(entry.outcome);
  }

  /** Fails the whole receipt: one failed branch means the stage must be redone or dead-lettered. */
  fail(id: string | undefined, err: unknown): void {
    const entry = id ? this.pending.get(id) : undefined;
    if (!entry || !id) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.reject(toWaslError(err));
  }

  get size(): number {
    return this.pending.size;
  }

  /** Fails everything still open (engine shutdown). */
  failAll(reason: string): void {
    for (const id of [...this.pending.keys()]) this.fail(id, new TransientError('SHUTDOWN', reason));
  }
}
