/**
 * NphiesClient: sends NPHIES request messages to `$process-message` and returns typed results
 * (NPHIES.md §1-§8). No Node-RED imports; one client per endpoint (the config node owns it).
 *
 * Every exchange goes, from the outside in, through:
 * 1. a cockatiel retry policy: transient failures (timeout, dropped connection, 408, 429, 5xx,
 *    `transient-error` response, an answer to another request) are tried again with the IDENTICAL
 *    Bundle (NPHIES answers a resend with its stored response, §7) after exponential backoff with
 *    full jitter, or after Retry-After; after the budget a `TransientError` (the queue dead-letters);
 * 2. a cockatiel circuit breaker for the endpoint (`breakerState()`, `breaker` event);
 * 3. one HTTPS POST (node:https, optional mutual TLS from PEM or PFX files), with a bearer token
 *    from connectors/fhir/auth when OAuth is configured (optional: not confirmed publicly, §2);
 *    a 401 drops the token and is tried once more.
 *
 * Idempotency (`send` with a {@link SubmissionLedger}): an answered key returns the stored result
 * without sending; a key left in `sending` (crash between send and record) is NOT sent again: a
 * status-check for it is sent instead, and only when NPHIES answers that check with an error and
 * no adjudication (it never got the request) is the identical Bundle resent. An answer NPHIES marks as a duplicate (a configured error
 * code) or an answer already seen is not a new adjudication: see {@link NphiesSendResult}.
 *
 * Failures: `IntegrationError` for 3xx/4xx, `fatal-error` and TLS refusal (`details.errors` holds
 * the NPHIES codes), `TransientError` for the rest. Logs carry ids, codes and durations only.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import {
  BrokenCircuitError, CircuitState, ConsecutiveBreaker, DelegateBackoff, circuitBreaker, handleWhen, retry, type CircuitBreakerPolicy,
} from 'cockatiel';
import type { Bundle, BundleEntry, MessageHeader, OperationOutcome, Organization, Resource } from '@medplum/fhirtypes';
import { IntegrationError, TransientError, ValidationError, WaslError, toWaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import { createAuthProvider } from '../fhir/auth';
import type { AuthProvider, BreakerState } from '../fhir/connection';
import { parseRetryAfter } from '../fhir/retry-after';
import { isCertificateError } from '../mllp/tls';
import { buildRequest } from './bundles';
import type { SubmissionLedger } from './ledger';
import { hasErrorCode, parseNphiesResponse, parsePolledMessages } from './parse-response';
import type { NphiesEndpointConfig, NphiesResult } from './types';

export interface NphiesRetryOptions {
  /** Attempts per exchange, the first included (default 4; 1 = no retry). */
  maxAttempts?: number;
  /** Backoff ceiling of the first retry (default 500 ms); doubles each retry up to `maxDelayMs`. */
  initialDelayMs?: number;
  /** Default 15,000 ms. */
  maxDelayMs?: number;
  /** A longer Retry-After is not waited for here: the error carries it and the queue waits (default 30,000 ms). */
  maxRetryAfterMs?: number;
}

export interface NphiesBreakerOptions {
  /** Transient failures in a row that open the circuit (default 5). */
  consecutiveFailures?: number;
  /** How long it stays open before one test call (default 30,000 ms). */
  halfOpenAfterMs?: number;
}

/** Builds the status-check message for a request whose answer was never recorded. */
export type StatusCheckBuilder = (request: Bundle, opts: { now: Date }) => Bundle;

export interface NphiesClientOptions {
  endpoint: NphiesEndpointConfig;
  /** Name of the endpoint in logs and errors (default `nphies`). */
  endpointId?: string;
  ledger?: SubmissionLedger;
  retry?: NphiesRetryOptions;
  breaker?: NphiesBreakerOptions;
  /**
   * Error codes by which NPHIES says "this submission is a duplicate" (not published: the error
   * catalogue is a portal download, NPHIES.md "Not confirmed"). Default none.
   */
  duplicateErrorCodes?: string[];
  /** Default: {@link statusCheckFor}. */
  buildStatusCheck?: StatusCheckBuilder;
  /** Overrides the OAuth provider built from `endpoint.oauth` (tests, shared caches). */
  auth?: AuthProvider;
  logger?: Logger;
  /** [0, 1) for the backoff jitter. */
  random?: () => number;
  now?: () => Date;
}

