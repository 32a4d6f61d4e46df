/**
 * Mutated HL7 v2 inputs for the fuzz tests (test/transformers/hl7v2/fuzz.spec.ts, in process, and
 * test/e2e/hl7-fuzz.spec.ts, over MLLP). Deterministic: case `i` of seed `s` is always the same
 * input, so a failure replays with `FUZZ_SEED=s FUZZ_CASE=i`.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { WaslError } from '../../../common/errors';
import { buildAck } from '../../../transformers/hl7v2/ack';
import { splitHl7Batch } from '../../../transformers/hl7v2/batch';
import { hl7ToFhirTransaction } from '../../../transformers/hl7v2/fhir';
import { parseHl7, readHl7Header, type Hl7Message } from '../../../transformers/hl7v2/parse';
import { hl7Fixture, hl7FixtureNames } from '../fixtures';

/** mulberry32: 32-bit state, good enough spread for picking mutations, and it fits in a few lines. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed from FUZZ_SEED, else a fresh one (printed by the tests so a failure can be replayed). */
export function fuzzSeed(): number {
  const env = process.env.FUZZ_SEED;
  if (env !== undefined && env !== '' && Number.isFinite(Number(env))) return Number(env) >>> 0;
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** FUZZ_CASE, when set: run only that case. */
export function fuzzOnlyCase(): number | undefined {
  const env = process.env.FUZZ_CASE;
  return env === undefined || env === '' ? undefined : Number(env);
}

export interface FuzzCase {
  index: number;
  /** The fixture mutated (name only). */
  source: string;
  /** Mutations applied, in order. */
  mutations: string[];
  /** The input as text; for `bytes` cases, the same bytes read as latin1. */
  text: string;
  /** Set when the case is about raw bytes (non-UTF-8): feed these to byte-taking APIs. */
  bytes?: Uint8Array;
}

type Rng = () => number;
type Mutator = (s: string, r: Rng) => string;

const int = (r: Rng, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)];
const at = (s: string, r: Rng) => int(r, s.length + 1);
const insert = (s: string, i: number, what: string) => s.slice(0, i) + what + s.slice(i);

const DELIMS = ['|', '^', '~', '\\', '&', '#', '\r', '\n'];

