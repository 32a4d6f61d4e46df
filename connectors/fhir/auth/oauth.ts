/**
 * Token-based auth modes, each a TokenCache over a different token request:
 *
 * - client-credentials: RFC 6749 §4.4, client authenticated with `client_secret_basic` (default:
 *   the form-urlencoded id and secret in `Authorization: Basic`, RFC 6749 §2.3.1) or `client_secret_post`.
 * - smart-backend: SMART Backend Services (HL7 SMART App Launch 2.x, "Backend Services"):
 *   client_credentials with a `private_key_jwt` client assertion (RFC 7523) signed RS384 or ES384,
 *   iss = sub = client id, aud = token URL, random jti, exp 5 minutes ahead at most.
 * - refresh-token: RFC 6749 §6, keeping a rotated refresh token (RFC 9700 §4.14.2 recommends rotation).
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { ValidationError } from '../../../common/errors';
import type { Logger } from '../../../common/logger';
import type { FhirAuth } from '../connection';
import { TokenCache } from './token-cache';
import { requestToken } from './token-endpoint';
import type { AuthProviderOptions, FetchLike, IssuedToken } from './types';

type Auth<T extends FhirAuth['type']> = Extract<FhirAuth, { type: T }>;

interface Ctx {
  fetch: FetchLike;
  now: () => number;
  timeoutMs: number;
  marginMs: number;
  log: Logger;
  onRefreshTokenRotated?: AuthProviderOptions['onRefreshTokenRotated'];
}

/** SMART: "exp ... no more than five minutes in the future". We use 4 to absorb clock skew. */
const ASSERTION_LIFETIME_S = 240;
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding. */
function clientBasic(clientId: string, clientSecret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(clientSecret)}`, 'utf8').toString('base64')}`;
}

function logged(ctx: Ctx, mode: string, fetchToken: () => Promise<IssuedToken>): () => Promise<IssuedToken> {
  return async () => {
    const started = ctx.now();
    try {
      const t = await fetchToken();
      // Ids and durations only: never the token, secret or assertion.
      ctx.log.debug('FHIR auth token issued', { authType: mode, expiresIn: t.expiresIn, durationMs: ctx.now() - started });
      return t;
    } catch (err) {
      const e = err as { code?: string; kind?: string };
      ctx.log[e.kind === 'transient' ? 'warn' : 'error']('FHIR auth token request failed', { authType: mode, code: e.code, durationMs: ctx.now() - started });
      throw err;
    }
  };
}

export function clientCredentialsProvider(auth: Auth<'client-credentials'>, ctx: Ctx): TokenCache {
  const post = auth.clientAuth === 'post';
  return new TokenCache({
    now: ctx.now,
    marginMs: ctx.marginMs,
    fetchToken: logged(ctx, auth.type, () =>
      requestToken({
        ...ctx,
        tokenUrl: auth.tokenUrl,
        form: {
          grant_type: 'client_credentials',
          scope: auth.scope,
          ...(post ? { client_id: auth.clientId, client_secret: auth.clientSecret } : {}),
        },
        headers: post ? undefined : { Authorization: clientBasic(auth.clientId, auth.clientSecret) },
      }),
    ),
  });
}

/** Parses the PEM once (PKCS#8, PKCS#1 RSA or SEC1 EC) and checks it fits the algorithm. */
export function signingKey(pem: string, algorithm: 'RS384' | 'ES384'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    // The parser's message never includes the key, but keep ours generic anyway.
    throw new ValidationError('FHIR_AUTH_KEY', 'SMART private key is not a readable PEM private key', { path: 'auth.privateKeyPem', cause: err });
  }
  const ok = algorithm === 'RS384' ? key.asymmetricKeyType === 'rsa' : key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1';
  if (!ok) {
    throw new ValidationError('FHIR_AUTH_KEY', `SMART private key does not fit ${algorithm} (${algorithm === 'RS384' ? 'RSA' : 'EC P-384'} expected)`, {
      path: 'auth.privateKeyPem',
    });
  }
  return key;
}

export function smartBackendProvider(auth: Auth<'smart-backend'>, ctx: Ctx): TokenCache {
  const key = signingKey(auth.privateKeyPem, auth.algorithm);
  const assertion = async (): Promise<string> => {
    const nowS = Math.floor(ctx.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: auth.algorithm, typ: 'JWT', ...(auth.keyId ? { kid: auth.keyId } : {}) })
      .setIssuer(auth.clientId)
      .setSubject(auth.clientId)
      .setAudience(auth.tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(nowS)
      .setExpirationTime(nowS + ASSERTION_LIFETIME_S)
      .sign(key);
  };
  return new TokenCache({
    now: ctx.now,
    marginMs: ctx.marginMs,
    fetchToken: logged(ctx, auth.type, async () =>
      requestToken({
        ...ctx,
        tokenUrl: auth.tokenUrl,
        form: {
          grant_type: 'client_credentials',
          scope: auth.scope,
          client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
          client_assertion: await assertion(),
        },
      }),
    ),
  });
}

export function refreshTokenProvider(auth: Auth<'refresh-token'>, ctx: Ctx): TokenCache {
  let refreshToken = auth.refreshToken;
  return new TokenCache({
    now: ctx.now,
    marginMs: ctx.marginMs,
    initial: auth.accessToken ? { accessToken: auth.accessToken, expiresAt: auth.expiresAt } : undefined,
    fetchToken: logged(ctx, auth.type, async () => {
      const issued = await requestToken({
        ...ctx,
        tokenUrl: auth.tokenUrl,
        // A confidential client authenticates (client_secret_basic); a public one names itself in the form.
        form: { grant_type: 'refresh_token', refresh_token: refreshToken, ...(auth.clientSecret ? {} : { client_id: auth.clientId }) },
        headers: auth.clientSecret ? { Authorization: clientBasic(auth.clientId, auth.clientSecret) } : undefined,
      });
      if (issued.refreshToken && issued.refreshToken !== refreshToken) {
        refreshToken = issued.refreshToken;
        ctx.log.info('FHIR auth refresh token rotated', { authType: auth.type });
        try {
          await ctx.onRefreshTokenRotated?.(refreshToken);
        } catch (err) {
          // The new token is in memory and works until restart; say so, but do not fail the request.
          ctx.log.error('FHIR auth could not persist the rotated refresh token', { authType: auth.type, error: (err as Error)?.name });
        }
      }
      return issued;
    }),
  });
}


