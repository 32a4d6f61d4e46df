/**
 * A stage boundary: what comes in is published to a durable queue; what the queue delivers goes
 * out to the next nodes, and is acknowledged only when those nodes settle its receipt. A failure
 * is retried through the transport's delay queue or dead-lettered (retry-policy.ts), and the
 * store records each outcome, so a message is always either queued, done, or in a DLQ.
 */
import { toWaslError, type WaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { Consumer, Delivery, MessageHeaders } from '../transport/types';
import type { StageSettled } from './metrics';
import { decideRetry, type RetrySettings } from './retry-policy';
import type { WaslRuntime } from './types';
import type { WaslMsg } from './wasl-msg';

export interface QueueStageOptions {
  channel: string;
  queue: string;
  /** Set for destination queues: the store records per-destination outcomes under this name. */
  destination?: string;
  prefetch: number;
  retry: RetrySettings;
  /** How long the downstream nodes may take before the delivery counts as failed (transient). */
  processingTimeoutMs?: number;
  logger: Logger;
  /** Hands a delivered message to the next nodes (the node's `send`). */
  emit(msg: WaslMsg): void;
}

/** How the body is encoded: `text` or `json` (see encodePayload). Reprocessing publishes with it too. */
export const CONTENT_TYPE = 'x-wasl-content-type';
const CARRY = 'x-wasl-carry';
/**
 * When the source received the message (epoch ms, as a string), for end-to-end latency; the first
 * queue stamps it when absent. Whoever publishes to a channel queue directly may set it.
 */
export const RECEIVED_AT = 'x-wasl-received-at';
/** How many destinations the router chose, so the last one to finish can be told apart. */
const ROUTES = 'x-wasl-routes';

/** How long a stop waits for deliveries in flight to settle before handing them back to the queue. */
const STOP_DRAIN_MS = 30_000;
/**
 * Pause between the last in-flight delivery settling and the consumer closing. A RabbitMQ quorum
 * queue may apply a consumer's close before acks just sent on it and return the acked messages
 * (docs/architecture.md, AMQP contract): a stop would then deliver them twice after the start.
 * A stop is rare and a person waits for it, so a quarter of a second costs nothing.
 */
const STOP_SETTLE_MS = 250;

/**
 * Message properties besides the payload that cross a queue: small summaries a source computed
 * that later nodes or hand-made flows read (the NPHIES result of a polled message and its claim
 * state). They travel as one JSON header; anything larger than CARRY_MAX_BYTES is left behind
 * (and logged), since headers are not the place for documents.
 */
export const CARRIED_PROPERTIES = ['nphies', 'nphiesClaim'] as const;
const CARRY_MAX_BYTES = 16 * 1024;

export class QueueStage {
  private consumer?: Consumer;
  private closed = false;
  /** Set by a channel stop (channel-control.ts): deliveries are left unsettled, then handed back. */
  private stopped = false;
  /** Deliveries handed to the flow and not yet settled; a stop waits for them. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Opening and closing the consumer, one at a time. */
  private consumerOps: Promise<void> = Promise.resolve();
  private unregister?: () => void;
  /** `in` or `dest.<name>`: the queue name without the channel, as metrics label it. */
  private readonly stage: string;

  constructor(
    private readonly runtime: WaslRuntime,
    private readonly options: QueueStageOptions,
  ) {
    const prefix = `${options.channel}.`;
    this.stage = options.queue.startsWith(prefix) ? options.queue.slice(prefix.length) : options.queue;
  }

  /** Resolves once the queue is declared: a publish must not race the declaration at start-up. */
  private declared?: Promise<void>;

  async start(): Promise<void> {
    // Registered before consuming: a channel stopped before this node was (re)deployed stays stopped.
    this.unregister ??= this.runtime.channelControl?.registerConsumer(this.options.channel, {
      pause: () => this.stopConsuming(),
      resume: () => this.startConsuming(),
    });
    this.declared = this.runtime.transport.assertQueue(this.options.queue);
    await this.declared;
    await this.serially(() => this.openConsumer());
  }

  /**
   * Channel stop: takes no new deliveries, waits (up to STOP_DRAIN_MS) for those in flight to
   * settle, then closes the consumer, which hands anything it still holds back to the queue.
   */
  stopConsuming(): Promise<void> {
    this.stopped = true; // synchronously: nothing delivered from here on reaches the flow
    return this.serially(async () => {
      if (!this.consumer) return;
      const pending = [...this.inFlight];
      if (pending.length > 0) {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_DRAIN_MS)));
        const outcome = await Promise.race([Promise.allSettled(pending), timeout]);
        clearTimeout(timer);
        // Their later settle is ignored and the queue delivers them again: at-least-once, as after a crash.
        if (outcome === 'timeout') this.options.logger.warn('stopping with deliveries still in flight; they will be delivered again', { queue: this.options.queue, inFlight: this.inFlight.size });
      }
      if (this.runtime.transport.kind === 'amqp') await new Promise((resolve) => setTimeout(resolve, STOP_SETTLE_MS));
      const consumer = this.consumer;
      this.consumer = undefined;
      await consumer?.cancel();
    });
  }

  /** Channel start (or pause after a stop): consumes again. */
  startConsuming(): Promise<void> {
    this.stopped = false;
    return this.serially(() => this.openConsumer());
  }

  private async openConsumer(): Promise<void> {
    // An intake-only process publishes to its queues but leaves consuming to the workers.
    if (this.consumer || this.closed || this.stopped || this.runtime.role === 'intake' || !this.declared) return;
    await this.declared;
    this.consumer = await this.runtime.transport.consume(this.options.queue, (d) => this.deliver(d), { prefetch: this.options.prefetch });
  }

  private serially(op: () => Promise<void>): Promise<void> {
    const next = this.consumerOps.then(op);
    this.consumerOps = next.catch(() => undefined);
    return next;
  }

  /** Publishes a message; resolves once the transport says it is durable. */
  async publish(msg: WaslMsg): Promise<void> {
    const { body, contentType } = encodePayload(msg.payload);
    const headers: MessageHeaders = {
      correlationId: msg.wasl.correlationId,
      messageId: msg.wasl.messageId,
      channel: msg.wasl.channel,
      attempt: 1,
      [CONTENT_TYPE]: contentType,
      [RECEIVED_AT]: String(msg.wasl.receivedAt ?? Date.now()),
    };
    if (msg.wasl.routes && msg.wasl.routes > 1) headers[ROUTES] = msg.wasl.routes;
    const carry = carriedOf(msg);
    if (carry) {
      if (Buffer.byteLength(carry) <= CARRY_MAX_BYTES) headers[CARRY] = carry;
      else this.options.logger.warn('message properties too large to carry across the queue; left behind', { queue: this.options.queue, bytes: Buffer.byteLength(carry) });
    }
    if (this.options.destination) {
      // Recorded before publishing: the destination may deliver (and record SENT) before the
      // broker's confirm reaches us, and a late QUEUED must never overwrite SENT.
      await this.runtime.store.update(msg.wasl.messageId, { status: 'QUEUED', destination: this.options.destination });
    }
    try {
      await (this.declared ??= this.runtime.transport.assertQueue(this.options.queue));
    } catch (err) {
      // Declare again on the next publish (the broker may be back); this one fails and is NAKed.
      this.declared = undefined;
      throw err;
    }
    await this.runtime.transport.publish(this.options.queue, body, headers);
    if (this.options.destination) this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'queued' });
  }

  private deliver(delivery: Delivery): Promise<void> {
    // Stopped: left unsettled; closing the consumer hands it back to the queue.
    if (this.stopped) return Promise.resolve();
    const work = this.process(delivery);
    this.inFlight.add(work);
    const forget = () => {
      this.inFlight.delete(work);
    };
    work.then(forget, forget);
    return work;
  }

  private async process(delivery: Delivery): Promise<void> {
    const { headers } = delivery;
    const log = this.options.logger.child({ correlationId: headers.correlationId, attempt: headers.attempt });
    const receipt = this.runtime.receipts.open(this.options.processingTimeoutMs ?? 120_000);
    const started = performance.now();
    const receivedAt = Number(headers[RECEIVED_AT]) || undefined;
    const routes = Number(headers[ROUTES]) || 1;
    const settled = (status: StageSettled['status'], error?: WaslError) =>
      this.runtime.metrics.recordStage({
        channel: this.options.channel,
        stage: this.stage,
        destination: this.options.destination,
        status,
        seconds: (performance.now() - started) / 1000,
        messageId: headers.messageId,
        routes,
        receivedAt,
        error: error && { kind: error.kind, code: error.code, message: error.message },
      });
    try {
      this.options.emit({
        ...carriedFrom(headers[CARRY]),
        payload: decodePayload(delivery.body, String(headers[CONTENT_TYPE] ?? 'text')),
        wasl: {
          correlationId: headers.correlationId,
          messageId: headers.messageId,
          channel: headers.channel,
          receipt: receipt.id,
          attempt: Number(headers.attempt) || 1,
          ...(receivedAt ? { receivedAt } : {}),
        },
      });
      const outcome = await receipt.settled;
      await delivery.ack();
      if (outcome === 'FILTERED') this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'filtered' });
      settled(outcome === 'FILTERED' ? 'filtered' : 'done');
    } catch (err) {
      const e = toWaslError(err);
      const attempt = Number(headers.attempt) || 1;
      const decision = decideRetry(e, attempt, this.options.retry);
      const destination = this.options.destination;
      if (decision.action === 'retry') {
        log.warn('delivery failed; retrying', { queue: this.options.queue, error: e.code, delayMs: decision.delayMs });
        await this.runtime.store.update(headers.messageId, { status: 'QUEUED', destination, error: e.toJSON() }).catch(() => undefined);
        await delivery.retry(decision.delayMs, `${e.code}: ${e.message}`);
        this.runtime.metrics.retries.inc({ queue: this.options.queue });
        settled('retried', e);
      } else {
        log.error('delivery failed; dead-lettered', { queue: this.options.queue, error: e.code, kind: e.kind });
        await this.runtime.store.update(headers.messageId, { status: 'ERROR', destination, error: e.toJSON() }).catch(() => undefined);
        await delivery.deadLetter(decision.reason);
        this.runtime.metrics.deadLetters.inc({ queue: this.options.queue });
        this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'errored' });
        settled('dead_lettered', e);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unregister?.();
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.cancel();
  }
}

