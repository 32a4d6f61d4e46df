/**
 * `npm run bench:nppes`: NPPES lookups per second through NppesAdapter (NPI check, the shared
 * HTTP client with its cache, JSON parse, record parse) against the NPPES simulator over HTTP on
 * loopback, with the cache cold (every lookup a distinct NPI: one request each) and warm (the
 * same NPIs again: answered from the response cache). Prints a table, then one JSON line (the
 * last line). Asserts nothing: exit 0 whatever the figures, 1 only when the bench itself broke.
 *
 * Each figure is the median of BENCH_NPPES_RUNS (3) runs of BENCH_NPPES_LOOKUPS (1,000) lookups,
 * BENCH_NPPES_CONCURRENCY (8) in flight, each run on a fresh adapter (empty cache). The rate
 * limiter is off here: with NPPES's default of 200 requests per 5 minutes, a cold cache is capped
 * at 0.67 lookups/s whatever the machine (the JSON line says so); the bench measures Wasl's own
 * cost. The simulator shares this process, so its work is in the cold figure.
 */
import { performance } from 'node:perf_hooks';
import { logToStderr } from '../common/logger';
import { NPPES_DEFAULTS, createNppesAdapter } from '../connectors/nppes/client';
import { withCheckDigit } from '../connectors/nppes/npi';
import { startNppesSimulator, type NppesSimulator } from '../test/simulators/nppes/server';

const num = (name: string, fallback: number): number => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
};

const LOOKUPS = num('BENCH_NPPES_LOOKUPS', 1000);
const RUNS = num('BENCH_NPPES_RUNS', 3);
const CONCURRENCY = num('BENCH_NPPES_CONCURRENCY', 8);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Pass {
  ms: number;
  perSecond: number;
  failed: number;
  requests: number;
  p50Ms: number;
  p95Ms: number;
}

interface Run {
  cold: Pass;
  warm: Pass;
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

/** `LOOKUPS` lookups of `npis`, `CONCURRENCY` in flight. */
async function pass(lookup: (npi: string) => Promise<unknown>, npis: string[], sim: NppesSimulator): Promise<Pass> {
  const before = sim.stats.requests;
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < npis.length) {
      const npi = npis[next++];
      const t0 = performance.now();
      try {
        if (!(await lookup(npi))) failed += 1;
      } catch {
        failed += 1;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const ms = performance.now() - started;
  return { ms: Math.round(ms), perSecond: round((npis.length / ms) * 1000), failed, requests: sim.stats.requests - before, p50Ms: round(pct(latencies, 50), 2), p95Ms: round(pct(latencies, 95), 2) };
}

/** One run: a fresh adapter, distinct NPIs (cold), then the same NPIs again (warm). */
async function run(sim: NppesSimulator, tag: number): Promise<Run> {
  const adapter = createNppesAdapter({ id: `bench-${tag}`, baseUrl: sim.url, rateLimit: false, retry: { maxAttempts: 1 } });
  const npis = Array.from({ length: LOOKUPS }, (_, i) => withCheckDigit(String(170_000_000 + tag * LOOKUPS + i)));
  try {
    const lookup = (npi: string) => adapter.lookup(npi);
    const cold = await pass(lookup, npis, sim);
    const warm = await pass(lookup, npis, sim);
    return { cold, warm };
  } finally {
    await adapter.close();
  }
}

function table(rows: [string, Pass[]][]): string {
  const head = ['cache', 'lookups', 'lookups/s (median)', 'p50 ms', 'p95 ms', 'runs (/s)', 'requests/run', 'failed'];
  const lines = rows.map(([name, passes]) => [
    name, String(LOOKUPS), String(median(passes.map((p) => p.perSecond))), String(median(passes.map((p) => p.p50Ms))), String(median(passes.map((p) => p.p95Ms))),
    passes.map((p) => p.perSecond).join(' '), passes.map((p) => p.requests).join(' '), String(passes.reduce((a, p) => a + p.failed, 0)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  // stdout is the table and the JSON line; log lines go to stderr.
  logToStderr();
  log(`bench:nppes: ${LOOKUPS} lookups x ${RUNS} runs, concurrency ${CONCURRENCY}, cache cold then warm`);
  const sim = await startNppesSimulator({ synthesize: true });
  const runs: Run[] = [];
  try {
    await run(sim, 999); // JIT, sockets
    for (let r = 0; r < RUNS; r++) {
      const result = await run(sim, r);
      log(`  run ${r + 1}: cold ${result.cold.perSecond}/s (${result.cold.requests} requests), warm ${result.warm.perSecond}/s (${result.warm.requests} requests)`);
      runs.push(result);
    }
  } finally {
    await sim.close();
  }
  const cold = runs.map((r) => r.cold);
  const warm = runs.map((r) => r.warm);
  process.stdout.write(`\n${table([['cold', cold], ['warm', warm]])}\n`);
  const limit = NPPES_DEFAULTS.rateLimit;
  const summary = (passes: Pass[]) => ({
    lookupsPerSecond: median(passes.map((p) => p.perSecond)),
    p50Ms: median(passes.map((p) => p.p50Ms)),
    p95Ms: median(passes.map((p) => p.p95Ms)),
    perRun: passes.map((p) => p.perSecond),
    requestsPerRun: passes.map((p) => p.requests),
    failed: passes.reduce((a, p) => a + p.failed, 0),
  });
  process.stdout.write(`${JSON.stringify({
    bench: 'nppes',
    path: 'npi-check+adapter(cache)+http+simulator+parse',
    lookups: LOOKUPS,
    runs: RUNS,
    concurrency: CONCURRENCY,
    coldLookupsPerSecond: summary(cold).lookupsPerSecond,
    warmLookupsPerSecond: summary(warm).lookupsPerSecond,
    cold: summary(cold),
    warm: summary(warm),
    rateLimit: { requests: limit.requests, perMs: limit.perMs, coldCeilingPerSecond: round((limit.requests / limit.perMs) * 1000, 2), appliedInBench: false },
  })}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`bench:nppes failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
