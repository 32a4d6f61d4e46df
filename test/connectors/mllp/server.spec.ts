import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { WaslError } from '../../../common/errors';
import { MllpClient } from '../../../connectors/mllp/client';
import { frame } from '../../../connectors/mllp/framer';
import { MllpServer, type MllpServerOptions } from '../../../connectors/mllp/server';
import { captureLogger, deferred, rejectionOf, seededRandom, type Deferred } from './helpers';

/** A marker that must never reach a log line. */
const SECRET = 'PID|1||SECRET-MRN-4711';

const ack = (msg: Buffer): string => `ACK|${msg.toString('utf8')}`;

describe('connectors/mllp/server', () => {
  let server: MllpServer | undefined;
  let clients: MllpClient[] = [];
  let log: ReturnType<typeof captureLogger>;

  beforeEach(() => {
    log = captureLogger();
  });

  afterEach(async () => {
    await Promise.all(clients.map((c) => c.close()));
    clients = [];
    await server?.close();
    server = undefined;
    assert.ok(!log.text().includes('SECRET'), 'message content reached the log');
  });

  async function start(opts: Partial<MllpServerOptions> = {}): Promise<number> {
    server = new MllpServer({ port: 0, host: '127.0.0.1', logger: log, handler: async (m) => ack(m), ...opts });
    return server.listen();
  }

  async function client(port: number, timeoutMs?: number): Promise<MllpClient> {
    const c = new MllpClient({ host: '127.0.0.1', port, timeoutMs });
    clients.push(c);
    await c.connect();
    return c;
  }

  it('answers each frame with the framed handler response', async () => {
    const port = await start();
    const c = await client(port);
    assert.equal(await c.send(`MSH|1\r${SECRET}\r`), `ACK|MSH|1\r${SECRET}\r`);
  });

  it('gives 4 concurrent clients x 250 pipelined messages each their own responses, in order', async () => {
    // Handlers finish out of order: every third message is answered a tick later.
    const port = await start({
      handler: async (m) => {
        const n = Number(m.toString().split('|')[2]);
        if (n % 3 === 0) await new Promise((r) => setImmediate(r));
        return ack(m);
      },
    });
    const cs = await Promise.all([1, 2, 3, 4].map(() => client(port)));
    const results = await Promise.all(
      cs.map((c, ci) =>
        Promise.all(Array.from({ length: 250 }, (_, n) => c.send(`MSH|${ci}|${n}`))),
      ),
    );
    results.forEach((responses, ci) => {
      assert.equal(responses.length, 250);
      responses.forEach((r, n) => assert.equal(r, `ACK|MSH|${ci}|${n}`));
    });
  });

  it('writes responses in frame order when handlers finish in reverse order', async () => {
    const gates: Deferred<void>[] = [];
    const started = deferred<void>();
    const port = await start({
      handler: async (m) => {
        const gate = deferred<void>();
        gates.push(gate);
        if (gates.length === 5) started.resolve();
        await gate.promise;
        return ack(m);
      },
    });
    const c = await client(port);
    const sends = [0, 1, 2, 3, 4].map((n) => c.send(`m${n}`));
    await started.promise;
    for (let k = gates.length - 1; k >= 0; k--) gates[k].resolve();
    assert.deepEqual(await Promise.all(sends), ['ACK|m0', 'ACK|m1', 'ACK|m2', 'ACK|m3', 'ACK|m4']);
  });

  it('keeps order under back-pressure when more frames are pipelined than maxPendingPerConnection', async () => {
    const port = await start({
      maxPendingPerConnection: 4,
      handler: async (m) => {
        await new Promise((r) => setImmediate(r));
        return ack(m);
      },
    });
    const c = await client(port);
    const replies = await Promise.all(Array.from({ length: 200 }, (_, n) => c.send(`p${n}`)));
    assert.deepEqual(replies, Array.from({ length: 200 }, (_, n) => `ACK|p${n}`));
  });

  it('does not crash when a sender resets while its handler is still running', async () => {
    const gate = deferred<void>();
    const entered = deferred<void>();
    const port = await start({
      handler: async (m) => {
        entered.resolve();
        await gate.promise;
        return ack(m);
      },
    });
    const gone = new Promise((resolve) => server!.once('disconnect', resolve));
    const raw = connect(port, '127.0.0.1');
    raw.on('error', () => undefined);
    await once(raw, 'connect');
    raw.write(frame('reset me'));
    await entered.promise;
    raw.resetAndDestroy();
    await gone;
    gate.resolve(); // the ACK now has nowhere to go
    const c = await client(port);
    assert.equal(await c.send('fine'), 'ACK|fine');
  });

  it('answers several frames that arrive in one TCP write', async () => {
    const port = await start();
    const raw = connect(port, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(Buffer.concat([frame('a'), frame('b'), frame('c')]));
    const expected = Buffer.concat([frame('ACK|a'), frame('ACK|b'), frame('ACK|c')]);
    let got = Buffer.alloc(0);
    while (got.length < expected.length) {
      const [chunk] = (await once(raw, 'data')) as [Buffer];
      got = Buffer.concat([got, chunk]);
    }
    assert.deepEqual(got, expected);
    raw.destroy();
  });

  it('closes the connection without a response when the handler throws, and keeps serving others', async () => {
    const errors: WaslError[] = [];
    const port = await start({
      handler: async (m) => {
        if (m.toString().includes('boom')) throw new Error(`cannot store ${m.toString()}`);
        return ack(m);
      },
    });
    server!.on('error', (err) => errors.push(err));
    const a = await client(port);
    const b = await client(port);
    // events.once() rejects on 'error', which this server emits: wait on the listener directly.
    const disconnected = new Promise((resolve) => server!.once('disconnect', resolve));
    const first = a.send('ok1');
    const failing = rejectionOf(a.send(`boom ${SECRET}`));
    const after = rejectionOf(a.send('ok3'));
    assert.equal(await first, 'ACK|ok1', 'the frame before the failure is still answered');
    const e1 = await failing;
    const e3 = await after;
    assert.equal(e1.code, 'TRANSIENT_MLLP_CLOSED');
    assert.equal(e3.code, 'TRANSIENT_MLLP_CLOSED');
    await disconnected;
    assert.equal(await b.send('still'), 'ACK|still');
    assert.ok(errors.some((e) => e.code === 'TRANSIENT_UNEXPECTED'));
    const line = log.lines.find((l) => l.level === 'error');
    assert.ok(line, 'the failure is logged');
    assert.ok(!JSON.stringify(line).includes('cannot store'), 'a non-Wasl error message may quote content');
  });

  it('treats a handler that throws synchronously or resolves with nothing as a failure', async () => {
    let calls = 0;
    const port = await start({
      handler: ((m: Buffer) => {
        calls++;
        if (m.toString() === 'sync') throw new Error('sync');
        return Promise.resolve(undefined);
      }) as unknown as MllpServerOptions['handler'],
    });
    const c1 = await client(port);
    assert.equal((await rejectionOf(c1.send('sync'))).code, 'TRANSIENT_MLLP_CLOSED');
    const c2 = await client(port);
    assert.equal((await rejectionOf(c2.send('nothing'))).code, 'TRANSIENT_MLLP_CLOSED');
    assert.equal(calls, 2);
  });

  it('emits connection, message and disconnect events with ids and sizes', async () => {
    const port = await start();
    const seen: string[] = [];
    server!.on('connection', (i) => seen.push(`connection ${typeof i.connectionId} ${i.remoteAddress}`));
    server!.on('message', (i) => seen.push(`message ${i.bytes}`));
    const connected = once(server!, 'connection');
    const c = await client(port);
    await connected;
    assert.equal(server!.connections, 1);
    await c.send('12345');
    const gone = once(server!, 'disconnect');
    await c.close();
    await gone;
    assert.equal(server!.connections, 0);
    assert.deepEqual(seen, ['connection string 127.0.0.1', 'message 5']);
  });

  it('answers an oversize frame with the onOversize NAK and keeps the connection', async () => {
    const heads: string[] = [];
    const port = await start({
      maxMessageBytes: 64,
      onOversize: (head, info) => {
        heads.push(head.toString().slice(0, 7));
        return `NAK|AR|${info.bytes > 64}`;
      },
    });
    const oversize = once(server!, 'oversize');
    const c = await client(port);
    assert.equal(await c.send(`MSH|^~\\&|${'x'.repeat(1000)}`), 'NAK|AR|true');
    const [event] = (await oversize) as [{ error: WaslError; bytes: number }];
    assert.equal(event.error.code, 'VALIDATION_MLLP_FRAME_TOO_LARGE');
    assert.deepEqual(heads, ['MSH|^~\\']);
    assert.equal(await c.send('small'), 'ACK|small');
  });

  it('closes the connection on an oversize frame when there is no onOversize', async () => {
    const port = await start({ maxMessageBytes: 64 });
    const c = await client(port);
    const before = c.send('small');
    const big = rejectionOf(c.send('y'.repeat(1000)));
    assert.equal(await before, 'ACK|small');
    assert.equal((await big).code, 'TRANSIENT_MLLP_CLOSED');
    const other = await client(port);
    assert.equal(await other.send('next'), 'ACK|next');
  });

  it('closes an idle connection', async () => {
    const port = await start({ idleTimeoutMs: 50 });
    const gone = once(server!, 'disconnect');
    await client(port);
    await gone;
    assert.equal(server!.connections, 0);
  });

  it('refuses connections beyond maxConnections', async () => {
    const port = await start({ maxConnections: 1 });
    const connected = once(server!, 'connection');
    const first = await client(port);
    await connected;
    const second = new MllpClient({ host: '127.0.0.1', port });
    clients.push(second);
    // The kernel completes the handshake, then the server drops the socket: connect may succeed
    // or fail depending on timing, but no message is ever accepted on it.
    const outcome = await second.connect().then(
      () => rejectionOf(second.send('refused')),
      (err: WaslError) => err,
    );
    assert.equal(outcome.kind, 'transient');
    assert.equal(await first.send('kept'), 'ACK|kept');
  });

  it('lets in-flight handlers finish and answer during close, then closes', async () => {
    const gate = deferred<void>();
    const entered = deferred<void>();
    const port = await start({
      handler: async (m) => {
        entered.resolve();
        await gate.promise;
        return ack(m);
      },
    });
    const c = await client(port);
    const reply = c.send('late');
    await entered.promise;
    const closing = server!.close();
    gate.resolve();
    assert.equal(await reply, 'ACK|late');
    await closing;
    await server!.close(); // safe twice
    assert.equal(server!.connections, 0);
  });

  it('rejects the pending sends of a client with TransientError when the server closes', async () => {
    const entered = deferred<void>();
    const port = await start({
      closeGraceMs: 20,
      handler: () => {
        entered.resolve();
        return new Promise<string>(() => undefined); // never answers
      },
    });
    const c = await client(port);
    const sends = [c.send('a'), c.send('b'), c.send('c')].map(rejectionOf);
    await entered.promise;
    await server!.close();
    for (const s of sends) {
      const err = await s;
      assert.equal(err.code, 'TRANSIENT_MLLP_CLOSED');
      assert.equal(err.kind, 'transient');
    }
    assert.ok(log.lines.some((l) => l.level === 'warn' && /grace/.test(l.message)));
  });

  it('survives raw sockets sending random garbage and resets, and keeps serving', async function () {
    let handled = 0;
    const port = await start({
      maxMessageBytes: 512,
      handler: async (m) => {
        handled++;
        return ack(m.subarray(0, 8));
      },
    });
    const rand = seededRandom(20240601);
    // Bytes biased towards the framing bytes so every state of the framer is visited.
    const pick = (): number => {
      const r = rand();
      if (r < 0.05) return 0x0b;
      if (r < 0.1) return 0x1c;
      if (r < 0.15) return 0x0d;
      return Math.floor(rand() * 256);
    };
    const runOne = async (k: number): Promise<void> => {
      const raw: Socket = connect(port, '127.0.0.1');
      raw.on('error', () => undefined); // the server may close on us mid-write
      raw.on('data', () => undefined);
      await once(raw, 'connect');
      const closed = once(raw, 'close');
      for (let chunk = 0; chunk < 40 && !raw.destroyed; chunk++) {
        const size = 1 + Math.floor(rand() * 300);
        const buf = Buffer.alloc(size);
        for (let i = 0; i < size; i++) buf[i] = pick();
        raw.write(buf);
      }
      if (k % 3 === 0) raw.resetAndDestroy(); // ECONNRESET on the server side
      else raw.end();
      await closed;
    };
    for (let round = 0; round < 4; round++) {
      await Promise.all([0, 1, 2, 3, 4].map((k) => runOne(round * 5 + k)));
    }
    const c = await client(port);
    assert.equal(await c.send('after garbage'), 'ACK|after ga');
    assert.ok(handled > 1, 'some garbage formed frames and reached the handler');
  });
});
