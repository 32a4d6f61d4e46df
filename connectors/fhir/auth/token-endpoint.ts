/**
 * One request to an OAuth2 token endpoint (RFC 6749 §3.2, form-encoded POST), classified once:
 *
 * - 200 with an `access_token`: the token.
 * - An OAuth error answer (`error`, `error_description`; RFC 6749 §5.2) such as `invalid_client`,
 *   `invalid_grant`, `invalid_scope`: IntegrationError `INTEGRATION_FHIR_AUTH_REJECTED`. These are
 *   configuration problems; retrying will not fix them. `details.oauthError` carries the code.
 * - Any other 4xx (wrong token URL): IntegrationError `INTEGRATION_FHIR_AUTH_REJECTED` too.
 * - 408, 429 (with Retry-After) and 5xx: TransientError `TRANSIENT_FHIR_AUTH_UNAVAILABLE`.
 * - Refused connection, reset: `TRANSIENT_FHIR_AUTH_UNAVAILABLE`; our timeout: `TRANSIENT_FHIR_AUTH_TIMEOUT`.
 * - 200 without a usable token (an HTML login page, say): `INTEGRATION_FHIR_AUTH_BAD_RESPONSE`.
 *
 * Error messages name the status and the OAuth error code only: never the form (it holds the
 * secret or assertion), never the answer body (it may hold a token).
 */
import { IntegrationError, TransientError, type WaslError } from '../../../common/errors';
import { parseRetryAfter } from '../retry-after';
import type { FetchLike, IssuedToken } from './types';

export interface TokenRequest {
  tokenUrl: string;
  form: Record<string, string | undefined>;
  /** Extra headers, e.g. `Authorization: Basic` for client_secret_basic. */
  headers?: Record<string, string>;
  timeoutMs: number;
  fetch: FetchLike;
  now: () => number;
}

/** Longest `error_description` kept (servers sometimes send a whole stack trace). */
const MAX_DESCRIPTION = 200;

/** OAuth `error` values are ASCII tokens (RFC 6749 §5.2); anything else is not an OAuth answer. */
const OAUTH_ERROR = /^[\x20-\x21\x23-\x5B\x5D-\x7E]{1,64}$/;

export async function requestToken(req: TokenRequest): Promise<IssuedToken> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(req.form)) if (v !== undefined && v !== '') body.set(k, v);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, req.timeoutMs);
  let res: Response;
  let text: string;
  try {
    res = await req.fetch(req.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...req.headers },
      body: body.toString(),
      signal: controller.signal,
    });
    text = await res.text();
  } catch (err) {
    if (timedOut) {
      throw new TransientError('FHIR_AUTH_TIMEOUT', `Token endpoint did not answer within ${req.timeoutMs} ms`, { cause: err });
    }
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err as { code?: string }).code;
    throw new TransientError('FHIR_AUTH_UNAVAILABLE', `Token endpoint unreachable${code ? ` (${code})` : ''}`, { cause: err, details: { code } });
  } finally {
    clearTimeout(timer);
  }

  const json = parseJson(text);
  if (res.ok) {
    const accessToken = json?.access_token;
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new IntegrationError('FHIR_AUTH_BAD_RESPONSE', `Token endpoint answered ${res.status} without an access_token`, { details: { status: res.status } });
    }
    const expiresIn = Number(json?.expires_in);
    return {
      accessToken,
      expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined,
      refreshToken: typeof json?.refresh_token === 'string' && json.refresh_token !== '' ? json.refresh_token : undefined,
      tokenType: typeof json?.token_type === 'string' ? json.token_type : 'Bearer',
    };
  }
  throw classifyTokenFailure(res, json, req.now());
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function classifyTokenFailure(res: Response, json: Record<string, unknown> | undefined, now: number): WaslError {
  const status = res.status;
  const oauthError = typeof json?.error === 'string' && OAUTH_ERROR.test(json.error) ? json.error : undefined;
  const description = typeof json?.error_description === 'string' ? json.error_description.slice(0, MAX_DESCRIPTION) : undefined;
  const details = { status, ...(oauthError ? { oauthError } : {}) };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), now);
    return new TransientError('FHIR_AUTH_UNAVAILABLE', `Token endpoint answered ${status}${oauthError ? ` ${oauthError}` : ''}`, { details, retryAfterMs });
  }
  const what = oauthError ? `${oauthError}${description ? `: ${description}` : ''}` : 'no OAuth error';
  return new IntegrationError('FHIR_AUTH_REJECTED', `Token endpoint refused the request (${status}, ${what})`, { details });
}
