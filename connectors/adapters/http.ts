/**
 * AdapterHttpClient: the shared HTTP machinery of every outside-system adapter (NPPES, CAQH
 * ProView, payer Plan-Net directories), so no adapter re-writes it. Follows the FHIR client
 * (connectors/fhir/fhir-client.ts). A call goes, from the outside in, through:
 *
 * 1. the response cache (lru-cache, GET only): a fresh entry answers at once (`cached` event);
 *    concurrent GETs of the same key share one request;
 * 2. a cockatiel retry policy: transient failures (timeouts, connection errors, 408, 429, 5xx) are
 *    tried again after exponential backoff with full jitter, or after the server's Retry-After;
 *    4xx are never retried. A POST is retried only with an idempotency key (the same key is sent
 *    again) or when the server cannot have processed it (429, 503, connection refused);
 * 3. a cockatiel circuit breaker per client: after `breaker.threshold` transient failures in a row
 *    calls fail at once with `TRANSIENT_ADAPTER_BREAKER_OPEN`, without a request; after
 *    `breaker.halfOpenAfterMs` one test call is let through and closes it when it succeeds;
 * 4. a bottleneck limiter for `rateLimit: { requests, perMs }`: a sliding window. Each request
 *    takes a token from the reservoir and gives it back `perMs` after its answer arrived, so the
 *    server never receives more than `requests` in any `perMs`, whatever its own window alignment
 *    or the network jitter. Excess requests queue; they never fail;
 * 5. one request with Node's fetch and `AbortSignal.timeout(timeoutMs)`.
 *
 * Every attempt (and every cache hit, breaker refusal and refused input) is reported to `onEvent`
 * as an {@link AdapterCallEvent}: that feeds metrics and the health figures. Error messages name
 * the adapter, the operation and the HTTP status: never the URL, its query values or the body
 * (they may hold provider names); a body stays reachable through {@link responseBodyOf}.
 */
