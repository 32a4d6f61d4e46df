/**
 * Every FHIR auth mode against a real authorization server on loopback (test/simulators/oauth-server.ts)
 * and, end to end, the Medplum FHIR server behind the auth-checking proxy (test/simulators/protected-fhir.ts).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import winston from 'winston';
import { IntegrationError, TransientError, ValidationError, type WaslError } from '../../../../common/errors';
import { createAuthProvider, type FetchLike } from '../../../../connectors/fhir/auth';
import type { AuthProvider } from '../../../../connectors/fhir/connection';
import { startFhirServer, type RunningFhirServer } from '../../../../engine/fhir-server';
import { startOAuthServer, type OAuthServer } from '../../../simulators/oauth-server';
import { startProtectedFhir, type ProtectedFhir } from '../../../simulators/protected-fhir';
import { failure } from '../../../support/failure';
import { capturingLogger } from '../../../support/logging';

/** fetch that records what it sent (bodies included), to check the wire format. */
function recordingFetch(): { fetch: FetchLike; sent: Array<{ url: string; init?: RequestInit }> } {
  const sent: Array<{ url: string; init?: RequestInit }> = [];
  return { sent, fetch: (url, init) => { sent.push({ url, init }); return fetch(url, init); } };
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ecP256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k: { export(o: { type: string; format: string }): string | Buffer }, type: string) => String(k.export({ type, format: 'pem' }));

