/**
 * Sender and TLS scenarios of `npm run bench:mllp`, all in this process on loopback:
 *
 * - sender: {@link MllpSender} (MSA-2 matching) against the echo server answering each frame with
 *   its own MSA-2, beside MllpClient (positional matching) on the same server: what the
 *   matching costs. One connection one message at a time (how wasl-mllp-out runs by default),
 *   eight connections, and one connection with eight messages in flight.
 * - tls: the real listener ({@link MllpServer}, trivial handler) over plain TCP and over TLS with a
 *   self-signed certificate made for the run, the same sender loading it, and the time a TLS
 *   connect + handshake takes.
 */
import { toWaslError } from '../../common/errors';
import { startEchoServer } from '../../connectors/mllp/echo-server';
import { MllpSender } from '../../connectors/mllp/sender';
import { MllpServer } from '../../connectors/mllp/server';
import type { MllpTlsOptions } from '../../connectors/mllp/tls';
import { makeCertificate } from '../../test/connectors/mllp/helpers';
import { adtMessage } from '../../test/support/adt';
import { percentile, runLoad, type LoadResult } from './load';

export interface SenderPlan {
  messages: number;
  seconds: number;
}

export interface SenderFigures {
  /** MllpClient (positional) on the matching echo server: the reference. */
  client_c1: LoadResult;
  sender_c1: LoadResult;
  sender_c8: LoadResult;
  /** One connection, maxInFlight 8. */
  sender_pipe8: LoadResult;
}

export interface TlsFigures {
  listener_plain_c1: LoadResult;
  listener_plain_c8: LoadResult;
  listener_tls_c1: LoadResult;
  listener_tls_c8: LoadResult;
  /** Median TCP connect + TLS handshake to the listener, ms. */
  connect_tls_p50_ms: number;
  connect_plain_p50_ms: number;
}

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const message = (seq: number) => {
  const controlId = `S${seq}`;
  return { controlId, text: adtMessage({ controlId, patientId: `SP${seq}`, visitNumber: `SV${seq}` }) };
};

/**
 * `connections` senders with `maxInFlight` loops each, until `plan.messages` or `plan.seconds`.
 * Every ACK is matched by the sender itself (a mismatch would time out and count as failed).
 */
export async function runSenderLoad(
  port: number,
  connections: number,
  maxInFlight: number,
  plan: SenderPlan,
  tls?: MllpTlsOptions,
): Promise<LoadResult> {
  const senders = Array.from({ length: connections }, () => new MllpSender({ host: '127.0.0.1', port, maxInFlight, tls, logger: silent }));
  await Promise.all(senders.map((s) => s.connect()));
  const latencies: number[] = [];
  const failures: LoadResult['failures'] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + plan.seconds * 1000;
  const loop = async (sender: MllpSender) => {
    while (next < plan.messages && performance.now() < deadline) {
      const { text, controlId } = message(next++);
      const t0 = performance.now();
      try {
        await sender.send(text);
        latencies.push(performance.now() - t0);
      } catch (err) {
        failed += 1;
        if (failures.length < 10) failures.push({ controlId, reason: toWaslError(err).code });
      }
    }
  };
  await Promise.all(senders.flatMap((s) => Array.from({ length: maxInFlight }, () => loop(s))));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(senders.map((s) => s.close()));
  latencies.sort((a, b) => a - b);
  return {
    connections,
    ok: latencies.length,
    failed,
    failures,
    seconds,
    msgsPerS: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

export async function benchSender(plan: SenderPlan): Promise<SenderFigures> {
  const echo = await startEchoServer(0, { matchControlId: true });
  try {
    await runSenderLoad(echo.port, 8, 1, { ...plan, messages: Math.min(plan.messages, 2000) }); // JIT warm-up
    const client_c1 = await runLoad({
      port: echo.port,
      connections: 1,
      maxMessages: plan.messages,
      maxMs: plan.seconds * 1000,
      message,
    });
    return {
      client_c1,
      sender_c1: await runSenderLoad(echo.port, 1, 1, plan),
      sender_c8: await runSenderLoad(echo.port, 8, 1, plan),
      sender_pipe8: await runSenderLoad(echo.port, 1, 8, plan),
    };
  } finally {
    await echo.close();
  }
}

/** The real listener with a handler that only builds the matching ACK. */
async function startListener(tls?: MllpTlsOptions): Promise<{ port: number; close(): Promise<void> }> {
  const server = new MllpServer({
    port: 0,
    host: '127.0.0.1',
    tls,
    logger: silent,
    handler: async (payload) => {
      const msh = payload.toString('latin1', 0, Math.min(payload.length, 512)).split('\r', 1)[0].split('|');
      return `MSH|^~\\&|WASL|BENCH|||20240101000000||ACK^A01^ACK|A${msh[9]}|P|2.5.1\rMSA|AA|${msh[9]}\r`;
    },
  });
  const port = await server.listen();
  return { port, close: () => server.close() };
}

async function connectTimes(port: number, tls: MllpTlsOptions | undefined, n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const sender = new MllpSender({ host: '127.0.0.1', port, tls, logger: silent });
    const t0 = performance.now();
    await sender.connect();
    times.push(performance.now() - t0);
    await sender.close();
  }
  times.sort((a, b) => a - b);
  return percentile(times, 0.5);
}

export async function benchTls(plan: SenderPlan): Promise<TlsFigures> {
  const cert = await makeCertificate();
  const clientTls: MllpTlsOptions = { ca: cert.cert };
  const plain = await startListener();
  const secure = await startListener({ cert: cert.cert, key: cert.key });
  try {
    await runSenderLoad(secure.port, 8, 1, { ...plan, messages: Math.min(plan.messages, 2000) }, clientTls); // warm-up
    return {
      listener_plain_c1: await runSenderLoad(plain.port, 1, 1, plan),
      listener_plain_c8: await runSenderLoad(plain.port, 8, 1, plan),
      listener_tls_c1: await runSenderLoad(secure.port, 1, 1, plan, clientTls),
      listener_tls_c8: await runSenderLoad(secure.port, 8, 1, plan, clientTls),
      connect_plain_p50_ms: await connectTimes(plain.port, undefined, 30),
      connect_tls_p50_ms: await connectTimes(secure.port, clientTls, 30),
    };
  } finally {
    await plain.close();
    await secure.close();
  }
}

const round = (n: number, digits = 0): number | null => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);
const figures = (r: LoadResult) => ({ msgs_per_s: round(r.msgsPerS), p50_ms: round(r.p50Ms, 3), p99_ms: round(r.p99Ms, 3), failed: r.failed });

