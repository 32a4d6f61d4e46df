/**
 * The transport carries messages between the stages of a channel through durable queues.
 * Two implementations share this interface and one contract test suite:
 * - `EmbeddedTransport` (default): a queue table in SQLite; survives kill -9 of the process.
 * - `AmqpTransport` (production, AMQP_URL): RabbitMQ quorum queues, publisher confirms, manual acks.
 *
 * The transport is mechanism only. What to do with a failed delivery (retry after how long, or
 * dead-letter) is decided by the caller (see engine/runtime/retry-policy.ts), which then calls
 * `retry` or `deadLetter` on the delivery.
 */

/** Headers every queued message carries, from the source to the last destination. */
export interface MessageHeaders {
  /** Correlation id: the same from source to the last destination, in logs, store and outbound headers. */
  correlationId: string;
  /** Message store row id of this message. */
  messageId: string;
  channel: string;
  /** Delivery attempt, 1 for the first. Incremented by `retry`. */
  attempt: number;
  /** Anything else (e.g. destination name); string values only. */
  [key: string]: string | number;
}

export interface QueueOptions {
  /** Messages a consumer may hold unacknowledged at once. */
  prefetch?: number;
}

export interface Delivery {
  readonly queue: string;
  readonly body: Buffer;
  readonly headers: MessageHeaders;
  /** Done: remove the message from the queue. */
  ack(): Promise<void>;
  /**
   * Put the message back after `delayMs` with `attempt + 1` (AMQP: through a delay queue with a
   * TTL that dead-letters back to the work queue; embedded: an `available_at` time).
   * `reason` is kept in the `x-wasl-last-error` header.
   */
  retry(delayMs: number, reason: string): Promise<void>;
  /** Move to the queue's dead-letter queue with the reason; removes it from the work queue. */
  deadLetter(reason: string): Promise<void>;
}

export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface Consumer {
  /** Stop receiving; unacknowledged deliveries go back to the queue. */
  cancel(): Promise<void>;
}

export interface QueueDepth {
  /** Waiting to be consumed (includes in-flight, unacknowledged messages). */
  ready: number;
  /** Waiting in a delay (retry) queue. */
  delayed: number;
  /** In the dead-letter queue. */
  dead: number;
}

export interface DeadLetter {
  body: Buffer;
  headers: MessageHeaders;
  reason: string;
}

export interface Transport {
  readonly kind: 'embedded' | 'amqp';
  /** Connects; idempotent. */
  start(): Promise<void>;
  /** Declares the work queue with its delay and dead-letter queues. Idempotent. */
  assertQueue(queue: string): Promise<void>;
  /** Resolves only once the message is durable (SQLite commit / broker confirm). */
  publish(queue: string, body: Buffer, headers: MessageHeaders): Promise<void>;
  /** Handler errors are treated as `retry(1000)` so a bug never acks a message silently. */
  consume(queue: string, handler: DeliveryHandler, options?: QueueOptions): Promise<Consumer>;
  depth(queue: string): Promise<QueueDepth>;
  /** Reads (without removing) up to `limit` dead letters. */
  peekDeadLetters(queue: string, limit: number): Promise<DeadLetter[]>;
  /** Moves every dead letter back to the work queue with attempt reset to 1; returns how many. */
  replayDeadLetters(queue: string): Promise<number>;
  /** Stops consumers and disconnects; safe to call twice. */
  close(): Promise<void>;
}
