/**
 * wasl-mllp-out under node-red-node-test-helper, behind its destination queue, with real parts:
 * the embedded SQLite transport and store on a temp folder, and a real MLLP receiver
 * (connectors/mllp/server.ts) on loopback, plain or TLS. Asserts the output, the stored ACK,
 * dead letters, retries and what Catch nodes see.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { MllpServer } from '../../connectors/mllp/server';
import type { MllpTlsOptions } from '../../connectors/mllp/tls';
import { captureLogger, makeCertificate } from '../connectors/mllp/helpers';
import { tempDir } from '../support/engine-process';
import { nodeEvents, startNodeRuntime, stopNodeRuntime, waitFor, waitForRow, type NodeRuntime } from '../support/node-runtime';
import { freePort } from '../support/ports';
import queueNode = require('../../nodes/queue/queue');
import mllpOut = require('../../nodes/mllp-out/mllp-out');

helper.init(require.resolve('node-red'));

const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const hl7 = (id: string, type = 'ADT^A01^ADT_A01') => `MSH|^~\\&|WASL|HOSP|LAB|LABF|20250101120000||${type}|${id}|P|2.5.1\rPID|1||MRN-${id}^^^H^MR||DOE^JANE\r`;

/** The receiver's answer per MSH-10: AA unless the id says otherwise. */
function answer(text: string): string {
  const id = text.split('\r')[0].split('|')[9];
  const head = `MSH|^~\\&|LAB|LABF|WASL|HOSP|20250101120001||ACK^A01^ACK|ACK${id}|P|2.5.1\r`;
  if (id.startsWith('NAK')) return `${head}MSA|AE|${id}|bad content\rERR||PID^1^7|102^Data type error^HL70357|E|||PID-7 is not a valid date\r`;
  return `${head}MSA|AA|${id}\r`;
}

