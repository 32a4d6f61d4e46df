/**
 * The Wasl nodes wired as a compiled channel is, under node-red-node-test-helper, with real
 * parts: the embedded SQLite transport and store on a temp folder and a real FHIR server
 * (Medplum) on loopback. Asserts outputs, store rows, dead letters and what Catch nodes see.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { MllpClient } from '../../connectors/mllp/client';
import { startFhirServer, type RunningFhirServer } from '../../engine/fhir-server';
import type { WaslRuntime } from '../../engine/runtime/types';
import { adtMessage } from '../support/adt';
import { nodeEvents, startNodeRuntime, stopNodeRuntime, waitFor, type NodeRuntime } from '../support/node-runtime';
import { freePort } from '../support/ports';
import mllpIn = require('../../nodes/mllp-in/mllp-in');
import queueNode = require('../../nodes/queue/queue');
import filterNode = require('../../nodes/filter/filter');
import hl7ToFhir = require('../../nodes/hl7-to-fhir/hl7-to-fhir');
import routerNode = require('../../nodes/router/router');
import fhirOut = require('../../nodes/fhir-out/fhir-out');

helper.init(require.resolve('node-red'));

const NODES = [mllpIn, queueNode, filterNode, hl7ToFhir, routerNode, fhirOut];
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

interface Harness extends NodeRuntime {
  mllpPort: number;
}

/** A whole channel (MLLP in, mapping, FHIR out) takes longer than one node. */
const WAIT_MS = 15_000;

