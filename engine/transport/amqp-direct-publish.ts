/**
 * The fast lane for publishes: an amqplib confirm channel of our own on the manager's current
 * connection, used while the connection is up.
 *
 * Why: amqp-connection-manager's ChannelWrapper queues every publish and feeds it to the channel
 * from a worker loop; measured here, a confirmed publish took about 0.64 ms through it and 0.42 ms
 * on a bare amqplib confirm channel. The ACK of every HL7 message waits on one of these.
 *
 * Safety: the lane only ever says "confirmed", "returned" (mandatory, no queue) or "not
 * available" (no connection, or the channel closed under the publish). In the last case the
 * caller sends through the manager, which holds the message until it has reconnected; a message
 * whose confirm was lost with the channel may then reach the queue twice (a duplicate, never a
 * loss: the same guarantee as before).
 */
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import type { Logger } from '../../common/logger';
import { PUBLISH_SEQ_HEADER } from './amqp-headers';

export type DirectOutcome = 'confirmed' | 'returned' | 'unavailable';

export class DirectPublisher {
  private channel?: ConfirmChannel;
  private opening?: Promise<ConfirmChannel | undefined>;
  private readonly returned = new Set<number>();
  private closed = false;

  constructor(
    private readonly manager: AmqpConnectionManager,
    private readonly log: Logger,
  ) {
    // A new connection means the old channel is gone; the next publish opens one on it.
    manager.on('disconnect', () => this.forget());
  }

  /**
   * Publishes with `mandatory` on the direct channel and waits for the broker's confirm.
   * `seq` must be the value of the PUBLISH_SEQ_HEADER in `options.headers`.
   */
  async publish(queue: string, body: Buffer, options: Options.Publish, seq: number, timeoutMs: number): Promise<DirectOutcome> {
    const ch = await this.current();
    if (!ch) return 'unavailable';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        ch.sendToQueue(queue, body, { ...options, mandatory: true }, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      });
    } catch (err) {
      this.returned.delete(seq);
      if ((err as Error).message === 'timeout') throw err;
      this.forget();
      return 'unavailable';
    }
    // basic.return arrives before the confirm of the same message.
    return this.returned.delete(seq) ? 'returned' : 'confirmed';
  }

  close(): void {
    this.closed = true;
    const ch = this.channel;
    this.forget();
    ch?.close().catch(() => undefined);
  }

  private current(): Promise<ConfirmChannel | undefined> {
    if (this.channel) return Promise.resolve(this.channel);
    if (this.closed || !this.manager.isConnected()) return Promise.resolve(undefined);
    this.opening ??= this.open().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async open(): Promise<ConfirmChannel | undefined> {
    const connection = this.manager.connection;
    if (!connection) return undefined;
    try {
      const ch = await connection.createConfirmChannel();
      ch.on('return', (msg: Message) => {
        const seq = msg.properties.headers?.[PUBLISH_SEQ_HEADER];
        if (typeof seq === 'number') this.returned.add(seq);
      });
      ch.on('error', (err: Error) => this.log.warn('amqp direct publish channel error', { reason: err.message }));
      ch.on('close', () => {
        if (this.channel === ch) this.channel = undefined;
      });
      if (this.closed) {
        await ch.close().catch(() => undefined);
        return undefined;
      }
      this.channel = ch;
      return ch;
    } catch (err) {
      this.log.debug('amqp direct publish channel not opened; using the managed channel', { reason: (err as Error).message });
      return undefined;
    }
  }

  private forget(): void {
    this.channel = undefined;
  }
}
