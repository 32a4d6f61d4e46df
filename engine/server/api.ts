/**
 * The ops API under /api/v1: health for load balancers and the Docker HEALTHCHECK, and channel
 * status with counters and queue depths for the ops pages and scripts.
 */
import express from 'express';
import type { ChannelConfig } from '../channels/load';
import type { WaslRuntime } from '../runtime/types';
import type { QueueDepth } from '../transport/types';

export interface ApiOptions {
  runtime: WaslRuntime;
  channels: () => ChannelConfig[];
  ready: () => boolean;
  mode: 'embedded' | 'production';
  startedAt: Date;
}

export function apiRouter(options: ApiOptions): express.Router {
  const { runtime } = options;
  const router = express.Router();

  router.get('/health', (_req, res) => {
    const ready = options.ready();
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ok' : 'starting',
      mode: options.mode,
      store: runtime.store.dialect,
      transport: runtime.transport.kind,
      uptimeSeconds: Math.round((Date.now() - options.startedAt.getTime()) / 1000),
    });
  });

  router.get('/channels', async (_req, res, next) => {
    try {
      const counters = await runtime.store.counters();
      const channels = await Promise.all(
        options.channels().map(async (channel) => {
          const queues: Record<string, QueueDepth> = {};
          queues[`${channel.id}.in`] = await runtime.transport.depth(`${channel.id}.in`);
          for (const name of Object.keys(channel.destinations)) {
            queues[`${channel.id}.dest.${name}`] = await runtime.transport.depth(`${channel.id}.dest.${name}`);
          }
          const health = runtime.channelHealth.get(channel.id);
          return {
            id: channel.id,
            name: channel.name,
            state: channel.enabled === false ? 'disabled' : health?.state ?? 'stopped',
            lastError: health?.lastError,
            ...(counters[channel.id] ?? { received: 0, filtered: 0, queued: 0, sent: 0, errored: 0 }),
            queues,
          };
        }),
      );
      res.json({ channels });
    } catch (err) {
      next(err);
    }
  });

  return router;
}