/** Each mutation, by name; they take wire text and return wire text. */
const MUTATORS: Record<string, Mutator> = {
  flipChar: (s, r) => {
    if (s.length === 0) return s;
    const i = int(r, s.length);
    return s.slice(0, i) + String.fromCharCode(int(r, 256)) + s.slice(i + 1);
  },
  flipBit: (s, r) => {
    if (s.length === 0) return s;
    const i = int(r, s.length);
    return s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << int(r, 7))) + s.slice(i + 1);
  },
  cut: (s, r) => s.slice(0, at(s, r)),
  cutMiddle: (s, r) => {
    const a = at(s, r);
    return s.slice(0, a) + s.slice(a + int(r, 200));
  },
  dropHead: (s, r) => s.slice(int(r, Math.min(s.length, 12))),
  duplicateDelimiters: (s, r) => {
    let out = s;
    for (let k = 1 + int(r, 5); k > 0; k--) out = insert(out, at(out, r), pick(r, DELIMS).repeat(1 + int(r, 40)));
    return out;
  },
  swapEncodingChars: (s, r) => {
    // MSH-2 is s[4..8): permute, duplicate, shorten, lengthen or blank it.
    if (!s.startsWith('MSH') || s.length < 9) return s;
    const enc = s.slice(4, 8).split('');
    const variants = [
      () => enc.slice().reverse().join(''),
      () => enc[0] + enc[0] + enc[2] + enc[3],
      () => enc.slice(0, int(r, 4)).join(''),
      () => enc.join('') + pick(r, ['#', '|', '^', 'x', '\r']),
      () => pick(r, DELIMS).repeat(4),
      () => '',
      () => String.fromCharCode(int(r, 256), int(r, 256), int(r, 256), int(r, 256)),
    ];
    const fieldSep = pick(r, ['|', '|', '^', '\r', ' ', 'M', '']);
    const newSep = r() < 0.3 ? fieldSep : s.charAt(3);
    return 'MSH' + newSep + pick(r, variants)() + s.slice(8);
  },
  hugeField: (s, r) => {
    const size = pick(r, [5_000, 50_000, 200_000]);
    const unit = pick(r, ['A', '^', '~', '&', '\\', '\\X41\\', '\\F\\', '|', 'é', '"']);
    return insert(s, at(s, r), unit.repeat(Math.ceil(size / unit.length)));
  },
  manySegments: (s, r) => s + `OBX|1|ST|X^Y||${'v'.repeat(int(r, 20))}\r`.repeat(50 + int(r, 300)),
  randomLineBreaks: (s, r) => {
    let out = s;
    for (let k = 1 + int(r, 8); k > 0; k--) out = insert(out, at(out, r), pick(r, ['\r', '\n', '\r\n', '\n\r', '\r\r']));
    return out;
  },
  allLf: (s) => s.replace(/\r/g, '\n'),
  allCrLf: (s) => s.replace(/\r/g, '\r\n'),
  noTerminators: (s) => s.replace(/\r/g, ''),
  badEscapes: (s, r) => {
    let out = s;
    for (let k = 1 + int(r, 4); k > 0; k--) {
      out = insert(out, at(out, r), pick(r, ['\\', '\\X', '\\Xzz\\', '\\X0\\', '\\.br\\', '\\H\\', '\\Z', '\\E\\\\', '\\C2842\\', '\\M2442\\', '\\\\\\']));
    }
    return out;
  },
  segmentIds: (s, r) => {
    const lines = s.split('\r');
    const i = int(r, lines.length);
    const ops = [
      () => (lines[i] = lines[i].toLowerCase()),
      () => (lines[i] = lines[i].slice(0, int(r, 4))),
      () => lines.splice(i, 0, pick(r, ['MSH|^~\\&|A|B', 'BHS|^~\\&', 'FHS|^~\\&', 'BTS|1', 'FTS|x', 'BTS|', 'ZZZ', 'MSH'])),
      () => lines.splice(i, 0, lines[0]),
      () => lines.reverse(),
      () => (lines[i] = ''),
    ];
    pick(r, ops)();
    return lines.join('\r');
  },
  fieldValues: (s, r) => {
    // Replace one field with a value the mappers read specially.
    const parts = s.split('|');
    if (parts.length < 2) return s;
    const i = 1 + int(r, parts.length - 1);
    parts[i] = pick(r, ['', '""', '0', '-1', '99999999999999999999', '2.5.1', '2.9.9', '3.0', 'ADT^A01', 'ORU^R01^ORU_R01', 'ACK', '19000229', '20240230', '2024', '202401011200+2500', '^^^^', '~~~~', '&&&', 'NaN', '1e999', '\u0000', '\uffff', '\ud800']);
    return parts.join('|');
  },
  controlChars: (s, r) => {
    let out = s;
    for (let k = 1 + int(r, 5); k > 0; k--) out = insert(out, at(out, r), String.fromCharCode(pick(r, [0, 1, 7, 8, 9, 11, 12, 27, 28, 127, 0xfeff, 0x2028])));
    return out;
  },
  leadingNoise: (s, r) => pick(r, ['junk\r', '\ufeff', '   ', '\r\n\r\n', '\u000b', 'MSH\r', 'BHS|^~\\&\r']) + s,
  wrapInBatch: (s, r) => {
    const n = int(r, 3);
    return `FHS|^~\\&\rBHS|^~\\&\r${s.replace(/\r?$/, '\r')}BTS|${n}\rFTS|${int(r, 3)}\r`;
  },
  concatenate: (s) => s + (s.endsWith('\r') ? '' : '\r') + s,
};

const MUTATOR_NAMES = Object.keys(MUTATORS);

/** Fixture names and texts, loaded once. */
let corpus: Array<{ name: string; text: string }> | undefined;
export function fuzzCorpus(): Array<{ name: string; text: string }> {
  corpus ??= hl7FixtureNames().map((name) => ({ name, text: hl7Fixture(name) }));
  return corpus;
}

/** Case `index` for `seed`: a fixture with 1 to 3 mutations; about 1 in 12 is handed over as non-UTF-8 bytes. */
export function fuzzCase(seed: number, index: number): FuzzCase {
  const r = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const src = pick(r, fuzzCorpus());
  let text = src.text;
  const mutations: string[] = [];
  for (let k = 1 + int(r, 3); k > 0; k--) {
    const name = pick(r, MUTATOR_NAMES);
    text = MUTATORS[name](text, r);
    mutations.push(name);
  }
  if (r() < 1 / 12) {
    // Raw bytes: UTF-8 of the text with invalid sequences (lone continuation bytes, overlongs,
    // a cut multi-byte character) spliced in.
    const utf8 = Buffer.from(text, 'utf8');
    const junk = [0x80, 0xbf, 0xc0, 0xc1, 0xe2, 0x82, 0xf5, 0xff, 0xfe, 0xed, 0xa0, 0x80];
    const out: number[] = Array.from(utf8);
    for (let k = 1 + int(r, 6); k > 0; k--) out.splice(int(r, out.length + 1), 0, pick(r, junk));
    const bytes = Uint8Array.from(out);
    mutations.push('nonUtf8Bytes');
    return { index, source: src.name, mutations, text: Buffer.from(bytes).toString('latin1'), bytes };
  }
  return { index, source: src.name, mutations, text };
}

/** One line that says how to replay a case (no message content). */
export function describeCase(seed: number, c: FuzzCase): string {
  return `FUZZ_SEED=${seed} FUZZ_CASE=${c.index} (${c.source}: ${c.mutations.join(' + ')}; ${c.text.length} chars)`;
}

// ---------------------------------------------------------------------------------------------
// In-process checks (fuzz.spec.ts runs them in a worker thread, under a watchdog)

