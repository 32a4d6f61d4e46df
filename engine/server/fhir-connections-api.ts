/**
 * `/api/v1/fhir-connections`: manage FHIR connections (engine/fhir-connections/).
 *
 * | method | path        | body / answer |
 * |--------|-------------|---------------|
 * | POST   | /           | connection → 201 view |
 * | GET    | /           | `{ connections: view[] }` |
 * | GET    | /:id        | view, or 404 |
 * | PUT    | /:id        | connection (secret fields optional: omitted ones are kept) → view |
 * | DELETE | /:id        | 204, or 404 |
 * | POST   | /:id/test   | `{ ok, fhirVersion, resourceTypes, roundTripMs }` or `{ ok: false, error: { code, message } }` |
 *
 * A view never carries a secret (password, key, clientSecret, privateKeyPem, refreshToken,
 * accessToken): it says `hasPassword: true` and the like. Bodies are checked with ajv; a 400
 * names each bad field (`errors: [{ path: 'auth.tokenUrl', message }]`). Storing a secret without
 * WASL_SECRET_KEY is a 409 `INTEGRATION_SECRET_KEY_MISSING` saying how to set it.
 */
import Ajv, { type ErrorObject } from 'ajv';
import express from 'express';
import { WaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import type { FetchLike } from '../../connectors/fhir/auth';
import { FhirConnectionNotFound, testFhirConnection, type FhirConnectionInput, type FhirConnectionRegistry } from '../fhir-connections';

const log = logger({ stage: 'fhir-connections-api' });

const str = { type: 'string', minLength: 1, maxLength: 2000 } as const;
const url = { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2000 } as const;

/** The JSON Schema of a connection; `requireSecrets` false for PUT (omitted secrets are kept). */
function connectionSchema(requireSecrets: boolean): object {
  const secret = (names: string[]) => (requireSecrets ? names : []);
  const branch = (type: string, properties: Record<string, object>, required: string[], secrets: string[]) => ({
    type: 'object',
    additionalProperties: false,
    properties: { type: { const: type }, ...properties },
    required: ['type', ...required, ...secret(secrets)],
  });
  return {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'baseUrl', 'auth'],
    properties: {
      id: { type: 'string', pattern: '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$' },
      name: { type: 'string', minLength: 1, maxLength: 200 },
      baseUrl: url,
      fhirVersion: { const: 'R4' },
      timeoutMs: { type: ['integer', 'null'], minimum: 100, maximum: 600_000 },
      rateLimitPerSecond: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 10_000 },
      enabled: { type: 'boolean' },
      auth: {
        type: 'object',
        required: ['type'],
        discriminator: { propertyName: 'type' },
        oneOf: [
          branch('none', {}, [], []),
          branch('basic', { username: str, password: str }, ['username'], ['password']),
          branch('api-key', { header: { type: 'string', pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }, key: str }, ['header'], ['key']),
          branch('client-credentials', { tokenUrl: url, clientId: str, clientSecret: str, scope: str, clientAuth: { enum: ['basic', 'post'] } }, ['tokenUrl', 'clientId'], ['clientSecret']),
          branch('smart-backend', { tokenUrl: url, clientId: str, privateKeyPem: { type: 'string', minLength: 1, maxLength: 20_000 }, algorithm: { enum: ['RS384', 'ES384'] }, keyId: str, scope: str }, ['tokenUrl', 'clientId', 'algorithm'], ['privateKeyPem']),
          branch('refresh-token', { tokenUrl: url, clientId: str, clientSecret: str, refreshToken: str, accessToken: str, expiresAt: { type: 'integer' } }, ['tokenUrl', 'clientId'], ['refreshToken']),
        ],
      },
    },
  };
}

const ajv = new Ajv({ allErrors: true, discriminator: true, strict: false });
const validateCreate = ajv.compile<FhirConnectionInput>(connectionSchema(true));
const validateUpdate = ajv.compile<FhirConnectionInput>(connectionSchema(false));

