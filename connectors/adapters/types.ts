/**
 * Outside-system adapters (NPPES, CAQH ProView, payer Plan-Net directories, ...): one small
 * interface, so the registry can configure them, check their health and report them the same
 * way, and one shared machinery (connectors/adapters/http.ts) for what every adapter needs and
 * must not re-write: timeouts, retry with backoff and jitter, a circuit breaker, a rate limiter,
 * a response cache, idempotency keys and metrics.
 *
 * No Node-RED imports here; the engine's registry (engine/providers/registry.ts) builds adapters
 * from channels.yaml / the API and hands them to nodes through the runtime.
 */

/** What kind of outside system an adapter talks to. */
export type AdapterKind = 'nppes' | 'caqh' | 'plan-net';

export type AdapterStatus = 'up' | 'degraded' | 'down';

export interface HealthCheckResult {
  status: AdapterStatus;
  /** Milliseconds the check took. */
  latencyMs: number;
  /** Why it is not up (no secrets, no PHI). */
  detail?: string;
}

/** Settings every HTTP adapter shares; each adapter adds its own. Secrets come from env var names. */
export interface HttpAdapterSettings {
  /** Base URL of the outside system (or its simulator). */
  baseUrl: string;
  /** Per request, ms. */
  timeoutMs?: number;
  /**
   * Attempts per call, the first included (1 = no retry); backoff ceiling of the first retry,
   * doubling up to `maxDelayMs`, with full jitter. A Retry-After (429/503) longer than
   * `maxRetryAfterMs` is not waited for: the call fails with the error's `retryAfterMs`.
   */
  retry?: { maxAttempts?: number; initialDelayMs?: number; maxDelayMs?: number; maxRetryAfterMs?: number };
  /** Consecutive failures that open the breaker, and how long it stays open. */
  breaker?: { threshold?: number; halfOpenAfterMs?: number };
  /** At most `requests` per `perMs` (e.g. NPPES: 200 per 300000); excess requests queue, never fail. */
  rateLimit?: { requests: number; perMs: number };
  /** Response cache: entries live `ttlMs` (NPPES: 7 days); 0 disables. */
  cache?: { ttlMs: number; maxEntries?: number };
}

/** One call's outcome as the shared machinery records it (metrics, health figures). */
export interface AdapterCallEvent {
  adapter: string;
  operation: string;
  outcome: 'ok' | 'cached' | 'transient' | 'integration' | 'validation' | 'breaker-open';
  latencyMs: number;
  /** Error code when not ok (no message bodies). */
  code?: string;
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** When the attempt ended, ms since the epoch. */
  at: number;
}

/** The interface every adapter implements. */
export interface Adapter {
  /** Unique id from the configuration, e.g. `nppes`, `caqh-prod`, `payer-acme-directory`. */
  readonly id: string;
  readonly kind: AdapterKind;
  /** Operation names it offers (e.g. `lookup`, `search`), for the health page and the registry. */
  readonly operations: readonly string[];
  /** A cheap live check of the outside system (one small request). */
  healthCheck(): Promise<HealthCheckResult>;
  /** Circuit breaker state of its HTTP client. */
  breakerState(): 'closed' | 'open' | 'half-open';
  /** Rate-limit headroom: requests still allowed in the current window (undefined when unlimited). */
  rateLimitHeadroom(): number | undefined;
  /** Response cache figures of its HTTP client (optional: the health API shows null without it). */
  cacheStats?(): { hits: number; misses: number; size: number };
  /** Stops timers and closes connections. */
  close(): Promise<void>;
}
