/**
 * FhirDestination: posts FHIR transaction Bundles to a FHIR R4 server and classifies every failure
 * once (connectors/fhir/classify.ts).
 *
 * Built on fhir-kit-client 1.9.2, the last CommonJS line (2.x is ESM-only and Node-RED loads nodes
 * with `require`). On Node ≥ 18 it uses Node's global fetch (undici): its cross-fetch polyfill only
 * fills in a missing global, and the agentkeepalive `agent` it passes is ignored by undici.
 * 1.9.2 has no timeout option, but it spreads `options` into the fetch `Request`, so an
 * AbortSignal passed there aborts the request, including reading the body.
 *
 * Do not enable `DEBUG=fhir-kit-client:*` in production: its debug logger prints response bodies.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Client from 'fhir-kit-client';
import type { Bundle, BundleEntry, CapabilityStatement } from '@medplum/fhirtypes';
import { TransientError, ValidationError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import { checkTransactionResponse, classifyFhirFailure } from './classify';
import { InFlightRequests, type InFlight } from './in-flight';
import { canSplit, locationOf, planChunks, resolveReferences } from './split-transaction';

export interface FhirDestinationOptions {
  /** FHIR base URL, e.g. `http://127.0.0.1:8080/fhir/R4`. */
  baseUrl: string;
  /** Abort a request that has no complete answer after this long (default 10000). */
  timeoutMs?: number;
  /** Sent with every request (e.g. `Authorization`). */
  headers?: Record<string, string>;
  /**
   * Largest transaction the server takes; a larger Bundle whose entries are all conditional is
   * posted as several transactions in reference order (connectors/fhir/split-transaction.ts).
   * Default: no limit. Medplum's is 8 when any entry is conditional.
   */
  maxTransactionEntries?: number;
  logger?: Logger;
}

export interface TransactionResult {
  /** HTTP status of the answer (200 for a transaction). */
  status: number;
  /** The transaction-response Bundle, every entry 2xx. */
  bundle: Bundle;
  durationMs: number;
}

export interface CapabilitiesResult {
  fhirVersion: string;
  /** Resource types of the `server` rest entry. */
  resourceTypes: string[];
  durationMs: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** fhir-kit-client's `body` type wants a `type` literal; our Bundle type is broader. */
type KitTransactionBody = Parameters<Client['transaction']>[0]['body'];

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}

/**
 * A FHIR server as a destination. One instance per configured endpoint; safe for concurrent use.
 */
export class FhirDestination {
  private readonly client: Client;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly log: Logger;
  private readonly requests: InFlightRequests;
  private closed = false;

  constructor(opts: FhirDestinationOptions) {
    if (!isHttpUrl(opts.baseUrl)) {
      // Never echo the URL: it may carry credentials.
      throw new ValidationError('FHIR_BASE_URL', 'FHIR base URL is not an absolute http(s) URL', { path: 'baseUrl' });
    }
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.requests = new InFlightRequests(this.timeoutMs);
    this.maxEntries = opts.maxTransactionEntries && opts.maxTransactionEntries > 0 ? opts.maxTransactionEntries : Infinity;
    this.log = opts.logger ?? createLogger({ stage: 'fhir-destination' });
    this.client = new Client({ baseUrl: opts.baseUrl.replace(/\/+$/, ''), customHeaders: { ...opts.headers } });
  }

