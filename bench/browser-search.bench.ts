/**
 * `npm run bench:browser-search`: message browser search latency at the API, on a store holding
 * BENCH_BROWSER_MESSAGES (1,000,000) messages. The fill is bounded and seeded (BENCH_SEED, 42;
 * bench/browser-search/data.ts): every run on a dialect builds the same rows. SQLite in a temp
 * folder by default; PostgreSQL when BENCH_DATABASE_URL is set (a fresh schema, dropped after).
 *
 * Each query kind runs BENCH_BROWSER_QUERIES (200) times after 20 warm-ups, one at a time, through
 * HTTP on loopback to the real router (engine/server/messages-api.ts, express, keep-alive), so a
 * figure is what a browser page or a script sees minus the network: search by control id, by
 * patient key (MRN), by correlation id, by `key` (any business key, given an MRN), a first page
 * of one channel and status, and a later page of one by cursor (at a random depth).
 *
 * Prints the fill time, each kind's plan (EXPLAIN) and a table; the last line is one JSON object.
 * Asserts nothing: the target (p95 under 50 ms for a business-key search) is printed beside it.
 */
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { logToStderr } from '../common/logger';
import { EngineMetrics } from '../engine/runtime/metrics';
import { Receipts } from '../engine/runtime/receipts';
import type { WaslRuntime } from '../engine/runtime/types';
import { messagesRouter } from '../engine/server/messages-api';
import { KnexMessageStore } from '../engine/store/knex-store';
import { encodeCursor, searchQuery, type MessageSearch } from '../engine/store/search';
import { createTransport } from '../engine/transport';
import { CHANNELS, controlIdOf, idOf, patientKeyOf, receivedAtOf, unit } from './browser-search/data';
import { fillStore } from './browser-search/fill';

const num = (name: string, fallback: number): number => {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : fallback;
};
const MESSAGES = num('BENCH_BROWSER_MESSAGES', 1_000_000);
const QUERIES = num('BENCH_BROWSER_QUERIES', 200);
const WARMUP = 20;
const SEED = num('BENCH_SEED', 42);
const DATABASE_URL = process.env.BENCH_DATABASE_URL;
const TARGET_MS = 50;
const PAGE = 50;
const log = (line: string) => process.stderr.write(`${line}\n`);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
const round = (n: number, d = 2): number => Math.round(n * 10 ** d) / 10 ** d;

interface Kind {
  name: string;
  /** The search for query number q (q counts from 0; the same q gives the same search). */
  search(q: number): MessageSearch;
}

/** Query values come from their own hash stream (salt 100+), so they do not follow the fill's order. */
const pick = (q: number, salt: number): number => Math.floor(unit(SEED, q, 100 + salt) * MESSAGES);

const KINDS: Kind[] = [
  { name: 'controlId', search: (q) => ({ controlId: controlIdOf(pick(q, 1)) }) },
  { name: 'patientKey', search: (q) => ({ patientKey: patientKeyOf(SEED, pick(q, 2), MESSAGES) }) },
  { name: 'correlationId', search: (q) => ({ correlationId: idOf(SEED, pick(q, 3)) }) },
  { name: 'anyKey', search: (q) => ({ key: patientKeyOf(SEED, pick(q, 4), MESSAGES) }) },
  { name: 'channelStatusPage', search: (q) => ({ channel: CHANNELS[q % CHANNELS.length], status: q % 2 ? 'ERROR' : 'SENT', limit: PAGE }) },
  {
    name: 'nextPageByCursor',
    search: (q) => {
      const at = pick(q, 6);
      return { channel: CHANNELS[q % CHANNELS.length], status: q % 2 ? 'ERROR' : 'SENT', limit: PAGE, cursor: encodeCursor(new Date(receivedAtOf(at, MESSAGES)), idOf(SEED, at)) };
    },
  },
];

function toQuery(s: MessageSearch): string {
  return new URLSearchParams(Object.entries(s).map(([k, v]) => [k, String(v)])).toString();
}