/** What `send` returns: the result, and how it was obtained. */
export interface NphiesSendResult extends NphiesResult {
  /** `sent`: answered now; `ledger`: stored answer, nothing sent; `status-check`: asked instead of resending. */
  via: 'sent' | 'ledger' | 'status-check';
  /** NPHIES said (or showed, by answering with a response already seen) that this is not a new adjudication. */
  duplicate?: boolean;
}

export interface NphiesRetryEvent {
  endpoint: string;
  attempt: number;
  delayMs: number;
  code: string;
}

const DEFAULTS = {
  // NPHIES session up-time is 60 s at most (web IG): wait no longer than that.
  timeoutMs: 60_000,
  maxAttempts: 4,
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  maxRetryAfterMs: 30_000,
  consecutiveFailures: 5,
  halfOpenAfterMs: 30_000,
};

/** Requests a status-check can ask about (Task focus = a Claim's identifier, NPHIES.md §4). */
const STATUS_CHECKABLE = new Set(['claim-request', 'priorauth-request']);
/** Response MessageHeader ids remembered to spot an answer delivered twice. */
const SEEN_LIMIT = 10_000;

function toBreakerState(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half-open';
  return 'open';
}

function headerOf(bundle: Bundle): MessageHeader | undefined {
  const r = bundle?.entry?.[0]?.resource;
  return r?.resourceType === 'MessageHeader' ? r : undefined;
}

/** The request's MessageHeader.id, or a ValidationError: we never send what we cannot correlate. */
export function requestIdOf(bundle: Bundle): string {
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'message') {
    throw new ValidationError('NPHIES_NOT_MESSAGE', 'NPHIES request is not a message Bundle', { path: 'Bundle.type' });
  }
  const id = headerOf(bundle)?.id;
  if (!id) throw new ValidationError('NPHIES_NO_HEADER', 'NPHIES request has no MessageHeader with an id first', { path: 'Bundle.entry[0].resource.id' });
  return id;
}

function focalEntry(bundle: Bundle): BundleEntry | undefined {
  const ref = headerOf(bundle)?.focus?.[0]?.reference;
  return bundle.entry?.find((e) => e.fullUrl === ref);
}

/**
 * The status-check for `request` (NPHIES.md §4: Task `code=status`, `focus.identifier` = the
 * business identifier of the checked request), built with bundles/ `buildRequest('status-check')`
 * from what the request itself says: licenses from its MessageHeader, organisation names from
 * its entries, the provider endpoint from `source.endpoint`.
 * @throws ValidationError `NPHIES_STATUS_CHECK` when the request has no focal business identifier
 */
export function statusCheckFor(request: Bundle, opts: { now: Date }): Bundle {
  const header = headerOf(request);
  const focal = focalEntry(request)?.resource as (Resource & { identifier?: Array<{ system?: string; value?: string }> }) | undefined;
  const identifier = focal?.identifier?.[0];
  const providerLicense = header?.sender?.identifier?.value;
  const payerLicense = header?.destination?.[0]?.receiver?.identifier?.value;
  if (!header || !identifier?.system || !identifier.value || !providerLicense || !payerLicense) {
    throw new ValidationError('NPHIES_STATUS_CHECK', 'Cannot check the status of a request without focal identifier, sender and receiver licenses', {
      path: 'MessageHeader.focus',
    });
  }
  const orgName = (license: string): string | undefined =>
    request.entry
      ?.map((e) => e.resource)
      .find((r): r is Organization => r?.resourceType === 'Organization' && !!r.identifier?.some((i) => i.value === license))?.name;
  const taskId = randomUUID();
  return buildRequest(
    'status-check',
    {
      identifier: taskId,
      focus: { system: identifier.system, value: identifier.value },
      provider: { name: orgName(providerLicense) ?? providerLicense },
      insurer: { name: orgName(payerLicense) ?? payerLicense },
    },
    { providerLicense, payerLicense, providerEndpoint: header.source?.endpoint ?? 'urn:wasl' },
    { now: () => opts.now },
  );
}

function readFile(path: string | undefined, option: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    // Key and PFX paths say where a secret lives: keep them out of the message.
    const where = option === 'keyFile' || option === 'pfxFile' ? '' : ` (${path})`;
    throw new ValidationError('NPHIES_TLS_FILE', `cannot read tls.${option}${where}: ${code}`, { details: { option, code } });
  }
}

