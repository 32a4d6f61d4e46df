/**
 * The loopback FHIR R4 server: Medplum's FhirRouter over an in-memory repository, behind an
 * express Router. Used by tests and end-to-end runs as the destination of HL7 → FHIR channels.
 *
 * Medplum does the FHIR work (CRUD, conditional create/update, search, batch/transaction with
 * urn:uuid rewriting). This file only translates HTTP, and adds what Medplum 4.5.2 lacks:
 * `/metadata`, searchset paging links, `Location`/`ETag` headers, resource validation
 * ({@link ValidatingMemoryRepository}) and serialised writes ({@link createSerialQueue}).
 */
import { performance } from 'node:perf_hooks';
import express, { type NextFunction, type Request, type Response } from 'express';
import { getStatus } from '@medplum/core';
import { FhirRouter, MemoryRepository, type FhirRequest, type HttpMethod } from '@medplum/fhir-router';
import type { Bundle, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { buildCapabilityStatement } from './capability-statement';
import { loadFhirDefinitions } from './definitions';
import { IndexedMemoryRepository, ValidatingMemoryRepository } from './repository';
import { addSearchLinks } from './search-links';
import { createSerialQueue } from './serial-queue';

export const FHIR_CONTENT_TYPE = 'application/fhir+json';

/** Large enough for an ADT history or a lab batch as one transaction Bundle. */
const BODY_LIMIT = '20mb';

/** What one handled request looked like: ids, status and timing only (no bodies, no query). */
export interface FhirRequestInfo {
  method: string;
  /** Path relative to the mount point, without the query string (queries may hold identifiers). */
  path: string;
  status: number;
  durationMs: number;
  correlationId?: string;
  requestId?: string;
}

export interface FhirServerOptions {
  /** Validate resources on every write against the R4 profiles (default true; Medplum alone does not). */
  validate?: boolean;
  /** Run writes one at a time so conditional writes are race-free (default true; see serial-queue.ts). */
  serializeWrites?: boolean;
  /** Reuse a repository, e.g. to keep data across a stop/start of the standalone server. */
  repo?: MemoryRepository;
  /** Called after each response; lets tests see what reached the server (ids and statuses only). */
  onRequest?: (info: FhirRequestInfo) => void;
}

export interface FhirServer {
  /** Mount at `/fhir/R4` (any mount path works: URLs are built from `req.baseUrl`). */
  router: express.Router;
  repo: MemoryRepository;
  /** Deletes every resource and its history. */
  reset(): void;
}

const READ_METHODS = new Set(['GET', 'HEAD']);
const FHIR_METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);

function operationOutcome(code: 'invalid' | 'exception' | 'not-supported', text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function sendFhir(res: Response, status: number, body: Resource): void {
  res.status(status).type(FHIR_CONTENT_TYPE).send(JSON.stringify(body));
}

function headerValue(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function baseUrlOf(req: Request): string {
  return `${req.protocol}://${req.get('host')}${req.baseUrl}`;
}

/** `Location`, `ETag` and `Last-Modified` for single-resource answers, as a FHIR server sends them. */
function setResourceHeaders(res: Response, status: number, resource: Resource, baseUrl: string): void {
  const versionId = resource.meta?.versionId;
  if (!resource.id || resource.resourceType === 'Bundle' || resource.resourceType === 'OperationOutcome') return;
  if (versionId) res.setHeader('ETag', `W/"${versionId}"`);
  if (resource.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
  if (status === 201) {
    const history = versionId ? `/_history/${versionId}` : '';
    res.setHeader('Location', `${baseUrl}/${resource.resourceType}/${resource.id}${history}`);
  }
}

/**
 * Builds the FHIR server. The first call indexes the R4 definitions (~1 s, once per process);
 * every call gets its own router and, unless one is passed in, its own empty repository.
 */
export async function createFhirServer(options: FhirServerOptions = {}): Promise<FhirServer> {
  loadFhirDefinitions();
  const repo = options.repo ?? (options.validate === false ? new IndexedMemoryRepository() : new ValidatingMemoryRepository());
  const fhirRouter = new FhirRouter();
  const writeQueue = options.serializeWrites === false ? <T>(job: () => Promise<T>) => job() : createSerialQueue();
  const router = express.Router();

  router.use(express.json({
    type: ['application/json', FHIR_CONTENT_TYPE, 'application/json-patch+json'],
    limit: BODY_LIMIT,
  }));

  // Report every answered request (including /metadata and parse errors) to the hook.
  router.use((req, res, next) => {
    if (!options.onRequest) return next();
    const started = performance.now();
    res.on('finish', () => options.onRequest?.({
      method: req.method,
      path: req.path,
      status: res.statusCode,
      durationMs: performance.now() - started,
      correlationId: headerValue(req, 'x-correlation-id'),
      requestId: headerValue(req, 'x-request-id'),
    }));
    next();
  });

  router.get('/metadata', (req, res) => {
    sendFhir(res, 200, buildCapabilityStatement(baseUrlOf(req)));
  });

  router.all('*', async (req, res, next) => {
    try {
      const method = req.method.toUpperCase();
      if (!FHIR_METHODS.has(method)) {
        sendFhir(res, 405, operationOutcome('not-supported', `Method ${method} not supported`));
        return;
      }
      const fhirRequest: FhirRequest = {
        method: method as HttpMethod,
        // Relative to the mount point, query string kept: FhirRouter parses the query itself
        // and throws if `pathname` is set.
        url: req.url.replace(/^\/+/, ''),
        pathname: '',
        params: {},
        query: {},
        body: req.body,
        headers: req.headers,
        // Without this flag a transaction Bundle is processed as a batch.
        config: { transactions: true },
      };
      const handle = () => fhirRouter.handleRequest(fhirRequest, repo);
      const [outcome, resource] = READ_METHODS.has(method) ? await handle() : await writeQueue(handle);
      const status = getStatus(outcome);
      const baseUrl = baseUrlOf(req);
      if (status >= 400 || !resource) {
        sendFhir(res, status, outcome);
        return;
      }
      if (resource.resourceType === 'Bundle' && (resource as Bundle).type === 'searchset') {
        addSearchLinks(resource as Bundle, baseUrl, req.path, new URL(req.url, 'http://x').searchParams);
      }
      setResourceHeaders(res, status, resource, baseUrl);
      sendFhir(res, status, resource);
    } catch (err) {
      next(err);
    }
  });

  // body-parser and unexpected errors: answer an OperationOutcome, never echo the body.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { status?: number; type?: string };
    const status = typeof e.status === 'number' && e.status >= 400 && e.status < 600 ? e.status : 500;
    const text =
      e.type === 'entity.parse.failed' ? 'Request body is not valid JSON'
        : e.type === 'entity.too.large' ? `Request body exceeds ${BODY_LIMIT}`
          : status >= 500 ? 'Internal server error' : 'Bad request';
    sendFhir(res, status, operationOutcome(status >= 500 ? 'exception' : 'invalid', text));
  });

  return { router, repo, reset: () => repo.clear() };
}