async function openStore(): Promise<{ store: KnexMessageStore; size: () => Promise<number>; cleanup: () => Promise<void> }> {
  if (DATABASE_URL) {
    const schema = `wasl_bench_${Math.random().toString(16).slice(2, 10)}`;
    const store = await KnexMessageStore.open({ databaseUrl: DATABASE_URL, schema });
    return {
      store,
      size: async () => Number((await store.knex.raw("select pg_total_relation_size('messages') as n")).rows[0].n),
      cleanup: async () => {
        await store.knex.raw(`drop schema if exists "${schema}" cascade`);
        await store.close();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-bench-browser-'));
  const file = path.join(dir, 'wasl.db');
  const store = await KnexMessageStore.open({ sqliteFile: file });
  return {
    store,
    size: async () => fs.readdirSync(dir).reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0),
    cleanup: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function explain(store: KnexMessageStore, s: MessageSearch): Promise<string> {
  const q = searchQuery(store.knex, store.dialect, s).toSQL();
  if (store.dialect === 'sqlite') {
    const rows: Array<{ detail: string }> = await store.knex.raw(`explain query plan ${q.sql}`, q.bindings as never);
    return rows.map((r) => r.detail).join(' | ');
  }
  const result: { rows: Array<{ 'QUERY PLAN': string }> } = await store.knex.raw(`explain ${q.sql}`, q.bindings as never);
  return result.rows.map((r) => r['QUERY PLAN'].trim()).join(' | ');
}

async function main(): Promise<void> {
  logToStderr();
  const { store, size, cleanup } = await openStore();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-bench-browser-q-'));
  const transport = createTransport({ dataDir });
  let server: ReturnType<express.Express['listen']> | undefined;
  try {
    await store.migrate();
    log(`bench:browser-search: filling ${MESSAGES.toLocaleString('en')} messages into ${store.dialect} (seed ${SEED})`);
    const fillStarted = performance.now();
    let lastLog = 0;
    await fillStore(store, MESSAGES, SEED, (done) => {
      if (performance.now() - lastLog > 5000 || done === MESSAGES) {
        lastLog = performance.now();
        log(`  ${done.toLocaleString('en')} rows, ${Math.round((performance.now() - fillStarted) / 1000)} s`);
      }
    });
    // PostgreSQL plans from statistics; autovacuum would gather them soon after such a load.
    if (store.dialect === 'postgres') await store.knex.raw('analyze messages');
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const bytes = await size();
    log(`  filled in ${round(fillSeconds, 1)} s (${Math.round(MESSAGES / fillSeconds).toLocaleString('en')} rows/s), ${round(bytes / 2 ** 20, 0)} MiB`);

    await transport.start();
    const runtime: WaslRuntime = {
      role: 'all',
      store,
      transport,
      receipts: new Receipts(),
      metrics: new EngineMetrics({ defaultMetrics: false }),
      builtinFhirUrl: 'http://127.0.0.1:1/fhir/R4',
      channelHealth: new Map(),
    };
    const app = express();
    app.use('/api/v1', messagesRouter({ runtime, channels: () => [] }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server!.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/messages`;

    const results: Record<string, { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number; avgRows: number; plan: string }> = {};
    for (const kind of KINDS) {
      const plan = await explain(store, kind.search(0));
      log(`  plan ${kind.name}: ${plan}`);
      const times: number[] = [];
      let rows = 0;
      for (let q = -WARMUP; q < QUERIES; q++) {
        const url = `${base}?${toQuery(kind.search(q + WARMUP))}`;
        const started = performance.now();
        const res = await fetch(url);
        const body = (await res.json()) as { messages?: unknown[] };
        const ms = performance.now() - started;
        if (!res.ok || !Array.isArray(body.messages)) throw new Error(`${kind.name}: HTTP ${res.status}`);
        if (q >= 0) {
          times.push(ms);
          rows += body.messages.length;
        }
      }
      results[kind.name] = { p50Ms: round(pct(times, 50)), p95Ms: round(pct(times, 95)), p99Ms: round(pct(times, 99)), maxMs: round(Math.max(...times)), avgRows: round(rows / QUERIES, 1), plan };
    }

    const header = ['query', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'rows/answer'];
    const lines = Object.entries(results).map(([k, r]) => [k, r.p50Ms, r.p95Ms, r.p99Ms, r.maxMs, r.avgRows].map(String));
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
    const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
    process.stdout.write(`\n${[fmt(header), ...lines.map(fmt)].join('\n')}\n`);

    const keyKinds = ['controlId', 'patientKey', 'correlationId', 'anyKey'];
    const worstKeyP95 = Math.max(...keyKinds.map((k) => results[k].p95Ms));
    process.stdout.write(
      `${JSON.stringify({
        bench: 'browser-search',
        path: 'http(loopback,keep-alive)+express+messages-api+knex+' + store.dialect,
        dialect: store.dialect,
        messages: MESSAGES,
        seed: SEED,
        queriesPerKind: QUERIES,
        pageSize: PAGE,
        fillSeconds: round(fillSeconds, 1),
        fillRowsPerSecond: Math.round(MESSAGES / fillSeconds),
        storeMiB: round(bytes / 2 ** 20, 0),
        kinds: Object.fromEntries(Object.entries(results).map(([k, { plan: _plan, ...r }]) => [k, r])),
        businessKeyP95Ms: worstKeyP95,
        targetMs: TARGET_MS,
        meetsTarget: worstKeyP95 < TARGET_MS,
      })}\n`,
    );
  } finally {
    if (server) await new Promise((resolve) => server!.close(resolve));
    await transport.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (process.env.BENCH_KEEP !== '1') await cleanup();
    else await store.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:browser-search failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