import { performance } from 'node:perf_hooks';
import Bottleneck from 'bottleneck';
import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, DelegateBackoff, TaskCancelledError, circuitBreaker, handleWhen, retry,
  type CircuitBreakerPolicy, type RetryPolicy,
} from 'cockatiel';
import { LRUCache } from 'lru-cache';
import { IntegrationError, TransientError, ValidationError, WaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import { parseRetryAfter } from '../fhir/retry-after';
import type { AdapterCallEvent, HttpAdapterSettings } from './types';

export interface AdapterHttpOptions extends HttpAdapterSettings {
  /** The adapter's id: in events, metrics labels, logs and error messages. */
  adapterId: string;
  /** Called once per attempt, cache hit, breaker refusal or refused input. Must not throw. */
  onEvent?: (e: AdapterCallEvent) => void;
  /** Headers on every request (e.g. authentication), or a function giving them per attempt. Per-call headers win. */
  defaultHeaders?: Record<string, string> | (() => Record<string, string> | Promise<Record<string, string>>);
  logger?: Logger;
  /** [0, 1) for the backoff jitter (tests pass a fixed one). */
  random?: () => number;
}

/** A query parameter; an array repeats it (`_include` twice), in its order. */
export type QueryValue = string | number | boolean | undefined | ReadonlyArray<string | number | boolean>;

/** Appends `name=value` (each value of an array) to `params`; `undefined` is left out. */
function appendQuery(params: URLSearchParams, name: string, value: QueryValue): void {
  if (value === undefined) return;
  for (const one of Array.isArray(value) ? value : [value]) params.append(name, String(one));
}

export interface GetJsonOptions {
  /** Operation name for events, metrics and messages (e.g. `lookup`, `search`). */
  operation: string;
  /** Appended to the URL in this order (after any query `path` has); `undefined` left out, arrays repeat. */
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** Cache key instead of path + sorted query; `false` bypasses the cache for this call. */
  cacheKey?: string | false;
}

export interface SendJsonOptions {
  operation: string;
  headers?: Record<string, string>;
  /** Sent as `Idempotency-Key`; every retry of the call sends the same one. */
  idempotencyKey?: string;
}

export type AdapterBreakerState = 'closed' | 'open' | 'half-open';

const DEFAULTS = {
  timeoutMs: 15_000,
  maxAttempts: 3,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 30_000,
  threshold: 5,
  halfOpenAfterMs: 30_000,
  maxEntries: 10_000,
  maxRedirects: 5,
};

/** Error bodies kept for {@link responseBodyOf}, at most this many characters. */
const MAX_KEPT_BODY = 65_536;

/** Socket-level codes of Node's fetch (undici) and net that mean "the server is not there now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

const BODY = Symbol('adapterResponseBody');

/**
 * The body of the HTTP answer behind an adapter error (e.g. a FHIR OperationOutcome or a CAQH
 * error document), capped at 64 KiB; undefined when there was no answer. It is kept off the
 * message and `details` because it may hold names.
 */
export function responseBodyOf(err: unknown): string | undefined {
  const body = (err as { [BODY]?: unknown } | null)?.[BODY];
  return typeof body === 'string' ? body : undefined;
}

interface CallOptions {
  operation: string;
  headers?: Record<string, string>;
  idempotencyKey?: string;
  /** Safe to send twice: GET, PUT, DELETE, or a POST with an idempotency key. */
  idempotent: boolean;
}

interface Answer {
  status: number;
  text: string;
  value: unknown;
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

function nonNegative(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : fallback;
}

/** Node's fetch wraps socket errors: `TypeError('fetch failed', { cause })`, sometimes an AggregateError. */
function systemCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return e.code;
  for (const nested of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const code = systemCode(nested, depth + 1);
    if (code) return code;
  }
  return undefined;
}

/** True when the server cannot have acted on the request, so even a POST without a key may be resent. */
function notProcessed(e: WaslError): boolean {
  const status = e.details?.status;
  return status === 429 || status === 503 || e.details?.code === 'ECONNREFUSED';
}

/** `path` + the query sorted by name, `undefined` values left out: the default cache key. */
export function cacheKeyOf(path: string, query: Record<string, QueryValue> = {}): string {
  const q = new URLSearchParams();
  for (const name of Object.keys(query).sort()) appendQuery(q, name, query[name]);
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** The resilient HTTP/JSON client of one adapter. Safe for concurrent use; close() when done. */
export class AdapterHttpClient {
  readonly adapterId: string;
  private readonly baseUrl: string;
  private readonly origin: string;
  private readonly timeoutMs: number;
  private readonly retryOptions: Required<NonNullable<HttpAdapterSettings['retry']>>;
  private readonly halfOpenAfterMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private openedAt = 0;
  private readonly limiter?: Bottleneck;
  private readonly window?: { requests: number; perMs: number };
  /** Tokens taken from the reservoir and not yet given back (requests in the current window). */
  private held = 0;
  private readonly tokenTimers = new Set<NodeJS.Timeout>();
  /** Requests waiting for a token; while there are any, `keepAlive` holds the process open. */
  private waiting = 0;
  private keepAlive?: NodeJS.Timeout;
  private readonly cache?: LRUCache<string, { text: string }>;
  private readonly inFlight = new Map<string, Promise<Answer>>();
  private hits = 0;
  private misses = 0;
  private readonly onEvent?: (e: AdapterCallEvent) => void;
  private readonly defaultHeaders?: AdapterHttpOptions['defaultHeaders'];
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly closing = new AbortController();
  private closed = false;

  constructor(opts: AdapterHttpOptions) {
    this.adapterId = opts.adapterId;
    if (!isHttpUrl(opts.baseUrl)) {
      // Never echo the URL: it may carry credentials.
      throw new ValidationError('ADAPTER_BASE_URL', `Adapter ${opts.adapterId}: base URL is not an absolute http(s) URL`, { path: 'baseUrl' });
    }
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.origin = new URL(this.baseUrl).origin;
    this.timeoutMs = positive(opts.timeoutMs, DEFAULTS.timeoutMs);
    this.retryOptions = {
      maxAttempts: Math.max(1, Math.floor(positive(opts.retry?.maxAttempts, DEFAULTS.maxAttempts))),
      initialDelayMs: nonNegative(opts.retry?.initialDelayMs, DEFAULTS.initialDelayMs),
      maxDelayMs: nonNegative(opts.retry?.maxDelayMs, DEFAULTS.maxDelayMs),
      maxRetryAfterMs: nonNegative(opts.retry?.maxRetryAfterMs, DEFAULTS.maxRetryAfterMs),
    };
    this.halfOpenAfterMs = positive(opts.breaker?.halfOpenAfterMs, DEFAULTS.halfOpenAfterMs);
    this.onEvent = opts.onEvent;
    this.defaultHeaders = opts.defaultHeaders;
    this.random = opts.random ?? Math.random;
    this.log = opts.logger ?? createLogger({ stage: 'adapter-http', adapter: opts.adapterId });

    // Only transient failures say the server is unwell; a 4xx means it is up and answering.
    this.breaker = circuitBreaker(
      handleWhen((err) => err instanceof WaslError && err.kind === 'transient' && err.code !== 'TRANSIENT_ADAPTER_CLOSED'),
      { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(Math.max(1, Math.floor(positive(opts.breaker?.threshold, DEFAULTS.threshold)))) },
    );
    this.breaker.onBreak(() => {
      this.openedAt = Date.now();
    });
    this.breaker.onStateChange(() => {
      const state = this.breakerState();
      this.log[state === 'open' ? 'warn' : 'info']('adapter circuit breaker state changed', { adapter: this.adapterId, state });
    });

    const rate = opts.rateLimit;
    if (rate) {
      if (!Number.isInteger(rate.requests) || rate.requests < 1 || !(rate.perMs > 0)) {
        throw new ValidationError('ADAPTER_RATE_LIMIT', `Adapter ${opts.adapterId}: rateLimit needs a whole number of requests >= 1 and perMs > 0`, { path: 'rateLimit' });
      }
      this.window = { requests: rate.requests, perMs: rate.perMs };
      // No reservoir refresh: tokens come back one by one, perMs after each answer (see limited()).
      this.limiter = new Bottleneck({ reservoir: rate.requests, maxConcurrent: null });
    }

    const ttl = opts.cache?.ttlMs ?? 0;
    if (ttl > 0) {
      this.cache = new LRUCache({ max: Math.max(1, Math.floor(positive(opts.cache?.maxEntries, DEFAULTS.maxEntries))), ttl });
    }
  }

  /**
   * GET JSON. Cached when `cache.ttlMs > 0` and `cacheKey !== false` (key: path + sorted query, or
   * `cacheKey`); only 2xx answers are cached, and each caller gets its own parsed copy.
   * @param path - relative to the base URL (`/api/`), or an absolute URL on the same origin (a `next` link)
   * @returns the parsed body (undefined for an empty one)
   * @throws IntegrationError `INTEGRATION_ADAPTER_HTTP_<status>` (4xx), TransientError `TRANSIENT_ADAPTER_*`
   *   after the retries, ValidationError `VALIDATION_ADAPTER_BAD_URL` / `_FOREIGN_URL` for a path it will not send
   */
  async getJson<T>(
    path: string,
    opts: { operation: string; query?: Record<string, QueryValue>; headers?: Record<string, string>; cacheKey?: string | false },
  ): Promise<T> {
    const url = this.urlFor(path, opts.query, opts.operation);
    const key = this.cache && opts.cacheKey !== false ? (opts.cacheKey ?? cacheKeyOf(path, opts.query)) : undefined;
    if (key === undefined) return (await this.call('GET', url, undefined, { ...opts, idempotent: true })).value as T;

    const started = performance.now();
    const fresh = this.cache?.get(key);
    if (fresh) {
      this.hits++;
      this.emit({ operation: opts.operation, outcome: 'cached', latencyMs: elapsed(started) });
      return parse(fresh.text) as T;
    }
    const shared = this.inFlight.get(key);
    if (shared) {
      // Someone is already asking the same question: wait for that answer, count it as a hit.
      const answer = await shared;
      this.hits++;
      this.emit({ operation: opts.operation, outcome: 'cached', latencyMs: elapsed(started) });
      return parse(answer.text) as T;
    }
    this.misses++;
    const request = this.call('GET', url, undefined, { ...opts, idempotent: true });
    this.inFlight.set(key, request);
    try {
      const answer = await request;
      if (!this.closed) this.cache?.set(key, { text: answer.text });
      return answer.value as T;
    } finally {
      this.inFlight.delete(key);
    }
  }

  /**
   * POST/PUT/DELETE JSON; never cached. `idempotencyKey` is sent as the `Idempotency-Key` header
   * and a retry reuses it. PUT and DELETE are retried like a GET; a POST only with a key, or when
   * the server cannot have processed it (429, 503, connection refused).
   * @param body - serialised as JSON; `undefined` sends no body
   */
  async sendJson<T>(
    method: 'POST' | 'PUT' | 'DELETE',
    path: string,
    body: unknown,
    opts: { operation: string; headers?: Record<string, string>; idempotencyKey?: string },
  ): Promise<T> {
    const url = this.urlFor(path, undefined, opts.operation);
    const idempotent = method !== 'POST' || Boolean(opts.idempotencyKey);
    return (await this.call(method, url, body, { ...opts, idempotent })).value as T;
  }

  /** `open` fails calls at once; `half-open` once `halfOpenAfterMs` has passed: the next call is the test. */
  breakerState(): AdapterBreakerState {
    const state = this.breaker.state;
    if (state === CircuitState.Closed) return 'closed';
    if (state === CircuitState.HalfOpen) return 'half-open';
    if (state === CircuitState.Open && Date.now() - this.openedAt >= this.halfOpenAfterMs) return 'half-open';
    return 'open';
  }

  /** Requests still allowed now in the sliding window; undefined without a rate limit. */
  rateLimitHeadroom(): number | undefined {
    return this.window ? Math.max(0, this.window.requests - this.held) : undefined;
  }

  cacheStats(): { hits: number; misses: number; size: number } {
    return { hits: this.hits, misses: this.misses, size: this.cache?.size ?? 0 };
  }

  /**
   * Aborts requests in flight, queued requests and retry waits (they reject with
   * `TRANSIENT_ADAPTER_CLOSED`), refuses new calls and drops the cache. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    for (const timer of this.tokenTimers) clearTimeout(timer);
    this.tokenTimers.clear();
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
    this.cache?.clear();
    await this.limiter?.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  /** Retry ∘ breaker ∘ rate limit ∘ one attempt, every failure a classified WaslError. */
  private async call(method: string, url: string, body: unknown, o: CallOptions): Promise<Answer> {
    if (this.closed) throw this.closedError(o.operation);
    try {
      return await this.retryPolicy(o).execute(() => this.throughBreaker(method, url, body, o), this.closing.signal);
    } catch (err) {
      if (err instanceof TaskCancelledError || (this.closed && !(err instanceof WaslError))) throw this.closedError(o.operation);
      throw err;
    }
  }

  private retryPolicy(o: CallOptions): RetryPolicy {
    const r = this.retryOptions;
    const policy = retry(
      handleWhen((err) => {
        if (!(err instanceof WaslError) || err.kind !== 'transient' || this.closed) return false;
        if (err.code === 'TRANSIENT_ADAPTER_BREAKER_OPEN' || err.code === 'TRANSIENT_ADAPTER_CLOSED') return false;
        if ((err.retryAfterMs ?? 0) > r.maxRetryAfterMs) return false; // the caller's queue waits that long, not us
        return o.idempotent || notProcessed(err);
      }),
      {
        maxAttempts: r.maxAttempts - 1, // cockatiel counts retries
        backoff: new DelegateBackoff((context) => {
          const err = 'error' in context.result ? (context.result.error as WaslError) : undefined;
          if (err?.retryAfterMs !== undefined) return err.retryAfterMs;
          // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter").
          const ceiling = Math.min(r.maxDelayMs, r.initialDelayMs * 2 ** (context.attempt - 1));
          return Math.floor(this.random() * ceiling);
        }),
      },
    );
    policy.onRetry((e) => {
      const code = 'error' in e && e.error instanceof WaslError ? e.error.code : 'UNKNOWN';
      this.log.warn('adapter request retrying', { adapter: this.adapterId, operation: o.operation, attempt: e.attempt, delayMs: e.delay, code });
    });
    return policy;
  }

  private async throughBreaker(method: string, url: string, body: unknown, o: CallOptions): Promise<Answer> {
    try {
      return await this.breaker.execute(() => this.limited(() => this.attempt(method, url, body, o)));
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        this.emit({ operation: o.operation, outcome: 'breaker-open', latencyMs: 0, code: 'TRANSIENT_ADAPTER_BREAKER_OPEN' });
        throw new TransientError('ADAPTER_BREAKER_OPEN', `Adapter ${this.adapterId}: circuit open, ${o.operation} not sent`, {
          retryAfterMs: Math.max(0, this.halfOpenAfterMs - (Date.now() - this.openedAt)),
          details: { adapter: this.adapterId, operation: o.operation },
        });
      }
      throw err;
    }
  }

  /** Runs `fn` when the sliding window has room; the token returns `perMs` after `fn` settles. */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    const limiter = this.limiter;
    const window = this.window;
    if (!limiter || !window) return fn();
    if (this.waiting++ === 0) this.keepAlive = setInterval(() => undefined, 60_000);
    let started = false;
    try {
      return await limiter.schedule(async () => {
        started = true;
        this.stopWaiting();
        this.held++;
        try {
          return await fn();
        } finally {
          // +1 ms: a server counting "the last perMs" inclusively still sees at most `requests`.
          const timer = setTimeout(() => {
            this.tokenTimers.delete(timer);
            this.held--;
            void limiter.incrementReservoir(1).catch(() => undefined);
          }, window.perMs + 1);
          // Unref'd: a queued request keeps the process alive through `keepAlive`, an idle client does not.
          timer.unref();
          this.tokenTimers.add(timer);
        }
      });
    } finally {
      if (!started) this.stopWaiting();
    }
  }

  private stopWaiting(): void {
    if (--this.waiting === 0 && this.keepAlive) {
      clearInterval(this.keepAlive);
      this.keepAlive = undefined;
    }
  }

  /** One HTTP exchange (following same-origin redirects), classified and reported. */
  private async attempt(method: string, url: string, body: unknown, o: CallOptions): Promise<Answer> {
    if (this.closed) throw this.closedError(o.operation);
    const started = performance.now();
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([timeout, this.closing.signal]);
    let status: number | undefined;
    try {
      const headers = new Headers({ accept: 'application/json' });
      const defaults = typeof this.defaultHeaders === 'function' ? await this.defaultHeaders() : this.defaultHeaders;
      for (const [name, value] of Object.entries({ ...defaults, ...o.headers })) headers.set(name, value);
      if (body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      if (o.idempotencyKey) headers.set('idempotency-key', o.idempotencyKey);
      const payload = body === undefined ? undefined : JSON.stringify(body);

      let target = url;
      let res: Response;
      for (let hops = 0; ; hops++) {
        res = await fetch(target, { method, headers, body: payload, signal, redirect: 'manual' });
        status = res.status;
        const location = res.headers.get('location');
        if (res.status < 300 || res.status >= 400 || !location) break;
        await res.body?.cancel().catch(() => undefined);
        target = this.redirectTarget(location, target, method, res.status, hops, o.operation);
      }
      const text = await res.text();
      if (!res.ok) throw this.statusError(res.status, res.headers.get('retry-after'), text, o.operation);
      let value: unknown;
      try {
        value = text.trim() === '' ? undefined : JSON.parse(text);
      } catch {
        throw new TransientError('ADAPTER_BAD_RESPONSE', `Adapter ${this.adapterId} ${o.operation}: HTTP ${res.status} with a body that is not JSON`, {
          details: { adapter: this.adapterId, operation: o.operation, status: res.status },
        });
      }
      this.emit({ operation: o.operation, outcome: 'ok', latencyMs: elapsed(started), status });
      return { status: res.status, text, value };
    } catch (err) {
      const e = this.classify(err, o.operation, { timedOut: timeout.aborted && !this.closing.signal.aborted });
      const latencyMs = elapsed(started);
      this.emit({ operation: o.operation, outcome: e.kind, latencyMs, code: e.code, status });
      this.log[e.kind === 'transient' ? 'warn' : 'info']('adapter request failed', { adapter: this.adapterId, operation: o.operation, code: e.code, status, latencyMs });
      throw e;
    }
  }

  /** Where a 3xx points, if we follow it: same origin only (others would get our credentials). */
  private redirectTarget(location: string, from: string, method: string, status: number, hops: number, operation: string): string {
    const refuse = (why: string) =>
      new IntegrationError(`ADAPTER_HTTP_${status}`, `Adapter ${this.adapterId} ${operation}: HTTP ${status} redirect not followed (${why})`, {
        details: { adapter: this.adapterId, operation, status },
      });
    if (hops >= DEFAULTS.maxRedirects) throw refuse('too many redirects');
    // 301/302/303 turn a POST into a GET in browsers; an API call must not silently change meaning.
    if (method !== 'GET' && status !== 307 && status !== 308) throw refuse(`${method} not redirected`);
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      throw refuse('bad Location');
    }
    if (next.origin !== this.origin) throw refuse('another origin');
    return next.toString();
  }

  /** 408/429/5xx transient (with Retry-After), other 4xx integration; code `ADAPTER_HTTP_<status>`. */
  private statusError(status: number, retryAfter: string | null, text: string, operation: string): WaslError {
    const details = { adapter: this.adapterId, operation, status };
    const message = `Adapter ${this.adapterId} ${operation}: HTTP ${status}`;
    const code = `ADAPTER_HTTP_${status}`;
    const err =
      status === 408 || status === 429 || status >= 500
        ? new TransientError(code, message, { details, retryAfterMs: parseRetryAfter(retryAfter) })
        : new IntegrationError(code, message, { details });
    Object.defineProperty(err, BODY, { value: text.slice(0, MAX_KEPT_BODY), enumerable: false });
    return err;
  }

  private classify(err: unknown, operation: string, ctx: { timedOut: boolean }): WaslError {
    if (err instanceof WaslError) return err;
    if (this.closing.signal.aborted) return this.closedError(operation);
    if (ctx.timedOut) {
      return new TransientError('ADAPTER_TIMEOUT', `Adapter ${this.adapterId} ${operation}: no complete answer within ${this.timeoutMs} ms`, {
        details: { adapter: this.adapterId, operation, timeoutMs: this.timeoutMs },
      });
    }
    const code = systemCode(err);
    if (code) {
      return new TransientError('ADAPTER_UNAVAILABLE', `Adapter ${this.adapterId} ${operation}: server unreachable (${code})`, {
        cause: err,
        details: { adapter: this.adapterId, operation, code },
      });
    }
    // Unknown: transient by project rule (a misclassified bug should end in the DLQ, not be dropped).
    const name = err instanceof Error ? err.name : typeof err;
    return new TransientError('ADAPTER_UNEXPECTED', `Adapter ${this.adapterId} ${operation}: request failed (${name})`, {
      cause: err,
      details: { adapter: this.adapterId, operation },
    });
  }

  /** baseUrl + path + query; refuses (and reports) a path it must not send. */
  private urlFor(path: string, query: Record<string, QueryValue> | undefined, operation: string): string {
    let url: URL;
    try {
      if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
        url = new URL(path);
        if (url.origin !== this.origin) throw this.refuse('ADAPTER_FOREIGN_URL', `URL on another origin is not followed`, operation);
      } else {
        url = new URL(`${this.baseUrl}${path === '' || path.startsWith('/') ? path : `/${path}`}`);
      }
    } catch (err) {
      if (err instanceof WaslError) throw err;
      throw this.refuse('ADAPTER_BAD_URL', 'not a valid path', operation);
    }
    for (const [name, value] of Object.entries(query ?? {})) appendQuery(url.searchParams, name, value);
    return url.toString();
  }

  private refuse(code: string, why: string, operation: string): ValidationError {
    const err = new ValidationError(code, `Adapter ${this.adapterId} ${operation}: ${why}`, { path: 'path' });
    this.emit({ operation, outcome: 'validation', latencyMs: 0, code: err.code });
    return err;
  }

  private closedError(operation: string): TransientError {
    return new TransientError('ADAPTER_CLOSED', `Adapter ${this.adapterId} closed before the ${operation} finished`, {
      details: { adapter: this.adapterId, operation },
    });
  }

  private emit(e: Omit<AdapterCallEvent, 'adapter' | 'at'>): void {
    if (!this.onEvent) return;
    try {
      this.onEvent({ adapter: this.adapterId, ...e, at: Date.now() });
    } catch (err) {
      this.log.error('adapter event listener failed', { adapter: this.adapterId, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

function parse(text: string): unknown {
  return text.trim() === '' ? undefined : JSON.parse(text);
}
