/**
 * `/api/v1/integrations`: the health of the outside-system adapters (engine/providers/registry.ts).
 *
 * | method | path          | answer |
 * |--------|---------------|--------|
 * | GET    | /health       | `{ adapters: [{ id, kind, operations, status, availability: { hour, day }, latencyMs: { p50, p95, p99 }, lastError, circuit, rateLimitHeadroom, cache, calls }] }` |
 * | POST   | /:id/check    | `{ id, status, latencyMs, detail? }` from the adapter's healthCheck(), or 404 |
 *
 * Availability is a ratio 0..1 ((ok + cached) / all calls; null without calls), latencies in ms
 * over the last hour (null without calls), `lastError` `{ code, at }` or null, `circuit`
 * closed | half-open | open, `rateLimitHeadroom` the requests still allowed in the window (null
 * without a rate limit), `cache` `{ hits, misses, size }` (null when the adapter does not say).
 * Ids, codes and counts only: nothing from a request or an answer.
 */
import express from 'express';
import { toWaslError } from '../../common/errors';
import type { HealthFigures } from '../../connectors/adapters/health-window';
import type { Adapter, AdapterStatus } from '../../connectors/adapters/types';
import type { AdapterRegistry } from '../providers/registry';

export interface IntegrationHealth {
  id: string;
  kind: Adapter['kind'];
  operations: string[];
  status: AdapterStatus;
  availability: HealthFigures['availability'];
  latencyMs: HealthFigures['latencyMs'];
  lastError: HealthFigures['lastError'];
  circuit: 'closed' | 'open' | 'half-open';
  rateLimitHeadroom: number | null;
  cache: { hits: number; misses: number; size: number } | null;
  calls: HealthFigures['calls'];
}

/** The health of every registered adapter, as the API answers it. */
export function integrationsHealth(registry: AdapterRegistry | undefined, now: number = Date.now()): IntegrationHealth[] {
  return (registry?.list() ?? []).map((adapter) => {
    const f = registry!.figures(adapter.id, now);
    return {
      id: adapter.id,
      kind: adapter.kind,
      operations: [...adapter.operations],
      status: f.status,
      availability: f.availability,
      latencyMs: f.latencyMs,
      lastError: f.lastError,
      circuit: safely(() => adapter.breakerState(), 'closed'),
      rateLimitHeadroom: safely(() => adapter.rateLimitHeadroom(), undefined) ?? null,
      cache: safely(() => adapter.cacheStats?.(), undefined) ?? null,
      calls: f.calls,
    };
  });
}

function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** @param adapters - the engine's registry, read per request (absent: no adapters) */
export function integrationsRouter(adapters: () => AdapterRegistry | undefined): express.Router {
  const router = express.Router();

  router.get('/health', (_req, res) => {
    res.json({ adapters: integrationsHealth(adapters()) });
  });

  router.post('/:id/check', async (req, res) => {
    const adapter = adapters()?.get(req.params.id);
    if (!adapter) {
      res.status(404).json({ error: `no adapter ${req.params.id}` });
      return;
    }
    const started = performance.now();
    try {
      const result = await adapter.healthCheck();
      res.json({ id: adapter.id, ...result });
    } catch (err) {
      // A check that throws is an answer about the adapter, not a fault of this API.
      const e = toWaslError(err);
      res.json({ id: adapter.id, status: 'down', latencyMs: Math.round(performance.now() - started), detail: e.code });
    }
  });

  return router;
}
