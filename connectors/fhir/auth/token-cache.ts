/**
 * A bearer token cache for one connection: reuses the token until shortly before it expires, and
 * makes every concurrent caller share ONE token request (a burst of 20 requests at start, or 20
 * requests that all got a 401, cause one call to the token endpoint, not 20).
 */
import type { AuthProvider } from '../connection';
import type { IssuedToken } from './types';

/** Assumed lifetime when the server does not send `expires_in` (RFC 6749 makes it optional). */
const DEFAULT_LIFETIME_S = 300;

interface Cached {
  header: string;
  /** Epoch ms after which the token is not reused. */
  renewAt: number;
}

export interface TokenCacheOptions {
  now: () => number;
  marginMs: number;
  /** Asks the token endpoint for a new token. */
  fetchToken: () => Promise<IssuedToken>;
  /** A token known before any request (refresh-token mode may start with one). */
  initial?: { accessToken: string; expiresAt?: number };
}

export class TokenCache implements AuthProvider {
  private cached: Cached | undefined;
  private inFlight: Promise<Cached> | undefined;

  constructor(private readonly opts: TokenCacheOptions) {
    const init = opts.initial;
    // A starting token without an expiry is used until the server refuses it.
    if (init?.accessToken) this.cached = { header: `Bearer ${init.accessToken}`, renewAt: init.expiresAt ? init.expiresAt - opts.marginMs : Infinity };
  }

  async headers(): Promise<Record<string, string>> {
    const cached = this.cached;
    if (cached && this.opts.now() < cached.renewAt) return { Authorization: cached.header };
    return { Authorization: (await this.renew()).header };
  }

  /**
   * Drops the cached token after a 401. Several requests refused with the same token drop it once:
   * pass the headers the refused request carried, and a token that was already replaced stays.
   */
  async invalidate(rejected?: Record<string, string>): Promise<boolean> {
    const sent = rejected ? (rejected.Authorization ?? rejected.authorization) : undefined;
    if (sent === undefined || sent === this.cached?.header) this.cached = undefined;
    return true;
  }

  private renew(): Promise<Cached> {
    this.inFlight ??= (async () => {
      try {
        const issued = await this.opts.fetchToken();
        const lifetimeMs = (issued.expiresIn ?? DEFAULT_LIFETIME_S) * 1000;
        // Never renew earlier than half the lifetime, so a 60 s margin does not defeat a 90 s token.
        const margin = Math.min(this.opts.marginMs, lifetimeMs / 2);
        const scheme = /^bearer$/i.test(issued.tokenType) ? 'Bearer' : issued.tokenType;
        this.cached = { header: `${scheme} ${issued.accessToken}`, renewAt: this.opts.now() + lifetimeMs - margin };
        return this.cached;
      } finally {
        this.inFlight = undefined;
      }
    })();
    return this.inFlight;
  }
}
