/**
 * Decides, once, what kind of failure a FHIR answer is (see common/errors.ts):
 *
 * - 4xx other than 408/429 → IntegrationError `FHIR_REJECTED`: the server said no; resending the
 *   same Bundle gets the same answer.
 * - 408 → `FHIR_TIMEOUT`; 429 → `FHIR_RATE_LIMITED`; 502/503/504 and refused/reset connections →
 *   `FHIR_UNAVAILABLE`; other 5xx → `FHIR_SERVER_ERROR`; our own timeout → `FHIR_TIMEOUT`;
 *   an answer that is not FHIR JSON → `FHIR_BAD_RESPONSE`: all TransientError, retried.
 *
 * Codes reach flows prefixed by kind (`INTEGRATION_FHIR_REJECTED`, `TRANSIENT_FHIR_TIMEOUT`).
 * Messages carry statuses and masked issue summaries, never bodies or URLs.
 */
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { IntegrationError, TransientError, WaslError } from '../../common/errors';
import { isOperationOutcome, summariseOutcome } from './outcome-summary';
import { parseRetryAfter } from './retry-after';

/** What the caller was doing and why, if at all, it aborted the request itself. */
export interface FailureContext {
  /** Used in messages: `transaction`, `capabilities request`. */
  operation: string;
  timeoutMs: number;
  /** Set when our own AbortController fired: our timeout, or close() while in flight. */
  aborted?: 'timeout' | 'closed';
  now?: number;
}

/**
 * fhir-kit-client 1.9.2 rejects with this plain object (not an Error) for non-2xx answers and for
 * bodies that are not JSON. `config.headers` holds the *response* headers (lib/http-client.js).
 */
interface FhirKitHttpFailure {
  response: { status: number; data: unknown };
  config?: { headers?: { get?: (name: string) => string | null } };
}

function isFhirKitHttpFailure(err: unknown): err is FhirKitHttpFailure {
  const r = (err as { response?: { status?: unknown } } | null)?.response;
  return typeof r === 'object' && r !== null && typeof r.status === 'number';
}

/** Socket-level codes of Node's fetch (undici) and net that mean "the server is not there now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND',
  'ETIMEDOUT', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT',
]);

/** Node's fetch wraps socket errors: `TypeError('fetch failed', { cause })`, sometimes an AggregateError. */
function systemCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return e.code;
  const nested = [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])];
  for (const n of nested) {
    const code = systemCode(n, depth + 1);
    if (code) return code;
  }
  return undefined;
}

/**
 * Classifies an HTTP status the server answered with (for the whole request or for one
 * transaction entry).
 * @param where - prefix for the message, e.g. `HTTP 400` or `entry 2 HTTP 422`
 */
export function classifyStatus(
  status: number,
  outcome: OperationOutcome | undefined,
  retryAfterMs: number | undefined,
  operation: string,
  where: string,
  details: Record<string, unknown>,
): WaslError {
  const summary = outcome ? ` ${summariseOutcome(outcome)}` : '';
  const opts = { details: { ...details, outcome }, retryAfterMs };
  if (status === 408) return new TransientError('FHIR_TIMEOUT', `FHIR server timed out the ${operation}: ${where}${summary}`, opts);
  if (status === 429) return new TransientError('FHIR_RATE_LIMITED', `FHIR server rate-limited the ${operation}: ${where}`, opts);
  if (status === 502 || status === 503 || status === 504) {
    return new TransientError('FHIR_UNAVAILABLE', `FHIR server unavailable for the ${operation}: ${where}${summary}`, opts);
  }
  if (status >= 500) return new TransientError('FHIR_SERVER_ERROR', `FHIR server failed the ${operation}: ${where}${summary}`, opts);
  if (status >= 400) {
    const reason = outcome ? summary : ' (no OperationOutcome)';
    return new IntegrationError('FHIR_REJECTED', `FHIR server rejected the ${operation}: ${where}${reason}`, { details: opts.details });
  }
  // A 2xx/3xx we could not use: fhir-kit-client only rejects those when the body is not JSON.
  // Possibly a proxy page; unknown means transient, so a person sees it in the DLQ at worst.
  return new TransientError('FHIR_BAD_RESPONSE', `FHIR server answered the ${operation} with ${where} and a body that is not FHIR JSON`, opts);
}

/** Turns anything fhir-kit-client or fetch threw into one classified WaslError. */
export function classifyFhirFailure(err: unknown, ctx: FailureContext): WaslError {
  if (err instanceof WaslError) return err;
  // Our own abort first: fetch reports both as a plain AbortError.
  if (ctx.aborted === 'timeout') {
    return new TransientError('FHIR_TIMEOUT', `FHIR ${ctx.operation} got no complete answer within ${ctx.timeoutMs} ms`, {
      details: { timeoutMs: ctx.timeoutMs },
    });
  }
  if (ctx.aborted === 'closed') {
    return new TransientError('FHIR_CLOSED', `FHIR destination closed while the ${ctx.operation} was in flight`);
  }
  if (isFhirKitHttpFailure(err)) {
    const { status, data } = err.response;
    const retryAfterMs = parseRetryAfter(err.config?.headers?.get?.('retry-after'), ctx.now);
    const outcome = isOperationOutcome(data) ? data : undefined;
    // No `cause`: the raw failure holds the response body, and causes reach Catch nodes.
    return classifyStatus(status, outcome, retryAfterMs, ctx.operation, `HTTP ${status}`, { status });
  }
  const code = systemCode(err);
  if (code) {
    return new TransientError('FHIR_UNAVAILABLE', `FHIR server unreachable for the ${ctx.operation} (${code})`, {
      cause: err,
      details: { code },
    });
  }
  // Unknown: transient by project rule (a misclassified bug should end in the DLQ, not be dropped).
  const message = err instanceof Error ? err.message : String(err);
  return new TransientError('FHIR_UNEXPECTED', `FHIR ${ctx.operation} failed: ${message}`, { cause: err });
}

/**
 * Checks a 2xx transaction-response entry by entry. A conformant server answers a failed
 * transaction with one non-2xx for the whole Bundle, but Medplum's transactions are not atomic
 * (entries before a failing one stay committed) and batch-style servers report per entry, so a
 * 200 can still carry a 4xx/5xx entry. Treated like the same status for the whole request; the
 * resend is safe because Wasl's entries are conditional writes.
 * @throws WaslError for the first failed entry, or `FHIR_BAD_RESPONSE` if the body is not a Bundle
 */
export function checkTransactionResponse(body: unknown, httpStatus: number): Bundle {
  const bundle = body as Bundle;
  if (bundle?.resourceType !== 'Bundle') {
    throw new TransientError('FHIR_BAD_RESPONSE', `FHIR server answered the transaction with HTTP ${httpStatus} but no Bundle`, {
      details: { status: httpStatus },
    });
  }
  const entries = bundle.entry ?? [];
  for (let i = 0; i < entries.length; i++) {
    const entryStatus = Number.parseInt(entries[i].response?.status ?? '', 10);
    if (Number.isFinite(entryStatus) && entryStatus >= 400) {
      const raw = entries[i].response?.outcome;
      const outcome = isOperationOutcome(raw) ? raw : undefined;
      throw classifyStatus(entryStatus, outcome, undefined, 'transaction', `entry ${i} HTTP ${entryStatus}`, {
        status: httpStatus,
        entryIndex: i,
        entryStatus,
      });
    }
  }
  return bundle;
}
