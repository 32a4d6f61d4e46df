/**
 * Start, pause and stop of a channel (engine/runtime/channel-control.ts) on a real channel: MLLP
 * in, two queues, MLLP out to a real receiver, on the embedded transport and on RabbitMQ.
 * Pause: senders cannot deliver (no ACK for anything not processed) while queued messages still
 * reach the destination. Stop: nothing moves and messages stay queued; start: each arrives once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import helper from 'node-red-node-test-helper';
import { MllpClient } from '../../../connectors/mllp/client';
import { hl7, channelFlow, refused, sendEach, sleep, startReceiver, type Receiver } from '../../support/mllp-channel';
import { startNodeRuntime, stopNodeRuntime, waitFor, type NodeRuntime } from '../../support/node-runtime';
import { freePort } from '../../support/ports';
import { TEST_AMQP_URL, deleteAmqpQueues, requireService } from '../../support/services';
import mllpIn = require('../../../nodes/mllp-in/mllp-in');
import queueNode = require('../../../nodes/queue/queue');
import routerNode = require('../../../nodes/router/router');
import mllpOut = require('../../../nodes/mllp-out/mllp-out');

helper.init(require.resolve('node-red'));

const NODES = [mllpIn, queueNode, routerNode, mllpOut];
const MODES = [
  { name: 'embedded transport', amqpUrl: undefined },
  { name: 'RabbitMQ', amqpUrl: TEST_AMQP_URL },
];

for (const mode of MODES) {
  describe(`engine/runtime/channel-control: ${mode.name}`, function () {
    this.timeout(60_000);
    let h: NodeRuntime;
    let rx: Receiver;
    let channel: string;
    let mllpPort: number;

    before(async function () {
      if (mode.amqpUrl) await requireService(this, 'RabbitMQ');
    });

    beforeEach(async () => {
      // Own queue names per test: RabbitMQ keeps queues between runs.
      channel = `cc-${randomBytes(4).toString('hex')}`;
      mllpPort = await freePort();
      rx = await startReceiver();
      h = await startNodeRuntime('channel-control', undefined, { amqpUrl: mode.amqpUrl });
      await helper.load(NODES, channelFlow(channel, mllpPort, rx.port) as never);
      await waitFor(() => h.runtime.channelHealth.get(channel)?.state === 'running');
    });

    afterEach(async () => {
      await stopNodeRuntime(h);
      await rx.close();
      if (mode.amqpUrl) await deleteAmqpQueues([`${channel}.in`, `${channel}.dest.lab`]);
    });

    const control = () => h.runtime.channelControl!;
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const waiting = async () => {
      const [a, b] = await Promise.all([h.runtime.transport.depth(`${channel}.in`), h.runtime.transport.depth(`${channel}.dest.lab`)]);
      return a.ready + a.delayed + b.ready + b.delayed;
    };

    it('pause: new senders are refused while queued messages still reach the destination; start takes input again', async () => {
      rx.delayMs = 100;
      assert.deepEqual(await sendEach(mllpPort, ids('P', 4)), ['AA', 'AA', 'AA', 'AA']);
      assert.equal(await control().pause(channel), 'paused');
      assert.ok(rx.received.length < 4, 'the pause came before the destination had everything');
      assert.equal(await refused(mllpPort), true, 'a sender cannot connect while paused');
      await waitFor(() => rx.received.length === 4);
      assert.deepEqual(rx.received, ids('P', 4));

      assert.equal(await control().start(channel), 'running');
      await waitFor(() => h.runtime.channelHealth.get(channel)?.state === 'running');
      assert.deepEqual(await sendEach(mllpPort, ['P4']), ['AA']);
      await waitFor(() => rx.received.length === 5);
    });

    it('pause: a frame on a connection opened before the pause gets no ACK and is not stored', async () => {
      const client = new MllpClient({ host: '127.0.0.1', port: mllpPort, timeoutMs: 3000 });
      await client.connect();
      try {
        await control().pause(channel);
        await assert.rejects(client.send(hl7('Q1')));
      } finally {
        await client.close();
      }
      assert.equal((await h.runtime.store.counters())[channel]?.received ?? 0, 0);
    });

    it('stop: nothing moves and the messages stay queued; start delivers each exactly once', async () => {
      rx.delayMs = 150;
      const sent = ids('S', 6);
      assert.deepEqual(await sendEach(mllpPort, sent), sent.map(() => 'AA'));
      await waitFor(() => rx.received.length >= 1);
      assert.equal(await control().stop(channel), 'stopped');
      const delivered = rx.received.length;
      assert.ok(delivered < sent.length, `the stop came before the destination had everything (${delivered})`);
      assert.equal(await refused(mllpPort), true, 'the source is stopped too');
      // Running, the destination would take a message every 150 ms: give it time to show it does not.
      await sleep(600);
      assert.equal(rx.received.length, delivered, 'nothing is delivered while stopped');
      assert.equal(await waiting(), sent.length - delivered, 'the rest wait in the queues');

      assert.equal(await control().start(channel), 'running');
      await waitFor(() => rx.received.length >= sent.length);
      await sleep(300);
      assert.deepEqual([...rx.received].sort(), sent, 'each message reached the destination exactly once');
      await waitFor(async () => (await waiting()) === 0);
    });

    it('a channel stopped before a redeploy comes back stopped, and starts with everything it had', async () => {
      rx.delayMs = 100;
      assert.deepEqual(await sendEach(mllpPort, ids('R', 3)), ['AA', 'AA', 'AA']);
      await control().stop(channel);
      const delivered = rx.received.length;
      await helper.unload();
      await helper.load(NODES, channelFlow(channel, mllpPort, rx.port) as never);
      await sleep(300);
      assert.equal(await refused(mllpPort), true, 'the new listener did not open');
      assert.equal(rx.received.length, delivered, 'the new consumers did not start');
      await control().start(channel);
      await waitFor(() => rx.received.length >= 3);
      assert.equal(await refused(mllpPort), false);
      assert.deepEqual([...rx.received].sort(), ids('R', 3));
    });
  });
}
