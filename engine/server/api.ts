/**
 * The ops API under /api/v1: health for load balancers and the Docker HEALTHCHECK, and queue
 * depths for the ops pages and scripts. Channels, the message browser and dead letters have their
 * own routers (channels-api.ts, messages-api.ts, dead-letters-api.ts).
 */
import express from 'express';
import type { ChannelConfig } from '../channels/load';
import type { WaslRuntime } from '../runtime/types';
import { channelsRouter } from './channels-api';
import { deadLettersRouter } from './dead-letters-api';
import { fhirConnectionsRouter } from './fhir-connections-api';
import { fhirSyncRouter } from './fhir-sync-api';
import { messagesRouter } from './messages-api';
import { nphiesRouter } from './nphies-api';
import { isQueueNotFound } from './queue-depth';

export interface ApiOptions {
  runtime: WaslRuntime;
  channels: () => ChannelConfig[];
  ready: () => boolean;
  mode: 'embedded' | 'production' | 'mixed';
  startedAt: Date;
}

export function apiRouter(options: ApiOptions): express.Router {
  const { runtime } = options;
  const router = express.Router();
  router.use('/fhir-connections', fhirConnectionsRouter(runtime));
  router.use('/fhir-sync', fhirSyncRouter(runtime));
  router.use('/nphies', nphiesRouter(runtime));
  // The message browser and dead letters (docs/operations.md "Messages").
  router.use(messagesRouter({ runtime, channels: options.channels }));
  router.use(deadLettersRouter({ runtime, channels: options.channels }));

  router.get('/health', (_req, res) => {
    const ready = options.ready();
    // The process serves, but a channel that cannot receive is not fine: say which, keep 200
    // (restarting the process would not free a port another program holds).
    const failed = [...runtime.channelHealth].filter(([, h]) => h.state === 'error').map(([id, h]) => ({ channel: id, error: h.lastError?.code }));
    res.status(ready ? 200 : 503).json({
      status: !ready ? 'starting' : failed.length ? 'degraded' : 'ok',
      ...(failed.length ? { failedChannels: failed } : {}),
      mode: options.mode,
      store: runtime.store.dialect,
      transport: runtime.transport.kind,
      uptimeSeconds: Math.round((Date.now() - options.startedAt.getTime()) / 1000),
    });
  });

  // Channel status, detail, start / pause / stop (channels-api.ts).
  router.use('/channels', channelsRouter({ runtime, channels: options.channels }));

  router.get('/queues/:queue', async (req, res, next) => {
    try {
      res.json({ queue: req.params.queue, ...(await runtime.transport.depth(req.params.queue)) });
    } catch (err) {
      next(err);
    }
  });

  // JSON errors, never an HTML stack trace. An unknown queue is a 404, not a server fault.
  router.use((err: Error & { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (isQueueNotFound(err)) {
      res.status(404).json({ error: 'no such queue' });
      return;
    }
    res.status(500).json({ error: err.message });
  });

  return router;
}
