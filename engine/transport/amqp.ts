/**
 * The production transport: RabbitMQ quorum queues through amqp-connection-manager, which
 * reconnects after a broker restart or a dropped connection, re-runs the queue declarations
 * (setup functions) and re-subscribes consumers.
 *
 * - publish: persistent, `mandatory`, on a confirm channel; resolves on the broker's confirm.
 *   Many publishes stay in flight at once (a confirm takes ~0.4 ms; awaiting each in turn would
 *   cap a process near 2,400 msgs/s). A publish the broker returns as unroutable (queue
 *   missing) rejects instead of resolving on the confirm that follows the return.
 * - retry / deadLetter: confirmed publish to the delay tier / DLQ, then ack (at worst a
 *   duplicate if the process dies in between). Topology in amqp-topology.ts.
 * - Queue declarations and depth, peek and replay run on short-lived channels: a failing
 *   declaration or a missing queue closes that channel only, never the publisher's.
 * - While the broker is away, publishes wait in memory (amqp-connection-manager) and are sent on
 *   reconnect, up to `publishTimeoutMs`; none of them has resolved, so nothing ACKed is lost.
 */
import amqp, { type AmqpConnectionManager, type ChannelWrapper, type Options as AcmOptions } from 'amqp-connection-manager';
import type { Channel, ConfirmChannel, Message, Options } from 'amqplib';
import { IntegrationError, TransientError, ValidationError, WaslError } from '../../common/errors';
import { logger as makeLogger, type Logger } from '../../common/logger';
import { AmqpConsumer } from './amqp-consumer';
import { DirectPublisher } from './amqp-direct-publish';
import { coalesceWrites, type AmqplibChannelModel } from './amqp-write-coalescing';
import { PUBLISH_SEQ_HEADER, fromProperties, toPublishOptions } from './amqp-headers';
import { DELAY_TIERS, deadLetterQueue, declareTopology, delayQueue } from './amqp-topology';
import { checkHeaders, checkQueueName } from './headers';
import type { Consumer, DeadLetter, DeliveryHandler, MessageHeaders, QueueDepth, QueueOptions, Transport } from './types';

export interface AmqpTransportOptions {
  /** `amqp://user:pass@host:5672/vhost`; the password never reaches the logs. */
  url: string;
  /** Prefetch when `consume` is given none (default 50). */
  prefetch?: number;
  logger?: Logger;
  /** How long `start` waits for the first connection (default 10,000 ms). */
  connectTimeoutMs?: number;
  /** A publish not confirmed in this time rejects as transient (default 30,000 ms). */
  publishTimeoutMs?: number;
  /** Heartbeat interval (default 5 s); a dead peer is noticed within about twice this. */
  heartbeatSeconds?: number;
  /** Wait between reconnect attempts (default 1 s). */
  reconnectSeconds?: number;
  /** Shown by `rabbitmqctl list_connections` and the management UI (default `wasl`). */
  connectionName?: string;
}

/** Messages moved per round when replaying dead letters (all of a round in flight at once). */
const REPLAY_BATCH = 100;

type PublishOptions = AcmOptions.Publish;

/** The URL without credentials, for logs. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || 5672}${u.pathname}`;
  } catch {
    return '(unparseable AMQP URL)';
  }
}

/** The channel or connection went away under an unconfirmed publish. */
function isChannelLoss(err: unknown): boolean {
  return /^(channel|connection) closed/i.test((err as Error)?.message ?? '');
}

/** Turns an amqplib failure into our error kinds; 404/406 are configuration, the rest transient. */
function classify(err: unknown, what: string, queue?: string): WaslError {
  if (err instanceof WaslError) return err;
  const code = (err as { code?: unknown }).code;
  const message = `${what} failed: ${(err as Error)?.message ?? String(err)}`;
  if (code === 404) return new IntegrationError('QUEUE_NOT_FOUND', message, { cause: err, details: { queue } });
  if (code === 406) return new IntegrationError('AMQP_PRECONDITION_FAILED', message, { cause: err, details: { queue } });
  if ((err as Error)?.message === 'timeout') return new TransientError('AMQP_PUBLISH_TIMEOUT', message, { cause: err });
  if ((err as Error)?.message === 'Channel closed') return new TransientError('TRANSPORT_CLOSED', message, { cause: err });
  return new TransientError('AMQP', message, { cause: err, details: { amqpCode: typeof code === 'number' || typeof code === 'string' ? code : undefined } });
}