  /**
   * POSTs a transaction Bundle to the base URL.
   * @param bundle - a Bundle of type `transaction`
   * @param ctx - `correlationId` is sent as `X-Correlation-Id`; each attempt also gets a fresh `X-Request-Id`
   * @returns the status, the transaction-response and the round-trip time
   * @throws IntegrationError `INTEGRATION_FHIR_REJECTED` (4xx, or a 4xx entry in a 200);
   *   TransientError `TRANSIENT_FHIR_*` (timeout, 408, 429 with `retryAfterMs`, 5xx, unreachable, closed);
   *   ValidationError if `bundle` is not a transaction Bundle
   */
  async postTransaction(bundle: Bundle, ctx: { correlationId: string }): Promise<TransactionResult> {
    if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw new ValidationError('FHIR_NOT_TRANSACTION', 'Payload is not a FHIR Bundle of type transaction', { path: 'type' });
    }
    const entries = bundle.entry ?? [];
    if (entries.length > this.maxEntries && canSplit(bundle)) return this.postInChunks(entries, ctx);
    return this.postOne(bundle, ctx);
  }

  /**
   * Posts the chunks one after another, each with the server ids of what earlier chunks wrote.
   * The answer is one transaction-response with the entries in the original order.
   */
  private async postInChunks(entries: BundleEntry[], ctx: { correlationId: string }): Promise<TransactionResult> {
    const started = performance.now();
    const resolved = new Map<string, string>();
    const responses = new Map<BundleEntry, BundleEntry>();
    let status = 200;
    const chunks = planChunks(entries, this.maxEntries);
    for (const chunk of chunks) {
      const part = resolveReferences({ resourceType: 'Bundle', type: 'transaction', entry: chunk } as Bundle, resolved);
      const result = await this.postOne(part, ctx);
      status = result.status;
      chunk.forEach((entry, i) => {
        const answer = result.bundle.entry?.[i] ?? {};
        responses.set(entry, answer);
        const location = locationOf(answer);
        if (entry.fullUrl && location) resolved.set(entry.fullUrl, location);
      });
    }
    this.log.debug('FHIR transaction posted in chunks', { correlationId: ctx.correlationId, chunks: chunks.length, entries: entries.length });
    return {
      status,
      bundle: { resourceType: 'Bundle', type: 'transaction-response', entry: entries.map((e) => responses.get(e) ?? {}) },
      durationMs: elapsed(started),
    };
  }

  private async postOne(bundle: Bundle, ctx: { correlationId: string }): Promise<TransactionResult> {
    const requestId = randomUUID();
    const fields = { correlationId: ctx.correlationId, requestId };
    const started = performance.now();
    const call = this.begin();
    try {
      const data = await this.client.transaction({
        body: bundle as KitTransactionBody,
        options: {
          headers: { 'x-correlation-id': ctx.correlationId, 'x-request-id': requestId },
          signal: call.controller.signal,
        },
      });
      const status = Client.httpFor(data).response.status;
      const response = checkTransactionResponse(data, status);
      const durationMs = elapsed(started);
      this.log.debug('FHIR transaction accepted', { ...fields, status, entries: response.entry?.length ?? 0, durationMs });
      return { status, bundle: response, durationMs };
    } catch (err) {
      const e = classifyFhirFailure(err, { operation: 'transaction', timeoutMs: this.timeoutMs, aborted: call.aborted });
      const status = e.details?.status;
      this.log[e.kind === 'transient' ? 'warn' : 'error']('FHIR transaction failed', {
        ...fields, code: e.code, status, retryAfterMs: e.retryAfterMs, durationMs: elapsed(started),
      });
      throw e;
    } finally {
      this.requests.end(call);
    }
  }

  /**
   * Reads `/metadata`, e.g. for a health check. Not cached (fhir-kit-client's
   * `capabilityStatement()` caches the first promise forever, failures included).
   * @throws the same classified errors as {@link postTransaction}
   */
  async capabilities(): Promise<CapabilitiesResult> {
    const requestId = randomUUID();
    const started = performance.now();
    const call = this.begin();
    try {
      const data = (await this.client.request('metadata', {
        options: { headers: { 'x-request-id': requestId }, signal: call.controller.signal },
      })) as CapabilityStatement;
      if (data?.resourceType !== 'CapabilityStatement') {
        throw new TransientError('FHIR_BAD_RESPONSE', 'FHIR server answered /metadata without a CapabilityStatement');
      }
      const server = data.rest?.find((r) => r.mode === 'server') ?? data.rest?.[0];
      const durationMs = elapsed(started);
      this.log.debug('FHIR capabilities read', { requestId, durationMs });
      return {
        fhirVersion: data.fhirVersion ?? '',
        resourceTypes: (server?.resource ?? []).map((r): string => r.type).filter((t) => typeof t === 'string' && t !== ''),
        durationMs,
      };
    } catch (err) {
      const e = classifyFhirFailure(err, { operation: 'capabilities request', timeoutMs: this.timeoutMs, aborted: call.aborted });
      this.log.warn('FHIR capabilities failed', { requestId, code: e.code, status: e.details?.status, durationMs: elapsed(started) });
      throw e;
    } finally {
      this.requests.end(call);
    }
  }

  /**
   * Aborts requests in flight (they reject with `TRANSIENT_FHIR_CLOSED`, so the message is retried
   * elsewhere) and refuses new ones. Safe to call twice.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.requests.abortAll();
  }

  private begin(): InFlight {
    if (this.closed) throw new TransientError('FHIR_CLOSED', 'FHIR destination is closed');
    return this.requests.begin();
  }
}
