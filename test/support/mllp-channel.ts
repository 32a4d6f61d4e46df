/**
 * A small MLLP channel for the channel-control, stats and API specs, under
 * node-red-node-test-helper with real parts: wasl-mllp-in -> <ch>.in -> router -> <ch>.dest.lab
 * -> wasl-mllp-out, and a real MLLP receiver on loopback whose answers can be slowed down.
 * Both queues take one message at a time, so a stop finds messages still waiting.
 */
import { MllpClient } from '../../connectors/mllp/client';
import { MllpServer } from '../../connectors/mllp/server';
import { captureLogger } from '../connectors/mllp/helpers';

export const hl7 = (id: string) => `MSH|^~\\&|HIS|HOSP|LAB|LABF|20250101120000||ADT^A01^ADT_A01|${id}|P|2.5.1\rPID|1||MRN-${id}^^^H^MR||DOE^JANE\r`;

/** The nodes of one channel `channel`: MLLP in on `mllpPort`, MLLP out to `receiverPort`. */
export function channelFlow(channel: string, mllpPort: number, receiverPort: number, dest: Record<string, unknown> = {}) {
  const z = `tab-${channel}`;
  const queue = { channel, prefetch: 1, maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 200 };
  return [
    { id: z, type: 'tab', label: channel },
    { id: 'src', z, type: 'wasl-mllp-in', channel, port: mllpPort, host: '127.0.0.1', wires: [['qin']] },
    { id: 'qin', z, type: 'wasl-queue', ...queue, queue: `${channel}.in`, wires: [['rtr']] },
    { id: 'rtr', z, type: 'wasl-router', channel, routes: [{ destination: 'lab', rules: [] }], wires: [['qdst']] },
    { id: 'qdst', z, type: 'wasl-queue', ...queue, queue: `${channel}.dest.lab`, ...dest, wires: [['out']] },
    { id: 'out', z, type: 'wasl-mllp-out', channel, destination: 'lab', host: '127.0.0.1', port: receiverPort, timeoutMs: 5000, wires: [['sent']] },
    { id: 'sent', z, type: 'helper' },
  ];
}

export interface Receiver {
  port: number;
  /** MSH-10 of every frame received, in order (a redelivery shows twice). */
  received: string[];
  /** Wait this long before answering each frame. */
  delayMs: number;
  close(): Promise<void>;
}

/** An MLLP receiver answering AA to everything, after `delayMs`. */
export async function startReceiver(): Promise<Receiver> {
  const rx: Receiver = {
    port: 0,
    received: [],
    delayMs: 0,
    close: () => server.close(),
  };
  const server = new MllpServer({
    port: 0,
    host: '127.0.0.1',
    logger: captureLogger(),
    handler: async (payload) => {
      const id = payload.toString().split('\r')[0].split('|')[9];
      if (rx.delayMs > 0) await new Promise((r) => setTimeout(r, rx.delayMs));
      rx.received.push(id);
      return `MSH|^~\\&|LAB|LABF|HIS|HOSP|20250101120001||ACK^A01^ACK|ACK${id}|P|2.5.1\rMSA|AA|${id}\r`;
    },
  });
  rx.port = await server.listen();
  return rx;
}

/** Sends each message on one connection and returns the MSA-1 codes. */
export async function sendEach(port: number, ids: string[]): Promise<string[]> {
  const client = new MllpClient({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  await client.connect();
  try {
    const codes: string[] = [];
    for (const id of ids) {
      const ack = await client.send(hl7(id));
      codes.push(ack.split('\r').find((s) => s.startsWith('MSA|'))?.split('|')[1] ?? '');
    }
    return codes;
  } finally {
    await client.close();
  }
}

/** Whether a new MLLP connection to `port` is refused (the listener is closed). */
export async function refused(port: number): Promise<boolean> {
  const client = new MllpClient({ host: '127.0.0.1', port, timeoutMs: 2000 });
  try {
    await client.connect();
    await client.close();
    return false;
  } catch {
    return true;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