/** `/auth/clientId` + required `tokenUrl` → `auth.tokenUrl is required`. */
function problems(errors: ErrorObject[] | null | undefined): Array<{ path: string; message: string }> {
  const seen = new Set<string>();
  const out: Array<{ path: string; message: string }> = [];
  for (const e of errors ?? []) {
    const base = e.instancePath.split('/').filter(Boolean).join('.');
    let path = base;
    let message: string;
    if (e.keyword === 'required') {
      path = [base, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path = [base, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
      message = 'is not a known field';
    } else if (e.keyword === 'discriminator') {
      path = [base, 'type'].filter(Boolean).join('.');
      message = 'must be one of none, basic, api-key, client-credentials, smart-backend, refresh-token';
    } else if (e.keyword === 'pattern' && /url/i.test(path)) {
      message = 'must be an absolute http(s) URL';
    } else {
      message = e.message ?? 'is invalid';
    }
    // Never echo the value: it may be a secret.
    const key = `${path} ${message}`;
    if (!seen.has(key)) out.push({ path, message });
    seen.add(key);
  }
  return out;
}

export interface FhirConnectionsApiOptions {
  /** For the connection test (tests may count requests). */
  fetch?: FetchLike;
}

export function fhirConnectionsRouter(runtime: { fhirConnections?: FhirConnectionRegistry }, opts: FhirConnectionsApiOptions = {}): express.Router {
  const router = express.Router();
  router.use(express.json({ limit: '256kb' }));

  const registry = (): FhirConnectionRegistry => {
    if (!runtime.fhirConnections) throw Object.assign(new Error('FHIR connections are not available in this process'), { status: 503 });
    return runtime.fhirConnections;
  };

  const checked = (validate: typeof validateCreate) => (req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (validate(req.body)) return next();
    const errors = problems(validate.errors);
    res.status(400).json({
      error: { code: 'VALIDATION_FHIR_CONNECTION', message: errors.map((p) => `${p.path || 'body'} ${p.message}`).join('; '), path: errors[0]?.path },
      errors,
    });
  };

  router.post('/', checked(validateCreate), async (req, res, next) => {
    try {
      const view = await registry().create(req.body as FhirConnectionInput);
      log.info('FHIR connection created', { connection: view.id, authType: view.auth.type });
      res.status(201).location(`${req.baseUrl}/${view.id}`).json(view);
    } catch (err) {
      next(err);
    }
  });

  router.get('/', async (_req, res, next) => {
    try {
      res.json({ connections: await registry().list() });
    } catch (err) {
      next(err);
    }
  });

  router.get('/:id', async (req, res, next) => {
    try {
      const view = await registry().get(req.params.id);
      if (!view) throw new FhirConnectionNotFound(req.params.id);
      res.json(view);
    } catch (err) {
      next(err);
    }
  });

  router.put('/:id', checked(validateUpdate), async (req, res, next) => {
    try {
      const body = req.body as FhirConnectionInput;
      if (body.id !== undefined && body.id !== req.params.id) {
        res.status(400).json({ error: { code: 'VALIDATION_FHIR_CONNECTION', message: 'id cannot change', path: 'id' }, errors: [{ path: 'id', message: 'cannot change' }] });
        return;
      }
      const view = await registry().update(req.params.id, body);
      log.info('FHIR connection updated', { connection: view.id, authType: view.auth.type });
      res.json(view);
    } catch (err) {
      next(err);
    }
  });

  router.delete('/:id', async (req, res, next) => {
    try {
      if (!(await registry().delete(req.params.id))) throw new FhirConnectionNotFound(req.params.id);
      log.info('FHIR connection deleted', { connection: req.params.id });
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  router.post('/:id/test', async (req, res, next) => {
    try {
      const reg = registry();
      const connection = await reg.resolve(req.params.id);
      const result = await testFhirConnection(connection, {
        fetch: opts.fetch,
        onRefreshTokenRotated: (t) => reg.saveRotatedRefreshToken(connection.id, t),
      });
      log.info('FHIR connection tested', { connection: connection.id, ok: result.ok, code: result.ok ? undefined : result.error.code, roundTripMs: result.roundTripMs });
      res.json(result);
    } catch (err) {
      next(err);
    }
  });

  router.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const e = err as WaslError & { type?: string };
    if (e?.type === 'entity.parse.failed') {
      res.status(400).json({ error: { code: 'VALIDATION_FHIR_CONNECTION', message: 'body is not valid JSON' } });
      return;
    }
    if (e instanceof FhirConnectionNotFound) {
      res.status(404).json({ error: { code: e.code, message: e.message } });
      return;
    }
    if (e instanceof WaslError) {
      const status = e.kind === 'validation' ? 400 : /SECRET_KEY|SECRET_DECRYPT|EXISTS/.test(e.code) ? 409 : 500;
      res.status(status).json({ error: { code: e.code, message: e.message, ...(e.path ? { path: e.path } : {}) } });
      return;
    }
    const other = err as { name?: string; message?: string; status?: number };
    log.error('FHIR connections API failed', { error: other?.name, status: other?.status });
    res.status(other?.status ?? 500).json({ error: { code: other?.status === 503 ? 'UNAVAILABLE' : 'INTERNAL', message: other?.status ? other.message : 'internal error' } });
  });

  return router;
}
