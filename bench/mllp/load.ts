/**
 * The MLLP load generator: N connections, each behaving like a real MLLP sender (send one
 * message, wait for its ACK, send the next), until a message count or a deadline is reached.
 * Measures throughput and per-message ACK latency, and checks every ACK without ever throwing,
 * so a bad run still prints its figures and says what went wrong.
 */
import { MllpClient } from '../../connectors/mllp/client';
import { toWaslError } from '../../common/errors';

export interface LoadOptions {
  port: number;
  connections: number;
  /** Stop after this many messages in total (over all connections)... */
  maxMessages: number;
  /** ...or after this long, whichever comes first. */
  maxMs: number;
  /** Builds message number `seq` (0-based over the whole run) and the MSH-10 it carries. */
  message(seq: number): { text: string; controlId: string };
  /** Returns why an ACK is wrong, or undefined when it is right. Default: accept any reply. */
  check?(ack: string, controlId: string): string | undefined;
}

export interface LoadFailure {
  controlId: string;
  reason: string;
}

export interface LoadResult {
  connections: number;
  /** Round trips that ended with an ACK that passed `check`. */
  ok: number;
  failed: number;
  /** The first few failures, for the report (ids and codes only). */
  failures: LoadFailure[];
  seconds: number;
  msgsPerS: number;
  p50Ms: number;
  p99Ms: number;
}

const KEEP_FAILURES = 10;

/** Runs the load and resolves with its figures; never rejects for a failed send. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const clients = Array.from({ length: o.connections }, () => new MllpClient({ host: '127.0.0.1', port: o.port }));
  // Connect everyone first: the clock measures messages, not TCP handshakes.
  await Promise.all(clients.map((c) => c.connect()));

  const latencies: number[] = [];
  const failures: LoadFailure[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + o.maxMs;
  const fail = (controlId: string, reason: string) => {
    failed += 1;
    if (failures.length < KEEP_FAILURES) failures.push({ controlId, reason });
  };

  const sender = async (client: MllpClient) => {
    while (next < o.maxMessages && performance.now() < deadline) {
      const { text, controlId } = o.message(next++);
      const t0 = performance.now();
      try {
        const ack = await client.send(text);
        const wrong = o.check?.(ack, controlId);
        if (wrong) fail(controlId, wrong);
        else latencies.push(performance.now() - t0);
      } catch (err) {
        fail(controlId, toWaslError(err).code);
        // A timeout or close leaves the connection unusable (positional matching): reconnect
        // once, and give this connection up if that fails too.
        if (!client.connected) {
          try {
            await client.connect();
          } catch (e) {
            fail(controlId, `reconnect failed: ${toWaslError(e).code}`);
            return;
          }
        }
      }
    }
  };
  await Promise.all(clients.map(sender));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.close()));

  latencies.sort((a, b) => a - b);
  return {
    connections: o.connections,
    ok: latencies.length,
    failed,
    failures,
    seconds,
    msgsPerS: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

/** Nearest-rank percentile of an ascending list (NaN when empty). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/**
 * Checks an HL7 ACK: MSA-1 must be AA (or CA) and MSA-2 the control id we sent. The reason
 * names codes only, plus the engine's ERR diagnostic, which by design carries no patient data.
 */
export function checkAck(ack: string, controlId: string): string | undefined {
  const fieldSep = ack.charAt(3) || '|';
  const segments = ack.split(/\r\n|\r|\n/);
  const msa = segments.find((s) => s.startsWith('MSA'))?.split(fieldSep);
  if (!msa) return 'no MSA segment';
  const code = msa[1] ?? '';
  if (code !== 'AA' && code !== 'CA') {
    const err = segments.find((s) => s.startsWith('ERR'))?.split(fieldSep)[8] ?? '';
    return `MSA-1=${code}${err ? ` (${err.slice(0, 100)})` : ''}`;
  }
  if (msa[2] !== controlId) return `MSA-2 mismatch (got ${msa[2] ?? ''})`;
  return undefined;
}
