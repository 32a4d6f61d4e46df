/**
 * `/api/v1/claims`: the failed-claims workbench (engine/claims/workbench.ts) over HTTP.
 *
 * | method | path                     | body / answer |
 * |--------|--------------------------|---------------|
 * | GET    | /failed                  | `?rule=&facilityId=&payerId=&from=&to=&status=&limit=&after=` → `{ items, next }` (no sensitive fields; `next` is the `after` of the next page) |
 * | GET    | /failed/groups           | same filters but limit/after → `{ total, groups: [{ rule, message, severity, claims }] }` |
 * | GET    | /failed/:id              | the whole claim opened, its reasons and audit trail |
 * | PATCH  | /failed/:id              | JSON patch of claim fields (`{ "diagnoses": [...], "lines": { "0": { "units": 1 } } }`) → `{ changed, item }` |
 * | POST   | /failed/:id/reprocess    | → `{ matched, written, stillFailing, notFound, capped, results }` |
 * | POST   | /failed/reprocess        | `{ "ids": [...] }` or `{ "filter": { ... } }` (every match, up to 10,000) → the same report |
 *
 * 400: a bad filter or patch, with `error` (what, where, why), `code` and `path`. 404: no such
 * failed claim. 503: the claims production database (CLAIMS_PRODUCTION_URL) or WASL_SECRET_KEY
 * is not configured, the database is down or its tables are missing. Writes need
 * `Content-Type: application/json` (415 otherwise): a cross-site HTML form cannot send that, so a
 * page elsewhere cannot make a signed-in browser repair or reprocess claims.
 *
 * Reprocess runs the stages with the settings of the claims channel that writes to the same
 * database (its claims-validate rules, claims-predict model/threshold/action and claims-price
 * conversion factor/GPCI), or the defaults when no channel does.
 */
