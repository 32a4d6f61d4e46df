/**
 * The default transport: queues in one SQLite file (better-sqlite3), no broker needed.
 *
 * Durability: WAL journal. A publish resolves after its transaction commits, so a resolved
 * publish survives kill -9 of the process. With `synchronous: 'NORMAL'` (default) a power loss
 * or OS crash may lose the last transactions before the next checkpoint; `'FULL'` fsyncs every
 * commit (figures for both in engine/transport/README.md).
 *
 * Single process: one EmbeddedTransport per file, in one process. On start every message left
 * `inflight` (claimed by a process that died) becomes ready again, which would steal the claims
 * of a second live instance. Scale out with the AMQP transport instead.
 */
import { EventEmitter } from 'node:events';
import { IntegrationError, TransientError, ValidationError } from '../../common/errors';
import { logger as makeLogger, type Logger } from '../../common/logger';
import { EmbeddedConsumer, type ConsumerHost } from './embedded-consumer';
import { QueueStore } from './embedded-store';
import { checkHeaders, checkQueueName } from './headers';
import { openQueueDatabase, type SqliteDatabase, type Synchronous } from './sqlite';
import { WriteBatcher } from './write-batcher';
import type { Consumer, DeadLetter, DeliveryHandler, MessageHeaders, QueueDepth, QueueOptions, Transport } from './types';

export interface EmbeddedTransportOptions {
  /** Path of the SQLite file, e.g. `data/queue.db`; created with its folder if missing. */
  file: string;
  /** Upper bound between checks for delayed messages coming due (ms, default 250). */
  pollIntervalMs?: number;
  /** SQLite `synchronous` pragma (default NORMAL, see the file comment). */
  synchronous?: Synchronous;
  /** Prefetch when `consume` is given none (default 10). */
  prefetch?: number;
  logger?: Logger;
}

interface Opened {
  db: SqliteDatabase;
  store: QueueStore;
  batcher: WriteBatcher;
}

export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded' as const;
  private readonly file: string;
  private readonly pollIntervalMs: number;
  private readonly synchronous: Synchronous;
  private readonly defaultPrefetch: number;
  private readonly log: Logger;
  private readonly events = new EventEmitter();
  private readonly queues = new Set<string>();
  private readonly consumers = new Set<EmbeddedConsumer>();
  private opened?: Opened;
  private closed = false;
  private closing?: Promise<void>;
  private lease = 0;

  constructor(opts: EmbeddedTransportOptions) {
    this.file = opts.file;
    this.pollIntervalMs = opts.pollIntervalMs ?? 250;
    this.synchronous = opts.synchronous ?? 'NORMAL';
    this.defaultPrefetch = opts.prefetch ?? 10;
    this.log = opts.logger ?? makeLogger({ stage: 'transport' });
    // Every consumer listens on its queue name; many consumers are normal, not a leak.
    this.events.setMaxListeners(0);
  }

  async start(): Promise<void> {
    this.openNow();
  }

  async assertQueue(queue: string): Promise<void> {
    checkQueueName(queue);
    const { store, batcher } = this.openNow();
    if (this.queues.has(queue)) return;
    await batcher.run(() => store.addQueue(queue));
    this.queues.add(queue);
  }

  async publish(queue: string, body: Buffer, headers: MessageHeaders): Promise<void> {
    const { store, batcher } = this.openNow();
    if (!Buffer.isBuffer(body)) throw new ValidationError('TRANSPORT_BODY', 'body must be a Buffer');
    checkHeaders(headers);
    this.requireQueue(queue);
    await batcher.run(() => store.insert(queue, body, headers, Date.now()));
    this.events.emit(queue);
  }

  /** Settling is up to the handler (see delivery.ts); prefetch defaults to the constructor's. */
  async consume(queue: string, handler: DeliveryHandler, options: QueueOptions = {}): Promise<Consumer> {
    await this.assertQueue(queue);
    const prefetch = options.prefetch ?? this.defaultPrefetch;
    if (!Number.isInteger(prefetch) || prefetch < 1) {
      throw new ValidationError('TRANSPORT_PREFETCH', 'prefetch must be an integer >= 1');
    }
    const consumer = new EmbeddedConsumer(this.consumerHost(), queue, handler, prefetch, (c) => this.consumers.delete(c));
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  async depth(queue: string): Promise<QueueDepth> {
    this.requireQueue(queue);
    return this.openNow().store.depth(queue, Date.now());
  }

  async peekDeadLetters(queue: string, limit: number): Promise<DeadLetter[]> {
    this.requireQueue(queue);
    return this.openNow().store.peekDead(queue, Math.max(0, Math.floor(limit)));
  }

  async replayDeadLetters(queue: string): Promise<number> {
    const { store, batcher } = this.openNow();
    this.requireQueue(queue);
    const moved = await batcher.run(() => store.replayDead(queue, Date.now()));
    if (moved > 0) this.log.info('dead letters replayed', { queue, count: moved });
    this.events.emit(queue);
    return moved;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const opened = this.opened;
    // Consumers release their claims through the batcher, so cancel them before closing.
    await Promise.all([...this.consumers].map((c) => c.cancel()));
    this.closed = true;
    if (!opened) return;
    await opened.batcher.drain();
    opened.db.close();
    this.log.info('embedded transport closed');
  }

  /** Opens the file on first use (start is implied) and refuses use after close. */
  private openNow(): Opened {
    if (this.closed || this.closing) throw new TransientError('TRANSPORT_CLOSED', 'embedded transport is closed');
    if (this.opened) return this.opened;
    const db = openQueueDatabase(this.file, this.synchronous);
    const store = new QueueStore(db);
    const recovered = store.recoverInflight();
    for (const name of store.queueNames()) this.queues.add(name);
    this.opened = { db, store, batcher: new WriteBatcher(db) };
    this.log.info('embedded transport started', { recovered, queues: this.queues.size, synchronous: this.synchronous });
    return this.opened;
  }

  private requireQueue(queue: string): void {
    this.openNow();
    if (!this.queues.has(queue)) {
      // The AMQP transport refuses too (mandatory publish): a misspelt queue fails loudly.
      throw new IntegrationError('QUEUE_NOT_FOUND', `queue ${queue} was never declared (assertQueue)`, { details: { queue } });
    }
  }

  private consumerHost(): ConsumerHost {
    const { store, batcher } = this.openNow();
    return {
      store,
      batcher,
      events: this.events,
      pollIntervalMs: this.pollIntervalMs,
      log: this.log,
      nextLease: () => ++this.lease,
      isClosed: () => this.closed,
    };
  }
}
