/**
 * The queues behind one logical queue Q on RabbitMQ, and how they are declared.
 *
 *   Q            work queue (quorum)
 *   Q.dlq        dead letters (quorum)
 *   Q.delay.<t>  retry delay tiers (quorum): messages wait there, expire, and the broker
 *                dead-letters them back to Q through the default exchange.
 *
 * Why tiers: RabbitMQ expires messages only at the head of a queue, so in a single delay queue
 * a 5-minute retry at the head would hold back a 1-second retry behind it. Each retry goes to
 * the smallest tier whose bound covers its delay, with a per-message `expiration` equal to the
 * exact delay; the tier's queue-level `x-message-ttl` is the bound. Head-of-line waiting can then
 * only stretch a delay up to its tier bound (a 1.2 s retry behind a 5 s one leaves at 5 s), which
 * keeps jittered backoff roughly intact with five queues instead of one per distinct delay.
 * Delays beyond the last tier are capped at it.
 *
 * Delay queues dead-letter `at-least-once` (quorum queues, RabbitMQ >= 3.10; it requires
 * `x-overflow: reject-publish`): the broker keeps the message until Q has confirmed it, so the
 * hop back to the work queue cannot drop it the way the default at-most-once strategy may.
 */
import type { Channel } from 'amqplib';

export interface DelayTier {
  /** Longest delay this tier serves (ms); also its queue-level TTL. */
  maxMs: number;
  suffix: string;
}

export const DELAY_TIERS: readonly DelayTier[] = [
  { maxMs: 1_000, suffix: 'delay.1s' },
  { maxMs: 5_000, suffix: 'delay.5s' },
  { maxMs: 30_000, suffix: 'delay.30s' },
  { maxMs: 300_000, suffix: 'delay.5m' },
  { maxMs: 3_600_000, suffix: 'delay.1h' },
];

export const MAX_DELAY_MS = DELAY_TIERS[DELAY_TIERS.length - 1].maxMs;

export function deadLetterQueue(queue: string): string {
  return `${queue}.dlq`;
}

export function delayQueue(queue: string, tier: DelayTier): string {
  return `${queue}.${tier.suffix}`;
}

/** The smallest tier that covers `delayMs` (delays above the last tier use the last tier). */
export function tierFor(delayMs: number): DelayTier {
  return DELAY_TIERS.find((t) => delayMs <= t.maxMs) ?? DELAY_TIERS[DELAY_TIERS.length - 1];
}

/** Every broker queue that belongs to Q (for depth, tests and clean-up). */
export function topologyQueues(queue: string): string[] {
  return [queue, deadLetterQueue(queue), ...DELAY_TIERS.map((t) => delayQueue(queue, t))];
}

const QUORUM = { 'x-queue-type': 'quorum' };

/** Declares Q, its DLQ and its delay tiers. Idempotent with the same arguments. */
export async function declareTopology(channel: Channel, queue: string): Promise<void> {
  await channel.assertQueue(queue, { durable: true, arguments: { ...QUORUM } });
  await channel.assertQueue(deadLetterQueue(queue), { durable: true, arguments: { ...QUORUM } });
  for (const tier of DELAY_TIERS) {
    await channel.assertQueue(delayQueue(queue, tier), {
      durable: true,
      arguments: {
        ...QUORUM,
        'x-message-ttl': tier.maxMs,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue,
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    });
  }
}
