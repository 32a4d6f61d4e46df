/**
 * wasl-fhir-server (config node) under node-red-node-test-helper: settings and Node-RED
 * credentials become a FhirConnection; one shared auth provider per config node, checked against
 * the loopback OAuth server; `registryId` takes an API-managed connection from the registry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import helper from 'node-red-node-test-helper';
import { fhirConnectionRegistryFor } from '../../engine/fhir-connections';
import type { WaslRuntime } from '../../engine/runtime/types';
import { openStore, type MessageStore } from '../../engine/store';
import type { FhirServerConfigNode } from '../../nodes/fhir-server/connection-config';
import { tempDir } from '../support/engine-process';
import { failure } from '../support/failure';
import { startOAuthServer, type OAuthServer } from '../simulators/oauth-server';
import fhirServerNode = require('../../nodes/fhir-server/fhir-server');

helper.init(require.resolve('node-red'));

describe('nodes: wasl-fhir-server', function () {
  let oauth: OAuthServer;
  let store: MessageStore | undefined;

  beforeEach(async () => {
    oauth = await startOAuthServer();
    oauth.registerClient({ clientId: 'wasl', clientSecret: 'node-cc-secret' });
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await oauth.close();
    await store?.close();
    store = undefined;
  });

  async function start(node: Record<string, unknown>, credentials: Record<string, unknown>, runtime?: Partial<WaslRuntime>): Promise<FhirServerConfigNode> {
    helper.settings({ waslRuntime: runtime } as never);
    await helper.startServer();
    const flow = [{ id: 'tab1', type: 'tab', label: 't' }, { id: 'srv', type: 'wasl-fhir-server', name: 'EHR', ...node }];
    await helper.load(fhirServerNode, flow, { srv: credentials });
    return helper.getNode('srv') as unknown as FhirServerConfigNode;
  }

  it('builds the connection from properties and credentials; users share one auth provider and one token', async () => {
    const srv = await start(
      { baseUrl: 'http://127.0.0.1:9/fhir/R4', authType: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientAuth: 'post', scope: 'system/*.read', timeoutMs: '5000', rateLimitPerSecond: '' },
      { clientSecret: 'node-cc-secret' },
    );
    const connection = await srv.getConnection();
    assert.deepEqual(connection, {
      id: 'node-srv',
      name: 'EHR',
      baseUrl: 'http://127.0.0.1:9/fhir/R4',
      fhirVersion: 'R4',
      auth: { type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'node-cc-secret', scope: 'system/*.read', clientAuth: 'post' },
      timeoutMs: 5000,
      rateLimitPerSecond: undefined,
      enabled: true,
    });
    const [a, b] = await Promise.all([srv.getAuthProvider(), srv.getAuthProvider()]);
    assert.equal(a, b);
    const headers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).headers()));
    assert.ok(oauth.isValid(headers[0].Authorization));
    assert.equal(oauth.stats.tokenRequests, 1);
  });

  it('every auth type maps its credentials; a missing one is a validation error naming it', async () => {
    const srv = await start({ baseUrl: 'https://x/fhir', authType: 'basic', username: 'u' }, { password: 'pw' });
    assert.deepEqual((await srv.getConnection()).auth, { type: 'basic', username: 'u', password: 'pw' });
    await helper.unload();
    await helper.stopServer();

    const key = await start({ baseUrl: 'https://x/fhir', authType: 'api-key', apiKeyHeader: 'x-key' }, {});
    const e = await failure(() => key.getConnection());
    assert.equal(e.code, 'VALIDATION_FHIR_AUTH_CONFIG');
    assert.equal(e.path, 'credentials.apiKey');
    assert.equal((await failure(() => key.getAuthProvider())).path, 'credentials.apiKey');
    await helper.unload();
    await helper.stopServer();

    const rt = await start({ baseUrl: 'https://x/fhir', authType: 'refresh-token', tokenUrl: oauth.tokenUrl, clientId: 'wasl' }, { refreshToken: oauth.issueRefreshToken('wasl'), clientSecret: 'node-cc-secret' });
    const provider = await rt.getAuthProvider();
    assert.ok(oauth.isValid((await provider.headers()).Authorization));
    assert.equal(oauth.stats.requests[0].grantType, 'refresh_token');
  });

  it('registryId takes the connection from the registry', async () => {
    store = await openStore({ dataDir: tempDir('fhir-server-node') });
    const fhirConnections = fhirConnectionRegistryFor(store, randomBytes(32).toString('base64'))!;
    await fhirConnections.create({ id: 'epic', name: 'Epic', baseUrl: 'https://epic.example/fhir/R4', auth: { type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'node-cc-secret' } });
    const srv = await start({ baseUrl: 'https://ignored/fhir', authType: 'none', registryId: 'epic' }, {}, { fhirConnections });
    const c = await srv.getConnection();
    assert.equal(c.id, 'epic');
    assert.equal(c.baseUrl, 'https://epic.example/fhir/R4');
    assert.ok(oauth.isValid((await (await srv.getAuthProvider()).headers()).Authorization));
  });
});

describe('nodes: wasl-fhir-server editor file', () => {
  it('declares the same password-type credentials in the editor and the runtime', () => {
    const html = fs.readFileSync(path.join(__dirname, '../../nodes/fhir-server/fhir-server.html'), 'utf8');
    const ts = fs.readFileSync(path.join(__dirname, '../../nodes/fhir-server/fhir-server.ts'), 'utf8');
    const creds = (text: string) => [...text.matchAll(/(\w+): \{ type: '(\w+)' \}/g)].map((m) => `${m[1]}:${m[2]}`).sort();
    assert.deepEqual(creds(html), ['apiKey:password', 'clientSecret:password', 'password:password', 'privateKeyPem:password', 'refreshToken:password']);
    assert.deepEqual(creds(ts), creds(html));
    const locale = JSON.parse(fs.readFileSync(path.join(__dirname, '../../nodes/fhir-server/locales/en-US/fhir-server.json'), 'utf8'));
    for (const m of html.matchAll(/data-i18n="fhir-server\.label\.(\w+)"/g)) assert.ok(locale['fhir-server'].label[m[1]], m[1]);
  });
});
