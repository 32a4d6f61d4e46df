/**
 * Fuzz: 10,000 mutated fixture messages (flipped bytes, cuts, duplicated delimiters, broken MSH-2,
 * huge fields, stray CR/LF, bad escapes, non-UTF-8 bytes...) through everything that reads HL7 v2
 * from outside: splitHl7Batch, parseHl7 (text and bytes), readHl7Header, Hl7Message.get/getAll on
 * many paths, encode, buildAck and hl7ToFhirTransaction. The only acceptable outcomes are a result
 * or a WaslError (ValidationError); any other exception, or one case taking over a second, fails.
 * Two invariants on top: what parses re-parses from its own encode() to the same segments, and
 * the ACK built for any readable header parses and echoes MSH-10 in MSA-2. The cases live in
 * fuzz-cases.ts.
 *
 * The cases run in a worker thread watched from here: a synchronous infinite loop (or a quadratic
 * blow-up) cannot be timed from inside the thread running it, so a case still running after
 * HANG_MS is reported as hung, the worker is terminated and a new one carries on after it.
 *
 * Seeded and replayable: the seed is in the failure message; `FUZZ_SEED=<seed> npx mocha <this
 * file>` reruns the same cases, adding `FUZZ_CASE=<n>` only that one. FUZZ_CASES sets the count.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fuzzOnlyCase, fuzzSeed, type FuzzWorkerEvent } from './fuzz-cases';

const CASES = Number(process.env.FUZZ_CASES) || 10_000;
// Limits that catch hangs and quadratic blow-ups (a 50k-repetition field once took minutes), not
// speed (bench:hl7 measures that): a 400 KB case mapped once takes ~0.7 s on a busy 2-core machine.
const MAX_CASE_MS = 3000;
/** Past this the worker is terminated: the case counts as hung (it is over MAX_CASE_MS anyway). */
const HANG_MS = 6000;
/** Stop after this many failures: the first few say enough. */
const MAX_FAILURES = 10;
const CASES_MODULE = path.join(__dirname, 'fuzz-cases.ts');

interface Failure {
  line: string;
  error: string;
}

/** Runs cases [from, to) in a worker; resolves with the failures and the index to resume at (to when done). */
function runWorker(seed: number, from: number, to: number, failures: Failure[]): Promise<number> {
  // The worker is plain JS that registers tsx (as mocha does here) and loads the TypeScript cases.
  const code = `require('tsx/cjs'); require(${JSON.stringify(CASES_MODULE)}).fuzzWorkerMain();`;
  const worker = new Worker(code, { eval: true, workerData: { seed, from, to } });
  return new Promise((resolve, reject) => {
    let current = from;
    let watchdog: NodeJS.Timeout | undefined;
    const finish = (next: number) => {
      clearTimeout(watchdog);
      worker.removeAllListeners();
      void worker.terminate();
      resolve(next);
    };
    worker.on('message', (e: FuzzWorkerEvent) => {
      if (e.type === 'start') {
        current = e.index;
        clearTimeout(watchdog);
        watchdog = setTimeout(() => {
          failures.push({ line: `FUZZ_SEED=${seed} FUZZ_CASE=${current}`, error: `still running after ${HANG_MS} ms: hung (worker terminated)` });
          finish(current + 1);
        }, HANG_MS);
      } else if (e.type === 'done') {
        clearTimeout(watchdog);
        if (e.problem) failures.push({ line: e.line, error: e.problem });
        else if (e.ms > MAX_CASE_MS) failures.push({ line: e.line, error: `took ${e.ms.toFixed(0)} ms (limit ${MAX_CASE_MS})` });
        if (failures.length >= MAX_FAILURES) finish(to);
      } else {
        finish(to);
      }
    });
    worker.once('error', (err) => {
      clearTimeout(watchdog);
      reject(err);
    });
  });
}

describe('transformers/hl7v2 fuzz', function () {
  this.timeout(300_000);
  const seed = fuzzSeed();

  it(`survives ${CASES} mutated messages: a result or a WaslError, each under ${MAX_CASE_MS} ms`, async () => {
    const only = fuzzOnlyCase();
    const from = only ?? 0;
    const to = only === undefined ? CASES : only + 1;
    const failures: Failure[] = [];
    for (let next = from; next < to && failures.length < MAX_FAILURES; ) {
      next = await runWorker(seed, next, to, failures);
    }
    if (failures.length > 0) {
      const shown = failures.slice(0, 5).map((f) => `  ${f.line}\n    ${f.error.split('\n').slice(0, 8).join('\n    ')}`);
      const more = failures.length >= MAX_FAILURES ? ` (stopped at ${MAX_FAILURES})` : '';
      assert.fail(`fuzz seed ${seed}: ${failures.length} failing case(s)${more}; replay with the FUZZ_SEED/FUZZ_CASE shown\n${shown.join('\n')}`);
    }
  });
});
