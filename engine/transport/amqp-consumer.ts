/**
 * One consumer on RabbitMQ: its own channel (so prefetch and a channel failure concern it
 * alone), re-subscribed by amqp-connection-manager after a reconnect.
 *
 * A delivery can only be acked on the channel that delivered it. After a reconnect the old
 * channel is gone and the broker has already requeued its unacked messages; acking their tags on
 * the new channel would be a PRECONDITION_FAILED channel error that kills the consumer. So each
 * delivery remembers its channel, and settling a delivery whose channel closed does nothing:
 * the message comes again (at-least-once; destination writes are idempotent).
 */
import type { Channel, ConsumeMessage, Options } from 'amqplib';
import type { AmqpConnectionManager, ChannelWrapper } from 'amqp-connection-manager';
import type { Logger } from '../../common/logger';
import { toWaslError } from '../../common/errors';
import { DEAD_REASON_HEADER, fromProperties, toPublishOptions } from './amqp-headers';
import { MAX_DELAY_MS, deadLetterQueue, delayQueue, tierFor } from './amqp-topology';
import { createDelivery, runHandler } from './delivery';
import { retryHeaders, trimReason } from './headers';
import type { Consumer, DeliveryHandler } from './types';

/** What a consumer needs from its transport. */
export interface AmqpConsumerHost {
  readonly manager: AmqpConnectionManager;
  readonly log: Logger;
  /** Publishes and resolves on the broker's confirm (see AmqpTransport.publishTo). */
  publishTo(queue: string, body: Buffer, options: Options.Publish): Promise<void>;
}

export class AmqpConsumer implements Consumer {
  private wrapper?: ChannelWrapper;
  /** The channel now delivering; set by the setup function on every (re)connect. */
  private current?: Channel;
  private readonly closedChannels = new WeakSet<Channel>();
  /** Unsettled deliveries and their channel; depth adds them to the broker's ready count. */
  private readonly held = new Map<ConsumeMessage, Channel>();
  private cancelling?: Promise<void>;

  constructor(
    private readonly host: AmqpConsumerHost,
    readonly queue: string,
    private readonly handler: DeliveryHandler,
    private readonly prefetch: number,
    private readonly onCancel: (consumer: AmqpConsumer) => void,
  ) {}

  /** Deliveries this consumer holds unacknowledged (on a live channel). */
  get unacked(): number {
    return this.held.size;
  }

  async start(): Promise<void> {
    const wrapper = this.host.manager.createChannel({
      name: `wasl-consume:${this.queue}`,
      confirm: false,
      setup: async (channel: Channel) => {
        this.current = channel;
        channel.on('close', () => this.onChannelClose(channel));
      },
    });
    this.wrapper = wrapper;
    wrapper.on('error', (err: Error) => {
      this.host.log.error('amqp consumer channel error', { queue: this.queue, code: toWaslError(err).code });
    });
    await wrapper.consume(this.queue, (msg) => this.onMessage(msg), { prefetch: this.prefetch, noAck: false });
  }

  /** Closing the channel makes the broker requeue every unacknowledged delivery. */
  cancel(): Promise<void> {
    this.cancelling ??= this.doCancel();
    return this.cancelling;
  }

  private async doCancel(): Promise<void> {
    this.onCancel(this);
    this.held.clear();
    try {
      await this.wrapper?.close();
    } catch (err) {
      this.host.log.debug('amqp consumer channel close failed', { queue: this.queue, code: toWaslError(err).code });
    }
  }

  private onChannelClose(channel: Channel): void {
    this.closedChannels.add(channel);
    for (const [msg, ch] of this.held) if (ch === channel) this.held.delete(msg);
  }

  private onMessage(msg: ConsumeMessage): void {
    const channel = this.current;
    if (!channel) return; // cannot happen: messages arrive only after setup ran
    this.held.set(msg, channel);
    const { headers } = fromProperties(msg.properties);
    const live = (): boolean => !this.closedChannels.has(channel) && !this.cancelling;
    const ack = (what: string): void => {
      if (!live()) {
        this.host.log.debug('settle on a closed channel ignored; the broker redelivers', { queue: this.queue, messageId: headers.messageId, call: what });
        return;
      }
      try {
        channel.ack(msg);
      } catch {
        // Closed between the check and the call: same outcome as above.
      }
    };
    const delivery = createDelivery(
      this.queue,
      msg.content,
      headers,
      {
        ack: async () => ack('ack'),
        retry: async (delayMs, reason) => {
          if (!live()) return ack('retry');
          const next = retryHeaders(headers, reason);
          const options = toPublishOptions(next);
          let target = this.queue;
          if (delayMs > 0) {
            if (delayMs > MAX_DELAY_MS) this.host.log.warn('retry delay capped', { queue: this.queue, delayMs, capMs: MAX_DELAY_MS });
            const capped = Math.min(delayMs, MAX_DELAY_MS);
            target = delayQueue(this.queue, tierFor(capped));
            options.expiration = String(Math.round(capped));
          }
          // Confirmed copy first, then ack: dying in between gives a duplicate, never a loss.
          await this.host.publishTo(target, msg.content, options);
          ack('retry');
        },
        deadLetter: async (reason) => {
          if (!live()) return ack('deadLetter');
          await this.host.publishTo(deadLetterQueue(this.queue), msg.content, toPublishOptions(headers, { [DEAD_REASON_HEADER]: trimReason(reason) }));
          ack('deadLetter');
        },
      },
      this.host.log,
      () => this.held.delete(msg),
    );
    void runHandler(delivery, this.handler, this.host.log);
  }
}
