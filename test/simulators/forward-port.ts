/**
 * The simulators listen on a free port of their own; `serve.ts --port N` puts a plain TCP
 * forwarder on the fixed port in front, so a demo can name a stable URL.
 */
import net from 'node:net';

/** Forwards 127.0.0.1:`port` to the host and port of `targetUrl`; resolves once listening. */
export async function forwardPort(port: number, targetUrl: string): Promise<net.Server> {
  const target = new URL(targetUrl);
  const forwarder = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => forwarder.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  return forwarder;
}
