/**
 * The through-the-channel half of `npm run bench:nphies` (issue 6): claims posted as FHIR
 * transaction Bundles to a running engine process (dist/engine/main.js, as `npm start`) whose
 * channel is `type: fhir` source -> queue -> router -> queue -> `type: nphies` claim destination
 * (wasl-nphies-claim) pointed at the NPHIES simulator, timed until each claim's lifecycle state is
 * `approved`. So this includes what bench/nphies.bench.ts's node-less figure leaves out: the HTTP
 * intake (validate, store, queue), Node-RED, both queues, and the destination's wrap of the EHR
 * Bundle into a claim-request (connectors/nphies/from-fhir.ts).
 *
 * Mode: embedded (SQLite store + SQLite queues, the default) or, with
 * BENCH_NPHIES_MODE=production, PostgreSQL + RabbitMQ (TEST_DATABASE_URL / TEST_AMQP_URL, as the
 * e2e tests; a fresh schema and fresh queues).
 *
 * When is a claim approved: the engine's own lifecycle rows (nphies_claims +
 * nphies_claim_transitions, engine/nphies/lifecycle.ts) are read from its store every 50 ms (the
 * SQLite file read-only in WAL mode, or the PostgreSQL schema). The approved transition's `at` is
 * the engine's clock (same host), so "POST to approved" is that minus the POST's start, with no
 * polling granularity in it. GET /api/v1/nphies/claims/:id needs the engine's internal claim id,
 * which only the store knows, so it is the after-run check instead: the first and last claim of
 * every run are read back through the API and must say `approved`.
 *
 * One engine serves every run (a warm-up run first, discarded); claims get identifiers unique per
 * run, so runs do not see each other's claims. The simulator runs in this process (2 cores here).
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { startEngineProcess, tempDir, type EngineProcess } from '../../test/support/engine-process';
import { deleteAmqpQueues, freshPostgresSchema, reachable, TEST_AMQP_URL } from '../../test/support/services';
import { startNphiesSimulator, type NphiesSimulator } from '../../test/simulators/nphies';
import { PARTIES } from '../../test/simulators/nphies/requests';
import { claimTransaction, CLAIM_IDENTIFIER_SYSTEM } from './bundles';

export type ChannelMode = 'embedded' | 'production';

export interface ChannelOptions {
  claims: number;
  runs: number;
  items: number;
  concurrency: number[];
  mode: ChannelMode;
  /** Prefetch of the destination queue (`<channel>.dest.nphies`); absent: the channel default. */
  prefetch?: number;
  /** Give up on a run when no claim moved for this long. */
  stallMs: number;
  log(line: string): void;
}

export interface ChannelRun {
  /** First POST start to the last approval (engine clock). */
  ms: number;
  /** Approved claims per second over `ms`. */
  perSecond: number;
  /** POSTs answered 2xx per second (the intake alone: stored + queued). */
  postPerSecond: number;
  approved: number;
  /** Refused POSTs, claims in another final state, and claims never seen before the stall limit. */
  failed: number;
  p50Ms: number;
  p95Ms: number;
  /** The first and last claim read back through GET /api/v1/nphies/claims/:id said approved. */
  apiCheck: boolean;
}

export interface ChannelRow {
  concurrency: number;
  runs: ChannelRun[];
  medianPerSecond: number;
  medianP50Ms: number;
  medianP95Ms: number;
  medianPostPerSecond: number;
}

