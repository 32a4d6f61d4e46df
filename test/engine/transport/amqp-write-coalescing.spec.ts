import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { coalesceWrites, type AmqplibChannelModel } from '../../../engine/transport/amqp-write-coalescing';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A stand-in for amqplib's muxer and socket that records what happens, in order. */
function fakeConnection(): { model: AmqplibChannelModel; events: string[]; readIncoming: () => void } {
  const events: string[] = [];
  let corked = 0;
  const stream = {
    cork: () => {
      corked++;
      events.push('cork');
    },
    uncork: () => {
      corked--;
      events.push('uncork');
    },
  };
  const muxer = {
    _readIncoming() {
      events.push(corked > 0 ? 'frames written while corked' : 'frames written uncorked');
    },
  };
  return { model: { connection: { muxer, stream } }, events, readIncoming: () => muxer._readIncoming() };
}

describe('engine/transport amqp-write-coalescing', () => {
  it('writes each muxer pass between cork and uncork, and uncorks even when the pass throws', () => {
    const { model, events, readIncoming } = fakeConnection();
    assert.equal(coalesceWrites(model), true);
    readIncoming();
    assert.deepEqual(events, ['cork', 'frames written while corked', 'uncork']);

    const failing = fakeConnection();
    (failing.model.connection!.muxer as { _readIncoming(): void })._readIncoming = () => {
      throw new Error('boom');
    };
    coalesceWrites(failing.model);
    assert.throws(() => (failing.model.connection!.muxer as { _readIncoming(): void })._readIncoming(), /boom/);
    assert.deepEqual(failing.events, ['cork', 'uncork']);
  });

  it('wraps a muxer once, however often a connection is reported', () => {
    const { model, events, readIncoming } = fakeConnection();
    coalesceWrites(model);
    coalesceWrites(model);
    readIncoming();
    assert.deepEqual(events, ['cork', 'frames written while corked', 'uncork']);
  });

  it('leaves a connection of another shape alone and says so', () => {
    assert.equal(coalesceWrites(undefined), false);
    assert.equal(coalesceWrites({}), false);
    assert.equal(coalesceWrites({ connection: { muxer: {}, stream: { cork() {}, uncork() {} } } }), false);
    assert.equal(coalesceWrites({ connection: { muxer: { _readIncoming() {} }, stream: {} } }), false);
  });

  describe('on a real amqplib connection', function () {
    let conn: Awaited<ReturnType<typeof amqplib.connect>> | undefined;

    before(async function () {
      try {
        conn = await amqplib.connect(AMQP_URL, { timeout: 3000 });
      } catch (err) {
        if (process.env.CI === 'true') throw new Error(`RabbitMQ unreachable and CI=true: ${(err as Error).message}`);
        console.warn(`\n!!! SKIPPING amqp write coalescing against RabbitMQ: ${(err as Error).message} !!!\n`);
        this.skip();
      }
    });

    after(async () => {
      await conn?.close().catch(() => undefined);
    });

    it('finds amqplib internals it expects, and 500 confirmed publishes arrive whole and in order', async () => {
      // If an amqplib upgrade moves these, this test says so instead of the speed silently going.
      assert.equal(coalesceWrites(conn as unknown as AmqplibChannelModel), true);
      const ch = await conn!.createConfirmChannel();
      const queue = `wasl-test-coalesce-${randomBytes(4).toString('hex')}`;
      await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      try {
        const bodies = Array.from({ length: 500 }, (_, i) => Buffer.from(`message ${i} ${'x'.repeat(i % 97)}`));
        await Promise.all(
          bodies.map(
            (body, i) =>
              new Promise<void>((resolve, reject) =>
                ch.sendToQueue(queue, body, { persistent: true, headers: { seq: i } }, (err) => (err ? reject(err) : resolve())),
              ),
          ),
        );
        const received: Buffer[] = [];
        for (;;) {
          const msg = await ch.get(queue, { noAck: true });
          if (!msg) break;
          assert.equal(msg.properties.headers?.seq, received.length);
          received.push(msg.content);
        }
        assert.deepEqual(received, bodies);
      } finally {
        await ch.deleteQueue(queue);
        await ch.close();
      }
    });
  });
});