export class AmqpTransport implements Transport {
  readonly kind = 'amqp' as const;
  private readonly url: string;
  private readonly defaultPrefetch: number;
  private readonly log: Logger;
  private readonly connectTimeoutMs: number;
  private readonly publishTimeoutMs: number;
  private readonly heartbeatSeconds: number;
  private readonly reconnectSeconds: number;
  private readonly connectionName: string;
  private manager?: AmqpConnectionManager;
  private publisher?: ChannelWrapper;
  /** The fast lane for publishes while connected (amqp-direct-publish.ts); the managed channel is the fallback. */
  private direct?: DirectPublisher;
  private starting?: Promise<void>;
  private closing?: Promise<void>;
  private readonly declared = new Map<string, Promise<void>>();
  private readonly consumers = new Set<AmqpConsumer>();
  private seq = 0;
  /** Sequence numbers of publishes the broker returned as unroutable. */
  private readonly returned = new Set<number>();

  constructor(opts: AmqpTransportOptions) {
    this.url = opts.url;
    this.defaultPrefetch = opts.prefetch ?? 50;
    this.log = opts.logger ?? makeLogger({ stage: 'transport' });
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.publishTimeoutMs = opts.publishTimeoutMs ?? 30_000;
    this.heartbeatSeconds = opts.heartbeatSeconds ?? 5;
    this.reconnectSeconds = opts.reconnectSeconds ?? 1;
    this.connectionName = opts.connectionName ?? 'wasl';
  }

  /** Connects; rejects (transient) if the broker is not reachable within `connectTimeoutMs`. */
  start(): Promise<void> {
    if (this.closing) return Promise.reject(this.closedError());
    this.starting ??= this.doStart().catch((err: unknown) => {
      this.starting = undefined;
      throw err;
    });
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const broker = safeUrl(this.url);
    const manager = amqp.connect([this.url], {
      heartbeatIntervalInSeconds: this.heartbeatSeconds,
      reconnectTimeInSeconds: this.reconnectSeconds,
      // noDelay: amqplib leaves Nagle on, which held each publish behind the broker's delayed TCP
      // ACK (about 40 ms per confirm round trip in bench:mllp).
      connectionOptions: { noDelay: true, clientProperties: { connection_name: this.connectionName } },
    });
    manager.on('connect', ({ connection }: { connection: AmqplibChannelModel }) => {
      // One writev per event-loop turn of publishes and acks (amqp-write-coalescing.ts).
      const coalescing = coalesceWrites(connection);
      this.log.info('amqp connected', { broker, coalescing });
    });
    manager.on('disconnect', ({ err }: { err?: Error }) => this.log.warn('amqp disconnected; reconnecting', { broker, reason: err?.message }));
    manager.on('connectFailed', ({ err }: { err?: Error }) => this.log.warn('amqp connect failed; retrying', { broker, reason: err?.message }));
    manager.on('blocked', ({ reason }: { reason: string }) => this.log.warn('amqp connection blocked by the broker', { broker, reason }));
    manager.on('unblocked', () => this.log.info('amqp connection unblocked', { broker }));
    const publisher = manager.createChannel({
      name: 'wasl-publish',
      confirm: true,
      publishTimeout: this.publishTimeoutMs,
      setup: async (channel: ConfirmChannel) => {
        channel.on('return', (msg: Message) => {
          const seq = msg.properties.headers?.[PUBLISH_SEQ_HEADER];
          if (typeof seq === 'number') this.returned.add(seq);
        });
      },
    });
    publisher.on('error', (err: Error) => this.log.error('amqp publisher channel error', { broker, reason: err.message }));
    try {
      await manager.connect({ timeout: this.connectTimeoutMs });
      await publisher.waitForConnect();
    } catch (err) {
      await publisher.close().catch(() => undefined);
      await manager.close().catch(() => undefined);
      throw new TransientError('AMQP_UNREACHABLE', `cannot connect to ${broker}: ${(err as Error).message}`, { cause: err });
    }
    this.manager = manager;
    this.publisher = publisher;
    this.direct = new DirectPublisher(manager, this.log);
  }

