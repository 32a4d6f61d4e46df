import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { readAck } from '../../../connectors/mllp/ack';
import { frame, MllpFramer } from '../../../connectors/mllp/framer';
import { ackError, MllpSender, type MllpSenderOptions } from '../../../connectors/mllp/sender';
import { captureLogger, makeCertificate, rejectionOf, type TestCertificate } from './helpers';

/** An ADT with a patient id that must never reach a log line. */
function adt(controlId: string, type = 'ADT^A01^ADT_A01'): string {
  return `MSH|^~\\&|SND|SF|RCV|RF|20250101120000||${type}|${controlId}|P|2.5.1\rPID|1||SECRET-${controlId}^^^H^MR||DOE^JANE\r`;
}

function controlIdOf(message: string): string {
  return message.split('\r')[0].split('|')[9];
}

/** An ACK for MSH-10 `controlId`: MSA-1 `code`, then any extra segments. */
function ack(controlId: string, code = 'AA', extra: string[] = [], msa3?: string): Buffer {
  const msa = msa3 === undefined ? `MSA|${code}|${controlId}` : `MSA|${code}|${controlId}|${msa3}`;
  return frame([`MSH|^~\\&|RCV|RF|SND|SF|20250101120001||ACK^A01^ACK|ACK-${controlId}|P|2.5.1`, msa, ...extra, ''].join('\r'));
}

interface Peer {
  port: number;
  server: Server;
  /** Connections accepted so far. */
  connections: number;
  /** Every frame received, in order, as text. */
  received: string[];
  close(): Promise<void>;
}

type Answer = (payload: string, socket: Socket, index: number) => Buffer | undefined | 'close';

/**
 * A wire-level MLLP receiver with fault injection: `answer` decides, per frame, what to write
 * back (a Buffer), to stay silent (undefined), or to hang up ('close'). Plain TCP or TLS.
 */
async function fakePeer(answer: Answer, tls?: { key: string; cert: string }): Promise<Peer> {
  const sockets = new Set<Socket>();
  const peer = { connections: 0, received: [] as string[] } as Peer;
  const onSocket = (socket: Socket) => {
    peer.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const framer = new MllpFramer({ maxMessageBytes: 1 << 20 });
    socket.on('data', (chunk: Buffer) => {
      for (const e of framer.push(chunk)) {
        if (e.type !== 'message') continue;
        const text = e.payload.toString();
        peer.received.push(text);
        const out = answer(text, socket, peer.received.length - 1);
        if (out === 'close') socket.destroy();
        else if (out) socket.write(out);
      }
    });
  };
  const server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, onSocket) : createServer(onSocket);
  server.on('tlsClientError', () => undefined);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  peer.port = (server.address() as AddressInfo).port;
  peer.server = server;
  peer.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return peer;
}