function tlsAgent(tls: NphiesEndpointConfig['tls']): https.Agent {
  const cert = readFile(tls?.certFile, 'certFile');
  const key = readFile(tls?.keyFile, 'keyFile');
  if ((cert === undefined) !== (key === undefined)) {
    throw new ValidationError('NPHIES_TLS_FILE', 'tls.certFile and tls.keyFile go together: set both or neither', { details: { option: cert ? 'keyFile' : 'certFile' } });
  }
  return new https.Agent({
    keepAlive: true,
    cert,
    key,
    ca: readFile(tls?.caFile, 'caFile'),
    pfx: readFile(tls?.pfxFile, 'pfxFile'),
    passphrase: tls?.passphrase,
  });
}

interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The TLS handshake was refused or the peer's certificate is not trusted: configuration, not weather. */
function isTlsRefusal(code: string | undefined): boolean {
  return isCertificateError(code) || (code !== undefined && (code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_')));
}

/** The resilient sender of one NPHIES endpoint. Safe for concurrent use; `close()` when done. */
export class NphiesClient extends EventEmitter {
  readonly endpointId: string;
  private readonly url: URL;
  private readonly timeoutMs: number;
  private readonly agent: http.Agent;
  private readonly auth?: AuthProvider;
  private readonly ledger?: SubmissionLedger;
  private readonly retryOptions: Required<NphiesRetryOptions>;
  private readonly halfOpenAfterMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly duplicateCodes: string[];
  private readonly buildStatusCheck: StatusCheckBuilder;
  private readonly random: () => number;
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly seenResponses = new Set<string>();
  private readonly pending = new Set<http.ClientRequest>();
  private closed = false;

  constructor(opts: NphiesClientOptions) {
    super();
    const { endpoint } = opts;
    this.endpointId = opts.endpointId ?? 'nphies';
    try {
      this.url = new URL(endpoint.url);
    } catch {
      throw new ValidationError('NPHIES_URL', `NPHIES endpoint ${this.endpointId}: url is not an absolute URL`, { path: 'url' });
    }
    if (this.url.protocol !== 'https:' && this.url.protocol !== 'http:') {
      throw new ValidationError('NPHIES_URL', `NPHIES endpoint ${this.endpointId}: url is not http(s)`, { path: 'url' });
    }
    if (endpoint.tls && this.url.protocol !== 'https:') {
      throw new ValidationError('NPHIES_URL', `NPHIES endpoint ${this.endpointId}: tls is set but the url is not https`, { path: 'url' });
    }
    this.timeoutMs = endpoint.timeoutMs && endpoint.timeoutMs > 0 ? endpoint.timeoutMs : DEFAULTS.timeoutMs;
    this.agent = this.url.protocol === 'https:' ? tlsAgent(endpoint.tls) : new http.Agent({ keepAlive: true });
    this.log = opts.logger ?? createLogger({ stage: 'nphies-client', endpoint: this.endpointId });
    this.auth = opts.auth ?? (endpoint.oauth
      ? createAuthProvider({ type: 'client-credentials', ...endpoint.oauth }, { logger: this.log })
      : undefined);
    this.ledger = opts.ledger;
    this.retryOptions = {
      maxAttempts: Math.max(1, opts.retry?.maxAttempts ?? DEFAULTS.maxAttempts),
      initialDelayMs: opts.retry?.initialDelayMs ?? DEFAULTS.initialDelayMs,
      maxDelayMs: opts.retry?.maxDelayMs ?? DEFAULTS.maxDelayMs,
      maxRetryAfterMs: opts.retry?.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs,
    };
    this.halfOpenAfterMs = opts.breaker?.halfOpenAfterMs ?? DEFAULTS.halfOpenAfterMs;
    this.duplicateCodes = opts.duplicateErrorCodes ?? [];
    this.buildStatusCheck = opts.buildStatusCheck ?? statusCheckFor;
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => new Date());

    // Only transient failures say NPHIES is unwell; a rejection means it is up and answering.
    this.breaker = circuitBreaker(
      handleWhen((err) => err instanceof WaslError && err.kind === 'transient' && err.code !== 'TRANSIENT_NPHIES_CLOSED'),
      { halfOpenAfter: this.halfOpenAfterMs, breaker: new ConsecutiveBreaker(opts.breaker?.consecutiveFailures ?? DEFAULTS.consecutiveFailures) },
    );
    this.breaker.onStateChange((state) => {
      const s = toBreakerState(state);
      this.log[s === 'open' ? 'warn' : 'info']('NPHIES circuit breaker state changed', { endpoint: this.endpointId, state: s });
      this.emit('breaker', s);
    });
  }

  /** The circuit breaker's state: `open` fails calls at once; `half-open` lets one test call through. */
  breakerState(): BreakerState {
    return toBreakerState(this.breaker.state);
  }

  /**
   * Sends a request message once per idempotency key (the claim's business identifier + the
   * request Bundle id). Without a ledger every call sends.
   *
   * @throws IntegrationError `INTEGRATION_NPHIES_REJECTED` (3xx/4xx, `fatal-error`; `details.errors`),
   *   `INTEGRATION_NPHIES_TLS`, `INTEGRATION_NPHIES_UNAUTHORIZED`; TransientError `TRANSIENT_NPHIES_*`
   *   after the retries (the ledger keeps `sending`: a redelivery checks status instead of resending);
   *   ValidationError for a Bundle without a MessageHeader id
   */
  async send(bundle: Bundle, opts: { idempotencyKey: string }): Promise<NphiesSendResult> {
    const requestId = requestIdOf(bundle);
    const key = opts.idempotencyKey;
    const record = this.ledger ? await this.ledger.find(key) : undefined;
    if (record?.state === 'answered' && record.result) {
      this.log.info('NPHIES answer already recorded, not sending', { endpoint: this.endpointId, requestId: record.requestId });
      if (record.result.responseCode === 'fatal-error') throw rejected(record.result, this.endpointId);
      return { ...record.result, via: 'ledger' };
    }
    if (record?.state === 'sending' && !STATUS_CHECKABLE.has(headerOf(bundle)?.eventCoding?.code ?? '')) {
      // Eligibility, poll, cancel, ...: nothing to adjudicate twice; NPHIES answers an identical resend from its store.
      this.log.warn('NPHIES request without a recorded answer: resending it unchanged', { endpoint: this.endpointId, requestId });
    } else if (record?.state === 'sending') {
      // The process may have died after NPHIES got the request: resending under a new state could
      // adjudicate twice, so ask what became of it.
      this.log.warn('NPHIES submission without a recorded answer: checking status instead of resending', { endpoint: this.endpointId, requestId: record.requestId });
      const result = await this.statusCheck(bundle);
      if (!(result.outcome === 'error' && !result.adjudication && !result.eligibility)) {
        await this.ledger?.finish(key, { ...result, requestId: record.requestId });
        return { ...result, via: 'status-check' };
      }
      // NPHIES does not know the request: the crash came before it arrived. Resend the IDENTICAL
      // Bundle (same ids): NPHIES matches identifier + body, so even a late arrival of the first
      // copy is answered from its store, not adjudicated twice (NPHIES.md §7).
      if (requestId !== record.requestId) {
        throw new ValidationError('NPHIES_NOT_IDENTICAL', `Idempotency key reused for another request (${requestId}, sent ${record.requestId})`, {
          details: { requestId, sent: record.requestId },
        });
      }
      this.log.warn('NPHIES does not know the unrecorded submission: resending it unchanged', { endpoint: this.endpointId, requestId, statusErrors: result.errors.map((e) => e.code) });
    } else {
      await this.ledger?.begin(key, requestId);
    }
    let result: NphiesResult;
    try {
      result = await this.exchange(bundle);
    } catch (err) {
      const e = toWaslError(err);
      // NPHIES answered "no": record it so a redelivery gets the same answer without a resend.
      const answered = e.details?.result as NphiesResult | undefined;
      if (e.kind === 'integration' && answered) await this.ledger?.finish(key, answered);
      throw e;
    }
    const repeat = this.isRepeat(result);
    if (hasErrorCode(result, this.duplicateCodes)) {
      // Not an adjudication: the original one is what counts, and status-check returns it.
      this.log.warn('NPHIES says the submission is a duplicate: checking status', { endpoint: this.endpointId, requestId });
      const status = await this.statusCheck(bundle);
      await this.ledger?.finish(key, { ...status, requestId });
      return { ...status, requestId, via: 'status-check', duplicate: true };
    }
    if (repeat) this.log.info('NPHIES answer already seen: not a new adjudication', { endpoint: this.endpointId, requestId });
    await this.ledger?.finish(key, result);
    return { ...result, via: 'sent', ...(repeat ? { duplicate: true } : {}) };
  }

  /**
   * Sends a status-check for `request` (built with `buildStatusCheck`) and returns its parsed answer.
   * Not recorded in the ledger: a status-check changes nothing at NPHIES.
   */
  async statusCheck(request: Bundle): Promise<NphiesResult> {
    const check = this.buildStatusCheck(request, { now: this.now() });
    return this.exchange(check);
  }

  /**
   * Sends a poll-request and returns its answer plus the delivered messages (≤ 100, NPHIES.md §8),
   * each correlated by its own `response.identifier`.
   */
  async poll(pollRequest: Bundle): Promise<{ result: NphiesResult; messages: NphiesResult[] }> {
    const result = await this.exchange(pollRequest);
    return { result, messages: result.bundle ? parsePolledMessages(result.bundle) : [] };
  }

  /**
   * One exchange: POST, retries, breaker, correlation, parse. No ledger.
   * @throws as {@link send}
   */
  async exchange(bundle: Bundle): Promise<NphiesResult> {
    if (this.closed) throw closedError(this.endpointId);
    const requestId = requestIdOf(bundle);
    const body = JSON.stringify(bundle);
    const o = this.retryOptions;
    const policy = retry(
      handleWhen((err) => {
        if (!(err instanceof WaslError) || err.kind !== 'transient' || this.closed) return false;
        if (err.code === 'TRANSIENT_NPHIES_CIRCUIT_OPEN' || err.code === 'TRANSIENT_NPHIES_CLOSED') return false;
        return (err.retryAfterMs ?? 0) <= o.maxRetryAfterMs;
      }),
      {
        maxAttempts: o.maxAttempts - 1, // cockatiel counts retries
        backoff: new DelegateBackoff((context) => {
          const err = 'error' in context.result ? (context.result.error as WaslError) : undefined;
          if (err?.retryAfterMs !== undefined) return err.retryAfterMs;
          // Full jitter (AWS architecture blog, "Exponential Backoff And Jitter").
          return Math.floor(this.random() * Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** (context.attempt - 1)));
        }),
      },
    );
    policy.onRetry((r) => {
      const code = 'error' in r && r.error instanceof WaslError ? r.error.code : 'UNKNOWN';
      const event: NphiesRetryEvent = { endpoint: this.endpointId, attempt: r.attempt, delayMs: r.delay, code };
      this.log.warn('NPHIES request retrying', { ...event, requestId });
      this.emit('retry', event);
    });
    return policy.execute(async () => {
      try {
        return await this.breaker.execute(() => this.attempt(body, requestId));
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          throw new TransientError('NPHIES_CIRCUIT_OPEN', `NPHIES endpoint ${this.endpointId}: circuit open, ${requestId} not sent`, {
            retryAfterMs: this.halfOpenAfterMs,
            details: { endpoint: this.endpointId, requestId },
          });
        }
        throw err;
      }
    });
  }

  /** Rejects what is in flight and frees the sockets. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const req of this.pending) req.destroy(closedError(this.endpointId));
    this.pending.clear();
    this.agent.destroy();
  }

  /** One HTTP POST (two when a 401 leads to a token refresh), classified. */
  private async attempt(body: string, requestId: string): Promise<NphiesResult> {
    if (this.closed) throw closedError(this.endpointId);
    const started = performance.now();
    try {
      let auth = this.auth ? await this.auth.headers() : {};
      let answer = await this.post(body, auth);
      if (answer.status === 401 && this.auth && (await this.auth.invalidate(auth))) {
        auth = await this.auth.headers();
        answer = await this.post(body, auth);
      }
      const result = this.classify(answer, requestId);
      this.log.debug('NPHIES exchange done', { endpoint: this.endpointId, requestId, event: result.event, outcome: result.outcome, durationMs: Math.round(performance.now() - started) });
      return result;
    } catch (err) {
      const e = this.closed ? closedError(this.endpointId) : classifyNetwork(err, this.timeoutMs);
      this.log[e.kind === 'transient' ? 'warn' : 'info']('NPHIES exchange failed', {
        endpoint: this.endpointId, requestId, code: e.code, status: e.details?.status, durationMs: Math.round(performance.now() - started),
      });
      throw e;
    }
  }

  private classify(answer: HttpAnswer, requestId: string): NphiesResult {
    const { status } = answer;
    let json: unknown;
    try {
      json = answer.body ? JSON.parse(answer.body) : undefined;
    } catch {
      json = undefined;
    }
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(headerValue(answer.headers['retry-after']));
      throw new TransientError(status === 429 ? 'NPHIES_RATE_LIMITED' : 'NPHIES_UNAVAILABLE', `NPHIES answered HTTP ${status} to ${requestId}`, {
        retryAfterMs,
        details: { status, requestId, endpoint: this.endpointId },
      });
    }
    if (status === 401 || status === 403) {
      throw new IntegrationError('NPHIES_UNAUTHORIZED', `NPHIES refused the credentials (HTTP ${status}) for ${requestId}`, { details: { status, requestId } });
    }
    const resource = json as Bundle | OperationOutcome | undefined;
    if (status >= 300 || (status === 200 && resource?.resourceType === 'OperationOutcome')) {
      // v2.7: an OperationOutcome with HTTP 300+ when the message could not be read (§7).
      const result = resource?.resourceType === 'OperationOutcome' ? parseNphiesResponse(resource, requestId) : undefined;
      throw new IntegrationError('NPHIES_REJECTED', `NPHIES rejected ${requestId} (HTTP ${status})`, {
        details: { status, requestId, errors: result?.errors ?? [], ...(result ? { result } : {}) },
      });
    }
    if (!resource) {
      throw new TransientError('NPHIES_BAD_RESPONSE', `NPHIES answered ${requestId} with HTTP ${status} and no FHIR JSON`, { details: { status, requestId } });
    }
    const result = parseNphiesResponse(resource, requestId);
    if (result.responseCode === 'transient-error') {
      throw new TransientError('NPHIES_TRANSIENT_RESPONSE', `NPHIES answered transient-error to ${requestId}`, { details: { requestId, errors: result.errors } });
    }
    if (result.responseCode === 'fatal-error') throw rejected(result, this.endpointId);
    return result;
  }

  /** True when this response MessageHeader was delivered before (NPHIES resent its stored answer). */
  private isRepeat(result: NphiesResult): boolean {
    const id = headerOf(result.bundle as Bundle)?.id;
    if (!id) return false;
    if (this.seenResponses.has(id)) return true;
    if (this.seenResponses.size >= SEEN_LIMIT) this.seenResponses.delete(this.seenResponses.values().next().value as string);
    this.seenResponses.add(id);
    return false;
  }

  private post(body: string, auth: Record<string, string>): Promise<HttpAnswer> {
    const lib = this.url.protocol === 'https:' ? https : http;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = lib.request(this.url, {
        method: 'POST',
        agent: this.agent,
        headers: {
          ...auth,
          'content-type': 'application/fhir+json',
          accept: 'application/fhir+json',
          'content-length': Buffer.byteLength(body),
        },
      });
      this.pending.add(req);
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'NPHIES_TIMEOUT' })), this.timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(req);
      };
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          done();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          done();
          reject(err);
        });
      });
      req.on('error', (err) => {
        done();
        reject(err);
      });
      req.end(body);
    });
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function rejected(result: NphiesResult, endpointId: string): IntegrationError {
  const codes = result.errors.map((e) => e.code).join(', ');
  return new IntegrationError('NPHIES_REJECTED', `NPHIES ${endpointId} answered fatal-error to ${result.requestId}${codes ? ` (${codes})` : ''}`, {
    details: { requestId: result.requestId, errors: result.errors, result },
  });
}

function closedError(endpointId: string): TransientError {
  return new TransientError('NPHIES_CLOSED', `NPHIES client ${endpointId} is closed`);
}

function classifyNetwork(err: unknown, timeoutMs: number): WaslError {
  if (err instanceof WaslError) return err;
  const code = (err as { code?: string })?.code;
  if (code === 'NPHIES_TIMEOUT') return new TransientError('NPHIES_TIMEOUT', `NPHIES did not answer within ${timeoutMs} ms`, { cause: err });
  if (isTlsRefusal(code)) {
    return new IntegrationError('NPHIES_TLS', `TLS with NPHIES failed (${code}): check the client certificate and CA`, { cause: err, details: { code } });
  }
  const e = toWaslError(err);
  if (code === 'ECONNRESET' || code === 'EPIPE' || /socket hang up/i.test(e.message)) {
    return new TransientError('NPHIES_CONNECTION_DROPPED', 'NPHIES dropped the connection', { cause: err, details: { code } });
  }
  return e.kind === 'transient' ? new TransientError(`NPHIES_NETWORK`, `NPHIES network failure (${code ?? e.code})`, { cause: err, details: { code: code ?? e.code } }) : e;
}
