/**
 * FhirConnectionClient: one FHIR connection (connection.ts) reached the way a careful client does.
 *
 * Every request goes, from the outside in, through:
 * 1. a cockatiel retry policy: transient failures (timeouts, 408, 429, 5xx, network) are tried
 *    again after exponential backoff with full jitter, or after the server's Retry-After;
 * 2. a cockatiel circuit breaker for the connection: after `consecutiveFailures` transient failures
 *    in a row calls fail at once (`TRANSIENT_FHIR_CIRCUIT_OPEN`); after `halfOpenAfterMs` the next
 *    call is let through as a test, and closes the circuit when it succeeds;
 * 3. a bottleneck limiter from `rateLimitPerSecond`: extra requests wait their turn, never fail;
 * 4. the request itself through fhir-kit-client 1.9.2 (client.ts says why 1.x), with headers from
 *    the AuthProvider and an AbortSignal for the per-request timeout. A 401 invalidates the
 *    provider's token once and is tried once more.
 *
 * Failures are classified once by classify.ts. A non-idempotent write (a create without
 * If-None-Exist, a transaction with unconditional creates) is retried only when the server
 * cannot have processed it (429, 503, connection refused), so a retry never duplicates.
 *
 * Events: `breaker` (BreakerState), `retry` ({@link FhirRetryEvent}), `request`
 * ({@link FhirRequestEvent}, one per HTTP attempt: feeds the metrics). Logs hold ids, codes,
 * counts and durations only.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import Bottleneck from 'bottleneck';
import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, DelegateBackoff, TaskCancelledError, circuitBreaker, handleWhen, retry,
  type CircuitBreakerPolicy, type RetryPolicy,
} from 'cockatiel';
import Client from 'fhir-kit-client';
import type { Binary, Bundle, BundleEntry, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import { TransientError, ValidationError, WaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import { checkTransactionResponse, classifyFhirFailure } from './classify';
import { fhirClients, type FhirClientRegistry } from './client-registry';
import { InFlightRequests } from './in-flight';
import type { AuthProvider, BreakerState, FhirConnection } from './connection';
import { canSplit, locationOf, planChunks, resolveReferences } from './split-transaction';

export interface FhirRetryOptions {
  /** Attempts per call, the first included (default 3; 1 = no retry). */
  maxAttempts?: number;
  /** Backoff ceiling of the first retry (default 250 ms); doubles each retry, up to `maxDelayMs`. */
  initialDelayMs?: number;
  /** Default 10,000 ms. */
  maxDelayMs?: number;
  /**
   * A Retry-After longer than this is not waited for here: the call fails with the error's
   * `retryAfterMs`, and the queue waits instead (default 30,000 ms).
   */
  maxRetryAfterMs?: number;
}

export interface FhirBreakerOptions {
  /** Transient failures in a row that open the circuit (default 5). */
  consecutiveFailures?: number;
  /** How long the circuit stays open before one test call is let through (default 30,000 ms). */
  halfOpenAfterMs?: number;
}

export interface FhirConnectionClientOptions {
  /** The connection; `auth` here is ignored (the provider is built from it elsewhere). */
  connection: Pick<FhirConnection, 'id' | 'baseUrl'> & Partial<Pick<FhirConnection, 'timeoutMs' | 'rateLimitPerSecond'>>;
  /** Headers per request, and the one refresh after a 401 (connectors/fhir/auth/). */
  auth: AuthProvider;
  retry?: FhirRetryOptions;
  breaker?: FhirBreakerOptions;
  /** Largest transaction the server takes; bigger idempotent Bundles go in chunks (split-transaction.ts). */
  maxTransactionEntries?: number;
  logger?: Logger;
  /** [0, 1) for the backoff jitter (tests pass a fixed one). */
  random?: () => number;
  /** Where the client lists itself for the API and metrics (default: the process-wide one). */
  registry?: FhirClientRegistry;
}

/** Per call: `correlationId` is sent as `X-Correlation-Id` (each attempt also gets an `X-Request-Id`). */
export interface FhirCallContext {
  correlationId?: string;
}

export interface FhirRequestEvent {
  connection: string;
  operation: FhirOperation;
  /** `ok`, or the failure's kind. */
  outcome: 'ok' | 'validation' | 'integration' | 'transient';
  status?: number;
  code?: string;
  durationMs: number;
}