describe('connectors/mllp/sender', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
  });

  async function setup(answer: Answer, opts: Partial<MllpSenderOptions> = {}, tls?: TestCertificate) {
    const peer = await fakePeer(answer, tls);
    cleanups.push(peer.close);
    const log = captureLogger();
    const sender = new MllpSender({ host: '127.0.0.1', port: peer.port, timeoutMs: 2000, logger: log, ...opts });
    cleanups.push(() => sender.close());
    return { peer, sender, log };
  }

  it('resolves with the ACK whose MSA-2 equals the MSH-10 sent', async () => {
    const { sender, peer } = await setup((p) => ack(controlIdOf(p), 'AA', [], 'stored'));
    const result = await sender.send(adt('M1'));
    assert.equal(result.code, 'AA');
    assert.equal(result.controlId, 'M1');
    assert.equal(result.text, 'stored');
    assert.match(result.ack, /^MSH\|.*\rMSA\|AA\|M1\|stored\r$/);
    assert.equal(peer.received[0], adt('M1'));
    assert.deepEqual(sender.stats, { sent: 1, acked: 1, nakked: 0, timeouts: 0, late: 0, unmatched: 0, connects: 1 });
  });

  it('accepts CA (enhanced-mode commit accept) as success, and sends a Buffer byte for byte', async () => {
    const { sender, peer } = await setup((p) => ack(controlIdOf(p), 'CA'));
    const bytes = Buffer.from(adt('B1').replace('DOE', 'D\u00d6E'), 'latin1');
    const result = await sender.send(bytes);
    assert.equal(result.code, 'CA');
    assert.equal(Buffer.from(peer.received[0], 'utf8').length > 0, true);
  });

  it('discards an ACK with another MSA-2 and keeps waiting for its own', async () => {
    const discarded: string[] = [];
    const { sender } = await setup((p, socket) => {
      socket.write(ack('SOMEONE-ELSE'));
      setTimeout(() => socket.write(ack(controlIdOf(p))), 20);
      return undefined;
    });
    sender.on('discarded', (d) => discarded.push(`${d.reason}:${d.controlId}`));
    const result = await sender.send(adt('M2'));
    assert.equal(result.controlId, 'M2');
    assert.deepEqual(discarded, ['unmatched:SOMEONE-ELSE']);
    assert.equal(sender.stats.unmatched, 1);
  });

  it('discards a late ACK of a timed-out send and never matches it to the next message', async () => {
    // M1's ACK is held past the timeout; when M2 arrives the peer sends M1's (late) ACK first and,
    // for M2, nothing at all: M2 must time out rather than take M1's answer.
    const { sender, log } = await setup(
      (p, socket) => {
        if (controlIdOf(p) === 'L2') socket.write(ack('L1', 'AA'));
        return undefined;
      },
      { timeoutMs: 150, recycleAfterTimeouts: 5 },
    );
    const discarded: string[] = [];
    sender.on('discarded', (d) => discarded.push(`${d.reason}:${d.controlId}`));
    const first = await rejectionOf(sender.send(adt('L1')));
    assert.equal(first.code, 'TRANSIENT_MLLP_TIMEOUT');
    const second = await rejectionOf(sender.send(adt('L2')));
    assert.equal(second.code, 'TRANSIENT_MLLP_TIMEOUT', 'M1\'s late AA must not answer M2');
    assert.deepEqual(discarded, ['late:L1']);
    assert.equal(sender.stats.late, 1);
    assert.equal(sender.stats.connects, 1, 'the connection stayed open across the timeout');
    assert.doesNotMatch(log.text(), /SECRET|DOE/);
  });

  it('after a late ACK, matches the next message to its own ACK on the same connection', async () => {
    const { sender } = await setup(
      (p, socket) => {
        const id = controlIdOf(p);
        if (id === 'K2') {
          socket.write(Buffer.concat([ack('K1', 'AE'), ack('K2', 'AA')]));
        }
        return undefined;
      },
      { timeoutMs: 150, recycleAfterTimeouts: 5 },
    );
    assert.equal((await rejectionOf(sender.send(adt('K1')))).code, 'TRANSIENT_MLLP_TIMEOUT');
    const result = await sender.send(adt('K2'));
    assert.equal(result.controlId, 'K2');
    assert.equal(result.code, 'AA');
    assert.equal(sender.stats.late, 1);
  });

  it('turns AE into an integration error carrying MSA-1, MSA-3 and the ERR text (v2.5 layout)', async () => {
    const err = 'ERR||PID^1^7|102^Data type error^HL70357|E|||PID-7 birth date is not a valid DT';
    const { sender, log } = await setup((p) => ack(controlIdOf(p), 'AE', [err], 'content error'));
    const e = (await rejectionOf(sender.send(adt('E1')))) as unknown as {
      code: string;
      kind: string;
      message: string;
      details: { msa1: string; msa2: string; msa3: string; errText: string; errors: unknown[]; response: string };
    };
    assert.equal(e.code, 'INTEGRATION_MLLP_NAK');
    assert.equal(e.kind, 'integration');
    assert.equal(e.details.msa1, 'AE');
    assert.equal(e.details.msa2, 'E1');
    assert.equal(e.details.msa3, 'content error');
    assert.equal(e.details.errText, 'PID-7 birth date is not a valid DT');
    assert.deepEqual(e.details.errors, [{ code: '102', severity: 'E', location: 'PID^1^7', text: 'PID-7 birth date is not a valid DT' }]);
    assert.match(e.details.response, /MSA\|AE\|E1/);
    // The message names ids and codes only: the ERR text may quote patient data.
    assert.match(e.message, /AE to MSH-10 E1 \(ERR-3 102\)/);
    assert.doesNotMatch(e.message, /birth date/);
    assert.equal(sender.stats.nakked, 1);
    assert.doesNotMatch(log.text(), /birth date|SECRET/);
  });

  it('reads the ERR-1 layout of v2.4 and earlier, and makes AR an integration error', async () => {
    const { sender } = await setup((p) => ack(controlIdOf(p), 'AR', ['ERR|PID^1^3^204&Unknown key identifier']));
    const e = (await rejectionOf(sender.send(adt('E2')))) as unknown as { code: string; details: { errors: unknown[]; errText: string } };
    assert.equal(e.code, 'INTEGRATION_MLLP_NAK');
    assert.deepEqual(e.details.errors, [{ code: '204', location: 'PID^1^3', text: 'Unknown key identifier' }]);
    assert.equal(e.details.errText, 'Unknown key identifier');
  });

  it('treats CE and CR as integration errors, but AR with ERR-3 207 as a transient "resend later"', async () => {
    const codes: Record<string, string> = { C1: 'CE', C2: 'CR' };
    const { sender } = await setup((p) => {
      const id = controlIdOf(p);
      if (id === 'R1') return ack(id, 'AR', ['ERR||MSH^1|207^Application internal error^HL70357|E']);
      return ack(id, codes[id]);
    });
    assert.equal((await rejectionOf(sender.send(adt('C1')))).code, 'INTEGRATION_MLLP_NAK');
    assert.equal((await rejectionOf(sender.send(adt('C2')))).code, 'INTEGRATION_MLLP_NAK');
    const retry = await rejectionOf(sender.send(adt('R1')));
    assert.equal(retry.code, 'TRANSIENT_MLLP_NAK_RETRY');
    assert.equal(retry.kind, 'transient');
  });

  it('times out as a transient error and recycles a connection that stopped answering', async () => {
    const { sender, peer } = await setup((p) => (controlIdOf(p).startsWith('T') ? undefined : ack(controlIdOf(p))), {
      timeoutMs: 100,
      recycleAfterTimeouts: 1,
    });
    const disconnected = once(sender, 'disconnected');
    const e = await rejectionOf(sender.send(adt('T1')));
    assert.equal(e.code, 'TRANSIENT_MLLP_TIMEOUT');
    assert.equal(e.kind, 'transient');
    const [info] = (await disconnected) as [{ code?: string }];
    assert.equal(info.code, 'MLLP_PEER_UNRESPONSIVE');
    assert.equal(sender.connected, false);
    const ok = await sender.send(adt('OK1'));
    assert.equal(ok.controlId, 'OK1');
    assert.equal(peer.connections, 2);
    assert.equal(sender.stats.timeouts, 1);
  });

  it('reconnects on the next send after the receiver closed the connection', async () => {
    const { sender, peer } = await setup((p, socket) => {
      socket.end(ack(controlIdOf(p))); // answer, then hang up
      return undefined;
    });
    const disconnected = once(sender, 'disconnected');
    assert.equal((await sender.send(adt('C1'))).controlId, 'C1');
    await disconnected;
    assert.equal((await sender.send(adt('C2'))).controlId, 'C2');
    assert.equal(peer.connections, 2);
    assert.equal(sender.stats.connects, 2);
  });

  it('fails a send in flight with MLLP_CLOSED when the receiver drops the connection', async () => {
    const { sender } = await setup(() => 'close');
    const e = await rejectionOf(sender.send(adt('D1')));
    assert.equal(e.code, 'TRANSIENT_MLLP_CLOSED');
  });

  it('refuses to send an ACK (never answer an ACK with an ACK) and sends nothing', async () => {
    const { sender, peer } = await setup((p) => ack(controlIdOf(p)));
    await sender.connect();
    const e = (await rejectionOf(sender.send(adt('A1', 'ACK^A01^ACK')))) as { code?: string; message?: string };
    assert.equal(e.code, 'VALIDATION_MLLP_SEND_ACK');
    assert.match(e.message ?? '', /never answer an ACK with an ACK/);
    const bad = await rejectionOf(sender.send('not hl7'));
    assert.equal(bad.code, 'VALIDATION_HL7_PARSE');
    assert.equal((await sender.send(adt('A2'))).controlId, 'A2');
    assert.deepEqual(peer.received.map(controlIdOf), ['A2']);
  });

  it('never answers what the receiver sends unasked: it is discarded and counted', async () => {
    // Before the ACK, the receiver pushes an unsolicited ADT and a frame that is not HL7.
    const { sender, peer } = await setup((p, socket) => {
      socket.write(frame(adt('UNSOLICITED')));
      socket.write(frame('garbage'));
      return ack(controlIdOf(p));
    });
    const reasons: string[] = [];
    sender.on('discarded', (d) => reasons.push(d.reason));
    assert.equal((await sender.send(adt('U1'))).controlId, 'U1');
    assert.deepEqual(reasons, ['unreadable', 'unreadable']);
    assert.equal(sender.stats.unmatched, 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(peer.received.map(controlIdOf), ['U1'], 'the sender wrote nothing but its message');
  });

  it('sends one message at a time by default, and pipelines with maxInFlight, matching out-of-order ACKs', async () => {
    let open = 0;
    let maxOpen = 0;
    const { sender } = await setup((p, socket) => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      setTimeout(() => {
        open -= 1;
        socket.write(ack(controlIdOf(p)));
      }, 10);
      return undefined;
    });
    const ids = ['S1', 'S2', 'S3'];
    const results = await Promise.all(ids.map((id) => sender.send(adt(id))));
    assert.deepEqual(results.map((r) => r.controlId), ids);
    assert.equal(maxOpen, 1);

    const held: string[] = [];
    const { sender: piped } = await setup(
      (p, socket) => {
        held.push(controlIdOf(p));
        if (held.length === 3) socket.write(Buffer.concat(held.reverse().map((id) => ack(id))));
        return undefined;
      },
      { maxInFlight: 3 },
    );
    const out = await Promise.all(['P1', 'P2', 'P3'].map((id) => piped.send(adt(id))));
    assert.deepEqual(out.map((r) => r.controlId), ['P1', 'P2', 'P3']);
  });

  it('reports a refused connection as transient, then fails fast while backing off', async () => {
    const peer = await fakePeer(() => undefined);
    const port = peer.port;
    await peer.close();
    const sender = new MllpSender({ host: '127.0.0.1', port, timeoutMs: 1000, reconnectInitialMs: 5000, logger: captureLogger() });
    cleanups.push(() => sender.close());
    const first = await rejectionOf(sender.send(adt('X1')));
    assert.equal(first.code, 'TRANSIENT_ECONNREFUSED');
    const second = await rejectionOf(sender.send(adt('X2')));
    assert.equal(second.code, 'TRANSIENT_MLLP_UNAVAILABLE');
  });

  it('close() rejects sends awaiting an ACK and waiting their turn, and is safe twice', async () => {
    const { sender } = await setup(() => undefined);
    const inFlight = rejectionOf(sender.send(adt('W1')));
    const waiting = rejectionOf(sender.send(adt('W2')));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sender.inFlight, 1);
    await Promise.all([sender.close(), sender.close()]);
    assert.equal((await inFlight).code, 'TRANSIENT_MLLP_CLOSED');
    assert.equal((await waiting).code, 'TRANSIENT_MLLP_CLOSED');
    assert.equal((await rejectionOf(sender.send(adt('W3')))).code, 'TRANSIENT_MLLP_CLOSED');
  });

  describe('over TLS', () => {
    let cert: TestCertificate;
    before(async () => {
      cert = await makeCertificate();
    });

    it('sends and matches ACKs to a receiver whose self-signed certificate it trusts', async () => {
      const { sender } = await setup((p) => ack(controlIdOf(p)), { tls: { ca: cert.cert } }, cert);
      assert.equal((await sender.send(adt('TLS1'))).controlId, 'TLS1');
      assert.equal((await sender.send(adt('TLS2'))).controlId, 'TLS2');
    });

    it('checks the certificate against the server name given for SNI', async () => {
      const peer = await fakePeer((p) => ack(controlIdOf(p)), cert);
      cleanups.push(peer.close);
      const good = new MllpSender({ host: '127.0.0.1', port: peer.port, tls: { ca: cert.cert, servername: 'localhost' }, logger: captureLogger() });
      cleanups.push(() => good.close());
      assert.equal((await good.send(adt('N1'))).controlId, 'N1');
      const wrong = new MllpSender({ host: '127.0.0.1', port: peer.port, tls: { ca: cert.cert, servername: 'lab.example.org' }, logger: captureLogger() });
      cleanups.push(() => wrong.close());
      assert.equal((await rejectionOf(wrong.send(adt('N2')))).code, 'TRANSIENT_MLLP_TLS_CERT');
    });

    it('refuses an untrusted certificate with a transient MLLP_TLS_CERT error and sends nothing', async () => {
      // TLS with Node's public CAs only: a self-signed certificate is not among them.
      const { sender, peer } = await setup((p) => ack(controlIdOf(p)), { tls: {} }, cert);
      const e = (await rejectionOf(sender.send(adt('U1')))) as { code?: string; details?: { tlsCode?: string } };
      assert.equal(e.code, 'TRANSIENT_MLLP_TLS_CERT');
      assert.equal(e.details?.tlsCode, 'DEPTH_ZERO_SELF_SIGNED_CERT');
      assert.deepEqual(peer.received, []);
    });

    it('refuses a certificate signed by another CA', async () => {
      const other = await makeCertificate({ cn: 'other' });
      const { sender } = await setup((p) => ack(controlIdOf(p)), { tls: { ca: other.cert } }, cert);
      const e = await rejectionOf(sender.send(adt('U2')));
      assert.equal(e.code, 'TRANSIENT_MLLP_TLS_CERT');
    });

    it('connects without verification only when rejectUnauthorized is false', async () => {
      const { sender } = await setup((p) => ack(controlIdOf(p)), { tls: { rejectUnauthorized: false } }, cert);
      assert.equal((await sender.send(adt('V1'))).controlId, 'V1');
    });

    it('reports a plain-TCP receiver on a TLS connection as a transient error', async () => {
      const { sender } = await setup((p) => ack(controlIdOf(p)), { tls: { ca: cert.cert }, connectTimeoutMs: 500 });
      // The TLS hello gets no answer from a peer waiting for MLLP frames: usually the connect
      // times out; on a loaded machine the peer may drop the connection first (seen in CI), which
      // ends the handshake instead. Either way the sender must call it transient.
      const e = await rejectionOf(sender.send(adt('P1')));
      assert.match(e.code ?? '', /^TRANSIENT_MLLP_(TIMEOUT|TLS_HANDSHAKE)$/);
    });
  });

  describe('ackError and readAck', () => {
    it('returns nothing for AA and CA, and an error naming the code for unknown MSA-1 values', () => {
      const text = (code: string) => `MSH|^~\\&|R|F|S|F|2025||ACK|1|P|2.5\rMSA|${code}|X9\r`;
      assert.equal(ackError(readAck(text('AA'))!, text('AA'), 'h:1'), undefined);
      assert.equal(ackError(readAck(text('CA'))!, text('CA'), 'h:1'), undefined);
      const e = ackError(readAck(text('ZZ'))!, text('ZZ'), 'h:1');
      assert.equal(e?.code, 'INTEGRATION_MLLP_NAK');
      assert.match(e?.message ?? '', /unknown MSA-1/);
    });

    it('reads MSA-2 byte for byte, and nothing from a message without MSA', () => {
      assert.equal(readAck('MSH|^~\\&|R|F|S|F|2025||ACK|1|P|2.5\rMSA|AA|ID\\F\\1\r')?.controlId, 'ID\\F\\1');
      assert.equal(readAck(adt('Z1')), undefined);
      assert.equal(readAck('garbage'), undefined);
    });
  });

});
