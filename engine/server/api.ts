/**
 * The ops API under /api/v1: health for load balancers and the Docker HEALTHCHECK, and channel
 * status with counters and queue depths for the ops pages and scripts.
 */
import express from 'express';
import { fhirClients } from '../../connectors/fhir/client-registry';
import type { ChannelConfig } from '../channels/load';
import type { WaslRuntime } from '../runtime/types';
import type { MessageStatus } from '../store/types';
import type { QueueDepth } from '../transport/types';
import { fhirConnectionsRouter } from './fhir-connections-api';
import { fhirSyncRouter } from './fhir-sync-api';
import { nphiesRouter } from './nphies-api';

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

  router.get('/channels', async (_req, res, next) => {
    try {
      const counters = await runtime.store.counters();
      const channels = await Promise.all(
        options.channels().map(async (channel) => {
          const queues: Record<string, QueueDepth> = {};
          queues[`${channel.id}.in`] = await depthOf(runtime, `${channel.id}.in`);
          for (const name of Object.keys(channel.destinations)) {
            queues[`${channel.id}.dest.${name}`] = await depthOf(runtime, `${channel.id}.dest.${name}`);
          }
          const health = runtime.channelHealth.get(channel.id);
          return {
            id: channel.id,
            name: channel.name,
            state: channel.enabled === false ? 'disabled' : health?.state ?? 'stopped',
            lastError: health?.lastError,
            ...(counters[channel.id] ?? { received: 0, filtered: 0, queued: 0, sent: 0, errored: 0 }),
            queues,
            // Circuit breaker per FHIR connection this channel uses (connectors/fhir/client-registry.ts).
            circuit: fhirClients.circuitsFor(channel.id),
            // Batch channels (claims): items, failures and batch timings per stage.
            ...(runtime.stageStats?.of(channel.id) ? { stages: runtime.stageStats.of(channel.id) } : {}),
          };
        }),
      );
      res.json({ channels });
    } catch (err) {
      next(err);
    }
  });

  // Dead letters without their bodies: bodies hold patient data; ops find the message by id.
  router.get('/queues/:queue/dead-letters', async (req, res, next) => {
    try {
      const limit = Math.min(Math.max(Number(req.query.limit) || 20, 1), 500);
      const letters = await runtime.transport.peekDeadLetters(req.params.queue, limit);
      res.json({
        queue: req.params.queue,
        deadLetters: letters.map((l) => ({
          messageId: l.headers.messageId,
          correlationId: l.headers.correlationId,
          attempt: l.headers.attempt,
          reason: l.reason,
        })),
      });
    } catch (err) {
      next(err);
    }
  });

  router.post('/queues/:queue/replay', async (req, res, next) => {
    try {
      res.json({ queue: req.params.queue, replayed: await runtime.transport.replayDeadLetters(req.params.queue) });
    } catch (err) {
      next(err);
    }
  });

  router.get('/queues/:queue', async (req, res, next) => {
    try {
      res.json({ queue: req.params.queue, ...(await runtime.transport.depth(req.params.queue)) });
    } catch (err) {
      next(err);
    }
  });

  // Status and errors of one message; its content (PHI) is not served here.
  router.get('/messages/:id', async (req, res, next) => {
    try {
      const m = await runtime.store.get(req.params.id);
      if (!m) {
        res.status(404).json({ error: `no message ${req.params.id}` });
        return;
      }
      res.json({
        id: m.id,
        channel: m.channel,
        correlationId: m.correlationId,
        controlId: m.controlId,
        messageType: m.messageType,
        status: m.status,
        accepted: m.accepted,
        attempts: m.attempts,
        error: m.error,
        receivedAt: m.receivedAt,
        updatedAt: m.updatedAt,
        destinations: (m.destinations ?? []).map((d) => ({
          destination: d.destination,
          status: d.status,
          attempts: d.attempts,
          error: d.error,
          updatedAt: d.updatedAt,
        })),
      });
    } catch (err) {
      next(err);
    }
  });

  // Message metadata, newest first, to find an id (content is not served: it holds PHI).
  router.get('/messages', async (req, res, next) => {
    try {
      const status = typeof req.query.status === 'string' ? (req.query.status.toUpperCase() as MessageStatus) : undefined;
      const messages = await runtime.store.list({
        channel: typeof req.query.channel === 'string' ? req.query.channel : undefined,
        status,
        limit: Math.min(Math.max(Number(req.query.limit) || 50, 1), 500),
        beforeId: typeof req.query.before === 'string' ? req.query.before : undefined,
      });
      res.json({
        messages: messages.map((m) => ({
          id: m.id,
          channel: m.channel,
          correlationId: m.correlationId,
          controlId: m.controlId,
          messageType: m.messageType,
          status: m.status,
          attempts: m.attempts,
          receivedAt: m.receivedAt,
        })),
      });
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

function isQueueNotFound(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === 'INTEGRATION_QUEUE_NOT_FOUND' || /never declared|NOT_FOUND/.test(`${e.code} ${e.message}`);
}

/**
 * A channel's queue depth. Right after start a queue node may not have declared its queue yet:
 * a queue that does not exist holds nothing, so that reads as empty rather than as an error.
 */
async function depthOf(runtime: WaslRuntime, queue: string): Promise<QueueDepth> {
  try {
    return await runtime.transport.depth(queue);
  } catch (err) {
    if (isQueueNotFound(err)) return { ready: 0, delayed: 0, dead: 0 };
    throw err;
  }
}