export const CHANNEL_ID = 'nphies-bench';
const QUEUES = [`${CHANNEL_ID}.in`, `${CHANNEL_ID}.dest.nphies`];
/** States a claim stops in after its claim-response (queued / pended would wait for a poll). */
const FINAL = ['approved', 'partial', 'rejected', 'queued', 'pended', 'cancelled'];

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return 0;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
export const round = (n: number, d = 1): number => Math.round(n * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const msOf = (at: unknown): number => (at instanceof Date ? at.getTime() : Number(at));

function writeChannels(dir: string, url: string, prefetch: number | undefined): string {
  const file = path.join(dir, 'channels.yaml');
  fs.writeFileSync(
    file,
    `channels:
  - id: ${CHANNEL_ID}
    name: NPHIES claims bench (simulator)
    source:
      type: fhir
    destinations:
      nphies:
        type: nphies
        operation: claim
        url: ${url}
        providerLicense: ${PARTIES.providerLicense}
        payerLicense: ${PARTIES.payerLicense}
        providerEndpoint: ${PARTIES.providerEndpoint}
        retry: { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60000 }
${prefetch ? `        prefetch: ${prefetch}\n` : ''}`,
  );
  return file;
}

interface Env {
  sim: NphiesSimulator;
  engine: EngineProcess;
  store: Knex;
  close(): Promise<void>;
}

async function startEnv(o: ChannelOptions): Promise<Env> {
  const sim = await startNphiesSimulator({ defaultScenario: 'approved' });
  const dataDir = tempDir('bench-nphies-channel');
  const cleanups: Array<() => Promise<void>> = [async () => sim.close()];
  const close = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    let production: { databaseUrl: string; amqpUrl: string } | undefined;
    if (o.mode === 'production') {
      for (const [name, port] of [['PostgreSQL', 5432], ['RabbitMQ', 5672]] as const) {
        if (!(await reachable(port))) throw new Error(`${name} is not reachable on 127.0.0.1:${port}: BENCH_NPHIES_MODE=production needs it`);
      }
      const schema = await freshPostgresSchema();
      cleanups.push(() => schema.drop());
      await deleteAmqpQueues(QUEUES);
      cleanups.push(() => deleteAmqpQueues(QUEUES));
      production = { databaseUrl: schema.url, amqpUrl: TEST_AMQP_URL };
    }
    const engine = await startEngineProcess({
      dataDir,
      channelsFile: writeChannels(dataDir, sim.processUrl, o.prefetch),
      production,
      env: { LOG_LEVEL: 'warn' },
    });
    cleanups.push(() => engine.stop());
    const store = production
      ? knexFactory({ client: 'pg', connection: production.databaseUrl, pool: { min: 0, max: 1 } })
      : knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dataDir, 'wasl.db'), options: { readonly: true } }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
    cleanups.push(() => store.destroy());
    return { sim, engine, store, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The final lifecycle state of every claim of this run (identifier prefix) reached so far. */
async function finals(store: Knex, prefix: string): Promise<Array<{ id: string; value: string; state: string; at: number }>> {
  const rows = (await store('nphies_claim_transitions as t')
    .join('nphies_claims as c', 'c.id', 't.claim_id')
    .where('c.identifier_system', CLAIM_IDENTIFIER_SYSTEM)
    .andWhere('c.identifier_value', 'like', `${prefix}%`)
    .whereIn('t.to_state', FINAL)
    .select('c.id as id', 'c.identifier_value as value', 't.to_state as state', 't.at as at')) as Array<{ id: string; value: string; state: string; at: unknown }>;
  return rows.map((r) => ({ id: r.id, value: r.value, state: r.state, at: msOf(r.at) }));
}

/** One run: `n` claims posted at `concurrency`, timed until each is approved (or the stall limit). */
async function run(env: Env, o: ChannelOptions, n: number, concurrency: number, tag: string): Promise<ChannelRun> {
  const prefix = `CH-${tag}-${Date.now().toString(36)}-`;
  const bodies = Array.from({ length: n }, (_, i) => JSON.stringify(claimTransaction(`${prefix}${i}`, o.items)));
  const url = `${env.engine.baseUrl}/channels/${CHANNEL_ID}/fhir`;
  const postedAt = new Map<string, number>();
  let refused = 0;
  let firstRefusal = '';
  let next = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const started = Date.now();
      try {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' }, body: bodies[i] });
        const text = await res.text();
        if (res.ok) postedAt.set(`${prefix}${i}`, started);
        else {
          refused += 1;
          firstRefusal ||= `HTTP ${res.status} ${text.slice(0, 500)}`;
        }
      } catch (err) {
        refused += 1;
        firstRefusal ||= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const postsMs = Date.now() - t0;
  if (firstRefusal) o.log(`    ${refused} POST(s) refused, first: ${firstRefusal}`);

  // Wait until every accepted claim reached a final state, or nothing moved for `stallMs`.
  let seen = await finals(env.store, prefix);
  let lastCount = seen.length;
  let lastMove = Date.now();
  while (seen.length < postedAt.size && Date.now() - lastMove < o.stallMs) {
    await sleep(50);
    seen = await finals(env.store, prefix);
    if (seen.length !== lastCount) {
      lastCount = seen.length;
      lastMove = Date.now();
    }
  }
  if (seen.length < postedAt.size) {
    o.log(`    stalled: ${seen.length} of ${postedAt.size} claims in a final state after ${o.stallMs} ms without progress; engine output tail:\n${env.engine.output().slice(-2000)}`);
  }
  const approved = seen.filter((c) => c.state === 'approved' && postedAt.has(c.value));
  const latencies = approved.map((c) => c.at - (postedAt.get(c.value) as number));
  const lastAt = approved.length ? Math.max(...approved.map((c) => c.at)) : Date.now();
  const ms = Math.max(lastAt - t0, 1);

  let apiCheck = approved.length > 0;
  const byValue = new Map(approved.map((c) => [c.value, c.id]));
  for (const value of [`${prefix}0`, `${prefix}${n - 1}`]) {
    const id = byValue.get(value);
    if (!id) {
      apiCheck = false;
      continue;
    }
    const res = await env.engine.api(`/api/v1/nphies/claims/${encodeURIComponent(id)}`);
    const body = (await res.json()) as { state?: string; transitions?: Array<{ to: string }> };
    if (!res.ok || body.state !== 'approved') apiCheck = false;
  }
  return {
    ms,
    perSecond: round((approved.length / ms) * 1000),
    postPerSecond: round(((n - refused) / Math.max(postsMs, 1)) * 1000),
    approved: approved.length,
    failed: n - approved.length,
    p50Ms: round(pct(latencies, 50)),
    p95Ms: round(pct(latencies, 95)),
    apiCheck,
  };
}

/** Starts the simulator and the engine, runs the warm-up and every concurrency x run, stops both. */
export async function measureThroughChannel(o: ChannelOptions): Promise<ChannelRow[]> {
  const started = performance.now();
  const env = await startEnv(o);
  o.log(`  engine up (${o.mode} mode) in ${Math.round(performance.now() - started)} ms at ${env.engine.baseUrl}, simulator ${env.sim.processUrl}`);
  const rows: ChannelRow[] = [];
  try {
    const warm = await run(env, o, Math.min(o.claims, 50), 4, 'warm'); // JIT, schema caches, queues, store pages
    o.log(`  warm-up: ${warm.approved} approved, ${warm.failed} failed`);
    for (const concurrency of o.concurrency) {
      const runs: ChannelRun[] = [];
      for (let r = 0; r < o.runs; r++) {
        const result = await run(env, o, o.claims, concurrency, `c${concurrency}r${r}`);
        o.log(`  through the channel, concurrency ${concurrency} run ${r + 1}: ${result.perSecond} claims/s approved (POSTs ${result.postPerSecond}/s), p50 ${result.p50Ms} ms, p95 ${result.p95Ms} ms, ${result.failed} failed, API check ${result.apiCheck ? 'OK' : 'FAILED'}`);
        runs.push(result);
      }
      rows.push({
        concurrency,
        runs,
        medianPerSecond: median(runs.map((x) => x.perSecond)),
        medianP50Ms: median(runs.map((x) => x.p50Ms)),
        medianP95Ms: median(runs.map((x) => x.p95Ms)),
        medianPostPerSecond: median(runs.map((x) => x.postPerSecond)),
      });
    }
  } finally {
    await env.close();
  }
  return rows;
}
