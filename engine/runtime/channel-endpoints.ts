/**
 * HTTP endpoints of channel sources on the engine's own port: `/channels/<channel>/<kind>/...`
 * (kind `fhir` for wasl-fhir-in). The engine mounts one router at `/channels` before the flows
 * start; a source node registers its handler when it starts and removes it when it closes, so a
 * redeploy swaps handlers without touching express. Lives on the runtime object (not in a module
 * variable), so the engine and the nodes share it however each was loaded.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { WaslRuntime } from './types';

export class ChannelEndpoints {
  private readonly handlers = new Map<string, RequestHandler>();

  /**
   * Serves `/channels/<channel>/<kind>/...` with `handler` (which sees paths relative to that).
   * Returns the function that removes it. Throws when the pair is taken.
   */
  register(channel: string, kind: string, handler: RequestHandler): () => void {
    const key = `${channel}/${kind}`;
    if (this.handlers.has(key)) throw new Error(`/channels/${key} is already served by another node`);
    this.handlers.set(key, handler);
    return () => {
      if (this.handlers.get(key) === handler) this.handlers.delete(key);
    };
  }

  has(channel: string, kind: string): boolean {
    return this.handlers.has(`${channel}/${kind}`);
  }

  /** The router to mount at `/channels`. */
  router(): express.Router {
    const router = express.Router();
    router.use('/:channel/:kind', (req: Request, res: Response, next: NextFunction) => {
      const handler = this.handlers.get(`${req.params.channel}/${req.params.kind}`);
      if (handler) return handler(req, res, next);
      const diagnostics = `no running channel serves /channels/${req.params.channel}/${req.params.kind}`;
      if (req.params.kind === 'fhir') {
        res.status(404).type('application/fhir+json').send(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'not-found', diagnostics }] }));
      } else {
        res.status(404).json({ error: diagnostics });
      }
    });
    return router;
  }
}

/** The runtime's endpoint registry, created on first use. */
export function channelEndpointsOf(runtime: WaslRuntime): ChannelEndpoints {
  return (runtime.channelEndpoints ??= new ChannelEndpoints());
}
