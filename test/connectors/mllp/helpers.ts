/**
 * Test helpers for the MLLP connectors: a logger that records every line (to prove no content is
 * logged), a seeded random source, and a promise that can be settled from outside.
 */
import type { MllpLogger } from '../../../connectors/mllp/types';

export interface LogLine {
  level: string;
  message: string;
  meta?: object;
}

/** Records log lines instead of printing them. */
export function captureLogger(): MllpLogger & { lines: LogLine[]; text(): string } {
  const lines: LogLine[] = [];
  const at = (level: string) => (message: string, meta?: object) => {
    lines.push({ level, message, meta });
  };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.meta ?? {})}`).join('\n'),
  };
}

/** mulberry32: small, fast, deterministic PRNG so a failing garbage run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Settles with the rejection of `p`, failing if it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<{ code?: string; kind?: string; name?: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; kind?: string; name?: string };
  }
  throw new Error('expected a rejection');
}

export interface TestCertificate {
  /** PEM private key. */
  key: string;
  /** PEM certificate, self-signed, for `localhost` and 127.0.0.1. */
  cert: string;
  /** A client certificate and key signed by `key` (for mutual TLS), when asked for. */
  clientCert?: string;
  clientKey?: string;
}

/**
 * A self-signed certificate made for the test (selfsigned v5, async), valid for localhost and
 * 127.0.0.1. EC keys: generation takes milliseconds.
 */
export async function makeCertificate(opts: { client?: boolean; cn?: string } = {}): Promise<TestCertificate> {
  const selfsigned = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: opts.cn ?? 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      // cA so that it can also sign the client certificate used for mutual TLS.
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
    clientCertificate: opts.client ? { cn: 'wasl-test-client', keyType: 'ec' } : undefined,
  });
  return { key: pems.private, cert: pems.cert, clientCert: pems.clientcert, clientKey: pems.clientprivate };
}
