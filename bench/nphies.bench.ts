/**
 * `npm run bench:nphies`: claims per second through the NPHIES claim path without Node-RED
 * (engine/nphies/submit.ts, what wasl-nphies-claim runs per message): build the claim-request
 * Bundle, validate it, record the claim in the lifecycle (SQLite), send it through NphiesClient
 * with the durable submission ledger to the NPHIES simulator over HTTP on loopback, and apply
 * the answer (approved) to the lifecycle. Prints a table, then one JSON line (the last line).
 * Asserts nothing: exit 0 whatever the figures, 1 only when the bench itself broke.
 *
 * Each concurrency is the median of BENCH_NPHIES_RUNS (3) runs of BENCH_NPHIES_CLAIMS (500)
 * claims into a fresh store. Knobs: BENCH_NPHIES_CLAIMS, BENCH_NPHIES_RUNS,
 * BENCH_NPHIES_CONCURRENCY (comma list, default 1,8), BENCH_NPHIES_ITEMS (lines per claim, 2).
 * The simulator validates every Bundle too and shares this process (2 cores here): the figure
 * includes its work, so NPHIES itself is not what is measured.
 *
 * Then, in the same run, the same claims THROUGH THE CHANNEL (bench/nphies/channel.ts): the real
 * engine process with a `fhir` source -> queues -> `nphies` claim destination channel pointed at
 * the simulator; claims POSTed as EHR transaction Bundles to /channels/<id>/fhir, timed from each
 * POST until the engine's claim lifecycle says approved. Printed as a second table and under
 * `throughChannel` in the JSON line. Knobs: BENCH_NPHIES_CHANNEL_CLAIMS (300, or
 * BENCH_NPHIES_CLAIMS when that is set), BENCH_NPHIES_CHANNEL_RUNS (3), BENCH_NPHIES_MODE
 * (embedded | production: PostgreSQL + RabbitMQ), BENCH_NPHIES_CHANNEL_PREFETCH (destination
 * queue prefetch; channel default when unset), BENCH_NPHIES_CHANNEL_STALL_S (60: a run gives up
 * when no claim moved this long), BENCH_NPHIES_CHANNEL=off to skip it. Needs a build
 * (dist/engine/main.js).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { logToStderr } from '../common/logger';
import { NphiesClient } from '../connectors/nphies/client';
import { claimLifecycleFor } from '../engine/nphies/lifecycle';
import { submitNphies } from '../engine/nphies/submit';
import { openStore } from '../engine/store';
import { startNphiesSimulator } from '../test/simulators/nphies';
import { claimInput, PARTIES } from '../test/simulators/nphies/requests';
import { validateFhir } from '../transformers/fhir/validate';
import { CHANNEL_ID, measureThroughChannel, type ChannelMode, type ChannelRow } from './nphies/channel';

const num = (name: string, fallback: number): number => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

const CLAIMS = num('BENCH_NPHIES_CLAIMS', 500);
const RUNS = num('BENCH_NPHIES_RUNS', 3);
const ITEMS = num('BENCH_NPHIES_ITEMS', 2);
const CONCURRENCY = (process.env.BENCH_NPHIES_CONCURRENCY ?? '1,8').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
const CHANNEL = !['off', '0', 'false', 'no'].includes((process.env.BENCH_NPHIES_CHANNEL ?? '').toLowerCase());
const CHANNEL_CLAIMS = num('BENCH_NPHIES_CHANNEL_CLAIMS', num('BENCH_NPHIES_CLAIMS', 300));
const CHANNEL_RUNS = num('BENCH_NPHIES_CHANNEL_RUNS', 3);
const CHANNEL_PREFETCH = Number(process.env.BENCH_NPHIES_CHANNEL_PREFETCH) > 0 ? Number(process.env.BENCH_NPHIES_CHANNEL_PREFETCH) : undefined;
const CHANNEL_STALL_MS = num('BENCH_NPHIES_CHANNEL_STALL_S', 60) * 1000;
const MODE: ChannelMode = process.env.BENCH_NPHIES_MODE === 'production' ? 'production' : 'embedded';
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Run {
  ms: number;
  perSecond: number;
  approved: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
}

interface Row {
  concurrency: number;
  runs: Run[];
  medianPerSecond: number;
  medianP50Ms: number;
  medianP95Ms: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;

/** One run: `CLAIMS` new claims, `concurrency` in flight, into a fresh store. */
async function run(processUrl: string, concurrency: number, tag: string): Promise<Run> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-bench-nphies-'));
  const store = await openStore({ dataDir });
  const lifecycle = claimLifecycleFor(store);
  const client = new NphiesClient({ endpoint: { url: processUrl, timeoutMs: 30_000 }, endpointId: 'bench', ledger: lifecycle.ledger, retry: { maxAttempts: 1 } });
  const deps = { sender: client, lifecycle, parties: PARTIES, actor: 'bench' };
  const latencies: number[] = [];
  let approved = 0;
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < CLAIMS) {
      const i = next++;
      const t0 = performance.now();
      try {
        const out = await submitNphies('claim', { payload: claimInput(`B-${tag}-${i}`, ITEMS), seed: `${tag}:${i}` }, deps);
        if (out.claim?.state === 'approved') approved += 1;
        else failed += 1;
      } catch {
        failed += 1;
      }
      latencies.push(performance.now() - t0);
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await client.close();
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  const ms = performance.now() - started;
  return { ms: Math.round(ms), perSecond: round((CLAIMS / ms) * 1000), approved, failed, p50Ms: round(pct(latencies, 50)), p95Ms: round(pct(latencies, 95)) };
}

