/**
 * Options shared by every auth provider. Nothing here is secret; secrets live in the `FhirAuth`
 * value the provider is built from and never reach a log line.
 */
import type { Logger } from '../../../common/logger';

/** The subset of the global `fetch` the providers use (tests may pass a wrapper that counts calls). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface AuthProviderOptions {
  /** Default: the global fetch (undici). */
  fetch?: FetchLike;
  logger?: Logger;
  /** Clock in epoch ms, for token expiry (default `Date.now`). */
  now?: () => number;
  /** Token endpoint request timeout (default 10,000 ms). */
  timeoutMs?: number;
  /**
   * A cached token is renewed this long before `expires_in` runs out (default 60,000 ms, and never
   * more than half the token's lifetime, so short-lived tokens are still reused).
   */
  expiryMarginMs?: number;
  /**
   * refresh-token only: called when the authorization server rotates the refresh token, so the
   * owner (registry, config node) can persist the new one. The old one may already be revoked.
   */
  onRefreshTokenRotated?: (refreshToken: string) => void | Promise<void>;
}

/** What a token endpoint answered, reduced to what the cache needs. */
export interface IssuedToken {
  accessToken: string;
  /** Seconds, from `expires_in` (undefined when the server did not say). */
  expiresIn?: number;
  refreshToken?: string;
  tokenType: string;
}
