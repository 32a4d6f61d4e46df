/**
 * Pause and resume of the sources besides MLLP (channel-control.spec.ts has the MLLP channel):
 * wasl-fhir-in answers 503 with Retry-After while paused and stores nothing; the claims poll
 * (engine/claims/db-poll.ts) claims no staging rows while paused, on the real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Knex } from 'knex';
import helper from 'node-red-node-test-helper';
import { logger } from '../../../common/logger';
import { SecretBox } from '../../../common/secret-box';
import { ClaimsStaging } from '../../../connectors/claims/staging';
import { DbPoll } from '../../../engine/claims/db-poll';
import { channelEndpointsOf } from '../../../engine/runtime/channel-endpoints';
import { ChannelControl } from '../../../engine/runtime/channel-control';
import { generateClaims } from '../../../scripts/claims/synthetic-claims';
import { knexFor, loadStaging } from '../../support/claims';
import { startNodeRuntime, stopNodeRuntime, waitFor, type NodeRuntime } from '../../support/node-runtime';
import { freshPostgresSchema, requireService } from '../../support/services';
import { TODAY } from '../../connectors/claims/support';
import fhirIn = require('../../../nodes/fhir-in/fhir-in');
import queueNode = require('../../../nodes/queue/queue');

helper.init(require.resolve('node-red'));

describe('engine/runtime/channel-control: wasl-fhir-in', function () {
  this.timeout(30_000);
  let h: NodeRuntime;
  let server: http.Server;
  let base: string;

  beforeEach(async () => {
    h = await startNodeRuntime('control-fhir-in');
    const app = express();
    app.use('/channels', channelEndpointsOf(h.runtime).router());
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/channels/ch/fhir`;
    const z = 'tab1';
    await helper.load([fhirIn, queueNode], [
      { id: z, type: 'tab', label: 'fhir in' },
      { id: 'src', z, type: 'wasl-fhir-in', channel: 'ch', resourceTypes: [], upstream: '', wires: [['qin']] },
      { id: 'qin', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.in', prefetch: 10, wires: [[]] },
    ] as never);
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await stopNodeRuntime(h);
  });

  const create = (value: string) =>
    fetch(`${base}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:test', value }] }),
    });

  it('answers 503 with Retry-After while paused, stores nothing, and accepts again after start', async () => {
    await h.runtime.channelControl!.pause('ch');
    const res = await create('P-1');
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '30');
    const outcome = (await res.json()) as { resourceType: string; issue: Array<{ code: string; diagnostics: string }> };
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.equal(outcome.issue[0].code, 'transient');
    assert.match(outcome.issue[0].diagnostics, /channel ch is paused/);
    assert.equal((await h.runtime.store.counters()).ch?.received ?? 0, 0);
    await h.runtime.channelControl!.start('ch');
    assert.equal((await create('P-1')).status, 201);
  });
});

describe('engine/runtime/channel-control: claims poll (PostgreSQL)', function () {
  this.timeout(60_000);
  let h: NodeRuntime;
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let knex: Knex;
  let poll: DbPoll | undefined;

  before(async function () {
    await requireService(this, 'PostgreSQL');
  });

  beforeEach(async () => {
    h = await startNodeRuntime('control-db-poll');
    schema = await freshPostgresSchema();
    knex = knexFor(schema.url);
    await loadStaging(knex, generateClaims(40, { seed: 7, today: TODAY }));
  });

  afterEach(async () => {
    await poll?.close();
    await knex.destroy();
    await schema.drop();
    await stopNodeRuntime(h);
  });

  it('claims no rows while paused, and polls again on resume', async () => {
    const batches: number[] = [];
    const control = new ChannelControl();
    poll = new DbPoll({
      runtime: h.runtime,
      channel: `claims-${randomBytes(3).toString('hex')}`,
      staging: new ClaimsStaging(knex, { workerId: 'test:1', leaseS: 300 }),
      table: 'claims_staging',
      sealer: new SecretBox(randomBytes(32).toString('hex')),
      batchSize: 10,
      intervalMs: 50,
      maxInFlight: 1,
      logger: logger({ stage: 'test' }),
      submit: (msg) => {
        batches.push((msg.payload as { claims: unknown[] }).claims.length);
        h.runtime.receipts.complete(msg.wasl.receipt);
      },
    });
    const p = poll;
    control.registerSource('claims', { pause: () => p.pause(), resume: async () => p.resume() });
    await control.pause('claims');
    poll.start();
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(batches, [], 'nothing claimed while paused');
    const pending = async () => Number((await knex('claims_staging').where({ status: 'new' }).count({ n: '*' }))[0].n);
    assert.equal(await pending(), 40);
    await control.start('claims');
    await waitFor(() => batches.length === 4);
    assert.deepEqual(batches, [10, 10, 10, 10]);
    assert.equal(await pending(), 0);
  });
});
