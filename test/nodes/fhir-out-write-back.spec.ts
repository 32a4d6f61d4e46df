/**
 * wasl-fhir-out in write-back mode under node-red-node-test-helper, behind its destination queue,
 * with real parts: the embedded SQLite transport and store on a temp folder and the Medplum FHIR
 * server on loopback (it validates what it stores). Asserts what reaches the server, the stored
 * answer or error, dead letters and what Catch nodes see.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Bundle, Claim, DocumentReference, OperationOutcome } from '@medplum/fhirtypes';
import helper from 'node-red-node-test-helper';
import { fhirClients } from '../../connectors/fhir/client-registry';
import type { ChannelConfig } from '../../engine/channels/load';
import { startFhirServer, type FhirRequestInfo, type RunningFhirServer } from '../../engine/fhir-server';
import { apiRouter } from '../../engine/server/api';
import type { WaslRuntime } from '../../engine/runtime/types';
import { validateFhir } from '../../transformers/fhir/validate';
import { nodeEvents, startNodeRuntime, stopNodeRuntime, waitFor, waitForRow, type NodeRuntime } from '../support/node-runtime';
import { answer, startFaultServer } from '../connectors/fhir/fault-server';
import { draftClaim } from '../support/fhir';
import queueNode = require('../../nodes/queue/queue');
import fhirOut = require('../../nodes/fhir-out/fhir-out');
import fhirServerNode = require('../../nodes/fhir-server/fhir-server');

helper.init(require.resolve('node-red'));

const catchNode = require('@node-red/nodes/core/common/25-catch.js');

function note(identifier: string): DocumentReference {
  return {
    resourceType: 'DocumentReference',
    status: 'current',
    docStatus: 'preliminary',
    masterIdentifier: { system: 'urn:wasl:note', value: identifier },
    identifier: [{ system: 'urn:wasl:note', value: identifier }],
    subject: { reference: 'Patient/p1' },
    content: [{ attachment: { contentType: 'text/plain', data: Buffer.from('coding summary').toString('base64') } }],
  };
}

function flow(url: string) {
  const z = 'tab1';
  return [
    { id: z, type: 'tab', label: 'write-back' },
    { id: 'q', z, type: 'wasl-queue', channel: 'wb', queue: 'wb.dest.ehr', prefetch: 10, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100, wires: [['out']] },
    { id: 'out', z, type: 'wasl-fhir-out', channel: 'wb', destination: 'ehr', url, timeoutMs: 3000, writeBack: true, wires: [['sent']] },
    { id: 'sent', z, type: 'helper' },
    { id: 'catcher', z, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z, type: 'helper' },
  ];
}

interface Caught {
  error: { code?: string; message: string; source: { id: string } };
}

describe('nodes: wasl-fhir-out write-back', function () {
  let fhir: RunningFhirServer;
  const seen: FhirRequestInfo[] = [];
  let h: NodeRuntime;
  let runtime: WaslRuntime;

  before(async function () {
    this.timeout(60_000);
    fhir = await startFhirServer(0, '127.0.0.1', { onRequest: (info) => seen.push(info) });
    validateFhir({ resourceType: 'Claim' }); // compiles the R4 schema once (seconds), outside the tests' timings
  });
  after(() => fhir.close());

  beforeEach(async () => {
    fhir.reset();
    seen.length = 0;
    h = await startNodeRuntime('fhir-out-wb', fhir.url);
    runtime = h.runtime;
    await helper.load([queueNode, fhirOut, catchNode], flow(fhir.url) as never);
  });

  afterEach(() => stopNodeRuntime(h));

  /** Stores a row for the payload and hands it to the destination queue, as the router would. */
  async function enqueue(payload: unknown): Promise<string> {
    const controlId = randomUUID();
    const row = await runtime.store.receive({ id: randomUUID(), channel: 'wb', correlationId: `corr-${controlId}`, sender: 'WASL', controlId, raw: JSON.stringify(payload) });
    const receipt = runtime.receipts.open(10_000);
    helper.getNode('q').receive({ payload, wasl: { correlationId: row.correlationId, messageId: row.id, channel: 'wb', receipt: receipt.id, attempt: 1 } } as never);
    await receipt.settled;
    return row.id;
  }

  const posts = () => seen.filter((s) => s.method === 'POST' || s.method === 'PUT');

  it('creates a draft Claim conditionally; a resend finds it instead of duplicating it', async () => {
    const out: Array<{ payload: Claim }> = [];
    nodeEvents('sent').on('input', (m: { payload: Claim }) => out.push(m));
    const first = await enqueue(draftClaim('CLM-1'));
    await enqueue(draftClaim('CLM-1'));
    await waitFor(() => out.length === 2);
    assert.equal(out[0].payload.id, out[1].payload.id);
    const claims = await fetch(`${fhir.url}/Claim?identifier=urn:wasl:claim|CLM-1`).then((r) => r.json() as Promise<Bundle>);
    assert.equal(claims.entry?.length, 1, 'one Claim on the server');

    const row = await waitForRow(runtime, first, (r) => r.status === 'SENT');
    const dest = row.destinations?.find((d) => d.destination === 'ehr');
    assert.equal((JSON.parse(dest?.response ?? '{}') as Claim).id, out[0].payload.id);
    assert.deepEqual(fhirClients.circuitsFor('wb'), { 'wb.ehr': 'closed' });
  });

  it('dead-letters an invalid Claim as a validation error with its OperationOutcome, and never sends it', async () => {
    const seenCatch = new Promise<Caught>((resolve) => nodeEvents('caught').on('input', resolve));
    const bad = draftClaim('CLM-2') as Partial<Claim>;
    delete bad.provider;
    delete bad.insurance;
    const id = await enqueue(bad);
    const caught = await seenCatch;
    assert.equal(caught.error.code, 'VALIDATION_FHIR_WRITE_BACK_INVALID');
    assert.equal(caught.error.source.id, 'out');
    await waitFor(async () => (await runtime.transport.depth('wb.dest.ehr')).dead === 1);
    const row = await waitForRow(runtime, id, (r) => r.status === 'ERROR');
    const outcome = (row.error as { details?: { outcome?: OperationOutcome } }).details?.outcome;
    assert.deepEqual(outcome?.issue.map((i) => i.expression?.[0]).sort(), ['Claim.insurance', 'Claim.provider']);
    assert.deepEqual(posts(), [], 'nothing reached the server');
  });

  it('records the server\'s OperationOutcome for a Claim it rejects as an integration error, not retried', async () => {
    const seenCatch = new Promise<Caught>((resolve) => nodeEvents('caught').on('input', resolve));
    const id = await enqueue({ ...draftClaim('CLM-3'), insurance: [] }); // schema-valid; Medplum requires insurance
    const caught = await seenCatch;
    assert.equal(caught.error.code, 'INTEGRATION_FHIR_REJECTED');
    assert.match(caught.error.message, /HTTP 400/);
    await waitFor(async () => (await runtime.transport.depth('wb.dest.ehr')).dead === 1);
    const row = await waitForRow(runtime, id, (r) => r.status === 'ERROR');
    const details = (row.error as { details?: { status?: number; outcome?: OperationOutcome } }).details;
    assert.equal(details?.status, 400);
    assert.ok(details?.outcome?.issue.some((i) => i.expression?.includes('Claim.insurance')));
    assert.equal(posts().length, 1, 'sent once, not retried');
  });

  it('refuses a Claim that is not a draft, and a create without a business identifier', async () => {
    const codes: string[] = [];
    nodeEvents('caught').on('input', (m: Caught) => codes.push(m.error.code ?? ''));
    await enqueue({ ...draftClaim('CLM-4'), status: 'active' });
    const anonymous = note('N-0') as Partial<DocumentReference>;
    delete anonymous.masterIdentifier;
    delete anonymous.identifier;
    await enqueue(anonymous);
    await waitFor(() => codes.length === 2);
    assert.deepEqual(codes, ['VALIDATION_FHIR_CLAIM_NOT_DRAFT', 'VALIDATION_FHIR_NO_BUSINESS_IDENTIFIER']);
    assert.deepEqual(posts(), []);
  });

  it('sends a transaction Bundle with If-None-Exist added to its creates: sent twice, one DocumentReference', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ fullUrl: 'urn:uuid:8d6f5f3e-1b7a-4c55-9a59-0c4c6f0e2a11', resource: note('N-1'), request: { method: 'POST', url: 'DocumentReference' } }],
    };
    const out: Array<{ payload: Bundle }> = [];
    nodeEvents('sent').on('input', (m: { payload: Bundle }) => out.push(m));
    await enqueue(bundle);
    await enqueue(bundle);
    await waitFor(() => out.length === 2);
    assert.deepEqual(out.map((m) => m.payload.entry?.[0].response?.status), ['201', '200']);
    const docs = await fetch(`${fhir.url}/DocumentReference?identifier=urn:wasl:note|N-1`).then((r) => r.json() as Promise<Bundle>);
    assert.equal(docs.entry?.length, 1);
  });

  it('updates a resource that has an id', async () => {
    const created = await fetch(`${fhir.url}/Claim`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(draftClaim('CLM-5')) })
      .then((r) => r.json() as Promise<Claim>);
    const sent = new Promise<{ payload: Claim }>((resolve) => nodeEvents('sent').on('input', resolve));
    await enqueue({ ...created, use: 'preauthorization' });
    const msg = await sent;
    assert.equal(msg.payload.id, created.id);
    assert.equal(msg.payload.use, 'preauthorization');
    assert.equal(seen.filter((s) => s.method === 'PUT').length, 1);
  });

  it('shows the destination\'s circuit breaker in /api/v1/channels and /metrics', async () => {
    const sent = new Promise((resolve) => nodeEvents('sent').on('input', resolve));
    await enqueue(draftClaim('CLM-7'));
    await sent;
    const app = express();
    const channels = [{ id: 'wb', name: 'write-back', destinations: { ehr: { type: 'fhir', url: fhir.url, writeBack: true } } }] as unknown as ChannelConfig[];
    app.use('/api/v1', apiRouter({ runtime, channels: () => channels, ready: () => true, mode: 'embedded', startedAt: new Date() }));
    const api = http.createServer(app);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
    try {
      const res = await fetch(`http://127.0.0.1:${(api.address() as AddressInfo).port}/api/v1/channels`);
      const body = (await res.json()) as { channels: Array<{ id: string; circuit: Record<string, string> }> };
      assert.deepEqual(body.channels[0].circuit, { 'wb.ehr': 'closed' });
    } finally {
      await new Promise((resolve) => api.close(resolve));
    }
    const text = await runtime.metrics.registry.metrics();
    assert.match(text, /wasl_fhir_circuit_state\{connection="wb.ehr"\} 0/);
    assert.match(text, /wasl_fhir_requests_total\{connection="wb.ehr",operation="create",outcome="ok"\} 1/);
  });

  it('sends through a wasl-fhir-server config node with its auth, and shows its circuit per channel', async () => {
    await helper.unload();
    const ehr = await startFaultServer((req, res, raw) =>
      (req.headers['x-api-key'] === 'k-123' && req.headers['if-none-exist'] === 'identifier=urn%3Awasl%3Aclaim%7CCLM-6'
        ? answer(201, { ...draftClaim('CLM-6'), id: 'c6' })
        : answer(401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }))(req, res, raw));
    try {
      const nodes = flow('builtin').map((n) => (n.id === 'out' ? { ...n, server: 'ehr' } : n));
      nodes.push({ id: 'ehr', type: 'wasl-fhir-server', baseUrl: ehr.url, authType: 'api-key', apiKeyHeader: 'x-api-key' } as never);
      await helper.load([queueNode, fhirOut, catchNode, fhirServerNode], nodes as never, { ehr: { apiKey: 'k-123' } } as never);
      const sent = new Promise<{ payload: Claim }>((resolve) => nodeEvents('sent').on('input', resolve));
      await enqueue(draftClaim('CLM-6'));
      assert.equal((await sent).payload.id, 'c6');
      assert.equal(ehr.received.length, 1);
      assert.deepEqual(fhirClients.circuitsFor('wb'), { 'node-ehr': 'closed' });
    } finally {
      await ehr.close();
    }
  });
});
