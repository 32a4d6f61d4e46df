/**
 * `/api/v1/fhir-connections` through the real ops API router (engine/server/api.ts) on loopback,
 * with the registry on SQLite in a temp folder, the Medplum FHIR server behind the auth proxy and
 * the loopback OAuth server. Every response body is checked for every secret string.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { fhirConnectionRegistryFor } from '../../../engine/fhir-connections';
import { startFhirServer, type RunningFhirServer } from '../../../engine/fhir-server';
import type { WaslRuntime } from '../../../engine/runtime/types';
import { apiRouter } from '../../../engine/server/api';
import { openStore, type MessageStore } from '../../../engine/store';
import { tempDir } from '../../support/engine-process';
import { freePort } from '../../support/ports';
import { startOAuthServer, type OAuthServer } from '../../simulators/oauth-server';
import { startProtectedFhir, type ProtectedFhir } from '../../simulators/protected-fhir';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
/** Every secret this test hands the API: none may come back in any response. */
const SECRETS = ['basic-PASSWORD-1', 'api-KEY-value-1', 'cc-CLIENT-secret', 'rt-REFRESH-1', 'at-ACCESS-1', PRIVATE_PEM, PRIVATE_PEM.split('\n')[1]];

describe('engine/server fhir-connections API', function () {
  let fhir: RunningFhirServer;
  let oauth: OAuthServer;
  let guarded: ProtectedFhir;
  let store: MessageStore;
  let server: http.Server;
  let base: string;
  const bodies: string[] = [];

  // Response shapes vary per route; the assertions read them field by field.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${base}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const text = await res.text();
    bodies.push(text);
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  async function serve(secretKey: string | undefined): Promise<void> {
    const runtime = { fhirConnections: fhirConnectionRegistryFor(store, secretKey) } as unknown as WaslRuntime;
    const app = express();
    app.use('/api/v1', apiRouter({ runtime, channels: () => [], ready: () => true, mode: 'embedded', startedAt: new Date() }));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/fhir-connections`;
  }

  before(async () => {
    fhir = await startFhirServer(0);
    oauth = await startOAuthServer();
    oauth.registerClient({ clientId: 'wasl', clientSecret: 'cc-CLIENT-secret' });
    oauth.registerClient({ clientId: 'bk', publicKey: String(rsa.publicKey.export({ type: 'spki', format: 'pem' })) });
    guarded = await startProtectedFhir({ upstream: fhir.url, bearer: oauth, basic: { username: 'u', password: 'basic-PASSWORD-1' }, apiKey: { header: 'x-api-key', key: 'api-KEY-value-1' } });
  });
  after(async () => {
    await guarded.close();
    await oauth.close();
    await fhir.close();
  });
  beforeEach(async () => {
    store = await openStore({ dataDir: tempDir('fhir-conn-api') });
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await store.close();
  });
  after(() => {
    for (const body of bodies) for (const secret of SECRETS) assert.ok(!body.includes(secret), `a response carried a secret: ${body.slice(0, 200)}`);
    assert.ok(bodies.length > 20);
  });

  it('create, list, read, update (keeping the secret), test and delete', async () => {
    await serve(randomBytes(32).toString('base64'));
    const created = await call('POST', '/', { id: 'ehr', name: 'EHR', baseUrl: guarded.url, auth: { type: 'basic', username: 'u', password: 'basic-PASSWORD-1' }, timeoutMs: 5000 });
    assert.equal(created.status, 201);
    assert.deepEqual(created.json.auth, { type: 'basic', username: 'u', hasPassword: true });
    assert.equal((await call('GET', '/')).json.connections.length, 1);
    assert.equal((await call('GET', '/ehr')).json.name, 'EHR');
    assert.equal((await call('GET', '/nope')).status, 404);

    const tested = await call('POST', '/ehr/test');
    assert.equal(tested.json.ok, true, JSON.stringify(tested.json));
    assert.equal(tested.json.fhirVersion, '4.0.1');
    assert.ok(tested.json.resourceTypes.includes('Encounter'));
    assert.equal(typeof tested.json.roundTripMs, 'number');

    const renamed = await call('PUT', '/ehr', { name: 'EHR 2', baseUrl: guarded.url, auth: { type: 'basic', username: 'u' } });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json.name, 'EHR 2');
    assert.equal((await call('POST', '/ehr/test')).json.ok, true);

    await call('PUT', '/ehr', { name: 'EHR 2', baseUrl: guarded.url, auth: { type: 'basic', username: 'u', password: 'wrong' } });
    const refused = await call('POST', '/ehr/test');
    assert.equal(refused.json.ok, false);
    assert.equal(refused.json.error.code, 'INTEGRATION_FHIR_REJECTED');

    assert.equal((await call('DELETE', '/ehr')).status, 204);
    assert.equal((await call('DELETE', '/ehr')).status, 404);
  });

  it('tests every token mode against the loopback OAuth server, and reports an unreachable server', async () => {
    await serve(randomBytes(32).toString('hex'));
    const conns = [
      { id: 'key', auth: { type: 'api-key', header: 'x-api-key', key: 'api-KEY-value-1' } },
      { id: 'cc', auth: { type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc-CLIENT-secret', clientAuth: 'post' } },
      { id: 'smart', auth: { type: 'smart-backend', tokenUrl: oauth.tokenUrl, clientId: 'bk', privateKeyPem: PRIVATE_PEM, algorithm: 'RS384', keyId: 'k1' } },
      { id: 'rt', auth: { type: 'refresh-token', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc-CLIENT-secret', refreshToken: oauth.issueRefreshToken('wasl'), accessToken: 'at-ACCESS-1' } },
    ];
    SECRETS.push(conns[3].auth.refreshToken as string);
    for (const c of conns) {
      const created = await call('POST', '/', { ...c, name: c.id, baseUrl: guarded.url });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      const tested = await call('POST', `/${c.id}/test`);
      assert.equal(tested.json.ok, true, `${c.id}: ${JSON.stringify(tested.json)}`);
    }
    // refresh-token: the given access token was refused, one refresh, and the rotated refresh token was stored.
    const rt = await call('GET', '/rt');
    assert.deepEqual(rt.json.auth, { type: 'refresh-token', tokenUrl: oauth.tokenUrl, clientId: 'wasl', hasClientSecret: true, hasRefreshToken: true, hasAccessToken: false });
    assert.equal((await call('POST', '/rt/test')).json.ok, true);

    await call('POST', '/', { id: 'down', name: 'down', baseUrl: `http://127.0.0.1:${await freePort()}/fhir/R4`, auth: { type: 'none' } });
    const down = await call('POST', '/down/test');
    assert.equal(down.json.ok, false);
    assert.equal(down.json.error.code, 'TRANSIENT_FHIR_UNAVAILABLE');
    const badSecret = await call('PUT', '/cc', { name: 'cc', baseUrl: guarded.url, auth: { type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'nope' } });
    assert.equal(badSecret.status, 200);
    const rejected = await call('POST', '/cc/test');
    assert.deepEqual([rejected.json.ok, rejected.json.error.code], [false, 'INTEGRATION_FHIR_AUTH_REJECTED']);
  });

  it('answers 400 naming the field for bad input', async () => {
    await serve(randomBytes(32).toString('base64'));
    const cases: Array<[unknown, string]> = [
      [{ name: 'x', auth: { type: 'none' } }, 'baseUrl'],
      [{ name: 'x', baseUrl: 'not a url', auth: { type: 'none' } }, 'baseUrl'],
      [{ name: 'x', baseUrl: 'https://x', auth: { type: 'magic' } }, 'auth.type'],
      [{ name: 'x', baseUrl: 'https://x', auth: { type: 'client-credentials', clientId: 'c', clientSecret: 's' } }, 'auth.tokenUrl'],
      [{ name: 'x', baseUrl: 'https://x', auth: { type: 'basic', username: 'u' } }, 'auth.password'],
      [{ name: 'x', baseUrl: 'https://x', auth: { type: 'smart-backend', tokenUrl: 'https://t', clientId: 'c', privateKeyPem: PRIVATE_PEM, algorithm: 'RS256' } }, 'auth.algorithm'],
      [{ name: 'x', baseUrl: 'https://x', auth: { type: 'smart-backend', tokenUrl: 'https://t', clientId: 'c', privateKeyPem: PRIVATE_PEM, algorithm: 'ES384' } }, 'auth.privateKeyPem'],
      [{ name: 'x', baseUrl: 'https://x', timeoutMs: -1, auth: { type: 'none' } }, 'timeoutMs'],
      [{ name: 'x', baseUrl: 'https://x', auth: { type: 'none' }, surprise: 1 }, 'surprise'],
      [{ id: 'Not Kebab', name: 'x', baseUrl: 'https://x', auth: { type: 'none' } }, 'id'],
    ];
    for (const [body, path] of cases) {
      const res = await call('POST', '/', body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error.path, path, JSON.stringify(res.json));
      // ajv problems name the field in the message too; registry checks (the key) carry it in `path`.
      if (res.json.errors) assert.match(res.json.error.message, new RegExp(path.replace('.', '\\.')));
      else assert.ok(res.json.error.message.length > 10);
    }
    const invalidJson = await call('POST', '/', '{"name":');
    assert.equal(invalidJson.status, 400);
    assert.equal((await call('PUT', '/missing', { name: 'x', baseUrl: 'https://x', auth: { type: 'none' } })).status, 404);
    await call('POST', '/', { id: 'a', name: 'a', baseUrl: 'https://x', auth: { type: 'none' } });
    assert.equal((await call('POST', '/', { id: 'a', name: 'a', baseUrl: 'https://x', auth: { type: 'none' } })).status, 409);
  });

  it('without WASL_SECRET_KEY: 409 saying how to set it; secret-free connections still work', async () => {
    await serve(undefined);
    const res = await call('POST', '/', { name: 'x', baseUrl: guarded.url, auth: { type: 'basic', username: 'u', password: 'basic-PASSWORD-1' } });
    assert.equal(res.status, 409);
    assert.equal(res.json.error.code, 'INTEGRATION_SECRET_KEY_MISSING');
    assert.match(res.json.error.message, /WASL_SECRET_KEY/);
    assert.equal((await call('POST', '/', { name: 'open', baseUrl: fhir.url, auth: { type: 'none' } })).status, 201);
    assert.equal((await call('POST', '/open/test')).json.ok, true);
  });
});