function encodePayload(payload: unknown): { body: Buffer; contentType: 'text' | 'json' } {
  if (typeof payload === 'string') return { body: Buffer.from(payload, 'utf8'), contentType: 'text' };
  if (Buffer.isBuffer(payload)) return { body: payload, contentType: 'text' };
  return { body: Buffer.from(JSON.stringify(payload), 'utf8'), contentType: 'json' };
}

function decodePayload(body: Buffer, contentType: string): unknown {
  const text = body.toString('utf8');
  return contentType === 'json' ? JSON.parse(text) : text;
}

/** The carried properties of a message as one JSON string, or undefined when it has none. */
function carriedOf(msg: WaslMsg): string | undefined {
  const carry: Record<string, unknown> = {};
  for (const key of CARRIED_PROPERTIES) if (msg[key] !== undefined) carry[key] = msg[key];
  return Object.keys(carry).length ? JSON.stringify(carry) : undefined;
}

/** Back from the header: only the known properties, whatever else the header holds. */
function carriedFrom(header: string | number | undefined): Record<string, unknown> {
  if (typeof header !== 'string') return {};
  try {
    const parsed = JSON.parse(header) as Record<string, unknown>;
    return Object.fromEntries(CARRIED_PROPERTIES.filter((k) => parsed[k] !== undefined).map((k) => [k, parsed[k]]));
  } catch {
    return {};
  }
}
