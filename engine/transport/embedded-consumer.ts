/**
 * One consumer of the embedded transport: claims up to `prefetch` messages at a time, hands
 * each to the handler, and claims more when a delivery settles, a publish wakes it, or its timer
 * fires for a delayed message.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger';
import { TransientError, toWaslError } from '../../common/errors';
import { createDelivery, runHandler } from './delivery';
import { retryHeaders, trimReason } from './headers';
import type { ClaimedMessage, QueueStore } from './embedded-store';
import type { WriteBatcher } from './write-batcher';
import type { Consumer, DeliveryHandler } from './types';

/** What a consumer needs from its transport. */
export interface ConsumerHost {
  readonly store: QueueStore;
  readonly batcher: WriteBatcher;
  /** Emits the queue name when new messages may be ready. */
  readonly events: EventEmitter;
  readonly pollIntervalMs: number;
  readonly log: Logger;
  /** A number no other claim in this process uses. */
  nextLease(): number;
  isClosed(): boolean;
}

export class EmbeddedConsumer implements Consumer {
  private readonly held = new Map<number, ClaimedMessage>();
  private cancelled = false;
  private pulling = false;
  private pullAgain = false;
  private pullQueued = false;
  private timer?: NodeJS.Timeout;
  private cancelling?: Promise<void>;

  constructor(
    private readonly host: ConsumerHost,
    private readonly queue: string,
    private readonly handler: DeliveryHandler,
    private readonly prefetch: number,
    private readonly onCancel: (consumer: EmbeddedConsumer) => void,
  ) {}

  start(): void {
    this.host.events.on(this.queue, this.wake);
    this.schedule();
  }

  /** Stops claiming and puts unsettled deliveries back as ready; their later settle is a no-op. */
  cancel(): Promise<void> {
    this.cancelling ??= this.doCancel();
    return this.cancelling;
  }

  private async doCancel(): Promise<void> {
    this.cancelled = true;
    clearTimeout(this.timer);
    this.host.events.off(this.queue, this.wake);
    this.onCancel(this);
    const claims = [...this.held.values()];
    this.held.clear();
    if (claims.length > 0 && !this.host.isClosed()) {
      await this.host.batcher.run(() => {
        for (const c of claims) this.host.store.release(c.id, c.lease);
      });
      this.host.events.emit(this.queue);
    }
  }

  private readonly wake = (): void => this.schedule();

  /** Coalesces wake-ups of one turn into one claim. */
  private schedule(): void {
    if (this.cancelled || this.pullQueued) return;
    this.pullQueued = true;
    setImmediate(() => {
      this.pullQueued = false;
      void this.pull();
    });
  }

  private async pull(): Promise<void> {
    if (this.cancelled) return;
    if (this.pulling) {
      this.pullAgain = true;
      return;
    }
    const want = this.prefetch - this.held.size;
    if (want <= 0) return;
    clearTimeout(this.timer);
    this.pulling = true;
    let claimed: ClaimedMessage[];
    try {
      const lease = this.host.nextLease();
      claimed = await this.host.batcher.run(() => this.host.store.claim(this.queue, Date.now(), want, lease));
    } catch (err) {
      this.pulling = false;
      if (this.cancelled || this.host.isClosed()) return;
      this.host.log.error('embedded consumer could not claim messages', { queue: this.queue, code: toWaslError(err).code });
      this.arm(this.host.pollIntervalMs);
      return;
    }
    this.pulling = false;
    if (this.cancelled) {
      // Cancelled while the claim committed: give these back too.
      if (claimed.length > 0 && !this.host.isClosed()) {
        await this.host.batcher.run(() => {
          for (const c of claimed) this.host.store.release(c.id, c.lease);
        });
      }
      return;
    }
    for (const c of claimed) this.dispatch(c);
    if (this.pullAgain) {
      this.pullAgain = false;
      this.schedule();
    } else if (claimed.length < want) {
      this.armForNextDue();
    }
  }

  /** Sleeps until the earliest delayed message is due, but never past one poll interval. */
  private armForNextDue(): void {
    let delay = this.host.pollIntervalMs;
    try {
      const due = this.host.store.nextDue(this.queue);
      if (due !== undefined) delay = Math.min(delay, Math.max(1, due - Date.now()));
    } catch {
      // The database may be closing; the poll interval is the fallback.
    }
    this.arm(delay);
  }

  private arm(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.cancelled) return;
    this.timer = setTimeout(() => this.schedule(), delayMs);
  }

  private dispatch(c: ClaimedMessage): void {
    this.held.set(c.id, c);
    const { store } = this.host;
    const delivery = createDelivery(
      this.queue,
      c.body,
      c.headers,
      {
        ack: () => this.settle(c, 'ack', () => store.ack(c.id, c.lease)),
        retry: (delayMs, reason) =>
          this.settle(c, 'retry', () => store.retry(c.id, c.lease, retryHeaders(c.headers, reason), Date.now() + delayMs), delayMs === 0),
        deadLetter: (reason) => this.settle(c, 'deadLetter', () => store.deadLetter(c.id, c.lease, trimReason(reason))),
      },
      this.host.log,
      () => {
        this.held.delete(c.id);
        this.schedule();
      },
    );
    void runHandler(delivery, this.handler, this.host.log);
  }

  private async settle(c: ClaimedMessage, what: string, write: () => boolean, wakeOthers = false): Promise<void> {
    if (this.host.isClosed()) {
      throw new TransientError('TRANSPORT_CLOSED', 'embedded transport is closed; the message will be delivered again');
    }
    const applied = await this.host.batcher.run(write);
    if (!applied) {
      // The claim was released (consumer cancelled): the message is ready again, at-least-once.
      this.host.log.debug('settle of a released delivery ignored', { queue: this.queue, messageId: c.headers.messageId, call: what });
    }
    // A retry without delay is ready now; other consumers of the queue may take it.
    if (wakeOthers) this.host.events.emit(this.queue);
  }
}
