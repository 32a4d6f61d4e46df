/**
 * A real OAuth2 authorization server on loopback (node:http), for tests of every token-based FHIR
 * auth mode. One endpoint: `POST <url>/token` (form-encoded), supporting
 *
 * - `grant_type=client_credentials` with `client_secret_basic` or `client_secret_post`;
 * - `grant_type=client_credentials` with a SMART Backend Services client assertion
 *   (`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`), verified
 *   with the client's registered public key (jose `jwtVerify`: signature, alg RS384/ES384,
 *   iss = sub = client id, aud = token URL, exp at most 5 minutes ahead, jti never seen before);
 * - `grant_type=refresh_token`, rotating the refresh token (the old one stops working) unless
 *   `rotateRefreshTokens: false`.
 *
 * Usage:
 * ```ts
 * const oauth = await startOAuthServer({ tokenLifetimeS: 2 });
 * oauth.registerClient({ clientId: 'wasl', clientSecret: 's3cret' });          // client credentials
 * oauth.registerClient({ clientId: 'bk', publicKey: publicKeyPem });           // SMART backend
 * const rt = oauth.issueRefreshToken('wasl');                                  // refresh-token mode
 * oauth.isValid('Bearer abc');      // what a protected resource asks (see protected-fhir.ts)
 * oauth.expireAll(); oauth.revokeAll(); oauth.failNext({ status: 503 });
 * oauth.stats.tokenRequests;        // counters
 * await oauth.close();
 * ```
 * Errors are RFC 6749 §5.2 JSON (`invalid_client` 401, `invalid_grant` 400, ...).
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';

export interface OAuthClient {
  clientId: string;
  /** For client_secret_basic / client_secret_post (and confidential refresh). */
  clientSecret?: string;
  /** SPKI PEM (or a KeyObject) of the client's signing key, for jwt-bearer assertions. */
  publicKey?: string | KeyObject;
}

export interface OAuthServerOptions {
  /** `expires_in` of issued access tokens, in seconds (default 3600). Fractions allowed. */
  tokenLifetimeS?: number;
  /** Issue a new refresh token on every refresh and revoke the old one (default true). */
  rotateRefreshTokens?: boolean;
}

export interface TokenRequestRecord {
  grantType: string;
  clientId?: string;
  /** How the client authenticated. */
  clientAuth: 'basic' | 'post' | 'jwt' | 'none';
  status: number;
  error?: string;
}

