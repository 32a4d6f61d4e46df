/**
 * Prometheus metrics (prom-client). One registry per engine so tests can start several.
 * Labels are channel, stage and destination names: never anything from a message.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class EngineMetrics {
  readonly registry = new Registry();

  readonly messages = new Counter({
    name: 'wasl_messages_total',
    help: 'Messages by channel and outcome (received, filtered, queued, sent, errored, rejected, duplicate)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly ackLatency = new Histogram({
    name: 'wasl_ack_latency_seconds',
    help: 'Time from receiving a message to sending its ACK',
    labelNames: ['channel', 'code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly destinationLatency = new Histogram({
    name: 'wasl_destination_latency_seconds',
    help: 'Time an outside system took to answer a destination call',
    labelNames: ['channel', 'destination', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'wasl_retries_total',
    help: 'Deliveries put back on a delay queue after a transient failure',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'wasl_dead_letters_total',
    help: 'Deliveries moved to a dead-letter queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'wasl_' });
  }
}