export interface FhirRetryEvent {
  connection: string;
  operation: FhirOperation;
  /** The attempt that failed (1 = the first). */
  attempt: number;
  delayMs: number;
  code: string;
}

export type FhirOperation = 'capabilities' | 'read' | 'search' | 'next-page' | 'fetch' | 'create' | 'update' | 'transaction';

export interface CapabilityInfo {
  fhirVersion: string;
  /** Resource types of the `server` rest entry. */
  resourceTypes: string[];
  durationMs: number;
  statement: CapabilityStatement;
}

export interface WriteResult<T extends Resource = Resource> {
  /** 201 created, 200 updated or (conditional create) already there. */
  status: number;
  resource: T;
  durationMs: number;
}

export interface TransactionOutcome {
  status: number;
  /** The transaction-response, every entry 2xx. */
  bundle: Bundle;
  durationMs: number;
}

export interface FetchedContent {
  status: number;
  /** Without parameters, lower case (`text/plain`); `application/octet-stream` when absent. */
  contentType: string;
  /** The `charset` parameter, if the server named one. */
  charset?: string;
  bytes: Buffer;
}

/** The request one attempt sends: auth + tracing headers, and the signal of its timeout. */
interface AttemptOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
}

/** Per call: the 401 refresh happens once, whatever the attempt. */
interface CallState {
  reauthenticated: boolean;
}

const DEFAULTS = {
  timeoutMs: 30_000,
  maxAttempts: 3,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 30_000,
  consecutiveFailures: 5,
  halfOpenAfterMs: 30_000,
};

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const RESOURCE_ID = /^[A-Za-z0-9\-.]{1,64}$/;

type KitBody = Parameters<Client['transaction']>[0]['body'];

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function toBreakerState(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half-open';
  return 'open'; // Open, and Isolated (never used here)
}

function statusOf(data: unknown, fallback: number): number {
  try {
    return Client.httpFor(data as Parameters<typeof Client.httpFor>[0])?.response?.status ?? fallback;
  } catch {
    return fallback;
  }
}

