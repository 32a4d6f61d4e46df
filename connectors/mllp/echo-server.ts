/**
 * Speed baseline for the MLLP benchmark: the same framing as {@link MllpServer}, on bare node:net,
 * answering every frame at once with one fixed ACK. No handler, no ordering, no events, no logs:
 * the gap between this and MllpServer is what the engine's own machinery costs.
 */
import { createServer, type Socket } from 'node:net';
import { frame, MllpFramer } from './framer';

/** A fixed ACK-shaped reply, framed once. */
const ACK = frame('MSH|^~\\&|WASL|ECHO|||20240101000000||ACK|1|P|2.5\rMSA|AA|1\r');

/**
 * Starts the baseline echo server on `port` (0 for a free one) on 127.0.0.1.
 * Resolves with the bound port and a `close` that ends every connection.
 */
export function startEchoServer(port: number): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    const framer = new MllpFramer({ maxMessageBytes: 16 * 1024 * 1024 });
    socket.on('data', (chunk: Buffer) => {
      const events = framer.push(chunk);
      let n = 0;
      for (let k = 0; k < events.length; k++) if (events[k].type === 'message') n++;
      if (n === 1) socket.write(ACK);
      else if (n > 1) socket.write(Buffer.concat(new Array<Buffer>(n).fill(ACK)));
    });
    socket.on('error', () => undefined); // a peer reset must not crash the benchmark
    socket.on('close', () => sockets.delete(socket));
  });
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