import express from 'express';
import { ValidationError, WaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import { SECRET_KEY_HELP, SecretKeyError } from '../../common/secret-box';
import type { Sealer } from '../../connectors/claims/batch';
import { acquirePostgres, dialectOf } from '../../connectors/claims/connections';
import { DEFAULT_TABLES, type ClaimTables } from '../../connectors/claims/schema';
import { loadDenialModelOrReason } from '../../transformers/claims/predict';
import { loadFeeSchedule } from '../../transformers/claims/price';
import { compileRuleSet, loadRuleSet } from '../../transformers/claims/validate';
import { DEFAULTS } from '../channels/defaults';
import type { ChannelConfig, ClaimsPredictTransformerConfig, ClaimsPriceTransformerConfig, ClaimsValidateTransformerConfig } from '../channels/types';
import { parseFailedClaimId, parseFilter, parseIds } from '../claims/workbench-input';
import { FailedClaimNotFoundError, FailedClaimsWorkbench, type ReprocessDeps, type ReprocessReport } from '../claims/workbench';
import type { AuditLog } from '../audit/types';
import { remoteOf } from '../auth/types';

export interface ClaimsApiOptions {
  /** runtime.secretBox; undefined when WASL_SECRET_KEY is not set (every route answers 503). */
  sealer: Sealer | undefined;
  /** Default: the CLAIMS_PRODUCTION_URL environment variable, read when the API is built. */
  productionUrl?: string;
  /** This engine's channels: reprocess takes its stage settings from the claims channel. */
  channels?: () => ChannelConfig[];
  /** The engine's audit log: repairs and reprocessing are recorded there too (ids and counts only). */
  audit?: AuditLog;
  /** Overrides the stage settings (tests). */
  reprocessDeps?: () => ReprocessDeps | Promise<ReprocessDeps>;
  tables?: ClaimTables;
}

export interface ClaimsApi {
  router: express.Router;
  /** Releases the database pool if one was opened; safe to call twice. */
  close(): Promise<void>;
}

/** Settings of the claims channel that reprocess repeats. */
export interface ReprocessSettings {
  channel?: string;
  rulesFile?: string;
  modelFile?: string;
  threshold?: number;
  action: 'flag' | 'hold';
  conversionFactor: string;
  useGpci: boolean;
}

class NotConfiguredError extends Error {}

const log = logger({ stage: 'claims-api' });

/**
 * Who made a change, for the workbench's own trail (failed_claim_audit): the signed-in user
 * (engine/auth/middleware.ts guards these routes, so there is one). `anonymous@<address>` only
 * when the router is mounted without the auth middleware (unit tests).
 */
export function actorOf(req: express.Request): string {
  return req.waslUser?.username ?? `anonymous@${req.socket.remoteAddress ?? 'unknown'}`;
}

/** Counts of a reprocess run for the audit log (no claim content). */
function summaryOf(report: ReprocessReport): Record<string, number | boolean> {
  return { matched: report.matched, written: report.written, stillFailing: report.stillFailing, notFound: report.notFound, capped: report.capped };
}

/** The stage settings of the first enabled channel that validates claims and writes them to `urlEnv`'s database. */
export function reprocessSettingsFrom(channels: ChannelConfig[], urlEnv: string = DEFAULTS.claims.productionUrlEnv): ReprocessSettings {
  const channel = channels.find(
    (c) =>
      c.enabled !== false &&
      (c.transformers ?? []).some((t) => t.type === 'claims-validate') &&
      Object.values(c.destinations).some((d) => d.type === 'sql' && (d.urlEnv ?? DEFAULTS.claims.productionUrlEnv) === urlEnv),
  );
  const transformers = channel?.transformers ?? [];
  const validate = transformers.find((t): t is ClaimsValidateTransformerConfig => t.type === 'claims-validate');
  const predict = transformers.find((t): t is ClaimsPredictTransformerConfig => t.type === 'claims-predict');
  const price = transformers.find((t): t is ClaimsPriceTransformerConfig => t.type === 'claims-price');
  return {
    channel: channel?.id,
    rulesFile: validate?.rulesFile,
    modelFile: predict?.modelFile,
    threshold: predict?.threshold,
    // A channel without a predict stage holds nothing for review: scoring only.
    action: predict ? (predict.action ?? DEFAULTS.claims.predictAction) : 'flag',
    conversionFactor: price?.conversionFactor ?? DEFAULTS.claims.conversionFactor,
    useGpci: price?.gpci ?? false,
  };
}

/** Loads what the settings name (rule set, model, fee schedule). */
export function loadReprocessDeps(settings: ReprocessSettings): ReprocessDeps {
  const model = loadDenialModelOrReason(settings.modelFile);
  if (!model.model) log.warn('denial model not loaded: reprocess predicts with the rule fallback', { reason: model.error });
  return {
    rules: compileRuleSet(loadRuleSet(settings.rulesFile)),
    model: model.model,
    schedule: loadFeeSchedule(),
    conversionFactor: settings.conversionFactor,
    useGpci: settings.useGpci,
    action: settings.action,
    threshold: settings.threshold,
  };
}

export function claimsApi(options: ClaimsApiOptions): ClaimsApi {
  const urlEnv = DEFAULTS.claims.productionUrlEnv;
  const url = options.productionUrl ?? process.env[urlEnv];
  let pool: ReturnType<typeof acquirePostgres> | undefined;
  let workbench: FailedClaimsWorkbench | undefined;
  let deps: Promise<ReprocessDeps> | undefined;

  const wb = (): FailedClaimsWorkbench => {
    if (!url) throw new NotConfiguredError(`the claims production database is not configured: set ${urlEnv} to its postgres:// URL and restart Wasl`);
    if (!options.sealer) throw new NotConfiguredError(`failed claims are encrypted and WASL_SECRET_KEY is not set: ${SECRET_KEY_HELP}`);
    let dialect: string;
    try {
      dialect = dialectOf(url);
    } catch (err) {
      throw new NotConfiguredError(`${urlEnv}: ${(err as Error).message}`);
    }
    if (dialect !== 'postgres') throw new NotConfiguredError(`the failed-claims workbench supports a PostgreSQL production database only; ${urlEnv} names SQL Server`);
    pool ??= acquirePostgres(url, 4);
    return (workbench ??= new FailedClaimsWorkbench(pool.knex, options.sealer, options.tables ?? DEFAULT_TABLES));
  };

  const reprocessDeps = (): Promise<ReprocessDeps> => {
    deps ??= (async () => {
      if (options.reprocessDeps) return options.reprocessDeps();
      const settings = reprocessSettingsFrom(options.channels?.() ?? [], urlEnv);
      return loadReprocessDeps(settings);
    })().catch((err: unknown) => {
      deps = undefined; // try again on the next request (the file may be fixed by then)
      throw new NotConfiguredError(`reprocess cannot load the claims stages' settings: ${(err as Error).message}`);
    });
    return deps;
  };

  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));
  // Writes only as JSON (see the file comment: no cross-site form posts).
  router.use((req, res, next) => {
    if ((req.method === 'POST' || req.method === 'PATCH') && !/^application\/json\b/i.test(req.get('content-type') ?? '')) {
      res.status(415).json({ error: 'send the request as JSON (Content-Type: application/json)', code: 'VALIDATION_WORKBENCH_CONTENT_TYPE' });
      return;
    }
    next();
  });

  router.get('/failed', async (req, res, next) => {
    try {
      const filter = parseFilter(req.query as Record<string, unknown>, 'query', true);
      res.set('Cache-Control', 'no-store').json(await wb().list(filter));
    } catch (err) {
      next(err);
    }
  });

  router.get('/failed/groups', async (req, res, next) => {
    try {
      const filter = parseFilter(req.query as Record<string, unknown>, 'query', false);
      res.set('Cache-Control', 'no-store').json(await wb().groups(filter));
    } catch (err) {
      next(err);
    }
  });

  router.get('/failed/:id', async (req, res, next) => {
    try {
      const id = parseFailedClaimId(req.params.id, 'path :id');
      // The answer holds the member id, name and birth date: never cached anywhere.
      res.set('Cache-Control', 'no-store').json(await wb().get(id));
    } catch (err) {
      next(err);
    }
  });

  router.patch('/failed/:id', async (req, res, next) => {
    try {
      const id = parseFailedClaimId(req.params.id, 'path :id');
      const w = wb();
      const { changed } = await w.repair(id, req.body, actorOf(req));
      await options.audit?.record({ actor: actorOf(req), action: 'claims.repair', target: `failed-claim:${id}`, from: remoteOf(req), detail: { fields: changed } });
      res.set('Cache-Control', 'no-store').json({ changed, item: await w.get(id) });
    } catch (err) {
      next(err);
    }
  });

  router.post('/failed/reprocess', async (req, res, next) => {
    try {
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (typeof body !== 'object' || Array.isArray(body)) throw new ValidationError('WORKBENCH_REPROCESS', 'body: must be { "ids": [...] } or { "filter": {...} }', { path: 'body' });
      const extra = Object.keys(body).filter((k) => k !== 'ids' && k !== 'filter');
      if (extra.length) throw new ValidationError('WORKBENCH_REPROCESS', `body.${extra[0]}: unknown field; give ids or filter`, { path: `body.${extra[0]}` });
      if ((body.ids === undefined) === (body.filter === undefined)) {
        throw new ValidationError('WORKBENCH_REPROCESS', 'body: give exactly one of ids (a list of failed-claim ids) or filter (every matching claim, up to 10,000)', { path: 'body' });
      }
      const target = body.ids !== undefined ? parseIds(body.ids, 'body.ids') : parseFilter(body.filter as Record<string, unknown>, 'body.filter', false);
      const w = wb();
      const report = await w.reprocess(target, actorOf(req), await reprocessDeps());
      await options.audit?.record({ actor: actorOf(req), action: 'claims.reprocess', target: 'failed-claims', from: remoteOf(req), detail: { ...(Array.isArray(target) ? { ids: target.length } : { filter: true }), ...summaryOf(report) } });
      res.json(report);
    } catch (err) {
      next(err);
    }
  });

  router.post('/failed/:id/reprocess', async (req, res, next) => {
    try {
      const id = parseFailedClaimId(req.params.id, 'path :id');
      const w = wb();
      const report = await w.reprocess([id], actorOf(req), await reprocessDeps());
      if (report.notFound) throw new FailedClaimNotFoundError(id);
      await options.audit?.record({ actor: actorOf(req), action: 'claims.reprocess', target: `failed-claim:${id}`, from: remoteOf(req), detail: summaryOf(report) });
      res.json(report);
    } catch (err) {
      next(err);
    }
  });

  router.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const e = err as Error & { code?: string; type?: string; status?: number };
    if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: 'body: not valid JSON', code: 'VALIDATION_WORKBENCH_JSON', path: 'body' });
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: 'body: larger than 1 MB', code: 'VALIDATION_WORKBENCH_BODY' });
      return;
    }
    if (err instanceof ValidationError) {
      res.status(400).json({ error: err.message, code: err.code, path: err.path });
      return;
    }
    if (err instanceof FailedClaimNotFoundError) {
      res.status(404).json({ error: err.message, code: 'NOT_FOUND' });
      return;
    }
    if (err instanceof NotConfiguredError) {
      res.status(503).json({ error: err.message, code: 'NOT_CONFIGURED' });
      return;
    }
    if (err instanceof SecretKeyError) {
      res.status(503).json({ error: `a sealed claim cannot be opened: ${err.message}`, code: err.code });
      return;
    }
    const unavailable = unavailableReason(e);
    if (unavailable) {
      log.warn('claims production database unavailable', { code: e.code });
      res.status(503).json({ error: unavailable, code: 'UNAVAILABLE' });
      return;
    }
    // Database error text can quote a value (PHI): log the code, answer generically.
    log.error('failed-claims workbench request failed', { code: e.code ?? (err instanceof WaslError ? err.code : e.name) });
    res.status(500).json({ error: 'the request failed; the engine log has the error code', code: 'INTERNAL' });
  });

  return {
    router,
    async close() {
      const p = pool;
      pool = undefined;
      workbench = undefined;
      await p?.release();
    },
  };
}

function unavailableReason(e: { code?: string; message?: string }): string | undefined {
  if (e.code === '42P01') return 'the claims production tables are missing: start the claims channel once with createTables: true on its sql destination';
  if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNRESET', '57P01', '57P03', '3D000', '28P01', '28000'].includes(e.code ?? '')) {
    return `the claims production database is unavailable (${e.code})`;
  }
  if (/Timeout acquiring a connection/.test(e.message ?? '')) return 'the claims production database is unavailable (no connection within the pool timeout)';
  return undefined;
}
