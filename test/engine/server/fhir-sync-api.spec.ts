/**
 * `/api/v1/fhir-sync`: a sync by URL or by registered connection (its auth used), the stored
 * runs, and 400/404 answers that name the problem.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { fhirConnectionRegistryFor } from '../../../engine/fhir-connections';
import { fhirSyncRouter } from '../../../engine/server/fhir-sync-api';
import { openStore, type MessageStore } from '../../../engine/store';
import { tempDir } from '../../support/engine-process';
import { seed, startSyncServer } from '../../connectors/fhir/sync/support';

describe('API: /api/v1/fhir-sync', function () {
  this.timeout(60_000);
  let fhir: Awaited<ReturnType<typeof startSyncServer>>;
  let store: MessageStore;
  let api: http.Server;
  let base: string;
  let registry: NonNullable<ReturnType<typeof fhirConnectionRegistryFor>>;

  before(async () => {
    fhir = await startSyncServer();
    await seed(fhir.fhir.repo, { encounters: 30, files: fhir.proxy.files, baseUrl: fhir.proxy.url });
    store = await openStore({ dataDir: tempDir('fhir-sync-api') });
    registry = fhirConnectionRegistryFor(store, randomBytes(32).toString('base64'))!;
    const app = express();
    app.use('/api/v1/fhir-sync', fhirSyncRouter({ store, fhirConnections: registry }));
    api = http.createServer(app);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api/v1/fhir-sync`;
  });

  after(async () => {
    api?.closeAllConnections();
    await new Promise((resolve) => api?.close(resolve));
    await store?.close();
    await fhir?.close();
  });

  const post = async (body: unknown) => {
    const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('syncs by URL and answers the summary; the runs list it', async () => {
    const r = await post({ url: fhir.proxy.url, pageSize: 10, status: 'finished' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual([r.body.fetched, r.body.created, r.body.failed, r.body.pages, r.body.complete], [30, 30, 0, 3, true]);
    const runs = (await (await fetch(`${base}/runs?limit=5`)).json()) as { runs: { runId: string; created: number }[] };
    assert.equal(runs.runs[0].runId, r.body.runId);
    assert.equal(runs.runs[0].created, 30);
  });

  it('syncs a registered connection with its auth', async () => {
    const expected = `Basic ${Buffer.from('wasl:pw').toString('base64')}`;
    fhir.proxy.authorise = (h) => h === expected;
    try {
      await registry.create({ id: 'ehr-x', name: 'EHR X', baseUrl: fhir.proxy.url, auth: { type: 'basic', username: 'wasl', password: 'pw' } });
      const r = await post({ connectionId: 'ehr-x', full: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.connectionId, r.body.created, r.body.complete], ['ehr-x', 30, true]);
    } finally {
      fhir.proxy.authorise = undefined;
    }
  });

  it('answers 400 naming each bad field, and 404 for an unknown connection', async () => {
    const bad = await post({ url: 'ftp://x', pageSize: 0, since: 'yesterday', extra: 1 });
    assert.equal(bad.status, 400);
    assert.deepEqual((bad.body.errors as { path: string }[]).map((e) => e.path).sort(), ['extra', 'pageSize', 'since', 'url']);
    const both = await post({});
    assert.deepEqual((both.body.errors as { path: string }[]).map((e) => e.path), ['connectionId']);
    const missing = await post({ connectionId: 'nope' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'INTEGRATION_FHIR_CONNECTION_NOT_FOUND');
  });
});
