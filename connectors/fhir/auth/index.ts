/**
 * `createAuthProvider`: the one way a FHIR client gets its auth headers for a connection.
 *
 * ```ts
 * const auth = createAuthProvider(connection.auth, { logger });
 * const headers = await auth.headers();            // before each request
 * if (status === 401 && (await auth.invalidate(headers))) retryOnce();   // token modes only
 * ```
 *
 * none / basic / api-key: static headers; `invalidate()` answers false (a 401 is final).
 * client-credentials / smart-backend / refresh-token: a cached bearer token, renewed 60 s before
 * `expires_in`, one shared request for concurrent callers, dropped by `invalidate()`.
 * Token endpoint failures are classified in token-endpoint.ts. Nothing here logs a secret.
 */
import { ValidationError } from '../../../common/errors';
import { logger as createLogger } from '../../../common/logger';
import type { AuthProvider, FhirAuth } from '../connection';
import { clientCredentialsProvider, refreshTokenProvider, smartBackendProvider } from './oauth';
import { apiKeyHeaders, basicAuthorization, staticAuthProvider } from './static-auth';
import type { AuthProviderOptions } from './types';

export type { AuthProviderOptions, FetchLike } from './types';
export { JWT_BEARER_ASSERTION_TYPE, signingKey } from './oauth';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MARGIN_MS = 60_000;

function requireHttpUrl(value: string, path: string): void {
  let ok = false;
  try {
    const { protocol } = new URL(value);
    ok = protocol === 'https:' || protocol === 'http:';
  } catch {
    ok = false;
  }
  if (!ok) throw new ValidationError('FHIR_AUTH_CONFIG', 'Token URL is not an absolute http(s) URL', { path });
}

/**
 * Builds the provider for one connection's auth settings.
 * @throws ValidationError `VALIDATION_FHIR_AUTH_CONFIG` / `VALIDATION_FHIR_AUTH_KEY` for unusable settings
 */
export function createAuthProvider(auth: FhirAuth, opts: AuthProviderOptions = {}): AuthProvider {
  const ctx = {
    fetch: opts.fetch ?? ((input: string, init?: RequestInit) => fetch(input, init)),
    now: opts.now ?? Date.now,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    marginMs: opts.expiryMarginMs ?? DEFAULT_MARGIN_MS,
    log: opts.logger ?? createLogger({ stage: 'fhir-auth' }),
    onRefreshTokenRotated: opts.onRefreshTokenRotated,
  };
  switch (auth.type) {
    case 'none':
      return staticAuthProvider({});
    case 'basic':
      return staticAuthProvider({ Authorization: basicAuthorization(auth.username, auth.password) });
    case 'api-key':
      return staticAuthProvider(apiKeyHeaders(auth.header, auth.key));
    case 'client-credentials':
      requireHttpUrl(auth.tokenUrl, 'auth.tokenUrl');
      return clientCredentialsProvider(auth, ctx);
    case 'smart-backend':
      requireHttpUrl(auth.tokenUrl, 'auth.tokenUrl');
      return smartBackendProvider(auth, ctx);
    case 'refresh-token':
      requireHttpUrl(auth.tokenUrl, 'auth.tokenUrl');
      return refreshTokenProvider(auth, ctx);
    default: {
      const unknown = (auth as { type?: unknown }).type;
      throw new ValidationError('FHIR_AUTH_CONFIG', `Unknown auth type ${String(unknown)}`, { path: 'auth.type' });
    }
  }
}
