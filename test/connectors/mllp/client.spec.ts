import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TransientError } from '../../../common/errors';
import { MllpClient } from '../../../connectors/mllp/client';
import { frame, MllpFramer } from '../../../connectors/mllp/framer';
import { rejectionOf } from './helpers';

/**
 * A wire-level peer with fault injection (Camel's MllpServerResource is the model): `answer`
 * decides, per received frame, what to write back (a Buffer), to stay silent (undefined), or to
 * hang up ('close').
 */
async function fakePeer(
  answer: (payload: string, index: number, socket: Socket) => Buffer | undefined | 'close',
): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const framer = new MllpFramer({ maxMessageBytes: 1 << 20 });
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const e of framer.push(chunk)) {
        if (e.type !== 'message') continue;
        const out = answer(e.payload.toString(), index++, socket);
        if (out === 'close') socket.destroy();
        else if (out) socket.write(out);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('connectors/mllp/client', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
  });

  async function setup(answer: Parameters<typeof fakePeer>[0], timeoutMs?: number, maxMessageBytes?: number) {
    const peer = await fakePeer(answer);
    cleanups.push(peer.close);
    const client = new MllpClient({ host: '127.0.0.1', port: peer.port, timeoutMs, maxMessageBytes });
    cleanups.push(() => client.close());
    return { peer, client };
  }

  it('sends a framed message and resolves with the unframed UTF-8 response', async () => {
    const { client } = await setup((p) => frame(`ACK ${p} ✓`));
    await client.connect();
    assert.equal(client.connected, true);
    assert.equal(await client.send('héllo'), 'ACK héllo ✓');
    assert.equal(await client.send(Buffer.from('buf')), 'ACK buf ✓');
  });

  it('resolves pipelined sends in order, even when responses arrive in one chunk', async () => {
    const held: string[] = [];
    const { client } = await setup((p, _i, socket) => {
      held.push(p);
      if (held.length === 3) socket.write(Buffer.concat(held.map((h) => frame(`R${h}`))));
      return undefined;
    });
    await client.connect();
    assert.deepEqual(await Promise.all([client.send('1'), client.send('2'), client.send('3')]), ['R1', 'R2', 'R3']);
    assert.equal(client.inFlight, 0);
  });

  it('waits for a connect in progress before sending', async () => {
    const { client } = await setup((p) => frame(p));
    const connecting = client.connect();
    const reply = client.send('early');
    await connecting;
    assert.equal(await reply, 'early');
  });

  it('rejects connect with a transient ECONNREFUSED when nobody listens', async () => {
    const peer = await fakePeer(() => undefined);
    await peer.close();
    const client = new MllpClient({ host: '127.0.0.1', port: peer.port });
    const err = await rejectionOf(client.connect());
    assert.ok(err instanceof TransientError);
    assert.equal(err.code, 'TRANSIENT_ECONNREFUSED');
    await client.close();
  });

  it('times out a send with MLLP_TIMEOUT, rejects those behind it, and can reconnect', async () => {
    const { client } = await setup((p) => (p === 'again' ? frame(`ok ${p}`) : undefined), 100);
    await client.connect();
    const slow = rejectionOf(client.send('slow'));
    const behind = rejectionOf(client.send('behind'));
    const timeout = await slow;
    assert.ok(timeout instanceof TransientError);
    assert.equal(timeout.code, 'TRANSIENT_MLLP_TIMEOUT');
    assert.equal((await behind).code, 'TRANSIENT_MLLP_CLOSED');
    assert.equal(client.connected, false);
    await client.connect();
    assert.equal(await client.send('again'), 'ok again');
  });

  it('times out a later send after earlier ones were answered', async () => {
    const { client } = await setup((p, i) => (i === 0 ? frame(p) : undefined), 100);
    await client.connect();
    const first = client.send('first');
    const second = rejectionOf(client.send('second'));
    assert.equal(await first, 'first');
    assert.equal((await second).code, 'TRANSIENT_MLLP_TIMEOUT');
  });

  it('rejects every pending send with MLLP_CLOSED when the peer dies mid-stream', async () => {
    const { client } = await setup((p, i) => (i < 2 ? frame(p) : i === 4 ? 'close' : undefined));
    await client.connect();
    const sends = ['a', 'b', 'c', 'd', 'e', 'f'].map((m) => client.send(m).then((r) => r, (e: unknown) => e));
    const results = await Promise.all(sends);
    assert.deepEqual(results.slice(0, 2), ['a', 'b']);
    for (const r of results.slice(2)) {
      assert.ok(r instanceof TransientError, 'pending sends reject with a TransientError');
      assert.equal(r.code, 'TRANSIENT_MLLP_CLOSED');
    }
    assert.equal((await rejectionOf(client.send('after'))).code, 'TRANSIENT_MLLP_CLOSED');
  });

  it('rejects an oversize response with a ValidationError and reads the next one', async () => {
    const { client } = await setup((p) => frame(p === 'big' ? 'z'.repeat(100) : p), undefined, 16);
    await client.connect();
    const big = rejectionOf(client.send('big'));
    const small = client.send('small');
    const err = await big;
    assert.equal(err.code, 'VALIDATION_MLLP_FRAME_TOO_LARGE');
    assert.equal(await small, 'small');
  });

  it('closes safely twice, before connect, and rejects pending and later sends', async () => {
    const never = new MllpClient({ host: '127.0.0.1', port: 1 });
    await never.close();
    assert.equal((await rejectionOf(never.send('x'))).code, 'TRANSIENT_MLLP_CLOSED');

    const { client } = await setup(() => undefined);
    await client.connect();
    const pending = rejectionOf(client.send('waiting'));
    await Promise.all([client.close(), client.close()]);
    assert.equal((await pending).code, 'TRANSIENT_MLLP_CLOSED');
    assert.equal((await rejectionOf(client.send('late'))).code, 'TRANSIENT_MLLP_CLOSED');
  });
});
