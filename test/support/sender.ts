/**
 * An HL7 sender as hospitals run them: N connections, each sends a message and waits for its ACK
 * before the next. Records every ACK by control id; a broken connection ends that connection's
 * run (the caller resends what was not acknowledged), it never throws.
 */
import { MllpClient } from '../../connectors/mllp/client';

export interface Outbound {
  controlId: string;
  text: string;
}

export interface SendResult {
  /** Control id → the ACK's MSA-1 and MSA-2. */
  acks: Map<string, { code: string; ackedId: string; raw: string }>;
  /** Control ids whose send failed (connection lost, timeout). */
  failed: string[];
}

export function parseMsa(ack: string): { code: string; ackedId: string } {
  const msa = ack.split('\r').find((s) => s.startsWith('MSA')) ?? '';
  const fields = msa.split(msa.charAt(3) || '|');
  return { code: fields[1] ?? '', ackedId: fields[2] ?? '' };
}

export async function sendAll(
  port: number,
  messages: Outbound[],
  options: { connections?: number; timeoutMs?: number; onAck?: (count: number) => void } = {},
): Promise<SendResult> {
  const connections = options.connections ?? 4;
  const result: SendResult = { acks: new Map(), failed: [] };
  let next = 0;
  const worker = async () => {
    const client = new MllpClient({ host: '127.0.0.1', port, timeoutMs: options.timeoutMs ?? 20_000 });
    let connected = false;
    // Real senders reconnect; a listener that is restarting refuses connections for a moment.
    for (let tries = 0; tries < 50 && !connected; tries++) {
      try {
        await client.connect();
        connected = true;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    while (connected && next < messages.length) {
      const m = messages[next++];
      try {
        const raw = await client.send(m.text);
        result.acks.set(m.controlId, { ...parseMsa(raw), raw });
        options.onAck?.(result.acks.size);
      } catch {
        result.failed.push(m.controlId);
        break;
      }
    }
    await client.close().catch(() => undefined);
  };
  await Promise.all(Array.from({ length: connections }, worker));
  // Whatever no worker got to is unacknowledged too.
  for (const m of messages.slice(next)) result.failed.push(m.controlId);
  return result;
}