function table(rows: Row[]): string {
  const head = ['concurrency', 'claims', 'claims/s (median)', 'p50 ms', 'p95 ms', 'runs (/s)', 'failed'];
  const lines = rows.map((r) => [
    String(r.concurrency), String(CLAIMS), String(r.medianPerSecond), String(r.medianP50Ms), String(r.medianP95Ms),
    r.runs.map((x) => x.perSecond).join(' '), String(r.runs.reduce((a, x) => a + x.failed, 0)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

function channelTable(rows: ChannelRow[]): string {
  const head = ['concurrency', 'claims', 'claims/s (median)', 'POST->approved p50 ms', 'p95 ms', 'POSTs/s', 'runs (/s)', 'failed', 'API check'];
  const lines = rows.map((r) => [
    String(r.concurrency), String(CHANNEL_CLAIMS), String(r.medianPerSecond), String(r.medianP50Ms), String(r.medianP95Ms), String(r.medianPostPerSecond),
    r.runs.map((x) => x.perSecond).join(' '), String(r.runs.reduce((a, x) => a + x.failed, 0)), r.runs.every((x) => x.apiCheck) ? 'OK' : 'FAILED',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  // stdout is the table and the JSON line; log lines go to stderr.
  logToStderr();
  log(`bench:nphies: ${CLAIMS} claims x ${RUNS} runs, ${ITEMS} items per claim, concurrency ${CONCURRENCY.join(', ')}`);
  validateFhir({ resourceType: 'Claim' }); // compiles the R4 schema once, outside the timings
  const sim = await startNphiesSimulator({ defaultScenario: 'approved' });
  const rows: Row[] = [];
  try {
    await run(sim.processUrl, 4, 'warm'); // JIT, schema caches, SQLite pages
    for (const concurrency of CONCURRENCY) {
      const runs: Run[] = [];
      for (let r = 0; r < RUNS; r++) {
        const result = await run(sim.processUrl, concurrency, `c${concurrency}r${r}`);
        log(`  concurrency ${concurrency} run ${r + 1}: ${result.perSecond} claims/s (${result.failed} failed)`);
        runs.push(result);
      }
      rows.push({
        concurrency,
        runs,
        medianPerSecond: median(runs.map((x) => x.perSecond)),
        medianP50Ms: median(runs.map((x) => x.p50Ms)),
        medianP95Ms: median(runs.map((x) => x.p95Ms)),
      });
    }
  } finally {
    await sim.close();
  }
  let channelRows: ChannelRow[] = [];
  if (CHANNEL) {
    log(`bench:nphies through the channel: ${CHANNEL_CLAIMS} claims x ${CHANNEL_RUNS} runs, ${ITEMS} items per claim, concurrency ${CONCURRENCY.join(', ')}, ${MODE} mode`);
    channelRows = await measureThroughChannel({
      claims: CHANNEL_CLAIMS, runs: CHANNEL_RUNS, items: ITEMS, concurrency: CONCURRENCY, mode: MODE, prefetch: CHANNEL_PREFETCH, stallMs: CHANNEL_STALL_MS, log,
    });
  }
  process.stdout.write(`\nwithout Node-RED and the queues (build -> validate -> lifecycle -> client -> simulator -> lifecycle):\n${table(rows)}\n`);
  if (CHANNEL) process.stdout.write(`\nthrough the channel (${MODE}: POST /channels/${CHANNEL_ID}/fhir -> queues -> wasl-nphies-claim -> simulator -> lifecycle approved):\n${channelTable(channelRows)}\n`);
  const best = rows.reduce((a, b) => (b.medianPerSecond > a.medianPerSecond ? b : a), rows[0]);
  const bestChannel = channelRows.reduce<ChannelRow | undefined>((a, b) => (!a || b.medianPerSecond > a.medianPerSecond ? b : a), undefined);
  process.stdout.write(`${JSON.stringify({
    bench: 'nphies',
    path: 'build+validate+lifecycle+client(ledger)+simulator+applyResult',
    claims: CLAIMS,
    runs: RUNS,
    itemsPerClaim: ITEMS,
    claimsPerSecond: best?.medianPerSecond ?? 0,
    byConcurrency: Object.fromEntries(rows.map((r) => [r.concurrency, { claimsPerSecond: r.medianPerSecond, p50Ms: r.medianP50Ms, p95Ms: r.medianP95Ms, perRun: r.runs.map((x) => x.perSecond), failed: r.runs.reduce((a, x) => a + x.failed, 0) }])),
    throughChannel: CHANNEL
      ? {
          path: 'POST /channels/<id>/fhir (store+queue) -> router -> queue -> wasl-nphies-claim (wrap+validate+lifecycle+client(ledger)) -> simulator -> lifecycle approved',
          mode: MODE,
          claims: CHANNEL_CLAIMS,
          runs: CHANNEL_RUNS,
          itemsPerClaim: ITEMS,
          claimsPerSecond: bestChannel?.medianPerSecond ?? 0,
          byConcurrency: Object.fromEntries(channelRows.map((r) => [r.concurrency, {
            claimsPerSecond: r.medianPerSecond, p50Ms: r.medianP50Ms, p95Ms: r.medianP95Ms, postsPerSecond: r.medianPostPerSecond,
            perRun: r.runs.map((x) => x.perSecond), failed: r.runs.reduce((a, x) => a + x.failed, 0), apiCheck: r.runs.every((x) => x.apiCheck),
          }])),
        }
      : null,
  })}\n`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench:nphies failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
