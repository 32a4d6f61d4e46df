/**
 * What crosses a queue besides the payload: the whitelisted message properties (the NPHIES
 * result of a polled message, its claim state), through the real embedded transport.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { logger } from '../../../common/logger';
import { QueueStage } from '../../../engine/runtime/queue-stage';
import type { WaslMsg } from '../../../engine/runtime/wasl-msg';
import { startNodeRuntime, stopNodeRuntime, waitFor, type NodeRuntime } from '../../support/node-runtime';

helper.init(require.resolve('node-red'));

describe('engine/runtime/queue-stage: carried properties', function () {
  this.timeout(20_000);
  let h: NodeRuntime;
  let stage: QueueStage | undefined;
  beforeEach(async () => {
    h = await startNodeRuntime('queue-carry');
  });
  afterEach(async () => {
    await stage?.close();
    await stopNodeRuntime(h);
  });

  async function roundTrip(msg: Omit<WaslMsg, 'wasl'>): Promise<WaslMsg> {
    const got: WaslMsg[] = [];
    stage = new QueueStage(h.runtime, {
      channel: 'ch',
      queue: 'ch.in',
      prefetch: 1,
      retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 10 },
      logger: logger({ stage: 'test' }),
      emit: (m) => {
        got.push(m);
        h.runtime.receipts.complete(m.wasl.receipt);
      },
    });
    await stage.start();
    await stage.publish({ ...msg, wasl: { correlationId: 'c1', messageId: 'm1', channel: 'ch', attempt: 1 } } as WaslMsg);
    await waitFor(() => got.length === 1);
    return got[0];
  }

  it('carries msg.nphies and msg.nphiesClaim across the queue, and nothing else', async () => {
    const nphies = { requestId: 'req-1', outcome: 'complete', event: 'claim-response', errors: [] };
    const out = await roundTrip({ payload: { resourceType: 'Bundle' }, nphies, nphiesClaim: { id: 'CLM-1', state: 'approved' }, hl7: 'never queued', secret: 'x' });
    assert.deepEqual(out.payload, { resourceType: 'Bundle' });
    assert.deepEqual(out.nphies, nphies);
    assert.deepEqual(out.nphiesClaim, { id: 'CLM-1', state: 'approved' });
    assert.equal(out.hl7, undefined, 'the parsed HL7 stays in its stage');
    assert.equal(out.secret, undefined, 'only the whitelisted properties cross');
  });

  it('carries nothing when the message has none of them', async () => {
    const out = await roundTrip({ payload: 'MSH|^~\\&|A' });
    assert.equal(out.payload, 'MSH|^~\\&|A');
    assert.equal(out.nphies, undefined);
  });
});
