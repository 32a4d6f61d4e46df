/**
 * `/api/v1/nphies`: a batch posted as NDJSON runs in the background against the simulator on
 * PostgreSQL (the batch spec covers SQLite); progress through GET until finished; posting the
 * same file again resumes (nothing resent); results as NDJSON; a claim with its transitions.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { NphiesClient } from '../../../connectors/nphies/client';
import { ClaimLifecycle } from '../../../engine/nphies/lifecycle';
import { nphiesRouter } from '../../../engine/server/nphies-api';
import { openStore, KnexMessageStore, type MessageStore } from '../../../engine/store';
import { freshPostgresSchema, requireService } from '../../support/services';
import { startNphiesSimulator, type NphiesSimulator } from '../../simulators/nphies';
import { claimsNdjson } from './support';

describe('API: /api/v1/nphies (PostgreSQL)', function () {
  this.timeout(120_000);
  let sim: NphiesSimulator;
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let store: MessageStore;
  let client: NphiesClient;
  let api: http.Server;
  let base: string;

  before(async function () {
    await requireService(this, 'PostgreSQL');
    sim = await startNphiesSimulator();
    schema = await freshPostgresSchema();
    store = await openStore({ databaseUrl: schema.url, dataDir: '/nonexistent' });
    const lc = new ClaimLifecycle((store as KnexMessageStore).knex, store.dialect);
    client = new NphiesClient({ endpoint: { url: sim.processUrl }, ledger: lc.ledger });
    const app = express();
    app.use('/api/v1/nphies', nphiesRouter({ store }, { send: (b, o) => client.send(b, o) }));
    api = app.listen(0, '127.0.0.1');
    await new Promise((r) => api.once('listening', r));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}/api/v1/nphies`;
  });

  after(async () => {
    await new Promise((r) => (api ? api.close(r) : r(undefined)));
    await client?.close();
    await store?.close();
    await schema?.drop();
    await sim?.close();
  });

  async function finished(id: string): Promise<Record<string, unknown>> {
    for (;;) {
      const p = (await (await fetch(`${base}/batches/${id}`)).json()) as Record<string, unknown>;
      if (p.status !== 'running') return p;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const post = (body: string, query = '') => fetch(`${base}/batches${query}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });

  it('runs a batch with progress, resumes it, and serves results and claims', async () => {
    const body = claimsNdjson(200, 'API');
    const res = await post(body, '?concurrency=10&batchId=api-1');
    assert.equal(res.status, 202);
    assert.deepEqual(await res.json(), { batchId: 'api-1', total: 200, status: 'running' });
    assert.equal((await post(body, '?batchId=api-1')).status, 409);
    const p = await finished('api-1');
    assert.deepEqual([p.status, p.done, p.failed, p.remaining, p.skipped], ['finished', 200, 0, 0, 0]);
    assert.equal(typeof p.rate, 'number');

    const again = await post(body, '?batchId=api-2');
    assert.equal(again.status, 202);
    const p2 = await finished('api-2');
    assert.deepEqual([p2.done, p2.skipped], [200, 200]);
    assert.equal(sim.stats.submissions, 200);
    assert.equal(sim.stats.byEvent['claim-request'], 200);

    const results = (await (await fetch(`${base}/batches/api-1/results`)).text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(results.length, 200);
    const claim = (await (await fetch(`${base}/claims/${results[0].claimId}`)).json()) as { state: string; transitions: Array<{ to: string }>; patientKey?: string };
    assert.deepEqual(claim.transitions.map((t) => t.to), ['draft', 'submitted', 'approved']);
    assert.equal(claim.patientKey, undefined);
  });

  it('answers 400 and 404 naming the problem', async () => {
    const empty = await post('');
    assert.equal(empty.status, 400);
    assert.equal(((await empty.json()) as { code: string }).code, 'VALIDATION_NPHIES_BATCH_BODY');
    const bad = await post(claimsNdjson(1), '?concurrency=0');
    assert.equal(((await bad.json()) as { path: string }).path, 'concurrency');
    assert.equal((await fetch(`${base}/batches/nope`)).status, 404);
    assert.equal((await fetch(`${base}/claims/nope`)).status, 404);
  });
});
