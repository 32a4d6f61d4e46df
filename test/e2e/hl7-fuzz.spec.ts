/**
 * Fuzz over the wire: 1,000 mutated HL7 v2 messages (test/transformers/hl7v2/fuzz-cases.ts, the
 * same generator as the in-process fuzz) framed and sent to the real engine's MLLP listener
 * (embedded mode, its own data dir and ports) over 4 connections. Every frame must get an answer
 * that parses as an ACK with MSA-1 in table 0008, the process must stay up and answer its API, and
 * its log must hold no "unhandled" error.
 *
 * 0x0B and 0x1C are removed from the payloads: they are MLLP's own framing bytes and cannot occur
 * inside HL7 content, so a payload holding them is two frames (or none), not a bad message.
 *
 * Replay: the seed is in the failure message; FUZZ_SEED=<seed> reruns the same frames, adding
 * FUZZ_CASE=<n> only that one. FUZZ_E2E_CASES sets the count; FUZZ_E2E_LOG=<file> keeps the engine log.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { MllpClient } from '../../connectors/mllp/client';
import { batchMessages, splitHl7Batch } from '../../transformers/hl7v2/batch';
import { parseHl7, readHl7Header } from '../../transformers/hl7v2/parse';
import { startEngineProcess, tempDir, writeTestChannels, type EngineProcess } from '../support/engine-process';
import { describeCase, fuzzCase, fuzzOnlyCase, fuzzSeed } from '../transformers/hl7v2/fuzz-cases';

const CASES = Number(process.env.FUZZ_E2E_CASES) || 1000;
const CONNECTIONS = 4;
const ACK_CODES = new Set(['AA', 'AE', 'AR', 'CA', 'CE', 'CR']);

/**
 * The payload for case i: its bytes (or UTF-8 text) without MLLP framing bytes; undefined when
 * the message asks for no accept ACK in this case (enhanced mode, MSH-15 NE, ER or SU: HL7V2.md
 * §5), since then silence is the right answer and positional matching cannot tell it from a hang.
 * Those are still exercised by the in-process fuzz. Empty frames are skipped too (no message).
 */
function payload(seed: number, i: number): Buffer | undefined {
  const c = fuzzCase(seed, i);
  const raw = c.bytes ? Buffer.from(c.bytes) : Buffer.from(c.text, 'utf8');
  const bytes = Buffer.from(raw.filter((b) => b !== 0x0b && b !== 0x1c));
  // An empty frame carries no message; the listener treats it as nothing to answer.
  if (bytes.length === 0) return undefined;
  // The header as the engine will read it: without the framing bytes (a 0x0B in MSH-2 made one
  // case unreadable here but a valid MSH-15 NE on the wire, rightly unanswered).
  // Text cases were UTF-8 encoded above; byte cases (other charsets) have an ASCII header, and a
  // UTF-8 BOM in front is skipped by the engine as it is here.
  const sent = c.bytes ? bytes.toString('latin1').replace(/^\xEF\xBB\xBF/, '') : bytes.toString('utf8');
  try {
    if (['NE', 'ER', 'SU'].includes(readHl7Header(sent).acceptAckType)) return undefined;
  } catch {
    // unreadable MSH: the engine answers a minimal AR
  }
  return bytes;
}

/**
 * Why an answer is not a proper ACK, or undefined. A batch frame may be answered with an ACK
 * batch (HL7V2.md §9: BHS, ACKs, BTS with a matching count; empty means all accepted).
 */
function checkAck(answer: string): string | undefined {
  try {
    const acks = /^\s*(BHS|FHS)/.test(answer) ? batchMessages(splitHl7Batch(answer)) : [answer];
    for (const ack of acks) {
      const code = parseHl7(ack).get('MSA-1');
      if (!code || !ACK_CODES.has(code)) return `MSA-1 is ${JSON.stringify(code)}`;
    }
    return undefined;
  } catch (err) {
    return `answer is not an ACK: ${(err as Error).message}`;
  }
}

describe('end to end: fuzzed HL7 v2 frames over MLLP (embedded)', function () {
  this.timeout(300_000);
  let engine: EngineProcess | undefined;
  let dataDir: string;

  before(async () => {
    dataDir = tempDir('fuzz');
    const channelsFile = writeTestChannels(dataDir, { id: `fuzz-${randomBytes(4).toString('hex')}`, fhirUrl: 'builtin', maxAttempts: 1 });
    engine = await startEngineProcess({ dataDir, channelsFile });
  });

  after(async () => {
    await engine?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`answers each of ${CASES} mutated frames with an ACK, stays up, logs nothing unhandled`, async () => {
    const e = engine as EngineProcess;
    const seed = fuzzSeed();
    const failures: string[] = [];
    const only = fuzzOnlyCase();
    let next = only ?? 0;
    const end = only === undefined ? CASES : only + 1;
    let answered = 0;
    let skipped = 0;
    const connection = async () => {
      let client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, timeoutMs: 15_000 });
      await client.connect();
      for (let i = next++; i < end; i = next++) {
        const where = describeCase(seed, fuzzCase(seed, i));
        const bytes = payload(seed, i);
        if (!bytes) {
          skipped++;
          continue;
        }
        try {
          const ack = await client.send(bytes);
          answered++;
          const problem = checkAck(ack);
          if (problem) failures.push(`${where}: ${problem}`);
        } catch (err) {
          failures.push(`${where}: no answer: ${(err as Error).message}`);
          // Positional matching is lost after a timeout or close: start a fresh connection.
          await client.close();
          client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, timeoutMs: 15_000 });
          await client.connect();
        }
        if (failures.length >= 20) break;
      }
      await client.close();
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, connection));

    const res = await e.api(`/api/v1/channels`);
    assert.equal(res.status, 200, 'the engine still answers its API');
    await res.body?.cancel();
    if (process.env.FUZZ_E2E_LOG) fs.writeFileSync(process.env.FUZZ_E2E_LOG, e.output());
    const unhandled = e.output().split('\n').filter((l) => /unhandled/i.test(l));
    assert.deepEqual(unhandled.map((l) => l.slice(0, 300)), [], `fuzz seed ${seed}: the engine logged unhandled errors`);
    assert.deepEqual(failures.slice(0, 10), [], `fuzz seed ${seed}: ${failures.length} frame(s) without a proper ACK (${answered} answered, ${skipped} asked for no ACK)`);
  });
});
