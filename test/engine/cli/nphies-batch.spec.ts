/**
 * `wasl nphies-batch`: a 1,000-claim NDJSON file against the NPHIES simulator, run in a child
 * process that is killed (SIGKILL) part-way, then resumed through `main()`: every claim is
 * adjudicated exactly once, the results file ends with one line per claim, progress lines go to
 * stderr. Also the progress bar on a terminal and usage errors.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../../engine/cli/index';
import type { CliIo } from '../../../engine/cli/io';
import { processIo } from '../../../engine/cli/io';
import { progressReporter } from '../../../engine/cli/nphies-batch';
import { startNphiesSimulator, type NphiesSimulator } from '../../simulators/nphies';
import { claimsNdjson } from '../nphies/support';

const CHILD = path.join(__dirname, 'nphies-batch-child.ts');

function capture(): { io: CliIo; out(): string; err(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readInput: processIo.readInput },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('wasl nphies-batch', function () {
  this.timeout(180_000);
  let sim: NphiesSimulator;
  let dir: string;
  const saved = { WASL_DATA_DIR: process.env.WASL_DATA_DIR, DATABASE_URL: process.env.DATABASE_URL, NPHIES_URL: process.env.NPHIES_URL };

  before(async () => {
    sim = await startNphiesSimulator();
  });

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasl-nphies-batch-'));
    process.env.WASL_DATA_DIR = dir;
    process.env.NPHIES_URL = sim.processUrl;
    delete process.env.DATABASE_URL;
  });

  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  after(async () => {
    await sim?.close();
  });

  it('resumes a 1,000-claim batch after the process is killed, without submitting any claim twice', async () => {
    const file = path.join(dir, 'claims.ndjson');
    const out = path.join(dir, 'results.ndjson');
    writeFileSync(file, claimsNdjson(1000, 'K'));
    const before = { ...sim.stats, byEvent: { ...sim.stats.byEvent } };

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'nphies-batch', file, '--out', out, '--concurrency', '8'], {
      env: { ...process.env, WASL_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    // Kill it hard once the simulator has adjudicated 300 of its claims.
    await new Promise<void>((resolve, reject) => {
      const t = setInterval(() => {
        if (sim.stats.submissions - before.submissions >= 300) {
          clearInterval(t);
          child.kill('SIGKILL');
          resolve();
        }
        if (child.exitCode !== null) {
          clearInterval(t);
          reject(new Error(`child exited early (${child.exitCode}): ${stderr}`));
        }
      }, 5);
    });
    assert.equal(await exited, 'SIGKILL');
    const atKill = sim.stats.submissions - before.submissions;
    assert.ok(atKill < 1000, `killed after ${atKill}`);

    const c = capture();
    const code = await main(['nphies-batch', file, '--out', out, '--concurrency', '8'], c.io);
    assert.equal(code, 0, c.err());
    const results = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(results.length, 1000);
    assert.equal(new Set(results.map((r) => r.line)).size, 1000);
    assert.ok(results.every((r) => !r.error && r.state === 'approved'), JSON.stringify(results.find((r) => r.error || r.state !== 'approved')));
    assert.ok(results.filter((r) => r.resumed).length >= 290, 'the claims accepted before the kill are not sent again');
    // Each claim adjudicated exactly once, no claim re-sent under a new bundle.
    assert.equal(sim.stats.submissions - before.submissions, 1000);
    assert.equal(sim.stats.duplicates - before.duplicates, 0);
    const claimRequests = (sim.stats.byEvent['claim-request'] ?? 0) - (before.byEvent['claim-request'] ?? 0);
    const resends = sim.stats.resends - before.resends;
    assert.equal(claimRequests - resends, 1000, 'each claim received once as a new submission');
    assert.ok(resends <= 8, `identical resends (answered from the store) at most the in-flight count, saw ${resends}`);
    assert.match(c.err(), /nphies-batch [0-9a-f-]+: 100% 1000\/1000 done 1000 \(resumed \d+\) failed 0 remaining 0/);
  });

  it('draws a progress bar on a terminal and plain lines otherwise', () => {
    const tty = capture();
    const p = { batchId: 'b', total: 10, done: 4, failed: 1, skipped: 0, remaining: 5, rate: 2.5, etaSeconds: 2, elapsedMs: 2000, status: 'running' as const };
    progressReporter(tty.io, true)(p);
    assert.equal(tty.err(), `\r[${'#'.repeat(15)}${'-'.repeat(15)}] 50% 5/10 done 4 (resumed 0) failed 1 remaining 5 2.5/s ETA 2s\u001b[K`);
    const plain = capture();
    progressReporter(plain.io, false)({ ...p, status: 'finished', remaining: 0 });
    assert.match(plain.err(), /^nphies-batch b: 50% /);
  });

  it('exits 2 without NPHIES_URL and 1 for a missing file', async () => {
    delete process.env.NPHIES_URL;
    const file = path.join(dir, 'one.ndjson');
    writeFileSync(file, claimsNdjson(1));
    const c = capture();
    assert.equal(await main(['nphies-batch', file], c.io), 2);
    assert.match(c.err(), /NPHIES_URL is not set/);
    const m = capture();
    assert.equal(await main(['nphies-batch', path.join(dir, 'nope.ndjson')], m.io), 1);
    assert.match(m.err(), /no such file/);
    assert.equal(await main(['nphies-batch', file, '--concurrency', '0'], capture().io), 2);
  });
});