export interface OAuthServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** `${url}/token`: what clients use as `tokenUrl` (and as the assertion's `aud`). */
  tokenUrl: string;
  registerClient(client: OAuthClient): void;
  /** A refresh token for a registered client, for refresh-token mode tests. */
  issueRefreshToken(clientId: string): string;
  /** Whether an `Authorization` header value carries a live access token from this server. */
  isValid(authorization: string | undefined): boolean;
  /** Every issued access token is now expired (the next resource request gets 401). */
  expireAll(): void;
  /** Forgets every access and refresh token. */
  revokeAll(): void;
  /** Changes `expires_in` for tokens issued from now on. */
  setTokenLifetime(seconds: number): void;
  /** The next `count` (default 1) token requests get this answer instead. */
  failNext(fault: { status: number; body?: unknown; headers?: Record<string, string>; count?: number }): void;
  /** Delays every token answer (e.g. to test timeouts or to widen races). */
  setDelay(ms: number): void;
  stats: { tokenRequests: number; issued: number; refused: number; requests: TokenRequestRecord[] };
  close(): Promise<void>;
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export async function startOAuthServer(opts: OAuthServerOptions = {}): Promise<OAuthServer> {
  let lifetimeS = opts.tokenLifetimeS ?? 3600;
  const rotate = opts.rotateRefreshTokens ?? true;
  const clients = new Map<string, { secret?: string; key?: KeyObject }>();
  const accessTokens = new Map<string, { clientId: string; expiresAt: number }>();
  const refreshTokens = new Map<string, string>();
  const seenJti = new Set<string>();
  const faults: Array<{ status: number; body?: unknown; headers?: Record<string, string> }> = [];
  let delayMs = 0;
  const stats: OAuthServer['stats'] = { tokenRequests: 0, issued: 0, refused: 0, requests: [] };
  let tokenUrl = '';

  const newToken = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`;

  async function handleToken(form: URLSearchParams, authorization: string | undefined): Promise<{ status: number; body: Record<string, unknown>; record: TokenRequestRecord }> {
    const grantType = form.get('grant_type') ?? '';
    const record: TokenRequestRecord = { grantType, clientAuth: 'none', status: 200 };
    const fail = (status: number, error: string, description: string) => {
      record.status = status;
      record.error = error;
      return { status, body: { error, error_description: description }, record };
    };

    // Client authentication: Basic header, form secret, or a signed assertion.
    let clientId: string | undefined;
    if (authorization?.startsWith('Basic ')) {
      record.clientAuth = 'basic';
      const [id, secret] = Buffer.from(authorization.slice(6), 'base64').toString('utf8').split(':').map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
      const c = clients.get(id);
      if (!c?.secret || c.secret !== secret) return fail(401, 'invalid_client', 'client authentication failed');
      clientId = id;
    } else if (form.get('client_assertion_type') === JWT_BEARER) {
      record.clientAuth = 'jwt';
      const assertion = form.get('client_assertion') ?? '';
      const claimedId = decodeIss(assertion);
      const c = claimedId ? clients.get(claimedId) : undefined;
      if (!c?.key) return fail(401, 'invalid_client', 'unknown client or no registered key');
      try {
        const { payload } = await jwtVerify(assertion, c.key, {
          algorithms: ['RS384', 'ES384'],
          audience: tokenUrl,
          issuer: claimedId,
          subject: claimedId,
          requiredClaims: ['exp', 'jti'],
        });
        if ((payload.exp ?? 0) - Date.now() / 1000 > 300 + 5) return fail(401, 'invalid_client', 'assertion exp more than 5 minutes ahead');
        if (seenJti.has(payload.jti!)) return fail(401, 'invalid_client', 'assertion jti replayed');
        seenJti.add(payload.jti!);
      } catch (err) {
        return fail(401, 'invalid_client', `assertion rejected: ${(err as { code?: string }).code ?? 'invalid'}`);
      }
      clientId = claimedId;
    } else if (form.get('client_secret') !== null) {
      record.clientAuth = 'post';
      const id = form.get('client_id') ?? '';
      const c = clients.get(id);
      if (!c?.secret || c.secret !== form.get('client_secret')) return fail(401, 'invalid_client', 'client authentication failed');
      clientId = id;
    } else if (form.get('client_id') !== null) {
      // A public client: only allowed to refresh.
      clientId = form.get('client_id') ?? undefined;
      if (!clientId || !clients.has(clientId) || grantType !== 'refresh_token') return fail(401, 'invalid_client', 'client authentication required');
    } else {
      return fail(401, 'invalid_client', 'client authentication required');
    }
    record.clientId = clientId;

    let refreshToken: string | undefined;
    if (grantType === 'client_credentials') {
      // nothing more to check
    } else if (grantType === 'refresh_token') {
      const presented = form.get('refresh_token') ?? '';
      if (refreshTokens.get(presented) !== clientId) return fail(400, 'invalid_grant', 'refresh token unknown, revoked or of another client');
      if (rotate) {
        refreshTokens.delete(presented);
        refreshToken = newToken('rt');
        refreshTokens.set(refreshToken, clientId!);
      }
    } else {
      return fail(400, 'unsupported_grant_type', `grant_type ${grantType || '(none)'} not supported`);
    }
    const accessToken = newToken('at');
    accessTokens.set(accessToken, { clientId: clientId!, expiresAt: Date.now() + lifetimeS * 1000 });
    stats.issued += 1;
    const scope = form.get('scope');
    return {
      status: 200,
      body: { access_token: accessToken, token_type: 'Bearer', expires_in: lifetimeS, ...(scope ? { scope } : {}), ...(refreshToken ? { refresh_token: refreshToken } : {}) },
      record,
    };
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
          res.end(typeof body === 'string' ? body : JSON.stringify(body));
        };
        if (req.method !== 'POST' || req.url?.split('?')[0] !== '/token') {
          send(404, { error: 'not_found' });
          return;
        }
        stats.tokenRequests += 1;
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        const fault = faults.shift();
        if (fault) {
          stats.refused += 1;
          stats.requests.push({ grantType: '?', clientAuth: 'none', status: fault.status });
          send(fault.status, fault.body ?? { error: 'temporarily_unavailable' }, fault.headers);
          return;
        }
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        const result = await handleToken(form, req.headers.authorization);
        stats.requests.push(result.record);
        if (result.status !== 200) stats.refused += 1;
        send(result.status, result.body, result.status === 401 ? { 'www-authenticate': 'Basic realm="token"' } : {});
      })().catch(() => {
        res.writeHead(500).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  tokenUrl = `${url}/token`;
  let closing: Promise<void> | undefined;

  return {
    url,
    tokenUrl,
    stats,
    registerClient(client) {
      const key = client.publicKey === undefined ? undefined : typeof client.publicKey === 'string' ? createPublicKey(client.publicKey) : client.publicKey;
      clients.set(client.clientId, { secret: client.clientSecret, key });
    },
    issueRefreshToken(clientId) {
      const t = newToken('rt');
      refreshTokens.set(t, clientId);
      return t;
    },
    isValid(authorization) {
      const m = /^Bearer (.+)$/i.exec(authorization ?? '');
      const t = m ? accessTokens.get(m[1]) : undefined;
      return !!t && t.expiresAt > Date.now();
    },
    expireAll() {
      for (const t of accessTokens.values()) t.expiresAt = 0;
    },
    revokeAll() {
      accessTokens.clear();
      refreshTokens.clear();
    },
    setTokenLifetime(seconds) {
      lifetimeS = seconds;
    },
    failNext(fault) {
      for (let i = 0; i < (fault.count ?? 1); i++) faults.push(fault);
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** The `iss` of a JWT without verifying it: only to pick the key to verify it with. */
function decodeIss(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
    return typeof payload.iss === 'string' ? payload.iss : undefined;
  } catch {
    return undefined;
  }
}