/** True when the server cannot have acted on the request, so even a non-idempotent write may be resent. */
function notProcessed(e: WaslError): boolean {
  const status = e.details?.status;
  return e.code === 'TRANSIENT_FHIR_RATE_LIMITED' || status === 503 || e.details?.code === 'ECONNREFUSED';
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** The resilient client of one FHIR connection. Safe for concurrent use; close() when done. */
export class FhirConnectionClient extends EventEmitter {
  readonly connectionId: string;
  private readonly baseUrl: string;
  private readonly client: Client;
  private readonly auth: AuthProvider;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly retryOptions: Required<FhirRetryOptions>;
  private readonly halfOpenAfterMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly limiter?: Bottleneck;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly registry: FhirClientRegistry;
  private readonly requests: InFlightRequests;
  private readonly closing = new AbortController();
  private closed = false;

  constructor(opts: FhirConnectionClientOptions) {
    super();
    const { connection } = opts;
    if (!isHttpUrl(connection.baseUrl)) {
      // Never echo the URL: it may carry credentials.
      throw new ValidationError('FHIR_BASE_URL', `FHIR connection ${connection.id}: base URL is not an absolute http(s) URL`, { path: 'baseUrl' });
    }
    this.connectionId = connection.id;
    this.baseUrl = connection.baseUrl.replace(/\/+$/, '');
    this.client = new Client({ baseUrl: this.baseUrl });
    this.auth = opts.auth;
    this.timeoutMs = connection.timeoutMs && connection.timeoutMs > 0 ? connection.timeoutMs : DEFAULTS.timeoutMs;
    this.requests = new InFlightRequests(this.timeoutMs);
    this.maxEntries = opts.maxTransactionEntries && opts.maxTransactionEntries > 0 ? opts.maxTransactionEntries : Infinity;
    this.retryOptions = {
      maxAttempts: Math.max(1, opts.retry?.maxAttempts ?? DEFAULTS.maxAttempts),
      initialDelayMs: opts.retry?.initialDelayMs ?? DEFAULTS.initialDelayMs,
      maxDelayMs: opts.retry?.maxDelayMs ?? DEFAULTS.maxDelayMs,
      maxRetryAfterMs: opts.retry?.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    };
    this.halfOpenAfterMs = opts.breaker?.halfOpenAfterMs ?? DEFAULTS.halfOpenAfterMs;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? createLogger({ stage: 'fhir-client', connection: connection.id });

    // Only transient failures say the server is unwell; a 4xx means it is up and answering.
    this.breaker = circuitBreaker(
      handleWhen((err) => err instanceof WaslError && err.kind === 'transient' && err.code !== 'TRANSIENT_FHIR_CLOSED'),
      { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(opts.breaker?.consecutiveFailures ?? DEFAULTS.consecutiveFailures) },
    );
    this.breaker.onStateChange((state) => {
      const s = toBreakerState(state);
      this.log[s === 'open' ? 'warn' : 'info']('FHIR circuit breaker state changed', { connection: this.connectionId, state: s });
      this.emit('breaker', s);
    });

    const rate = connection.rateLimitPerSecond;
    if (rate && rate > 0) this.limiter = new Bottleneck({ minTime: Math.ceil(1000 / rate), maxConcurrent: null });

    this.registry = opts.registry ?? fhirClients;
    this.registry.add(this);
  }

  /** The circuit breaker's state now: `open` fails calls at once; `half-open` lets one test call through. */
  breakerState(): BreakerState {
    return toBreakerState(this.breaker.state);
  }

  /**
   * Reads `/metadata`. Not cached (fhir-kit-client's `capabilityStatement()` caches failures too).
   * @throws TransientError `FHIR_BAD_RESPONSE` when the answer is not a CapabilityStatement; else as {@link read}
   */
  async capabilities(ctx: FhirCallContext = {}): Promise<CapabilityInfo> {
    const started = performance.now();
    const statement = await this.call('capabilities', true, ctx, async (o) => {
      const data = (await this.client.request('metadata', { options: o })) as CapabilityStatement;
      if (data?.resourceType !== 'CapabilityStatement') {
        throw new TransientError('FHIR_BAD_RESPONSE', 'FHIR server answered /metadata without a CapabilityStatement');
      }
      return data;
    });
    const server = statement.rest?.find((r) => r.mode === 'server') ?? statement.rest?.[0];
    return {
      fhirVersion: statement.fhirVersion ?? '',
      resourceTypes: (server?.resource ?? []).map((r): string => r.type).filter((t) => typeof t === 'string' && t !== ''),
      durationMs: elapsed(started),
      statement,
    };
  }

  /**
   * GET `<type>/<id>`.
   * @throws IntegrationError `INTEGRATION_FHIR_REJECTED` (404, 410, other 4xx; `details.status`, `details.outcome`);
   *   TransientError `TRANSIENT_FHIR_*` after the retries; ValidationError for a malformed type or id
   */
  async read<T extends Resource = Resource>(type: string, id: string, ctx: FhirCallContext = {}): Promise<T> {
    checkType(type);
    if (!RESOURCE_ID.test(id)) throw new ValidationError('FHIR_BAD_ID', `Not a FHIR id (${type})`, { path: 'id' });
    return this.call('read', true, ctx, async (o) => (await this.client.request(`${type}/${id}`, { options: o })) as T);
  }

  /**
   * GET `<type>?<params>`: one page. Follow it with {@link nextPage}.
   * @param params - repeated parameters as arrays (`{ date: ['ge2024-01-01', 'lt2024-02-01'] }`)
   */
  async search(type: string, params: SearchParams = {}, ctx: FhirCallContext = {}): Promise<Bundle> {
    checkType(type);
    const query = toQuery(params);
    return this.call('search', true, ctx, async (o) => asBundle(await this.client.request(query ? `${type}?${query}` : type, { options: o })));
  }

  /**
   * The page after `bundle` (its `link[relation=next]`, absolute or relative to the base URL), or
   * undefined on the last page. A link to another origin is refused: it would get our credentials.
   */
  async nextPage(bundle: Bundle, ctx: FhirCallContext = {}): Promise<Bundle | undefined> {
    const next = bundle.link?.find((l) => l.relation === 'next')?.url;
    if (!next) return undefined;
    const url = this.sameOriginUrl(next, 'link[next]');
    return this.call('next-page', true, ctx, async (o) => asBundle(await this.client.request(url, { options: o })));
  }

  /**
   * Fetches content on this server, e.g. an attachment URL or `Binary/<id>`, as bytes. A server that
   * answers with a FHIR Binary resource instead of the raw content gets its `data` decoded.
   */
  async fetchUrl(url: string, ctx: FhirCallContext = {}): Promise<FetchedContent> {
    const target = this.sameOriginUrl(url, 'url');
    return this.call('fetch', true, ctx, async (o) => {
      const res = await fetch(target, { headers: { accept: '*/*', ...o.headers }, signal: o.signal });
      const bytes = Buffer.from(await res.arrayBuffer());
      const [type, ...parameters] = (res.headers.get('content-type') ?? 'application/octet-stream').split(';');
      const contentType = type.trim().toLowerCase();
      if (!res.ok) {
        let data: unknown = '';
        try {
          data = JSON.parse(bytes.toString('utf8'));
        } catch {
          // not FHIR JSON: classified without an outcome
        }
        // The same shape fhir-kit-client rejects with, so classify.ts reads status and Retry-After.
        throw Object.assign(new Error(`HTTP ${res.status}`), { response: { status: res.status, data }, config: { headers: res.headers } });
      }
      if (contentType === 'application/fhir+json' || contentType === 'application/json') {
        const binary = tryJson(bytes) as Binary | undefined;
        if (binary?.resourceType === 'Binary') {
          return { status: res.status, contentType: binary.contentType ?? 'application/octet-stream', bytes: Buffer.from(binary.data ?? '', 'base64'), charset: charsetOf(binary.contentType ?? '') };
        }
      }
      return { status: res.status, contentType, charset: charsetOf(parameters.join(';')), bytes };
    });
  }

  /**
   * POST a resource. With `ifNoneExist` (a search, e.g. `identifier=sys|val`) the server creates it
   * only if nothing matches (201) and otherwise answers the existing one (200): safe to retry.
   * Without it the create is retried only when the server cannot have processed it.
   */
  async create<T extends Resource>(resource: T, opts: { ifNoneExist?: string } = {}, ctx: FhirCallContext = {}): Promise<WriteResult<T>> {
    checkType(resource?.resourceType);
    const started = performance.now();
    return this.call('create', Boolean(opts.ifNoneExist), ctx, async (o) => {
      const headers = opts.ifNoneExist ? { ...o.headers, 'if-none-exist': opts.ifNoneExist } : o.headers;
      const data = (await this.client.create({ resourceType: resource.resourceType, body: resource as never, options: { ...o, headers } })) as T;
      return { status: statusOf(data, 201), resource: data, durationMs: elapsed(started) };
    });
  }

  /**
   * PUT a resource: by its `id`, or with `conditional` (a search such as `identifier=sys|val`) as
   * a conditional update (update the one match, create when none).
   */
  async update<T extends Resource>(resource: T, opts: { conditional?: string } = {}, ctx: FhirCallContext = {}): Promise<WriteResult<T>> {
    checkType(resource?.resourceType);
    if (!opts.conditional && !(resource.id && RESOURCE_ID.test(resource.id))) {
      throw new ValidationError('FHIR_BAD_ID', `${resource.resourceType} to update has no valid id`, { path: `${resource.resourceType}.id` });
    }
    const started = performance.now();
    const path = opts.conditional ? `${resource.resourceType}?${opts.conditional}` : `${resource.resourceType}/${resource.id}`;
    return this.call('update', true, ctx, async (o) => {
      const data = (await this.client.request(path, {
        method: 'PUT',
        body: JSON.stringify(resource),
        options: { ...o, headers: { 'content-type': 'application/fhir+json', ...o.headers } },
      })) as T;
      return { status: statusOf(data, 200), resource: data, durationMs: elapsed(started) };
    });
  }

  /**
   * POST a transaction Bundle. Bigger than `maxTransactionEntries` and idempotent (split-transaction.ts
   * `canSplit`): posted in chunks in reference order, answered as one transaction-response.
   * @throws IntegrationError for a 4xx, or a 4xx entry in a 200 (`details.entryIndex`)
   */
  async transaction(bundle: Bundle, ctx: FhirCallContext = {}): Promise<TransactionOutcome> {
    if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw new ValidationError('FHIR_NOT_TRANSACTION', 'Payload is not a FHIR Bundle of type transaction', { path: 'type' });
    }
    const entries = bundle.entry ?? [];
    const idempotent = canSplit(bundle);
    if (entries.length <= this.maxEntries || !idempotent) return this.postTransaction(bundle, idempotent, ctx);

    const started = performance.now();
    const resolved = new Map<string, string>();
    const responses = new Map<BundleEntry, BundleEntry>();
    let status = 200;
    for (const chunk of planChunks(entries, this.maxEntries)) {
      const part = resolveReferences({ resourceType: 'Bundle', type: 'transaction', entry: chunk } as Bundle, resolved);
      const result = await this.postTransaction(part, true, ctx);
      status = result.status;
      chunk.forEach((entry, i) => {
        const answer = result.bundle.entry?.[i] ?? {};
        responses.set(entry, answer);
        const location = locationOf(answer);
        if (entry.fullUrl && location) resolved.set(entry.fullUrl, location);
      });
    }
    return {
      status,
      bundle: { resourceType: 'Bundle', type: 'transaction-response', entry: entries.map((e) => responses.get(e) ?? {}) },
      durationMs: elapsed(started),
    };
  }

  /**
   * Aborts requests in flight and retry waits (they reject with `TRANSIENT_FHIR_CLOSED`), refuses
   * new calls and leaves the registry. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.requests.abortAll();
    this.registry.remove(this);
    await this.limiter?.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  private async postTransaction(bundle: Bundle, idempotent: boolean, ctx: FhirCallContext): Promise<TransactionOutcome> {
    const started = performance.now();
    return this.call('transaction', idempotent, ctx, async (o) => {
      const data = await this.client.transaction({ body: bundle as KitBody, options: o });
      const status = statusOf(data, 200);
      return { status, bundle: checkTransactionResponse(data, status), durationMs: elapsed(started) };
    });
  }

  /** Retry ∘ breaker ∘ rate limit ∘ one attempt, with every failure as a classified WaslError. */
  private async call<T>(operation: FhirOperation, idempotent: boolean, ctx: FhirCallContext, send: (o: AttemptOptions) => Promise<T>): Promise<T> {
    if (this.closed) throw closedError(operation);
    const state: CallState = { reauthenticated: false };
    const policy = this.retryPolicy(operation, idempotent);
    try {
      return await policy.execute(() => this.throughBreaker(operation, ctx, state, send), this.closing.signal);
    } catch (err) {
      if (err instanceof TaskCancelledError || this.closed) throw closedError(operation);
      throw err;
    }
  }

  private retryPolicy(operation: FhirOperation, idempotent: boolean): RetryPolicy {
    const o = this.retryOptions;
    const policy = retry(
      handleWhen((err) => {
        if (!(err instanceof WaslError) || err.kind !== 'transient' || this.closed) return false;
        if (err.code === 'TRANSIENT_FHIR_CIRCUIT_OPEN' || err.code === 'TRANSIENT_FHIR_CLOSED') return false;
        if ((err.retryAfterMs ?? 0) > o.maxRetryAfterMs) return false; // the queue waits that long, not us
        return idempotent || notProcessed(err);
      }),
      {
        maxAttempts: o.maxAttempts - 1, // cockatiel counts retries
        backoff: new DelegateBackoff((context) => {
          const err = 'error' in context.result ? (context.result.error as WaslError) : undefined;
          if (err?.retryAfterMs !== undefined) return err.retryAfterMs;
          // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter").
          const ceiling = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** (context.attempt - 1));
          return Math.floor(this.random() * ceiling);
        }),
      },
    );
    policy.onRetry((r) => {
      const code = 'error' in r && r.error instanceof WaslError ? r.error.code : 'UNKNOWN';
      const event: FhirRetryEvent = { connection: this.connectionId, operation, attempt: r.attempt, delayMs: r.delay, code };
      this.log.warn('FHIR request retrying', { ...event });
      this.emit('retry', event);
    });
    return policy;
  }

  private async throughBreaker<T>(operation: FhirOperation, ctx: FhirCallContext, state: CallState, send: (o: AttemptOptions) => Promise<T>): Promise<T> {
    try {
      return await this.breaker.execute(() => (this.limiter ? this.limiter.schedule(() => this.attempt(operation, ctx, state, send)) : this.attempt(operation, ctx, state, send)));
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        this.emitRequest({ connection: this.connectionId, operation, outcome: 'transient', code: 'TRANSIENT_FHIR_CIRCUIT_OPEN', durationMs: 0 });
        throw new TransientError('FHIR_CIRCUIT_OPEN', `FHIR connection ${this.connectionId}: circuit open, ${operation} not sent`, {
          retryAfterMs: this.halfOpenAfterMs,
          details: { connection: this.connectionId },
        });
      }
      if (this.closed && !(err instanceof WaslError)) throw closedError(operation); // bottleneck's "limiter stopped"
      throw err;
    }
  }

  /** One HTTP request (two when a 401 leads to a token refresh). */
  private async attempt<T>(operation: FhirOperation, ctx: FhirCallContext, state: CallState, send: (o: AttemptOptions) => Promise<T>): Promise<T> {
    if (this.closed) throw closedError(operation);
    const requestId = randomUUID();
    const started = performance.now();
    const call = this.requests.begin();
    let auth: Record<string, string> = {};
    try {
      auth = await this.auth.headers();
      const headers: Record<string, string> = { ...auth, 'x-request-id': requestId };
      if (ctx.correlationId) headers['x-correlation-id'] = ctx.correlationId;
      const result = await send({ headers, signal: call.controller.signal });
      const durationMs = elapsed(started);
      const status = (result as { status?: unknown })?.status;
      this.emitRequest({ connection: this.connectionId, operation, outcome: 'ok', status: typeof status === 'number' ? status : undefined, durationMs });
      this.log.debug('FHIR request done', { connection: this.connectionId, operation, requestId, correlationId: ctx.correlationId, durationMs });
      return result;
    } catch (err) {
      const e = classifyFhirFailure(err, { operation, timeoutMs: this.timeoutMs, aborted: call.aborted });
      const status = typeof e.details?.status === 'number' ? e.details.status : undefined;
      const durationMs = elapsed(started);
      this.emitRequest({ connection: this.connectionId, operation, outcome: e.kind, status, code: e.code, durationMs });
      this.log[e.kind === 'transient' ? 'warn' : 'info']('FHIR request failed', {
        connection: this.connectionId, operation, requestId, correlationId: ctx.correlationId, code: e.code, status, retryAfterMs: e.retryAfterMs, durationMs,
      });
      if (status === 401 && !state.reauthenticated) {
        state.reauthenticated = true;
        this.requests.end(call);
        // The refused headers let the provider keep a token that a concurrent request already renewed.
        if (await this.auth.invalidate(auth)) return this.attempt(operation, ctx, state, send);
      }
      throw e;
    } finally {
      this.requests.end(call);
    }
  }

  private emitRequest(event: FhirRequestEvent): void {
    this.emit('request', event);
  }

  /** Resolves `url` against the base URL and refuses other origins (they would receive our credentials). */
  private sameOriginUrl(url: string, path: string): string {
    let resolved: URL;
    try {
      resolved = new URL(url, `${this.baseUrl}/`);
    } catch {
      throw new ValidationError('FHIR_BAD_URL', `FHIR connection ${this.connectionId}: not a URL`, { path });
    }
    if (resolved.origin !== new URL(this.baseUrl).origin) {
      throw new ValidationError('FHIR_FOREIGN_URL', `FHIR connection ${this.connectionId}: URL on another origin is not followed`, { path });
    }
    return resolved.toString();
  }
}

export type SearchParams = Record<string, string | number | boolean | ReadonlyArray<string | number>> | URLSearchParams;

function toQuery(params: SearchParams): string {
  if (params instanceof URLSearchParams) return params.toString();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  return q.toString();
}

function checkType(type: unknown): void {
  if (typeof type !== 'string' || !RESOURCE_TYPE.test(type)) {
    throw new ValidationError('FHIR_BAD_TYPE', 'Not a FHIR resource type', { path: 'resourceType' });
  }
}

function asBundle(data: unknown): Bundle {
  if ((data as Bundle)?.resourceType !== 'Bundle') {
    throw new TransientError('FHIR_BAD_RESPONSE', 'FHIR server answered a search without a Bundle');
  }
  return data as Bundle;
}

function closedError(operation: string): TransientError {
  return new TransientError('FHIR_CLOSED', `FHIR client closed before the ${operation} finished`);
}

function tryJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

function charsetOf(parameters: string): string | undefined {
  const m = /charset\s*=\s*"?([^";\s]+)"?/i.exec(parameters);
  return m ? m[1].toLowerCase() : undefined;
}
