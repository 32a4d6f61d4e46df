/**
 * Dead letters in the ops API (docs/operations.md "Messages"): counts per queue of every channel,
 * the letters of one queue, and replay. Bodies hold patient data and are never served here: a
 * letter names its message id, and the message browser shows the content (masked or audited).
 */
import express from 'express';
import { remoteOf } from '../auth/types';
import type { ChannelConfig } from '../channels/types';
import { logger as makeLogger } from '../../common/logger';
import type { WaslRuntime } from '../runtime/types';
import { depthOf } from './queue-depth';

export interface DeadLettersApiOptions {
  runtime: WaslRuntime;
  channels: () => ChannelConfig[];
}

const DEFAULT_PEEK = 20;
const MAX_PEEK = 500;

export function deadLettersRouter(options: DeadLettersApiOptions): express.Router {
  const { runtime } = options;
  const logger = makeLogger({ stage: 'api' });
  const router = express.Router();

  // Every queue of every channel with its dead-letter count, zeros included: the page lists the
  // queues, not only the ones in trouble. `destination` is null for the channel's input queue.
  router.get('/dead-letters', async (_req, res, next) => {
    try {
      const queues = options.channels().flatMap((c) => [
        { queue: `${c.id}.in`, channel: c.id, destination: null as string | null },
        ...Object.keys(c.destinations).map((d) => ({ queue: `${c.id}.dest.${d}`, channel: c.id, destination: d as string | null })),
      ]);
      const depths = await Promise.all(queues.map((q) => depthOf(runtime, q.queue)));
      res.json({ queues: queues.map((q, i) => ({ ...q, dead: depths[i].dead })) });
    } catch (err) {
      next(err);
    }
  });

  router.get('/queues/:queue/dead-letters', async (req, res, next) => {
    try {
      const limit = Math.min(Math.max(Number(req.query.limit) || DEFAULT_PEEK, 1), MAX_PEEK);
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
      const queue = req.params.queue;
      const replayed = await runtime.transport.replayDeadLetters(queue);
      // After the fact, since the count is what is recorded. The replay stands if the audit write
      // fails (answering 500 would invite a second replay of nothing); the log says so loudly.
      await runtime.audit
        ?.record({ actor: req.waslUser?.username ?? 'anonymous', action: 'dlq.replay', target: queue, from: remoteOf(req), detail: { count: replayed } })
        .catch((err: Error & { code?: string }) => logger.error('dead-letter replay not written to the audit log', { queue, count: replayed, error: err.code }));
      res.json({ queue, replayed });
    } catch (err) {
      next(err);
    }
  });

  return router;
}
