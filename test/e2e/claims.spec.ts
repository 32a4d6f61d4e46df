/**
 * The claims channel end to end, in the real engine process: staging (PostgreSQL) -> db-poll ->
 * validate -> predict -> price -> sql-out -> production (PostgreSQL), in production mode
 * (PostgreSQL store + RabbitMQ) and in embedded mode (SQLite store + embedded queue). The count
 * check is the guarantee: every staged claim ends exactly once in claims or failed_claims,
 * including after kill -9 of the engine in the middle of the work and a restart.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { generateClaimSet } from '../../scripts/claims/synthetic-claims';
import { claimsDatabases, countClaims, knexFor, loadStaging, waitForAllClaims, writeClaimsChannels, type ClaimsDatabases } from '../support/claims';
import { startEngineProcess, tempDir, type EngineProcess } from '../support/engine-process';
import { deleteAmqpQueues, freshPostgresSchema, requireService, restartLocalPostgres, TEST_AMQP_URL } from '../support/services';

const SECRET = 'e2e-claims-secret-key-0123456789';
const today = new Date().toISOString().slice(0, 10);

interface Setup {
  dbs: ClaimsDatabases;
  staging: Knex;
  production: Knex;
  store?: { url: string; drop(): Promise<void> };
  channel: string;
}

async function setup(productionMode: boolean): Promise<Setup> {
  const dbs = await claimsDatabases();
  const store = productionMode ? await freshPostgresSchema() : undefined;
  return { dbs, staging: knexFor(dbs.stagingUrl), production: knexFor(dbs.productionUrl), store, channel: `claims-${randomBytes(3).toString('hex')}` };
}

async function teardown(s: Setup | undefined, productionMode: boolean): Promise<void> {
  if (!s) return;
  await s.staging.destroy();
  await s.production.destroy();
  await s.dbs.drop();
  await s.store?.drop();
  if (productionMode) await deleteAmqpQueues([`${s.channel}.in`, `${s.channel}.dest.production`]).catch(() => undefined);
}

function start(s: Setup, dataDir: string, productionMode: boolean, opts: { batchSize: number; leaseS?: number }): Promise<EngineProcess> {
  return startEngineProcess({
    dataDir,
    channelsFile: writeClaimsChannels(dataDir, { id: s.channel, batchSize: opts.batchSize, leaseS: opts.leaseS, intervalMs: 100, prefetch: 2 }),
    production: productionMode && s.store ? { databaseUrl: s.store.url, amqpUrl: TEST_AMQP_URL } : undefined,
    env: { CLAIMS_STAGING_URL: s.dbs.stagingUrl, CLAIMS_PRODUCTION_URL: s.dbs.productionUrl, WASL_SECRET_KEY: SECRET },
  });
}

for (const mode of [
  { name: 'production (PostgreSQL store + RabbitMQ)', production: true },
  { name: 'embedded (SQLite store + embedded queue)', production: false },
] as const) {
  describe(`claims channel end to end, ${mode.name}`, function () {
    this.timeout(180_000);
    let s: Setup | undefined;
    let engine: EngineProcess | undefined;

    before(async function () {
      await requireService(this, 'PostgreSQL');
      if (mode.production) await requireService(this, 'RabbitMQ');
    });

    afterEach(async () => {
      await engine?.stop();
      engine = undefined;
      await teardown(s, mode.production);
      s = undefined;
    });

    it('puts every staged claim in production or failed_claims once, with the reasons, and keeps PHI sealed', async () => {
      s = await setup(mode.production);
      const set = generateClaimSet(3000, { seed: 11, invalidRate: 0.05, duplicateRate: 0.01, today });
      await loadStaging(s.staging, set.claims);
      const dir = tempDir('claims-e2e');
      engine = await start(s, dir, mode.production, { batchSize: 500 });
      const counts = await waitForAllClaims(s.staging, s.production, 120_000);
      assert.equal(counts.staged, 3000);
      assert.equal(counts.production + counts.failed, 3000, `production ${counts.production} + failed ${counts.failed}`);
      assert.equal(counts.inBoth, 0);
      // Every planted defect and every duplicate ends in failed_claims (the predictor may hold more).
      assert.ok(counts.failed >= set.invalid.length + set.duplicates.length, `failed ${counts.failed} < planted ${set.invalid.length + set.duplicates.length}`);
      const rules = new Set(((await s.production.raw('SELECT DISTINCT rule FROM failed_claim_reasons')) as { rows: Array<{ rule: string }> }).rows.map((r) => r.rule));
      for (const rule of ['BILLING_NPI_INVALID', 'DUPLICATE_IN_BATCH', 'TOTAL_CHARGE_MISMATCH']) assert.ok(rules.has(rule), `no ${rule} among ${[...rules].join(', ')}`);
      // Staging rows are done once written (the last batch's update follows its commit).
      const until = Date.now() + 10_000;
      while ((await countClaims(s.staging, s.production)).stagingDone < 3000 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await countClaims(s.staging, s.production)).stagingDone, 3000);

      // SECURITY: no member id of a failed claim in clear in failed_claims.
      const failed = (await s.production.raw('SELECT staging_id::text AS id, claim, sealed FROM failed_claims LIMIT 50')) as { rows: Array<{ id: string; claim: string; sealed: string }> };
      const byStaging = new Map(((await s.staging.raw('SELECT id::text AS id, member_id FROM claims_staging')) as { rows: Array<{ id: string; member_id: string | null }> }).rows.map((r) => [r.id, r.member_id]));
      for (const f of failed.rows) {
        const member = byStaging.get(f.id);
        if (member) assert.ok(!f.claim.includes(member) && !f.sealed.includes(member), 'member id in clear in failed_claims');
      }

      // Ops figures: per-stage counts and Prometheus metrics.
      const channels = (await (await engine.api(`/api/v1/channels`)).json()) as { channels: Array<{ id: string; stages?: Record<string, { items: number }> }> };
      const stages = channels.channels.find((c) => c.id === s!.channel)?.stages ?? {};
      for (const stage of ['poll', 'validate', 'predict', 'price', 'write']) assert.ok(stages[stage], `stage ${stage} missing from /api/v1/channels`);
      assert.equal(stages.poll.items, 3000);
      const metrics = await (await fetch(`${engine.baseUrl}/metrics`)).text();
      assert.match(metrics, new RegExp(`wasl_claims_total\\{channel="${s.channel}",outcome="written"\\} ${counts.production}`));
      assert.match(metrics, /wasl_claims_rule_failures_total\{[^}]*rule="BILLING_NPI_INVALID"\}/);
      assert.match(metrics, /wasl_claims_batch_stage_seconds_bucket\{[^}]*stage="write"/);
    });

    it('loses and duplicates nothing when the engine is killed -9 mid-batch and restarted', async () => {
      s = await setup(mode.production);
      const N = 12_000;
      await loadStaging(s.staging, generateClaimSet(N, { seed: 12, invalidRate: 0.02, duplicateRate: 0.005, today }).claims);
      const dir = tempDir('claims-kill');
      // A short lease: rows the dead process had claimed are claimed again soon after the restart.
      engine = await start(s, dir, mode.production, { batchSize: 400, leaseS: 3 });
      const until = Date.now() + 60_000;
      for (;;) {
        const c = await countClaims(s.staging, s.production);
        if (c.batches >= 2 || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await engine.kill9();
      const mid = await countClaims(s.staging, s.production);
      assert.ok(mid.production + mid.failed < N, 'the kill came too late to test anything: everything was already written');
      const inFlight = Number(((await s.staging.raw("SELECT count(*) AS n FROM claims_staging WHERE status = 'in_flight'")) as { rows: Array<{ n: string }> }).rows[0].n);
      engine = await start(s, dir, mode.production, { batchSize: 400, leaseS: 3 });
      const counts = await waitForAllClaims(s.staging, s.production, 120_000);
      assert.equal(counts.production + counts.failed, N, `after restart: production ${counts.production} + failed ${counts.failed} (in flight at the kill: ${inFlight})`);
      assert.equal(counts.inBoth, 0);
      const dupes = (await s.production.raw('SELECT count(*) - count(DISTINCT staging_id) AS n FROM claims')) as { rows: Array<{ n: string }> };
      assert.equal(Number(dupes.rows[0].n), 0);
    });

    it('loses and duplicates nothing when PostgreSQL goes away mid-run (staging, production and, in production mode, the store)', async () => {
      s = await setup(mode.production);
      const N = 30_000;
      await loadStaging(s.staging, generateClaimSet(N, { seed: 13, invalidRate: 0.02, duplicateRate: 0.005, today }).claims);
      // A short lease: a batch whose "done" mark was lost with the connection is claimed again soon.
      engine = await start(s, tempDir('claims-pg-outage'), mode.production, { batchSize: 400, leaseS: 3 });
      const until = Date.now() + 60_000;
      let before = await countClaims(s.staging, s.production);
      while (before.batches < 2 && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
        before = await countClaims(s.staging, s.production);
      }
      await restartLocalPostgres(() => new Promise((r) => setTimeout(r, 3000)));
      assert.ok(before.production + before.failed < N, 'the outage came too late to test anything: everything was already written');
      const counts = await waitForAllClaims(s.staging, s.production, 150_000);
      assert.equal(counts.production + counts.failed, N, `after the outage: production ${counts.production} + failed ${counts.failed}`);
      assert.equal(counts.inBoth, 0);
      const dupes = (await s.production.raw('SELECT count(*) - count(DISTINCT staging_id) AS n FROM claims')) as { rows: Array<{ n: string }> };
      assert.equal(Number(dupes.rows[0].n), 0);
    });
  });
}
