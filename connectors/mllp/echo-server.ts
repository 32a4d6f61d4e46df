/**
 * Speed baseline for the MLLP benchmark: the same framing as {@link MllpServer}, on bare node:net,
 * answering every frame at once with one fixed ACK. No handler, no ordering, no events, no logs:
 * the gap between this and MllpServer is what the engine's own machinery costs.
 *
 * With `matchControlId`, each ACK's MSA-2 echoes the frame's MSH-10, so a sender that matches
 * ACKs by MSA-2 ({@link MllpSender}) can be measured against it; with `tls`, it listens on node:tls.
 */
import { createServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { frame, MllpFramer } from './framer';
import type { MllpTlsOptions } from './tls';

export interface EchoServerOptions {
  /** Answer each frame with an ACK whose MSA-2 is the frame's MSH-10 (default: one fixed ACK). */
  matchControlId?: boolean;
  /** Listen with TLS (`cert` and `key` required). */
  tls?: MllpTlsOptions;
}

const ACK_HEAD = 'MSH|^~\\&|WASL|ECHO|||20240101000000||ACK|1|P|2.5\rMSA|AA|';

/** An ACK answering `payload`: MSA-2 = its MSH-10 (the 10th `|`-field of the first segment). */
function ackFor(payload: Buffer): Buffer {
  let field = 0;
  let start = -1;
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i];
    if (c === 0x0d) break; // end of MSH
    if (c !== 0x7c) continue;
    field += 1;
    if (field === 9) start = i + 1;
    else if (field === 10) return frame(`${ACK_HEAD}${payload.toString('latin1', start, i)}\r`);
  }
  return ACK;
}

/** A fixed ACK-shaped reply, framed once. */
const ACK = frame('MSH|^~\\&|WASL|ECHO|||20240101000000||ACK|1|P|2.5\rMSA|AA|1\r');

/**
 * Starts the baseline echo server on `port` (0 for a free one) on 127.0.0.1.
 * Resolves with the bound port and a `close` that ends every connection.
 */
export function startEchoServer(port: number, opts: EchoServerOptions = {}): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const framer = new MllpFramer({ maxMessageBytes: 16 * 1024 * 1024 });
    socket.on('data', (chunk: Buffer) => {
      const events = framer.push(chunk);
      if (opts.matchControlId) {
        const acks: Buffer[] = [];
        for (let k = 0; k < events.length; k++) {
          const e = events[k];
          if (e.type === 'message') acks.push(ackFor(e.payload));
        }
        if (acks.length === 1) socket.write(acks[0]);
        else if (acks.length > 1) socket.write(Buffer.concat(acks));
        return;
      }
      let n = 0;
      for (let k = 0; k < events.length; k++) if (events[k].type === 'message') n++;
      if (n === 1) socket.write(ACK);
      else if (n > 1) socket.write(Buffer.concat(new Array<Buffer>(n).fill(ACK)));
    });
    socket.on('error', () => undefined); // a peer reset must not crash the benchmark
    socket.on('close', () => sockets.delete(socket));
  };
  const tls = opts.tls;
  const server = tls ? createTlsServer({ cert: tls.cert, key: tls.key, ca: tls.ca }, onSocket) : createServer({ noDelay: true }, onSocket);
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const bound = (server.address() as { port: number }).port;
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}