function flow(port: number, extra: Record<string, unknown> = {}) {
  const z = 'tab1';
  return [
    { id: z, type: 'tab', label: 'mllp out' },
    { id: 'q', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.dest.lab', prefetch: 10, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100, wires: [['out']] },
    { id: 'out', z, type: 'wasl-mllp-out', channel: 'ch', destination: 'lab', host: '127.0.0.1', port, timeoutMs: 300, ...extra, wires: [['sent']] },
    { id: 'sent', z, type: 'helper' },
    { id: 'catcher', z, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z, type: 'helper' },
  ];
}

describe('nodes: wasl-mllp-out', function () {
  let h: NodeRuntime;
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    h = await startNodeRuntime('mllp-out');
  });

  afterEach(async () => {
    await stopNodeRuntime(h);
    while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
  });

  async function receiver(tls?: MllpTlsOptions): Promise<{ port: number; received: string[] }> {
    const received: string[] = [];
    const server = new MllpServer({
      port: 0,
      host: '127.0.0.1',
      tls,
      logger: captureLogger(),
      handler: async (payload) => {
        received.push(payload.toString());
        return answer(payload.toString());
      },
    });
    const port = await server.listen();
    cleanups.push(() => server.close());
    return { port, received };
  }

  /** Stores a row for the message and hands it to the destination queue, as the router would. */
  async function enqueue(text: string): Promise<string> {
    const id = text.split('\r')[0].split('|')[9];
    const row = await h.runtime.store.receive({ id: `00000000-0000-4000-8000-${id.padStart(12, '0').slice(-12)}`, channel: 'ch', correlationId: `corr-${id}`, sender: 'WASL^HOSP', controlId: id, raw: text });
    const receipt = h.runtime.receipts.open(10_000);
    helper.getNode('q').receive({ payload: text, wasl: { correlationId: row.correlationId, messageId: row.id, channel: 'ch', receipt: receipt.id, attempt: 1 } } as never);
    await receipt.settled;
    return row.id;
  }

  it('sends the HL7, outputs msg.response = the ACK, and stores the ACK as the destination response', async () => {
    const rx = await receiver();
    await helper.load([queueNode, mllpOut, catchNode], flow(rx.port) as never);
    const sent = nodeEvents('sent');
    const out = new Promise<{ payload: string; response: string; wasl: { messageId: string } }>((resolve) => sent.on('input', resolve));
    const id = await enqueue(hl7('OK1'));
    const msg = await out;
    assert.equal(msg.payload, hl7('OK1'));
    assert.match(msg.response, /\rMSA\|AA\|OK1\r$/);
    assert.deepEqual(rx.received, [hl7('OK1')]);
    const row = await waitForRow(h.runtime, id, (r) => r.status === 'SENT');
    const dest = row.destinations?.find((d) => d.destination === 'lab');
    assert.equal(dest?.response, msg.response);
    assert.equal(dest?.sent, hl7('OK1'));
  });

  it('dead-letters an AE at once as an integration error carrying the ERR text, and Catch sees its code', async () => {
    const rx = await receiver();
    await helper.load([queueNode, mllpOut, catchNode], flow(rx.port) as never);
    const caught = nodeEvents('caught');
    const seen = new Promise<{ error: { code?: string; message: string; source: { id: string } } }>((resolve) => caught.on('input', resolve));
    const id = await enqueue(hl7('NAK1'));
    const msg = await seen;
    assert.equal(msg.error.source.id, 'out');
    assert.equal(msg.error.code, 'INTEGRATION_MLLP_NAK');
    assert.doesNotMatch(msg.error.message, /MRN|DOE/);
    await waitFor(async () => (await h.runtime.transport.depth('ch.dest.lab')).dead === 1);
    assert.equal(rx.received.length, 1, 'not retried');
    const row = await waitForRow(h.runtime, id, (r) => r.status === 'ERROR');
    const details = (row.error as { details?: { msa1?: string; errText?: string; msa3?: string } }).details;
    assert.equal(details?.msa1, 'AE');
    assert.equal(details?.msa3, 'bad content');
    assert.equal(details?.errText, 'PID-7 is not a valid date');
  });

  it('retries a receiver that is down as transient, then dead-letters after the attempt budget', async () => {
    const closed = await freePort();
    await helper.load([queueNode, mllpOut, catchNode], flow(closed) as never);
    const codes: string[] = [];
    nodeEvents('caught').on('input', (m: { error: { code?: string } }) => codes.push(m.error.code ?? ''));
    await enqueue(hl7('DOWN1'));
    await waitFor(async () => (await h.runtime.transport.depth('ch.dest.lab')).dead === 1);
    assert.equal(codes.length, 2, 'one Catch per attempt (maxAttempts 2)');
    for (const code of codes) assert.match(code, /^TRANSIENT_/);
  });

  it('refuses to send an ACK message (never answer an ACK with an ACK)', async () => {
    const rx = await receiver();
    await helper.load([queueNode, mllpOut, catchNode], flow(rx.port) as never);
    const seen = new Promise<{ error: { code?: string } }>((resolve) => nodeEvents('caught').on('input', resolve));
    await enqueue(hl7('ACK1', 'ACK^A01^ACK'));
    assert.equal((await seen).error.code, 'VALIDATION_MLLP_SEND_ACK');
    await waitFor(async () => (await h.runtime.transport.depth('ch.dest.lab')).dead === 1);
    assert.deepEqual(rx.received, []);
  });

  it('sends over TLS with the CA read from a file, and shows the connection in its status', async () => {
    const cert = await makeCertificate();
    const dir = tempDir('mllp-out-tls');
    cleanups.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'ca.pem'), cert.cert);
    const rx = await receiver({ cert: cert.cert, key: cert.key });
    await helper.load([queueNode, mllpOut, catchNode], flow(rx.port, { tls: true, tlsCa: path.join(dir, 'ca.pem'), tlsRejectUnauthorized: true }) as never);
    const statuses: string[] = [];
    const out = helper.getNode('out') as unknown as { status: (s: { text?: string }) => void };
    const original = out.status.bind(out);
    out.status = (s) => {
      statuses.push(String(s.text));
      original(s);
    };
    const sent = new Promise<{ response: string }>((resolve) => nodeEvents('sent').on('input', resolve));
    await enqueue(hl7('TLS1'));
    assert.match((await sent).response, /MSA\|AA\|TLS1/);
    assert.equal(rx.received.length, 1);
    await waitFor(() => statuses.includes('1'));
  });

  it('fails messages as transient when a TLS file cannot be read', async () => {
    const rx = await receiver();
    await helper.load([queueNode, mllpOut, catchNode], flow(rx.port, { tls: true, tlsCa: '/nonexistent/ca.pem' }) as never);
    const seen = new Promise<{ error: { code?: string } }>((resolve) => nodeEvents('caught').on('input', resolve));
    await enqueue(hl7('CFG1'));
    assert.equal((await seen).error.code, 'TRANSIENT_MLLP_TLS_CONFIG');
    assert.deepEqual(rx.received, []);
  });
});
