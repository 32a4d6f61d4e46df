/**
 * Queue gauges read when Prometheus scrapes, not polled: how many messages wait in each channel
 * queue (the transport), and how old the oldest one is (the store: RabbitMQ cannot tell a
 * queue's oldest message; engine/store/channel-queues.ts).
 */
import { Gauge } from 'prom-client';
import { toWaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import type { ChannelConfig } from '../channels/load';
import { channelQueueQueriesOf } from '../store/channel-queues';
import type { EngineMetrics } from './metrics';
import type { WaslRuntime } from './types';

export function registerQueueGauges(metrics: EngineMetrics, runtime: WaslRuntime, channels: ChannelConfig[]): void {
  const queues = channels.flatMap((c) => [`${c.id}.in`, ...Object.keys(c.destinations).map((d) => `${c.id}.dest.${d}`)]);
  const log = logger({ stage: 'metrics' });

  new Gauge({
    name: 'wasl_queue_depth',
    help: 'Messages waiting in a queue, by state (ready, delayed for retry, dead-lettered)',
    labelNames: ['queue', 'state'] as const,
    registers: [metrics.registry],
    async collect() {
      for (const queue of queues) {
        const depth = await runtime.transport.depth(queue).catch(() => undefined);
        if (!depth) continue;
        this.set({ queue, state: 'ready' }, depth.ready);
        this.set({ queue, state: 'delayed' }, depth.delayed);
        this.set({ queue, state: 'dead' }, depth.dead);
      }
    },
  });

  const queries = channelQueueQueriesOf(runtime.store);
  if (!queries) return;
  const shape = channels.map((c) => ({ id: c.id, destinations: Object.keys(c.destinations) }));
  new Gauge({
    name: 'wasl_queue_oldest_age_seconds',
    help: 'Age of the oldest message waiting in a queue (since the source received it); 0 when none waits',
    labelNames: ['queue'] as const,
    registers: [metrics.registry],
    async collect() {
      let oldest;
      try {
        oldest = await queries.oldestWaiting(shape);
      } catch (err) {
        // A scrape without this gauge beats a failed scrape.
        log.warn('oldest waiting messages could not be read', { code: toWaslError(err).code });
        this.reset();
        return;
      }
      const now = Date.now();
      const age = (d: Date | undefined) => (d ? Math.max(0, (now - d.getTime()) / 1000) : 0);
      for (const c of shape) {
        const w = oldest.get(c.id);
        this.set({ queue: `${c.id}.in` }, age(w?.intake));
        for (const d of c.destinations) this.set({ queue: `${c.id}.dest.${d}` }, age(w?.destinations[d]));
      }
    },
  });
}
