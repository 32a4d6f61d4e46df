/**
 * Hl7Intake without Node-RED, on a real SQLite store: what the sender hears when the flow cannot
 * take the message, and that a rejected message is stored, never dropped.
 */
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import fs from 'node:fs';
import { logger } from '../../../common/logger';
import { MllpSender } from '../../../connectors/mllp/sender';
import { MllpServer } from '../../../connectors/mllp/server';
import { Hl7Intake, type Hl7IntakeOptions } from '../../../engine/runtime/hl7-intake';
import { EngineMetrics } from '../../../engine/runtime/metrics';
import { Receipts } from '../../../engine/runtime/receipts';
import type { WaslRuntime } from '../../../engine/runtime/types';
import { openStore } from '../../../engine/store';
import type { MessageStore } from '../../../engine/store/types';
import { adtMessage } from '../../support/adt';
import { tempDir } from '../../support/engine-process';
import { parseMsa } from '../../support/sender';

describe('engine/runtime/hl7-intake', () => {
  let dir: string;
  let store: MessageStore;
  let runtime: WaslRuntime;

  beforeEach(async () => {
    dir = tempDir('intake');
    store = await openStore({ dataDir: dir });
    runtime = {
      role: 'all',
      store,
      transport: undefined as never, // the intake never touches the transport itself
      receipts: new Receipts(),
      metrics: new EngineMetrics({ defaultMetrics: false }),
      builtinFhirUrl: '',
      channelHealth: new Map(),
    };
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** An intake whose `handle` answers text ('' = no ACK), as the sender would decode it. */
  const intake = (submit: (msg: { wasl: { receipt?: string; messageId?: string } }) => void, extra: Partial<Hl7IntakeOptions> = {}) => {
    const i = new Hl7Intake(runtime, { channel: 'ch', acceptMessageTypes: ['ADT^A01'], logger: logger({ stage: 'test' }), submit, queueTimeoutMs: 2000, ...extra });
    return { handle: async (frame: Buffer, charset = 'utf8' as BufferEncoding) => (await i.handle(frame)).toString(charset) };
  };
  /** A flow that queues at once (settles the receipt) and remembers the message ids. */
  const queueing = (ids: string[] = []) => (msg: { wasl: { receipt?: string; messageId?: string } }) => {
    ids.push(msg.wasl.messageId!);
    setImmediate(() => runtime.receipts.complete(msg.wasl.receipt));
  };
  /** The ADT with MSH-15/16 set (enhanced mode). */
  const enhanced = (controlId: string, accept: string, application = '') =>
    Buffer.from(adtMessage({ controlId, patientId: 'P1', visitNumber: 'V1' }).replace('|P|2.5.1\r', `|P|2.5.1|||${accept}|${application}\r`));

  it('answers AR with ERR 207 when the flow throws while taking the message, and keeps the row', async () => {
    const ack = await intake(() => {
      throw new Error('flow broken');
    }).handle(Buffer.from(adtMessage({ controlId: 'T1', patientId: 'P1', visitNumber: 'V1' })));
    assert.deepEqual(parseMsa(ack), { code: 'AR', ackedId: 'T1' });
    assert.match(ack, /\rERR\|\|\|207\^/);
    const [row] = await store.list({ channel: 'ch' });
    assert.equal(row.controlId, 'T1');
    assert.equal(row.accepted, false, 'not accepted: a resend will be queued again');
  });

  it('answers AA once the flow settled the receipt, and AA again for a resend without queueing it twice', async () => {
    let submitted = 0;
    const i = intake((msg) => {
      submitted += 1;
      setImmediate(() => runtime.receipts.complete(msg.wasl.receipt));
    });
    const message = Buffer.from(adtMessage({ controlId: 'T2', patientId: 'P2', visitNumber: 'V2' }));
    assert.equal(parseMsa(await i.handle(message)).code, 'AA');
    assert.equal(parseMsa(await i.handle(message)).code, 'AA');
    assert.equal(submitted, 1);
    assert.equal((await store.list({ channel: 'ch' })).length, 1);
  });

  it('stores a message it rejects, under its own key, and answers AR with the reason', async () => {
    const ack = await intake(() => assert.fail('a rejected message must not reach the flow')).handle(
      Buffer.from('MSH|^~\\&|A|B|C|D|20250101||ORU^R01^ORU_R01|R9|P|2.5.1\rPID|1||X'),
    );
    assert.equal(parseMsa(ack).code, 'AR');
    assert.match(ack, /\|200\^/);
    const [row] = await store.list({ channel: 'ch' });
    assert.equal(row.status, 'ERROR');
    assert.match(row.controlId, /^rejected:/);
  });

  describe('enhanced mode (MSH-15/16)', () => {
    it('answers CA for an accepted message when MSH-15 is AL, and CR with ERR for a rejected one', async () => {
      const i = intake(queueing());
      assert.equal(parseMsa(await i.handle(enhanced('E1', 'AL'))).code, 'CA');
      const rejected = await i.handle(Buffer.from(enhanced('E2', 'AL').toString().replace('ADT^A01^ADT_A01', 'ADT^A99^ADT_A01')));
      assert.equal(parseMsa(rejected).code, 'CR');
      assert.match(rejected, /\rERR\|\|[^|]*\|201\^/);
    });

    it('sends nothing for NE, only errors for ER, only successes for SU', async () => {
      const i = intake(queueing());
      const bad = (b: Buffer) => Buffer.from(b.toString().replace('ADT^A01^ADT_A01', 'ADT^A99^ADT_A01'));
      assert.equal(await i.handle(enhanced('N1', 'NE')), '');
      assert.equal(await i.handle(bad(enhanced('N2', 'NE'))), '');
      assert.equal(await i.handle(enhanced('R1', 'ER')), '');
      assert.equal(parseMsa(await i.handle(bad(enhanced('R2', 'ER')))).code, 'CR');
      assert.equal(parseMsa(await i.handle(enhanced('S1', 'SU'))).code, 'CA');
      assert.equal(await i.handle(bad(enhanced('S2', 'SU'))), '');
      assert.equal((await store.list({ channel: 'ch' })).length, 6, 'every message is stored, ACK or not');
    });

    it('treats MSH-16 alone as enhanced mode with a commit ACK', async () => {
      assert.equal(parseMsa(await intake(queueing()).handle(enhanced('M1', '', 'AL'))).code, 'CA');
    });
  });

  describe('ackAfter', () => {
    it('transformed: AA once a stage marked the message TRANSFORMED', async () => {
      const ids: string[] = [];
      const i = intake(queueing(ids), { ackAfter: 'transformed', ackTimeoutMs: 5000 });
      const answer = i.handle(Buffer.from(adtMessage({ controlId: 'T10', patientId: 'P', visitNumber: 'V' })));
      await new Promise((r) => setTimeout(r, 100));
      await store.update(ids[0], { status: 'TRANSFORMED', transformed: '{}' });
      assert.equal(parseMsa(await answer).code, 'AA');
    });

    it('sent: AE with the stage error and its HL7 location when a stage rejected the message', async () => {
      const ids: string[] = [];
      const i = intake(queueing(ids), { ackAfter: 'sent', ackTimeoutMs: 5000 });
      const answer = i.handle(Buffer.from(adtMessage({ controlId: 'T11', patientId: 'P', visitNumber: 'V' })));
      await new Promise((r) => setTimeout(r, 50));
      await store.update(ids[0], {
        status: 'ERROR',
        error: { code: 'VALIDATION_HL7_CONTENT', kind: 'validation', message: 'PID-7 birth date is not a valid date', details: { hl7ErrorCode: 102, segmentId: 'PID', field: 7 } },
      });
      const ack = await answer;
      assert.equal(parseMsa(ack).code, 'AE');
      assert.match(ack, /\rERR\|\|PID\^1\^7\|102\^Data type error\^HL70357\|E\|\|\|PID-7 birth date is not a valid date/);
    });

    it('sent: AR 207 when the destinations do not finish in time, and the message stays stored', async () => {
      const i = intake(queueing(), { ackAfter: 'sent', ackTimeoutMs: 300 });
      const ack = await i.handle(Buffer.from(adtMessage({ controlId: 'T12', patientId: 'P', visitNumber: 'V' })));
      assert.equal(parseMsa(ack).code, 'AR');
      assert.match(ack, /\|207\^.*not sent in time/);
      assert.equal((await store.list({ channel: 'ch' }))[0].accepted, true);
    });
  });

  describe('charsets', () => {
    it('decodes an 8859/6 message per MSH-18 and answers in the same charset', async () => {
      const ids: string[] = [];
      const text = adtMessage({ controlId: 'C1', patientId: 'P', visitNumber: 'V', family: 'الحربي' }).replace('|P|2.5.1\r', '|P|2.5.1||||||8859/6\r');
      const ack = await intake(queueing(ids)).handle(iconvEncode(text, 'iso-8859-6'), 'latin1');
      assert.equal(parseMsa(ack).code, 'AA');
      assert.match(ack, /^MSH(\|[^|\r]*){16}\|8859\/6\r/, 'the ACK names its charset in MSH-18');
      const row = await store.get(ids[0]);
      assert.match(row!.raw, /PID\|1\|\|P\^\^\^TESTHOSP\^MR\|\|الحربي\^/);
    });

    it('rejects bytes that are not valid UTF-8 with AR naming segment and field, and stores them', async () => {
      const bytes = Buffer.from(adtMessage({ controlId: 'C2', patientId: 'P', visitNumber: 'V', family: 'Müller' }), 'latin1');
      const ack = await intake(queueing()).handle(bytes);
      assert.equal(parseMsa(ack).code, 'AR');
      assert.match(ack, /\rERR\|\|PID\^1\^5\|102\^/);
      assert.equal((await store.list({ channel: 'ch' }))[0].status, 'ERROR');
    });
  });

  describe('application ACKs (enhanced mode, MSH-16)', () => {
    /** The sender's own listener: records what reaches it and answers nothing (our ACKs say NE). */
    async function senderListener() {
      const got: string[] = [];
      const server = new MllpServer({ port: 0, host: '127.0.0.1', handler: async (frame) => { got.push(frame.toString()); return ''; } });
      const port = await server.listen();
      const sender = new MllpSender({ host: '127.0.0.1', port });
      return { got, deliver: (ack: Buffer) => sender.notify(ack), close: async () => { await sender.close(); await server.close(); } };
    }

    it('sends AA to the configured listener once the destinations are done, after the commit CA', async () => {
      const peer = await senderListener();
      try {
        const ids: string[] = [];
        const i = intake(queueing(ids), { applicationAck: peer.deliver });
        assert.equal(parseMsa(await i.handle(enhanced('P1', 'AL', 'AL'))).code, 'CA');
        assert.equal(peer.got.length, 0, 'nothing before the destinations finish');
        await store.update(ids[0], { status: 'SENT', destination: 'fhir', response: '{}' });
        await waitFor(() => peer.got.length === 1);
        assert.deepEqual(parseMsa(peer.got[0]), { code: 'AA', ackedId: 'P1' });
        assert.match(peer.got[0], /^MSH\|\^~\\&\|WASL\|WASL\|WASLTEST\|TESTHOSP\|[^|]*\|\|ACK\^A01\^ACK\|[^|]+\|P\|2\.5\.1\|\|\|NE\|NE/);
      } finally {
        await peer.close();
      }
    });

    it('sends AE with the error for a failed message, and nothing on success when MSH-16 is ER', async () => {
      const peer = await senderListener();
      try {
        const ids: string[] = [];
        const i = intake(queueing(ids), { applicationAck: peer.deliver });
        await i.handle(enhanced('P2', 'AL', 'ER'));
        await i.handle(Buffer.from(enhanced('P3', 'AL', 'ER').toString().replace('|P1^^^', '|P3^^^')));
        await store.update(ids[0], { status: 'SENT', destination: 'fhir' });
        await store.update(ids[1], { status: 'ERROR', destination: 'fhir', error: { code: 'INTEGRATION_FHIR_REJECTED', kind: 'integration', message: 'FHIR server rejected the transaction: HTTP 422' } });
        await waitFor(() => peer.got.length >= 1);
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(peer.got.length, 1, 'ER: the success gets no application ACK');
        assert.deepEqual(parseMsa(peer.got[0]), { code: 'AE', ackedId: 'P3' });
        assert.match(peer.got[0], /\|207\^Application internal error\^HL70357\|E\|\|\|FHIR server rejected the transaction: HTTP 422/);
      } finally {
        await peer.close();
      }
    });
  });

  describe('batches in one frame', () => {
    const batch = (count: number | string, ids: string[]) =>
      Buffer.from(
        ['BHS|^~\\&|WASLTEST|TESTHOSP|WASL|WASL|20250101120000||||B1', ...ids.map((id) => adtMessage({ controlId: id, patientId: `P${id}`, visitNumber: `V${id}` }).replace(/\r$/, '')), `BTS|${count}`].join('\r') + '\r',
      );

    it('stores and queues each message in order and answers one batch ACK', async () => {
      const ids: string[] = [];
      const ack = (await intake(queueing(ids)).handle(batch(3, ['B1', 'B2', 'B3']))) as string;
      assert.equal(ids.length, 3);
      const rows = await store.list({ channel: 'ch' });
      assert.deepEqual(rows.map((r) => r.controlId).sort(), ['B1', 'B2', 'B3']);
      assert.match(ack, /^BHS\|/);
      assert.match(ack, /\rBTS\|0\r?$/, 'all accepted: an empty acknowledgement batch');
      assert.match(ack, /^BHS(\|[^|\r]*){10}\|B1/, 'BHS-12 refers to the inbound batch');
    });

    it('puts an ACK in the batch for each message that was not accepted', async () => {
      const text = batch(2, ['B4', 'B5']).toString().replace('ADT^A01^ADT_A01|B5', 'ADT^A99^ADT_A01|B5');
      const ack = (await intake(queueing()).handle(Buffer.from(text))) as string;
      assert.match(ack, /\rMSA\|AR\|B5\r/);
      assert.doesNotMatch(ack, /MSA\|AA\|B4/);
      assert.match(ack, /\rBTS\|1\r?$/);
    });

    it('answers one ACK frame per message when the channel says per-message', async () => {
      const i = new Hl7Intake(runtime, { channel: 'ch', acceptMessageTypes: [], logger: logger({ stage: 'test' }), submit: queueing(), batchAck: 'per-message' });
      const acks = await i.handle(batch(2, ['B6', 'B7']));
      assert.ok(Array.isArray(acks));
      assert.deepEqual(acks.map((a) => parseMsa(a.toString())), [{ code: 'AA', ackedId: 'B6' }, { code: 'AA', ackedId: 'B7' }]);
    });

    it('takes nothing from a batch whose BTS count disagrees, and says which segment', async () => {
      const ids: string[] = [];
      const ack = (await intake(queueing(ids)).handle(batch(5, ['B8', 'B9']))) as string;
      assert.equal(ids.length, 0, 'nothing queued');
      assert.match(ack, /\rMSA\|AR\r/);
      assert.match(ack, /\rERR\|\|BTS\^/);
      const rows = await store.list({ channel: 'ch' });
      assert.equal(rows.length, 1, 'the frame is kept, as one rejected row');
      assert.equal(rows[0].status, 'ERROR');
    });
  });
});


function iconvEncode(text: string, charset: string): Buffer {
  return iconv.encode(text, charset);
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