describe('connectors/fhir/auth createAuthProvider', () => {
  let oauth: OAuthServer;
  const quiet = winston.createLogger({ silent: true });

  beforeEach(async () => {
    oauth = await startOAuthServer();
    oauth.registerClient({ clientId: 'wasl', clientSecret: 'cc secret+/=' });
  });
  afterEach(() => oauth.close());

  describe('static modes', () => {
    it('none sends nothing; basic and api-key send their header; invalidate() is false', async () => {
      const none = createAuthProvider({ type: 'none' });
      assert.deepEqual(await none.headers(), {});
      assert.equal(await none.invalidate(), false);
      const basic = createAuthProvider({ type: 'basic', username: 'ümit', password: 'p:w' });
      assert.deepEqual(await basic.headers(), { Authorization: `Basic ${Buffer.from('ümit:p:w', 'utf8').toString('base64')}` });
      assert.equal(await basic.invalidate(), false);
      const key = createAuthProvider({ type: 'api-key', header: 'x-api-key', key: 'k-123' });
      assert.deepEqual(await key.headers(), { 'x-api-key': 'k-123' });
    });

    it('refuses unusable settings with a validation error naming the field', () => {
      assert.throws(() => createAuthProvider({ type: 'api-key', header: 'bad header', key: 'k' }), (e: WaslError) => e.code === 'VALIDATION_FHIR_AUTH_CONFIG' && e.path === 'auth.header');
      assert.throws(() => createAuthProvider({ type: 'basic', username: 'a:b', password: 'x' }), (e: WaslError) => e.path === 'auth.username');
      assert.throws(() => createAuthProvider({ type: 'client-credentials', tokenUrl: 'nope', clientId: 'a', clientSecret: 'b' }), (e: WaslError) => e.path === 'auth.tokenUrl');
    });
  });

  describe('client-credentials', () => {
    it('authenticates with client_secret_basic by default and client_secret_post on request', async () => {
      const basic = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=', scope: 'system/*.read' }, { logger: quiet });
      const h = await basic.headers();
      assert.ok(oauth.isValid(h.Authorization));
      const post = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=', clientAuth: 'post' }, { logger: quiet });
      assert.ok(oauth.isValid((await post.headers()).Authorization));
      assert.deepEqual(oauth.stats.requests.map((r) => [r.grantType, r.clientAuth, r.status]), [
        ['client_credentials', 'basic', 200],
        ['client_credentials', 'post', 200],
      ]);
    });

    it('caches the token, and 20 concurrent callers share ONE token request', async () => {
      oauth.setDelay(50);
      const p = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=' }, { logger: quiet });
      const all = await Promise.all(Array.from({ length: 20 }, () => p.headers()));
      assert.equal(oauth.stats.tokenRequests, 1);
      assert.equal(new Set(all.map((h) => h.Authorization)).size, 1);
      await p.headers();
      assert.equal(oauth.stats.tokenRequests, 1);
    });

    it('renews shortly before expires_in (60 s margin) and after invalidate()', async () => {
      let now = Date.now();
      const p = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=' }, { logger: quiet, now: () => now });
      const first = await p.headers();
      now += 3600_000 - 61_000;
      assert.deepEqual(await p.headers(), first);
      now += 2000;
      const second = await p.headers();
      assert.notEqual(second.Authorization, first.Authorization);
      assert.equal(oauth.stats.tokenRequests, 2);

      assert.equal(await p.invalidate(second), true);
      const third = await p.headers();
      assert.notEqual(third.Authorization, second.Authorization);
      // A late invalidate() for the old token does not throw away the new one.
      await p.invalidate(second);
      assert.deepEqual(await p.headers(), third);
      assert.equal(oauth.stats.tokenRequests, 3);
    });

    it('reuses short-lived tokens for half their lifetime', async () => {
      oauth.setTokenLifetime(2);
      const p = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=' }, { logger: quiet });
      await p.headers();
      await p.headers();
      assert.equal(oauth.stats.tokenRequests, 1);
    });

    it('invalid_client is an integration error, not retried; the secret is never in the message or the log', async () => {
      const { logger, lines } = capturingLogger();
      const p = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'WRONG-secret-xyz' }, { logger });
      const e = await failure(() => p.headers());
      assert.ok(e instanceof IntegrationError);
      assert.equal(e.code, 'INTEGRATION_FHIR_AUTH_REJECTED');
      assert.equal(e.retryable, false);
      assert.equal(e.details?.oauthError, 'invalid_client');
      assert.equal(e.details?.status, 401);
      assert.ok(!e.message.includes('WRONG-secret-xyz'));
      assert.ok(lines.length > 0);
      assert.ok(!lines.join('').includes('WRONG-secret-xyz'));
    });

    it('5xx and 429 (with Retry-After) are transient; a concurrent failure is shared and the next call retries', async () => {
      const p = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=' }, { logger: quiet });
      oauth.failNext({ status: 503 });
      const errors = await Promise.all([failure(() => p.headers()), failure(() => p.headers())]);
      for (const e of errors) {
        assert.ok(e instanceof TransientError);
        assert.equal(e.code, 'TRANSIENT_FHIR_AUTH_UNAVAILABLE');
      }
      assert.equal(oauth.stats.tokenRequests, 1);
      oauth.failNext({ status: 429, headers: { 'retry-after': '7' }, body: { error: 'slow_down' } });
      const e = await failure(() => p.headers());
      assert.equal(e.kind, 'transient');
      assert.equal(e.retryAfterMs, 7000);
      assert.ok(oauth.isValid((await p.headers()).Authorization));
    });

    it('a token endpoint that does not answer in time is TRANSIENT_FHIR_AUTH_TIMEOUT; one that is down is TRANSIENT_FHIR_AUTH_UNAVAILABLE', async () => {
      oauth.setDelay(500);
      const slow = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=' }, { logger: quiet, timeoutMs: 100 });
      assert.equal((await failure(() => slow.headers())).code, 'TRANSIENT_FHIR_AUTH_TIMEOUT');
      const url = oauth.tokenUrl;
      await oauth.close();
      const down = createAuthProvider({ type: 'client-credentials', tokenUrl: url, clientId: 'wasl', clientSecret: 'x' }, { logger: quiet });
      const e = await failure(() => down.headers());
      assert.equal(e.code, 'TRANSIENT_FHIR_AUTH_UNAVAILABLE');
      assert.equal(e.details?.code, 'ECONNREFUSED');
    });

    it('a 200 without access_token is an integration error', async () => {
      oauth.failNext({ status: 200, body: '<html>login</html>' });
      const p = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=' }, { logger: quiet });
      assert.equal((await failure(() => p.headers())).code, 'INTEGRATION_FHIR_AUTH_BAD_RESPONSE');
    });
  });

  describe('smart-backend', () => {
    it('signs an RS384 assertion with the SMART claims and the kid', async () => {
      oauth.registerClient({ clientId: 'bk-rsa', publicKey: pem(rsa.publicKey, 'spki') });
      const rec = recordingFetch();
      const p = createAuthProvider(
        { type: 'smart-backend', tokenUrl: oauth.tokenUrl, clientId: 'bk-rsa', privateKeyPem: pem(rsa.privateKey, 'pkcs8'), algorithm: 'RS384', keyId: 'key-1', scope: 'system/Encounter.read' },
        { logger: quiet, fetch: rec.fetch },
      );
      assert.ok(oauth.isValid((await p.headers()).Authorization));
      const form = new URLSearchParams(String(rec.sent[0].init?.body));
      assert.equal(form.get('grant_type'), 'client_credentials');
      assert.equal(form.get('client_assertion_type'), 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      assert.equal(form.get('scope'), 'system/Encounter.read');
      const jwt = form.get('client_assertion')!;
      assert.deepEqual(decodeProtectedHeader(jwt), { alg: 'RS384', typ: 'JWT', kid: 'key-1' });
      const claims = decodeJwt(jwt);
      assert.equal(claims.iss, 'bk-rsa');
      assert.equal(claims.sub, 'bk-rsa');
      assert.equal(claims.aud, oauth.tokenUrl);
      assert.ok(typeof claims.jti === 'string' && claims.jti.length >= 16);
      assert.ok(claims.exp! - Math.floor(Date.now() / 1000) <= 300);
    });

    it('ES384 with a SEC1 key works, and every assertion has a fresh jti (the server refuses replays)', async () => {
      oauth.registerClient({ clientId: 'bk-ec', publicKey: pem(ec.publicKey, 'spki') });
      const p = createAuthProvider({ type: 'smart-backend', tokenUrl: oauth.tokenUrl, clientId: 'bk-ec', privateKeyPem: pem(ec.privateKey, 'sec1'), algorithm: 'ES384' }, { logger: quiet });
      const a = await p.headers();
      await p.invalidate(a);
      const b = await p.headers();
      assert.ok(oauth.isValid(b.Authorization));
      assert.deepEqual(oauth.stats.requests.map((r) => [r.clientAuth, r.status]), [['jwt', 200], ['jwt', 200]]);
    });

    it('an assertion signed with another key is invalid_client (integration)', async () => {
      oauth.registerClient({ clientId: 'bk-rsa', publicKey: pem(rsa.publicKey, 'spki') });
      const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const p = createAuthProvider({ type: 'smart-backend', tokenUrl: oauth.tokenUrl, clientId: 'bk-rsa', privateKeyPem: pem(other.privateKey, 'pkcs1'), algorithm: 'RS384' }, { logger: quiet });
      const e = await failure(() => p.headers());
      assert.equal(e.code, 'INTEGRATION_FHIR_AUTH_REJECTED');
      assert.equal(e.details?.oauthError, 'invalid_client');
    });

    it('refuses a key that does not fit the algorithm, without quoting it', () => {
      for (const [key, alg] of [[pem(rsa.privateKey, 'pkcs8'), 'ES384'], [pem(ecP256.privateKey, 'pkcs8'), 'ES384'], ['not a key', 'RS384']] as const) {
        assert.throws(
          () => createAuthProvider({ type: 'smart-backend', tokenUrl: oauth.tokenUrl, clientId: 'x', privateKeyPem: key, algorithm: alg }),
          (e: WaslError) => e instanceof ValidationError && e.code === 'VALIDATION_FHIR_AUTH_KEY' && e.path === 'auth.privateKeyPem' && !e.message.includes('PRIVATE KEY'),
        );
      }
    });
  });

  describe('refresh-token', () => {
    it('uses the given access token until it expires, then refreshes and keeps the rotated refresh token', async () => {
      oauth.registerClient({ clientId: 'app', clientSecret: 'app-secret' });
      const rt = oauth.issueRefreshToken('app');
      const rotated: string[] = [];
      const p = createAuthProvider(
        { type: 'refresh-token', tokenUrl: oauth.tokenUrl, clientId: 'app', clientSecret: 'app-secret', refreshToken: rt, accessToken: 'given-at', expiresAt: Date.now() + 3600_000 },
        { logger: quiet, onRefreshTokenRotated: (t) => void rotated.push(t) },
      );
      assert.deepEqual(await p.headers(), { Authorization: 'Bearer given-at' });
      assert.equal(oauth.stats.tokenRequests, 0);
      await p.invalidate();
      const h1 = await p.headers();
      assert.ok(oauth.isValid(h1.Authorization));
      assert.equal(rotated.length, 1);
      assert.notEqual(rotated[0], rt);
      // The server revoked the old refresh token: a second refresh works only with the rotated one.
      await p.invalidate(h1);
      assert.ok(oauth.isValid((await p.headers()).Authorization));
      assert.equal(rotated.length, 2);
      assert.deepEqual(oauth.stats.requests.map((r) => [r.grantType, r.clientAuth, r.status]), [
        ['refresh_token', 'basic', 200],
        ['refresh_token', 'basic', 200],
      ]);
    });

    it('a public client sends client_id; a revoked refresh token is invalid_grant (integration)', async () => {
      oauth.registerClient({ clientId: 'public-app' });
      const p = createAuthProvider({ type: 'refresh-token', tokenUrl: oauth.tokenUrl, clientId: 'public-app', refreshToken: oauth.issueRefreshToken('public-app') }, { logger: quiet });
      assert.ok(oauth.isValid((await p.headers()).Authorization));
      oauth.revokeAll();
      await p.invalidate();
      const e = await failure(() => p.headers());
      assert.equal(e.code, 'INTEGRATION_FHIR_AUTH_REJECTED');
      assert.equal(e.details?.oauthError, 'invalid_grant');
    });
  });

  describe('the loopback OAuth server itself', () => {
    it('refuses a replayed assertion and one whose exp is more than 5 minutes ahead', async () => {
      const { SignJWT } = await import('jose');
      const { createPrivateKey } = await import('node:crypto');
      oauth.registerClient({ clientId: 'bk', publicKey: pem(ec.publicKey, 'spki') });
      const key = createPrivateKey(pem(ec.privateKey, 'pkcs8'));
      const sign = (expIn: number, jti: string) =>
        new SignJWT({}).setProtectedHeader({ alg: 'ES384' }).setIssuer('bk').setSubject('bk').setAudience(oauth.tokenUrl).setJti(jti).setExpirationTime(Math.floor(Date.now() / 1000) + expIn).sign(key);
      const post = async (assertion: string) => {
        const body = new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion });
        const res = await fetch(oauth.tokenUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        return { status: res.status, body: (await res.json()) as { error?: string; error_description?: string } };
      };
      const once = await sign(120, 'j1');
      assert.equal((await post(once)).status, 200);
      const replay = await post(once);
      assert.deepEqual([replay.status, replay.body.error, replay.body.error_description], [401, 'invalid_client', 'assertion jti replayed']);
      assert.match((await post(await sign(3600, 'j2'))).body.error_description ?? '', /5 minutes/);
      assert.match((await post(await sign(-10, 'j3'))).body.error_description ?? '', /ERR_JWT_EXPIRED/);
    });
  });

  describe('end to end: the Medplum FHIR server behind the auth proxy', () => {
    let fhir: RunningFhirServer;
    let guarded: ProtectedFhir;
    before(async () => {
      fhir = await startFhirServer(0);
    });
    after(() => fhir.close());
    afterEach(() => guarded?.close());

    /** One FHIR read that refreshes once on a 401, as the resilient client does. */
    async function readMetadata(auth: AuthProvider): Promise<number> {
      for (let attempt = 0; ; attempt++) {
        const headers = await auth.headers();
        const res = await fetch(`${guarded.url}/metadata`, { headers });
        await res.text();
        if (res.status === 401 && attempt === 0 && (await auth.invalidate(headers))) continue;
        return res.status;
      }
    }

    it('client credentials: 401 after the token expired server-side, then one refresh and 200', async () => {
      guarded = await startProtectedFhir({ upstream: fhir.url, bearer: oauth });
      const p = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc secret+/=' }, { logger: quiet });
      assert.equal(await readMetadata(p), 200);
      oauth.expireAll();
      const statuses = await Promise.all(Array.from({ length: 5 }, () => readMetadata(p)));
      assert.deepEqual(statuses, [200, 200, 200, 200, 200]);
      assert.equal(oauth.stats.tokenRequests, 2);
      assert.equal(guarded.stats.refused, 5);
    });

    it('basic and api key pass; wrong credentials get a final 401', async () => {
      guarded = await startProtectedFhir({ upstream: fhir.url, basic: { username: 'u', password: 'p' }, apiKey: { header: 'x-api-key', key: 'k1' } });
      assert.equal(await readMetadata(createAuthProvider({ type: 'basic', username: 'u', password: 'p' })), 200);
      assert.equal(await readMetadata(createAuthProvider({ type: 'api-key', header: 'X-Api-Key', key: 'k1' })), 200);
      assert.equal(await readMetadata(createAuthProvider({ type: 'basic', username: 'u', password: 'nope' })), 401);
      assert.equal(guarded.stats.refused, 1);
    });
  });
});
