/**
 * `/api/v1/nphies`: claim batches (engine/nphies/batch.ts) and the claim lifecycle.
 *
 * | method | path                  | body / answer |
 * |--------|-----------------------|---------------|
 * | POST   | /batches              | NDJSON body (`application/x-ndjson` or `text/plain`), one claim-request input per line; `?concurrency=&batchId=` → 202 `{ batchId, total, status }`; 409 while that batch id runs |
 * | GET    | /batches/:id          | progress: `{ batchId, total, done, failed, skipped, remaining, rate, etaSeconds, status }` |
 * | GET    | /batches/:id/results  | NDJSON results of a batch this process ran (ids, states, codes; no patient data) |
 * | GET    | /claims/:id           | one claim's state, amounts and transitions |
 *
 * Posting the same file again with the same batchId (or any id) resumes it: claims NPHIES
 * accepted are reported, not resent. NPHIES is reached with the settings of `wasl nphies-batch`
 * (NPHIES_* environment variables).
 */
import crypto from 'node:crypto';
import express from 'express';
import { ValidationError, WaslError, toWaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import { NphiesClient } from '../../connectors/nphies/client';
import type { NphiesParties } from '../../connectors/nphies/types';
import { nphiesFromEnv, ndjsonLines, runBatch, type BatchLineResult, type BatchProgress, type SendFn } from '../nphies/batch';
import { claimLifecycleFor, type ClaimLifecycle } from '../nphies/lifecycle';
import type { WaslRuntime } from '../runtime/types';

export interface NphiesApiOptions {
  /** Sends one request (tests); default an NphiesClient from the environment, with the durable ledger. */
  send?: SendFn;
  parties?: NphiesParties;
  /** Largest body accepted (default 50 MB: 10,000 claims of ~5 KB). */
  maxBodyBytes?: number;
}

interface Running {
  progress: BatchProgress;
  results: BatchLineResult[];
  promise: Promise<unknown>;
}

/** Finished batches whose results stay in memory. */
const KEEP_FINISHED = 20;

const log = logger({ stage: 'nphies-api' });

export function nphiesRouter(runtime: Pick<WaslRuntime, 'store'>, options: NphiesApiOptions = {}): express.Router {
  const router = express.Router();
  const batches = new Map<string, Running>();
  let lifecycle: ClaimLifecycle | undefined;
  let client: NphiesClient | undefined;
  const lc = (): ClaimLifecycle => (lifecycle ??= claimLifecycleFor(runtime.store));
  const sender = (): SendFn => {
    if (options.send) return options.send;
    if (!client) {
      const env = nphiesFromEnv(process.env);
      if (!env.endpoint) throw new ValidationError('NPHIES_NOT_CONFIGURED', 'NPHIES_URL is not set in this engine');
      client = new NphiesClient({ endpoint: env.endpoint, ledger: lc().ledger });
    }
    const c = client;
    return (bundle, o) => c.send(bundle, o);
  };

  router.post('/batches', express.text({ type: ['application/x-ndjson', 'application/ndjson', 'text/plain'], limit: options.maxBodyBytes ?? 50 * 1024 * 1024 }), async (req, res, next) => {
    try {
      if (typeof req.body !== 'string' || !req.body.trim()) throw new ValidationError('NPHIES_BATCH_BODY', 'send the claims as an NDJSON body (Content-Type application/x-ndjson)', { path: 'body' });
      const concurrency = req.query.concurrency === undefined ? 8 : Number(req.query.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 100) throw new ValidationError('NPHIES_BATCH_CONCURRENCY', 'concurrency must be an integer from 1 to 100', { path: 'concurrency' });
      const batchId = typeof req.query.batchId === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(req.query.batchId) ? req.query.batchId : crypto.randomUUID();
      if (batches.get(batchId)?.progress.status === 'running') {
        res.status(409).json({ error: 'this batch is running', batchId });
        return;
      }
      const lines = ndjsonLines(req.body);
      const parties = options.parties ?? nphiesFromEnv(process.env).parties;
      const send = sender();
      const running: Running = {
        progress: { batchId, total: lines.length, done: 0, failed: 0, skipped: 0, remaining: lines.length, rate: 0, elapsedMs: 0, status: 'running' },
        results: [],
        promise: Promise.resolve(),
      };
      batches.set(batchId, running);
      running.promise = runBatch(lines, {
        lifecycle: lc(), send, parties, concurrency, batchId, source: 'api',
        onResult: (r) => void running.results.push(r),
        onProgress: (p) => (running.progress = p),
      })
        .then((p) => (running.progress = p))
        .catch((err) => {
          running.progress = { ...running.progress, status: 'failed' };
          log.error('NPHIES batch failed', { batchId, code: toWaslError(err).code });
        })
        .finally(() => {
          const finished = [...batches.entries()].filter(([, b]) => b.progress.status !== 'running');
          for (const [id] of finished.slice(0, Math.max(finished.length - KEEP_FINISHED, 0))) batches.delete(id);
        });
      res.status(202).location(`${req.baseUrl}/batches/${batchId}`).json({ batchId, total: lines.length, status: 'running' });
    } catch (err) {
      next(err);
    }
  });

  router.get('/batches/:id', async (req, res, next) => {
    try {
      const running = batches.get(req.params.id);
      if (running) {
        res.json(running.progress);
        return;
      }
      const b = await lc().getBatch(req.params.id);
      if (!b) {
        res.status(404).json({ error: `no batch ${req.params.id}` });
        return;
      }
      // Ran in another process (the CLI) or before a restart: the stored counts, no rate.
      res.json({ batchId: b.id, total: b.total, done: b.done, failed: b.failed, skipped: b.skipped, remaining: Math.max(b.total - b.done - b.failed, 0), status: b.status, startedAt: b.startedAt, finishedAt: b.finishedAt });
    } catch (err) {
      next(err);
    }
  });

  router.get('/batches/:id/results', (req, res) => {
    const running = batches.get(req.params.id);
    if (!running) {
      res.status(404).json({ error: `no results for batch ${req.params.id} in this process` });
      return;
    }
    res.type('application/x-ndjson').send(running.results.map((r) => JSON.stringify(r) + '\n').join(''));
  });

  router.get('/claims/:id', async (req, res, next) => {
    try {
      const claim = await lc().getClaim(req.params.id);
      if (!claim) {
        res.status(404).json({ error: `no claim ${req.params.id}` });
        return;
      }
      // The patient key is opaque, but it is still per-patient: not served.
      const { patientKey: _patientKey, ...rest } = claim;
      res.json({ ...rest, transitions: await lc().history(claim.id) });
    } catch (err) {
      next(err);
    }
  });

  router.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    if (err instanceof WaslError) {
      res.status(err.kind === 'validation' ? 400 : err.kind === 'integration' ? 409 : 503).json({ error: err.message, code: err.code, path: err.path });
      return;
    }
    const status = (err as { status?: number }).status;
    if (status === 413 || status === 400 || status === 415) {
      res.status(status).json({ error: (err as Error).message });
      return;
    }
    res.status(500).json({ error: 'internal error' });
  });

  return router;
}