  /** Declares Q, Q.dlq and the delay tiers once, and again after every reconnect. */
  async assertQueue(queue: string): Promise<void> {
    checkQueueName(queue);
    let declaring = this.declared.get(queue);
    if (!declaring) {
      declaring = this.declare(queue);
      this.declared.set(queue, declaring);
      declaring.catch(() => this.declared.delete(queue));
    }
    return declaring;
  }

  private async declare(queue: string): Promise<void> {
    await this.start();
    // First on a throwaway channel: a mismatch (406) must not close the publisher's channel.
    await this.withChannel('declare queue', queue, (ch) => declareTopology(ch, queue));
    await this.publisher!.addSetup((ch: Channel) => declareTopology(ch, queue));
  }

  async publish(queue: string, body: Buffer, headers: MessageHeaders): Promise<void> {
    if (!Buffer.isBuffer(body)) throw new ValidationError('TRANSPORT_BODY', 'body must be a Buffer');
    checkHeaders(headers);
    await this.start();
    await this.publishTo(queue, body, toPublishOptions(headers));
  }

  /**
   * Confirmed, mandatory publish to one broker queue. Used for work, delay and DLQ queues.
   * The broker sends basic.return before the confirm of the same message, so once the confirm
   * resolves we know whether it was returned.
   */
  async publishTo(queue: string, body: Buffer, options: Options.Publish): Promise<void> {
    const deadline = Date.now() + this.publishTimeoutMs;
    if (this.direct && !this.closing) {
      const seq = ++this.seq;
      let outcome;
      try {
        outcome = await this.direct.publish(queue, body, { ...options, headers: { ...options.headers, [PUBLISH_SEQ_HEADER]: seq } }, seq, this.publishTimeoutMs);
      } catch (err) {
        throw classify(err, 'publish', queue);
      }
      if (outcome === 'confirmed') return;
      if (outcome === 'returned') {
        throw new IntegrationError('QUEUE_NOT_FOUND', `queue ${queue} does not exist; the broker returned the message`, { details: { queue } });
      }
      // unavailable: the managed channel below waits for the connection and sends it.
    }
    for (;;) {
      if (this.closing) throw this.closedError();
      const seq = ++this.seq;
      const withSeq: PublishOptions = {
        ...options,
        mandatory: true,
        headers: { ...options.headers, [PUBLISH_SEQ_HEADER]: seq },
        timeout: Math.max(1, deadline - Date.now()),
      };
      try {
        await this.publisher!.sendToQueue(queue, body, withSeq);
      } catch (err) {
        this.returned.delete(seq);
        // amqplib fails unconfirmed publishes with "channel closed" before amqp-connection-manager
        // sees the channel go, so the manager does not re-send them itself: send again, and the
        // manager holds the message until it has reconnected. The first copy may have reached the
        // queue (a duplicate, never a loss).
        if (!this.closing && isChannelLoss(err) && Date.now() < deadline) {
          this.log.debug('publish interrupted by a lost channel; sending again', { queue });
          continue;
        }
        throw classify(err, 'publish', queue);
      }
      if (this.returned.delete(seq)) {
        throw new IntegrationError('QUEUE_NOT_FOUND', `queue ${queue} does not exist; the broker returned the message`, { details: { queue } });
      }
      return;
    }
  }