function channelFlow(mllpPort: number, fhirUrl: string, accept: string[] = ['ADT^A01', 'ADT^A03', 'ADT^A04', 'ADT^A08']) {
  const z = 'tab1';
  return [
    { id: z, type: 'tab', label: 'test channel' },
    { id: 'src', z, type: 'wasl-mllp-in', channel: 'ch', port: mllpPort, host: '127.0.0.1', acceptMessageTypes: accept, wires: [['qin']] },
    { id: 'qin', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.in', prefetch: 10, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100, wires: [['flt']] },
    { id: 'flt', z, type: 'wasl-filter', channel: 'ch', rules: [{ field: 'MSH-9.1', op: 'in', values: ['ADT'] }], wires: [['map']] },
    { id: 'map', z, type: 'wasl-hl7-to-fhir', channel: 'ch', mapping: 'adt', wires: [['rtr']] },
    { id: 'rtr', z, type: 'wasl-router', channel: 'ch', routes: [{ destination: 'fhir', rules: [] }], wires: [['qdst']] },
    { id: 'qdst', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.dest.fhir', prefetch: 10, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100, wires: [['out']] },
    { id: 'out', z, type: 'wasl-fhir-out', channel: 'ch', destination: 'fhir', url: fhirUrl, timeoutMs: 3000, wires: [['sent']] },
    { id: 'sent', z, type: 'helper' },
    { id: 'catcher', z, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z, type: 'helper' },
  ];
}

async function sendAndAck(port: number, message: string): Promise<string> {
  const client = new MllpClient({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  await client.connect();
  try {
    return await client.send(message);
  } finally {
    await client.close();
  }
}

function msa(ack: string): string[] {
  const seg = ack.split('\r').find((s) => s.startsWith('MSA|')) ?? '';
  return seg.split('|');
}

describe('nodes: a channel made of Wasl nodes', function () {
  let fhir: RunningFhirServer;
  let h: Harness;

  before(async () => {
    fhir = await startFhirServer(0);
  });
  after(async () => {
    await fhir.close();
  });

  beforeEach(async () => {
    const mllpPort = await freePort();
    h = { ...(await startNodeRuntime('nodes', fhir.url)), mllpPort };
  });

  afterEach(() => stopNodeRuntime(h));

  async function load(flow: object[]): Promise<void> {
    await helper.load([...NODES, catchNode], flow as never);
    // the listener starts asynchronously after the node is created
    await waitFor(() => h.runtime.channelHealth.get('ch')?.state === 'running', WAIT_MS);
  }

  it('acknowledges AA after queueing and delivers the Bundle to the FHIR server', async () => {
    await load(channelFlow(h.mllpPort, 'builtin'));
    const sent = nodeEvents('sent');
    const delivered = new Promise<{ payload: { type: string }; wasl: { correlationId: string; messageId: string } }>((resolve) => sent.on('input', resolve));

    const ack = await sendAndAck(h.mllpPort, adtMessage({ controlId: 'N1', patientId: 'NP1', visitNumber: 'NV1' }));
    assert.equal(msa(ack)[1], 'AA');
    assert.equal(msa(ack)[2], 'N1');

    const out = await delivered;
    assert.equal(out.payload.type, 'transaction-response');
    const row = await waitForStatus(h.runtime, out.wasl.messageId, 'SENT');
    assert.equal(row.correlationId, out.wasl.correlationId);
    const res = await fetch(`${fhir.url}/Patient?identifier=NP1`);
    const bundle = (await res.json()) as { entry?: unknown[] };
    assert.equal(bundle.entry?.length, 1);
  });

  it('stores a filtered message as FILTERED and still acknowledges it', async () => {
    await load(channelFlow(h.mllpPort, 'builtin', []));
    const oru = 'MSH|^~\\&|LAB|HOSP|WASL|WASL|20250101120000||ORU^R01^ORU_R01|F1|P|2.5.1\rPID|1||X1\rOBR|1\rOBX|1|ST|1^x||y';
    const ack = await sendAndAck(h.mllpPort, oru);
    assert.equal(msa(ack)[1], 'AA');
    const rows = await waitForRows(h.runtime, (r) => r.status === 'FILTERED');
    assert.equal(rows.length, 1);
  });

  it('answers AR with an ERR segment for an unsupported message type, and stores it as ERROR', async () => {
    await load(channelFlow(h.mllpPort, 'builtin'));
    const oru = 'MSH|^~\\&|LAB|HOSP|WASL|WASL|20250101120000||ORU^R01^ORU_R01|R1|P|2.5.1\rPID|1||X1';
    const ack = await sendAndAck(h.mllpPort, oru);
    assert.equal(msa(ack)[1], 'AR');
    assert.equal(msa(ack)[2], 'R1');
    const err = ack.split('\r').find((s) => s.startsWith('ERR|'));
    assert.ok(err, 'ERR segment present');
    assert.match(err, /\|200\^/);
    const rows = await waitForRows(h.runtime, (r) => r.status === 'ERROR');
    assert.equal(rows.length, 1);
  });

  it('reports a mapping failure to Catch with a validation code and dead-letters the message', async () => {
    await load(channelFlow(h.mllpPort, 'builtin'));
    const caught = nodeEvents('caught');
    const seen = new Promise<{ error: { message: string; code?: string; source: { id: string } } }>((resolve) => caught.on('input', resolve));
    // ADT without PID: parses, is accepted at the source (AA), then fails in the mapping stage.
    const ack = await sendAndAck(h.mllpPort, 'MSH|^~\\&|A|B|C|D|20250101120000||ADT^A01^ADT_A01|M1|P|2.5.1\rEVN|A01|20250101');
    assert.equal(msa(ack)[1], 'AA');
    const msg = await seen;
    assert.equal(msg.error.source.id, 'map');
    assert.match(msg.error.code ?? '', /^VALIDATION_HL7_/);
    const depth = await waitForDepth(h.runtime, 'ch.in', (d) => d.dead === 1);
    assert.equal(depth.ready, 0);
    const [dead] = await h.runtime.transport.peekDeadLetters('ch.in', 1);
    assert.match(dead.reason, /VALIDATION_/);
  });

  it('retries a destination that is down and dead-letters after the attempt budget', async () => {
    const closedPort = await freePort();
    await load(channelFlow(h.mllpPort, `http://127.0.0.1:${closedPort}/fhir/R4`));
    const caught = nodeEvents('caught');
    const codes: string[] = [];
    caught.on('input', (m: { error: { message: string } }) => codes.push(m.error.message));
    const ack = await sendAndAck(h.mllpPort, adtMessage({ controlId: 'D1', patientId: 'DP1', visitNumber: 'DV1' }));
    assert.equal(msa(ack)[1], 'AA');
    const depth = await waitForDepth(h.runtime, 'ch.dest.fhir', (d) => d.dead === 1);
    assert.equal(depth.ready + depth.delayed, 0);
    assert.equal(codes.length, 2, 'one Catch per attempt (maxAttempts 2)');
    const [dead] = await h.runtime.transport.peekDeadLetters('ch.dest.fhir', 1);
    assert.match(dead.reason, /gave up after 2 attempts/);
    const rows = await waitForRows(h.runtime, (r) => r.status === 'ERROR');
    assert.equal(rows.length, 1);
  });
});

async function waitForStatus(runtime: WaslRuntime, id: string, status: string) {
  let row;
  await waitFor(async () => (row = await runtime.store.get(id))?.status === status, WAIT_MS);
  return row!;
}

async function waitForRows(runtime: WaslRuntime, match: (r: { status: string }) => boolean) {
  let rows: Awaited<ReturnType<WaslRuntime['store']['list']>> = [];
  await waitFor(async () => (rows = (await runtime.store.list({ channel: 'ch' })).filter(match)).length > 0, WAIT_MS);
  return rows;
}

async function waitForDepth(runtime: WaslRuntime, queue: string, match: (d: { ready: number; delayed: number; dead: number }) => boolean) {
  let depth = { ready: 0, delayed: 0, dead: 0 };
  await waitFor(async () => match((depth = await runtime.transport.depth(queue))), WAIT_MS);
  return depth;
}
