/**
 * Hl7Intake without Node-RED, on a real SQLite store: what the sender hears when the flow cannot
 * take the message, and that a rejected message is stored, never dropped.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { logger } from '../../../common/logger';
import { Hl7Intake } from '../../../engine/runtime/hl7-intake';
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

  const intake = (submit: (msg: { wasl: { receipt?: string } }) => void) =>
    new Hl7Intake(runtime, { channel: 'ch', acceptMessageTypes: ['ADT^A01'], logger: logger({ stage: 'test' }), submit, queueTimeoutMs: 2000 });

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
});
