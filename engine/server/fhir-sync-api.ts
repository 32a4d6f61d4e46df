/**
 * `/api/v1/fhir-sync`: run an Encounter and note sync (connectors/fhir/sync) and read past runs.
 *
 * | method | path   | body / answer |
 * |--------|--------|---------------|
 * | POST   | /      | `{ connectionId }` (a connection of /api/v1/fhir-connections) or `{ url }` (no auth), plus optional `since`, `until`, `status`, `patient`, `lastUpdatedSince`, `pageSize`, `full` → 200 summary when the run ends; 409 while a run for that connection is going |
 * | GET    | /runs  | `?connectionId=&limit=` → `{ runs: [...] }`, newest first |
 *
 * Summaries hold counts, ids and error codes, never patient data.
 */
import express from 'express';
import { ValidationError, WaslError } from '../../common/errors';
import { createAuthProvider } from '../../connectors/fhir/auth';
import type { AuthProvider } from '../../connectors/fhir/connection';
import { FhirConnectionClient } from '../../connectors/fhir/fhir-client';
import { connectionIdForUrl, EncounterSync } from '../../connectors/fhir/sync/encounter-sync';
import type { SyncQuery, SyncRun } from '../../connectors/fhir/sync/types';
import type { WaslRuntime } from '../runtime/types';
import { fhirSyncStoreFor } from '../store/fhir-sync-store';

const FHIR_DATE = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const TEXT_FIELDS = ['connectionId', 'url', 'since', 'until', 'status', 'patient', 'lastUpdatedSince'] as const;

interface SyncRequest {
  connectionId?: string;
  url?: string;
  since?: string;
  until?: string;
  status?: string;
  patient?: string;
  lastUpdatedSince?: string;
  pageSize?: number;
  full?: boolean;
}

/** Checks the body; each problem names its field. */
function parseBody(body: unknown): { request: SyncRequest; errors: { path: string; message: string }[] } {
  const errors: { path: string; message: string }[] = [];
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const request: SyncRequest = {};
  for (const key of Object.keys(b)) {
    if (![...TEXT_FIELDS, 'pageSize', 'full'].includes(key)) errors.push({ path: key, message: 'unknown field' });
  }
  for (const key of TEXT_FIELDS) {
    const v = b[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > 2000) errors.push({ path: key, message: 'must be a non-empty string' });
    else request[key] = v;
  }
  for (const key of ['since', 'until', 'lastUpdatedSince'] as const) {
    if (request[key] && !FHIR_DATE.test(request[key])) errors.push({ path: key, message: 'must be a FHIR date or instant' });
  }
  if (request.url && !/^https?:\/\/[^\s]+$/.test(request.url)) errors.push({ path: 'url', message: 'must be an absolute http(s) URL' });
  if (!request.url === !request.connectionId) errors.push({ path: 'connectionId', message: 'give exactly one of connectionId and url' });
  if (b.pageSize !== undefined) {
    if (!Number.isInteger(b.pageSize) || (b.pageSize as number) < 1 || (b.pageSize as number) > 1000) errors.push({ path: 'pageSize', message: 'must be an integer from 1 to 1000' });
    else request.pageSize = b.pageSize as number;
  }
  if (b.full !== undefined) {
    if (typeof b.full !== 'boolean') errors.push({ path: 'full', message: 'must be a boolean' });
    else request.full = b.full;
  }
  return { request, errors };
}

function summaryOf(run: SyncRun): Record<string, unknown> {
  const { id, connectionId, fetched, created, updated, skipped, failed, durationMs, pages, complete, highWaterMark, errors, startedAt, finishedAt } = run;
  return { runId: id, connectionId, fetched, created, updated, skipped, failed, durationMs, pages, complete, highWaterMark, startedAt, finishedAt, errors };
}

export function fhirSyncRouter(runtime: Pick<WaslRuntime, 'store' | 'fhirConnections'>): express.Router {
  const router = express.Router();
  const running = new Set<string>();

  router.post('/', express.json({ limit: '16kb' }), async (req, res, next) => {
    const { request, errors } = parseBody(req.body);
    if (errors.length) {
      res.status(400).json({ error: 'invalid request', errors });
      return;
    }
    let connectionId: string;
    let baseUrl: string;
    let auth: AuthProvider;
    let extra: { timeoutMs?: number; rateLimitPerSecond?: number } = {};
    try {
      if (request.connectionId) {
        if (!runtime.fhirConnections) throw new ValidationError('FHIR_CONNECTIONS_UNAVAILABLE', 'FHIR connections are not configured in this engine');
        const connection = await runtime.fhirConnections.resolve(request.connectionId);
        const registry = runtime.fhirConnections;
        connectionId = connection.id;
        baseUrl = connection.baseUrl;
        auth = createAuthProvider(connection.auth, { onRefreshTokenRotated: (token) => registry.saveRotatedRefreshToken(connection.id, token) });
        extra = { timeoutMs: connection.timeoutMs, rateLimitPerSecond: connection.rateLimitPerSecond };
      } else {
        baseUrl = request.url as string;
        connectionId = connectionIdForUrl(baseUrl);
        auth = createAuthProvider({ type: 'none' });
      }
    } catch (err) {
      next(err);
      return;
    }
    if (running.has(connectionId)) {
      res.status(409).json({ error: 'a sync for this connection is running', connectionId });
      return;
    }
    running.add(connectionId);
    const client = new FhirConnectionClient({ connection: { id: connectionId, baseUrl, ...extra }, auth });
    try {
      const sync = new EncounterSync({ connectionId, reader: client, store: fhirSyncStoreFor(runtime.store), baseUrl });
      const query: SyncQuery = {
        since: request.since, until: request.until, status: request.status, patient: request.patient,
        lastUpdatedSince: request.lastUpdatedSince, pageSize: request.pageSize, incremental: !request.full,
      };
      res.json(summaryOf(await sync.run(query)));
    } catch (err) {
      next(err);
    } finally {
      running.delete(connectionId);
      await client.close().catch(() => undefined);
    }
  });

  router.get('/runs', async (req, res, next) => {
    try {
      const connectionId = typeof req.query.connectionId === 'string' ? req.query.connectionId : undefined;
      const limit = Math.min(Math.max(Number(req.query.limit) || 20, 1), 500);
      const runs = await fhirSyncStoreFor(runtime.store).listRuns({ connectionId, limit });
      res.json({ runs: runs.map(summaryOf) });
    } catch (err) {
      next(err);
    }
  });

  // Classified errors keep their code; an unknown connection is a 404.
  router.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err instanceof WaslError) {
      const status = err.code === 'INTEGRATION_FHIR_CONNECTION_NOT_FOUND' ? 404 : err.kind === 'validation' ? 400 : err.kind === 'integration' ? 409 : 503;
      res.status(status).json({ error: err.message, code: err.code });
      return;
    }
    res.status(500).json({ error: 'internal error' });
  });

  return router;
}