  /** Settling is up to the handler (see delivery.ts); the queue is declared if needed. */
  async consume(queue: string, handler: DeliveryHandler, options: QueueOptions = {}): Promise<Consumer> {
    const prefetch = options.prefetch ?? this.defaultPrefetch;
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new ValidationError('TRANSPORT_PREFETCH', 'prefetch must be an integer >= 1');
    }
    await this.assertQueue(queue);
    if (this.closing) throw this.closedError();
    const consumer = new AmqpConsumer(
      { manager: this.manager!, log: this.log, publishTo: (q, b, o) => this.publishTo(q, b, o) },
      queue,
      handler,
      prefetch,
      (c) => this.consumers.delete(c),
    );
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (err) {
      await consumer.cancel();
      throw classify(err, 'consume', queue);
    }
    return consumer;
  }

  /**
   * The broker's ready counts. AMQP cannot report other processes' unacknowledged messages,
   * so `ready` adds only those held by this process's consumers.
   */
  async depth(queue: string): Promise<QueueDepth> {
    checkQueueName(queue);
    await this.start();
    return this.withChannel('depth', queue, async (ch) => {
      const count = async (q: string): Promise<number> => (await ch.checkQueue(q)).messageCount;
      const [ready, dead, ...delays] = await Promise.all([
        count(queue),
        count(deadLetterQueue(queue)),
        ...DELAY_TIERS.map((t) => count(delayQueue(queue, t))),
      ]);
      let held = 0;
      for (const c of this.consumers) if (c.queue === queue) held += c.unacked;
      return { ready: ready + held, delayed: delays.reduce((a, b) => a + b, 0), dead };
    });
  }

  /**
   * Gets up to `limit` dead letters without acking, then returns them all (nack with requeue).
   * Each peek counts as a delivery in the quorum queue's `x-delivery-count`; harmless unless a
   * delivery-limit policy is put on DLQs.
   */
  async peekDeadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    checkQueueName(queue);
    await this.start();
    const dlq = deadLetterQueue(queue);
    return this.withChannel('peek dead letters', queue, async (ch) => {
      const out: DeadLetter[] = [];
      try {
        while (out.length < limit) {
          const msg = await ch.get(dlq, { noAck: false });
          if (!msg) break;
          const { headers, deadReason } = fromProperties(msg.properties);
          out.push({ body: msg.content, headers, reason: deadReason ?? '' });
        }
      } finally {
        try {
          ch.nackAll(true);
        } catch {
          // The channel already closed; the broker requeued them anyway.
        }
      }
      return out;
    });
  }

  /**
   * Moves the dead letters present when called back to Q with attempt 1: each is published
   * (confirmed) before it is acked from the DLQ, a round of up to 100 in flight at once.
   */
  async replayDeadLetters(queue: string): Promise<number> {
    checkQueueName(queue);
    await this.start();
    const dlq = deadLetterQueue(queue);
    const moved = await this.withChannel('replay dead letters', queue, async (ch) => {
      const total = (await ch.checkQueue(dlq)).messageCount;
      let done = 0;
      while (done < total) {
        const batch: Message[] = [];
        while (batch.length < Math.min(REPLAY_BATCH, total - done)) {
          const msg = await ch.get(dlq, { noAck: false });
          if (!msg) break;
          batch.push(msg);
        }
        if (batch.length === 0) break;
        const results = await Promise.allSettled(
          batch.map((msg) => {
            const { headers } = fromProperties(msg.properties);
            return this.publishTo(queue, msg.content, toPublishOptions({ ...headers, attempt: 1 }));
          }),
        );
        let failure: unknown;
        results.forEach((r, i) => {
          if (r.status === 'fulfilled') {
            ch.ack(batch[i]);
            done++;
          } else {
            ch.nack(batch[i], false, true);
            failure ??= r.reason;
          }
        });
        if (failure !== undefined) throw failure;
      }
      return done;
    });
    if (moved > 0) this.log.info('dead letters replayed', { queue, count: moved });
    return moved;
  }

  /** Cancels consumers (their unacked messages are requeued) and closes the connection. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await this.starting?.catch(() => undefined);
    await Promise.all([...this.consumers].map((c) => c.cancel()));
    this.direct?.close();
    await this.publisher?.close().catch(() => undefined);
    await this.manager?.close().catch(() => undefined);
    if (this.manager) this.log.info('amqp transport closed', { broker: safeUrl(this.url) });
  }

  /** Runs `fn` on a fresh channel and closes it; a channel error stays local to it. */
  private async withChannel<T>(what: string, queue: string, fn: (ch: Channel) => Promise<T>): Promise<T> {
    if (this.closing) throw this.closedError();
    const connection = this.manager?.connection;
    if (!connection) throw new TransientError('AMQP_NOT_CONNECTED', `${what}: not connected to the broker`);
    let ch: Channel;
    try {
      ch = await connection.createChannel();
    } catch (err) {
      throw classify(err, what, queue);
    }
    // A server-side channel close (404, 406) also rejects the pending call; without a listener
    // the 'error' event would crash the process.
    ch.on('error', () => undefined);
    try {
      return await fn(ch);
    } catch (err) {
      throw classify(err, what, queue);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private closedError(): TransientError {
    return new TransientError('TRANSPORT_CLOSED', 'amqp transport is closed');
  }
}
