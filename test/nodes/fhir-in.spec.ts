/**
 * wasl-fhir-in under node-red-node-test-helper, wired as a compiled `fhir -> fhir` channel is:
 * fhir-in -> queue -> router -> queue -> fhir-out, with the embedded SQLite store and queue and a
 * real FHIR server (Medplum) on loopback. The endpoint is served by the runtime's `/channels`
 * router on its own express server, as the engine mounts it.
 */
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import helper from 'node-red-node-test-helper';
import { startFhirServer, type RunningFhirServer } from '../../engine/fhir-server';
import { channelEndpointsOf } from '../../engine/runtime/channel-endpoints';
import { EngineMetrics } from '../../engine/runtime/metrics';
import { Receipts } from '../../engine/runtime/receipts';
import type { WaslRuntime } from '../../engine/runtime/types';
import { openStore } from '../../engine/store';
import { createTransport } from '../../engine/transport';
import { tempDir } from '../support/engine-process';
import { waitUntil } from '../support/fhir-counts';
import fhirIn = require('../../nodes/fhir-in/fhir-in');
import queueNode = require('../../nodes/queue/queue');
import routerNode = require('../../nodes/router/router');
import fhirOut = require('../../nodes/fhir-out/fhir-out');

helper.init(require.resolve('node-red'));

const NODES = [fhirIn, queueNode, routerNode, fhirOut];

function relayFlow(extra: Record<string, unknown> = {}) {
  const z = 'tab1';
  return [
    { id: z, type: 'tab', label: 'fhir relay' },
    { id: 'src', z, type: 'wasl-fhir-in', channel: 'ch', resourceTypes: [], maxBodyBytes: 1048576, upstream: '', ...extra, wires: [['qin']] },
    { id: 'qin', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.in', prefetch: 10, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100, wires: [['rtr']] },
    { id: 'rtr', z, type: 'wasl-router', channel: 'ch', routes: [{ destination: 'ehr', rules: [] }], wires: [['qdst']] },
    { id: 'qdst', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.dest.ehr', destination: 'ehr', prefetch: 10, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100, wires: [['out']] },
    { id: 'out', z, type: 'wasl-fhir-out', channel: 'ch', destination: 'ehr', url: 'builtin', timeoutMs: 3000, wires: [['sent']] },
    { id: 'sent', z, type: 'helper' },
  ];
}

describe('nodes: wasl-fhir-in', function () {
  this.timeout(30_000);
  let fhir: RunningFhirServer;
  let runtime: WaslRuntime;
  let dataDir: string;
  let server: http.Server;
  let base: string;

  before(async () => {
    fhir = await startFhirServer(0);
  });
  after(async () => {
    await fhir.close();
  });

  beforeEach(async () => {
    dataDir = tempDir('fhir-in-node');
    const transport = createTransport({ dataDir });
    await transport.start();
    runtime = {
      role: 'all',
      store: await openStore({ dataDir }),
      transport,
      receipts: new Receipts(),
      metrics: new EngineMetrics({ defaultMetrics: false }),
      builtinFhirUrl: fhir.url,
      channelHealth: new Map(),
    };
    const app = express();
    app.use('/channels', channelEndpointsOf(runtime).router());
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/channels/ch/fhir`;
    helper.settings({ waslRuntime: runtime } as never);
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await runtime.transport.close();
    await runtime.store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/fhir+json', ...headers }, body: JSON.stringify(body) });
  const patientCount = async (mrn: string) => (((await (await fetch(`${fhir.url}/Patient?identifier=${mrn}`)).json()) as { entry?: unknown[] }).entry ?? []).length;

  it('relays a created Patient to the FHIR destination once, and a resend not at all', async () => {
    await helper.load(NODES, relayFlow() as never);
    assert.equal(runtime.channelHealth.get('ch')?.state, 'running');
    const sent = helper.getNode('sent') as unknown as EventEmitter;
    let delivered = 0;
    sent.on('input', () => (delivered += 1));
    const body = { resourceType: 'Patient', identifier: [{ system: 'urn:test', value: 'NODE-1' }], name: [{ family: 'Relay' }] };
    const res = await post('/Patient', body);
    assert.equal(res.status, 201);
    const id = res.headers.get('x-wasl-message-id')!;
    await waitUntil(async () => (await runtime.store.get(id))?.status === 'SENT', 'the message SENT', 10_000);
    assert.equal(await patientCount('NODE-1'), 1);
    const again = await post('/Patient', body);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('x-wasl-duplicate'), 'true');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(delivered, 1);
    assert.equal(await patientCount('NODE-1'), 1);
  });

  it('relays an update (PUT) under the client id', async () => {
    await helper.load(NODES, relayFlow() as never);
    const res = await fetch(`${base}/Patient/node-put-1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', id: 'node-put-1', identifier: [{ system: 'urn:test', value: 'NODE-2' }] }),
    });
    assert.equal(res.status, 201);
    const id = res.headers.get('x-wasl-message-id')!;
    await waitUntil(async () => (await runtime.store.get(id))?.status === 'SENT', 'the message SENT', 10_000);
    assert.equal((await fetch(`${fhir.url}/Patient/node-put-1`)).status, 200);
  });

  it('stops serving when the flow stops, and does not serve in a worker process', async () => {
    await helper.load(NODES, relayFlow() as never);
    assert.equal((await fetch(`${base}/metadata`)).status, 200);
    await helper.unload();
    assert.equal((await fetch(`${base}/metadata`)).status, 404);
    assert.equal(runtime.channelHealth.get('ch')?.state, 'stopped');
    runtime.role = 'worker';
    await helper.load(NODES, relayFlow() as never);
    assert.equal((await fetch(`${base}/metadata`)).status, 404);
  });

  it('reports a bad upstream URL on the channel and serves nothing', async () => {
    await helper.load(NODES, relayFlow({ upstream: 'not a url' }) as never);
    assert.equal(runtime.channelHealth.get('ch')?.state, 'error');
    assert.equal(runtime.channelHealth.get('ch')?.lastError?.code, 'VALIDATION_FHIR_BASE_URL');
    assert.equal((await fetch(`${base}/metadata`)).status, 404);
  });
});