/** The JSON summary's `sender` and `tls` parts. */
export function senderSummary(s: SenderFigures | undefined, t: TlsFigures | undefined): Record<string, unknown> {
  return {
    sender: s && {
      client_positional_c1: figures(s.client_c1),
      sender_c1: figures(s.sender_c1),
      sender_c8: figures(s.sender_c8),
      sender_pipelined_8: figures(s.sender_pipe8),
      sender_vs_client_c1: s.client_c1.msgsPerS > 0 ? round(s.sender_c1.msgsPerS / s.client_c1.msgsPerS, 3) : null,
    },
    tls: t && {
      listener_plain_c1: figures(t.listener_plain_c1),
      listener_plain_c8: figures(t.listener_plain_c8),
      listener_tls_c1: figures(t.listener_tls_c1),
      listener_tls_c8: figures(t.listener_tls_c8),
      tls_vs_plain_c1: t.listener_plain_c1.msgsPerS > 0 ? round(t.listener_tls_c1.msgsPerS / t.listener_plain_c1.msgsPerS, 3) : null,
      tls_vs_plain_c8: t.listener_plain_c8.msgsPerS > 0 ? round(t.listener_tls_c8.msgsPerS / t.listener_plain_c8.msgsPerS, 3) : null,
      connect_plain_p50_ms: round(t.connect_plain_p50_ms, 2),
      connect_tls_p50_ms: round(t.connect_tls_p50_ms, 2),
    },
  };
}

/** Table lines for the sender and TLS scenarios. */
export function senderTable(s: SenderFigures | undefined, t: TlsFigures | undefined): string {
  const line = (name: string, r: LoadResult) =>
    `${name.padEnd(24)} ${String(r.connections).padStart(5)} ${String(r.ok + r.failed).padStart(7)} ${(round(r.msgsPerS) ?? '-').toString().padStart(8)} ${r.p50Ms.toFixed(3).padStart(8)} ${r.p99Ms.toFixed(3).padStart(8)} ${String(r.failed).padStart(6)}`;
  const lines = ['scenario                 conns    msgs   msgs/s   p50 ms   p99 ms failed'];
  if (s) {
    lines.push(
      line('client positional (echo)', s.client_c1),
      line('sender MSA-2 (echo)', s.sender_c1),
      line('sender MSA-2 (echo)', s.sender_c8),
      line('sender 8 in flight', s.sender_pipe8),
    );
  }
  if (t) {
    lines.push(
      line('listener plain', t.listener_plain_c1),
      line('listener plain', t.listener_plain_c8),
      line('listener TLS', t.listener_tls_c1),
      line('listener TLS', t.listener_tls_c8),
      `connect + handshake p50: plain ${t.connect_plain_p50_ms.toFixed(2)} ms, TLS ${t.connect_tls_p50_ms.toFixed(2)} ms`,
    );
  }
  return lines.join('\n');
}