const ACK_TIME = new Date(Date.UTC(2025, 0, 1));

/** Paths a mapping reads, plus odd ones (deep, out of range, repeated, Z-segments). */
const PATHS = [
  'MSH-1', 'MSH-2', 'MSH-3', 'MSH-4.1', 'MSH-7', 'MSH-9', 'MSH-9.1', 'MSH-9.2', 'MSH-9.3', 'MSH-10', 'MSH-11', 'MSH-12', 'MSH-12.1',
  'MSH-15', 'MSH-16', 'MSH-18', 'MSH-21[2].1', 'EVN-1', 'EVN-2', 'PID-3', 'PID-3.1', 'PID-3.4', 'PID-3.4.1', 'PID-3[2].1', 'PID-5',
  'PID-5.1', 'PID-5.2', 'PID-5[2].1', 'PID-7', 'PID-8', 'PID-11.5', 'PID-13[3].4', 'PID-29', 'PV1-2', 'PV1-3.1', 'PV1-19',
  'PV1-19.1', 'PV1-44', 'PV1-45', 'OBR-4.2', 'OBR[2]-7', 'OBX-2', 'OBX-3.1', 'OBX-5', 'OBX[2]-5.1', 'OBX[200]-5', 'NTE[3]-3',
  'ZZZ-1', 'MSA-1', 'MSA-2', 'ERR-2', 'IN1[3]-4.1.2', 'PID-99', 'PID-3[99].9.9',
];

/**
 * Runs one case through everything that reads HL7 v2 from outside; returns why it failed (a stack
 * or an invariant), or undefined when every call gave a result or a WaslError.
 */
export function runCase(c: FuzzCase, seed: number): string | undefined {
  const r = prng(seed ^ c.index);
  const allowed = (fn: () => void): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (err) {
      if (err instanceof WaslError) return undefined;
      return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : `threw a non-Error: ${String(err)}`;
    }
  };
  const checks: Array<() => void> = [
    () => void splitHl7Batch(c.text),
    () => void readHl7Header(c.text),
    () => {
      const h = readHl7Header(c.text);
      const ack = parseHl7(buildAck(h, { code: 'AE', controlId: 'ACK1', timestamp: ACK_TIME, errors: [{ code: 102, diagnostic: 'x' }] }));
      assert.equal(ack.get('MSA-1'), 'AE');
      assert.equal(ack.segment('MSA')?.field(2), h.controlId, 'MSA-2 echoes MSH-10 in wire form');
    },
    () => exercise(parseHl7(c.text), r),
  ];
  if (c.bytes) checks.push(() => exercise(parseHl7(c.bytes as Uint8Array), r));
  for (const check of checks) {
    const problem = allowed(check);
    if (problem) return problem;
  }
  return undefined;
}

/** Reads a parsed message every way a flow would, then maps it. */
function exercise(msg: Hl7Message, r: () => number): void {
  for (const p of PATHS) {
    msg.get(p);
    msg.getAll(p);
  }
  const segs = msg.segments();
  for (let k = 0; k < 20 && segs.length > 0; k++) {
    const seg = segs[Math.floor(r() * segs.length)];
    const field = 1 + Math.floor(r() * 30);
    const path = `${field}[${1 + Math.floor(r() * 3)}].${1 + Math.floor(r() * 6)}.${1 + Math.floor(r() * 3)}`;
    seg.get(path);
    seg.getAll(`${field}`);
    void seg.fieldCount;
    msg.get(`${seg.id}[${1 + Math.floor(r() * 3)}]-${field}.${1 + Math.floor(r() * 4)}`);
  }
  const wire = msg.encode();
  const again = parseHl7(wire);
  assert.deepEqual(
    again.segments().map((s) => s.raw),
    segs.map((s) => s.raw),
    'encode() must re-parse to the same segments',
  );
  hl7ToFhirTransaction(msg);
}

/** What the fuzz worker reports per case. */
export type FuzzWorkerEvent =
  | { type: 'start'; index: number }
  | { type: 'done'; index: number; ms: number; problem?: string; line: string }
  | { type: 'end' };

/**
 * Worker-thread entry: runs cases `from` to `to - 1` (workerData `{ seed, from, to }`), posting
 * `start` before each so the parent can tell which case hung when it has to terminate the worker:
 * a synchronous infinite loop cannot be timed from inside the thread that runs it.
 */
export function fuzzWorkerMain(): void {
  const { seed, from, to } = workerData as { seed: number; from: number; to: number };
  const post = (e: FuzzWorkerEvent) => parentPort?.postMessage(e);
  for (let i = from; i < to; i++) {
    const c = fuzzCase(seed, i);
    post({ type: 'start', index: i });
    const t0 = performance.now();
    const problem = runCase(c, seed);
    post({ type: 'done', index: i, ms: performance.now() - t0, problem, line: describeCase(seed, c) });
  }
  post({ type: 'end' });
}
