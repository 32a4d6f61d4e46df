/**
 * `npm run bench:fhir-sync`: Encounters per second for a full Encounter and note sync
 * (connectors/fhir/sync) from the loopback Medplum FHIR server into SQLite, notes in every form
 * (latin-1 text, HTML, XHTML, PDF text layer, URL, Binary, Composition, narrative). Prints a
 * table, then one JSON line (the last line). Asserts nothing.
 *
 * Scenarios, each the median of BENCH_FHIR_SYNC_RUNS (3) runs into a fresh store:
 * - `include`: the server answers `_include`/`_revinclude` (a proxy adds them; Medplum 4.5.2
 *   ignores both), so one request per page brings Patients and notes;
 * - `per-page-search`: plain Medplum, related resources by one OR-search per page and type.
 *   Medplum's in-memory search evaluates each value against every resource, so this one grows
 *   quadratically with the data set: it runs on BENCH_FHIR_SYNC_SEARCH_ENCOUNTERS (500).
 * - `rerun`: an incremental rerun with nothing changed (ms).
 *
 * Knobs: BENCH_FHIR_SYNC_ENCOUNTERS (2000), BENCH_FHIR_SYNC_PAGE (100), BENCH_FHIR_SYNC_RUNS (3).
 * Server and sync share this process (2 cores here): the figure includes the server's own work.
 */
import { logToStderr } from '../common/logger';
import { EncounterSync } from '../connectors/fhir/sync/encounter-sync';
import type { SyncRun } from '../connectors/fhir/sync/types';
import { openSyncStore, readerFor, seed, startSyncServer } from '../test/connectors/fhir/sync/support';

const num = (name: string, fallback: number): number => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

const ENCOUNTERS = num('BENCH_FHIR_SYNC_ENCOUNTERS', 2000);
const SEARCH_ENCOUNTERS = num('BENCH_FHIR_SYNC_SEARCH_ENCOUNTERS', 500);
const PAGE = num('BENCH_FHIR_SYNC_PAGE', 100);
const RUNS = num('BENCH_FHIR_SYNC_RUNS', 3);
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Scenario {
  name: string;
  encounters: number;
  runs: { ms: number; perSecond: number; created: number; failed: number; pages: number }[];
  medianPerSecond: number;
  medianMs: number;
  rerunMs?: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function scenario(name: string, encounters: number, includes: boolean): Promise<Scenario> {
  const server = await startSyncServer({ includes });
  const reader = readerFor(server.proxy.url);
  const runs: Scenario['runs'] = [];
  let rerunMs: number | undefined;
  try {
    await seed(server.fhir.repo, { encounters, files: server.proxy.files, baseUrl: server.proxy.url });
    // Warm-up: pdf.js, html-to-text and the JIT, on a store thrown away.
    {
      const warm = await openSyncStore('sqlite');
      await new EncounterSync({ connectionId: 'warm', reader, store: warm.store }).run({ pageSize: PAGE, since: '2026-01-01T00:00:00Z', until: '2026-01-01T02:00:00Z' });
      await warm.close();
    }
    for (let i = 0; i < RUNS; i++) {
      const target = await openSyncStore('sqlite');
      try {
        const sync = new EncounterSync({ connectionId: `bench-${i}`, reader, store: target.store });
        const t0 = performance.now();
        const run: SyncRun = await sync.run({ pageSize: PAGE });
        const ms = performance.now() - t0;
        runs.push({ ms: Math.round(ms), perSecond: Math.round((run.created / ms) * 1000), created: run.created, failed: run.failed, pages: run.pages });
        log(`  ${name} run ${i + 1}: ${run.created} Encounters in ${Math.round(ms)} ms`);
        if (i === RUNS - 1) {
          const r0 = performance.now();
          await sync.run({ pageSize: PAGE });
          rerunMs = Math.round(performance.now() - r0);
        }
      } finally {
        await target.close();
      }
    }
  } finally {
    await reader.close();
    await server.close();
  }
  return {
    name,
    encounters,
    runs,
    medianPerSecond: median(runs.map((r) => r.perSecond)),
    medianMs: median(runs.map((r) => r.ms)),
    rerunMs,
  };
}

function table(rows: Scenario[]): string {
  const head = ['scenario', 'encounters', 'page', 'median ms', 'Encounters/s', 'runs (/s)', 'rerun ms'];
  const lines = rows.map((r) => [r.name, String(r.encounters), String(PAGE), String(r.medianMs), String(r.medianPerSecond), r.runs.map((x) => x.perSecond).join(' '), String(r.rerunMs ?? '')]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  // stdout is the table and the JSON line; log lines (one per sync run) go to stderr.
  logToStderr();
  log(`bench:fhir-sync: ${ENCOUNTERS} Encounters (per-page search: ${SEARCH_ENCOUNTERS}), page ${PAGE}, ${RUNS} runs`);
  const include = await scenario('include', ENCOUNTERS, true);
  const search = await scenario('per-page-search', SEARCH_ENCOUNTERS, false);
  process.stdout.write(`\n${table([include, search])}\n`);
  process.stdout.write(`${JSON.stringify({
    bench: 'fhir-sync',
    encounters: ENCOUNTERS,
    pageSize: PAGE,
    runs: RUNS,
    encountersPerSecond: include.medianPerSecond,
    include: { medianMs: include.medianMs, perSecond: include.runs.map((r) => r.perSecond), rerunMs: include.rerunMs, failed: include.runs.reduce((a, r) => a + r.failed, 0) },
    perPageSearch: { encounters: SEARCH_ENCOUNTERS, medianMs: search.medianMs, encountersPerSecond: search.medianPerSecond, rerunMs: search.rerunMs },
  })}\n`);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench:fhir-sync failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
