/**
 * The claims stages (validate, predict, price, write) as the nodes run them, with the real rule
 * set, shipped model and fee schedule, and the real PostgreSQL for staging and production.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { openBatch, sealBatch, type ClaimBatch } from '../../../connectors/claims/batch';
import { PostgresProductionWriter } from '../../../connectors/claims/production-pg';
import { ClaimsStaging } from '../../../connectors/claims/staging';
import { PREDICTED_DENIAL_RULE, predictBatch, priceBatch, validateBatch, writeBatch, type PriceDeps } from '../../../engine/claims/stages';
import { cloneClaim, generateClaimSet } from '../../../scripts/claims/synthetic-claims';
import { loadDenialModel, predictDenial, type DenialModel } from '../../../transformers/claims/predict';
import { priceClaim } from '../../../transformers/claims/price';
import type { Claim, RuleFailure } from '../../../transformers/claims/types';
import { compileRuleSet, loadRuleSet, type CompiledRules } from '../../../transformers/claims/validate';
import { pricedRow, CONVERSION_FACTOR, TODAY, countRows, feeSchedule, testSealer, validClaims } from '../../connectors/claims/support';
import { claimsDatabases, countClaims, knexFor, loadStaging, type ClaimsDatabases } from '../../support/claims';
import { requireService } from '../../support/services';

const SOURCE = { table: 'claims_staging', claimedBy: 'test:1', claimedAt: new Date().toISOString() };
const ERROR: RuleFailure = { rule: 'ICD10_FORMAT', severity: 'error', field: 'diagnoses[0]', value: 'E11-9', message: 'bad' };
const WARNING: RuleFailure = { rule: 'TIMELY_FILING', severity: 'warning', field: 'lines[0].serviceFrom', value: '2020-01-01', message: 'old' };

const rulesOf = (batch: ClaimBatch, i: number): string[] => (batch.outcomes[i].failures ?? []).filter((f) => f.severity === 'error').map((f) => f.rule);

describe('engine/claims/stages', function () {
  this.timeout(120_000);
  const sealer = testSealer();
  let rules: CompiledRules;
  let model: DenialModel;
  let priceDeps: PriceDeps;

  before(() => {
    rules = compileRuleSet(loadRuleSet());
    const loaded = loadDenialModel();
    assert.ok(loaded, 'the shipped denial model loads');
    model = loaded;
    priceDeps = { schedule: feeSchedule(), conversionFactor: CONVERSION_FACTOR, useGpci: false };
  });

  describe('predictBatch', () => {
    /** 40 valid claims, then a failed one and a replay, which predict must leave alone. */
    function batchWithDeadClaims(): { batch: ClaimBatch; claims: Claim[] } {
      const claims = validClaims(42, 1, 606);
      const batch = sealBatch('p', SOURCE, claims, sealer);
      batch.outcomes[40].failures = [ERROR];
      batch.outcomes[41].alreadyWritten = true;
      return { batch, claims };
    }

    it('flag: scores every live claim with the model and holds none', () => {
      const { batch, claims } = batchWithDeadClaims();
      const report = predictBatch(batch, { model, sealer, action: 'flag', threshold: 0.01, today: TODAY });
      assert.deepEqual({ items: report.items, failed: report.failed, rules: report.rules }, { items: 40, failed: 0, rules: [] });
      for (let i = 0; i < 40; i++) {
        assert.deepEqual(batch.outcomes[i].prediction, predictDenial(claims[i], model, { threshold: 0.01, today: TODAY }));
        assert.equal(batch.outcomes[i].prediction?.decidedBy, 'model');
        assert.equal(batch.outcomes[i].failures, undefined);
      }
      assert.ok(batch.outcomes.some((o) => o.prediction?.likelyDenied), 'some claims were likely denied, yet none was held');
      assert.equal(batch.outcomes[40].prediction, undefined);
      assert.equal(batch.outcomes[41].prediction, undefined);
      assert.ok(batch.timings.predict >= 0);
    });

    it('hold: a claim scored at or above the threshold fails PREDICTED_DENIAL, the others pass', () => {
      const { batch, claims } = batchWithDeadClaims();
      const scores = claims.slice(0, 40).map((c) => predictDenial(c, model, { today: TODAY }).score);
      const threshold = [...scores].sort((a, b) => a - b)[30]; // about a quarter held
      assert.ok(threshold > 0 && threshold < 1);
      const report = predictBatch(batch, { model, sealer, action: 'hold', threshold, today: TODAY });
      const held = scores.flatMap((s, i) => (s >= threshold ? [i] : []));
      assert.ok(held.length >= 5 && held.length < 40, `${held.length} held`);
      assert.equal(report.items, 40);
      assert.equal(report.failed, held.length);
      assert.deepEqual(report.rules, held.map(() => PREDICTED_DENIAL_RULE));
      for (let i = 0; i < 40; i++) {
        const o = batch.outcomes[i];
        if (held.includes(i)) {
          assert.equal(o.failures?.length, 1);
          const f = o.failures![0];
          assert.deepEqual({ rule: f.rule, severity: f.severity, field: f.field, value: f.value }, { rule: 'PREDICTED_DENIAL', severity: 'error', field: 'claim', value: scores[i].toFixed(3) });
          assert.match(f.message, new RegExp(`score ${scores[i].toFixed(3)} by model `));
        } else {
          assert.equal(o.failures, undefined, `claim ${i} held below the threshold`);
        }
        assert.equal(o.prediction?.likelyDenied, held.includes(i));
      }
      // The failed claim keeps its own reason only; the replay stays untouched.
      assert.deepEqual(batch.outcomes[40].failures, [ERROR]);
      assert.deepEqual(batch.outcomes[41], { alreadyWritten: true });
    });

    it('without a model the rule fallback decides, and says so', () => {
      const { batch } = batchWithDeadClaims();
      predictBatch(batch, { model: undefined, sealer, action: 'flag', today: TODAY });
      for (let i = 0; i < 40; i++) {
        assert.equal(batch.outcomes[i].prediction?.decidedBy, 'rules');
        assert.match(batch.outcomes[i].prediction?.fallbackReason ?? '', /no denial model/);
      }
    });
  });

  describe('priceBatch', () => {
    it('prices live claims, skips failed and replayed ones, and fails an unpriceable one with PRICE_NO_RVU', () => {
      const claims = validClaims(20, 1, 808);
      claims[3].lines[0].procedureCode = '99999'; // CPT-shaped, not in the fee schedule
      const batch = sealBatch('pr', SOURCE, claims, sealer);
      batch.outcomes[0].failures = [ERROR];
      batch.outcomes[1].alreadyWritten = true;
      batch.outcomes[2].failures = [WARNING];
      // Pricing reads the open claim only: a batch it cannot decrypt still prices.
      batch.sealed = 'not-decryptable';
      const report = priceBatch(batch, priceDeps);
      assert.deepEqual({ items: report.items, failed: report.failed, rules: report.rules }, { items: 18, failed: 1, rules: ['PRICE_NO_RVU'] });
      assert.equal(batch.outcomes[0].priced, undefined);
      assert.deepEqual(batch.outcomes[0].failures, [ERROR], 'a failed claim gains no pricing reason');
      assert.equal(batch.outcomes[1].priced, undefined);
      assert.equal(batch.outcomes[1].failures, undefined);
      assert.equal(batch.outcomes[3].priced, undefined);
      assert.deepEqual(
        batch.outcomes[3].failures?.map((f) => [f.rule, f.severity, f.field, f.value]),
        [['PRICE_NO_RVU', 'error', 'lines[0].procedureCode', '99999']],
      );
      for (const i of [2, ...Array.from({ length: 16 }, (_, k) => k + 4)]) {
        const expected = priceClaim(claims[i], priceDeps.schedule, { conversionFactor: CONVERSION_FACTOR, useGpci: false });
        assert.ok(expected.ok);
        assert.deepEqual(batch.outcomes[i].priced, expected.priced, `claim ${i}`);
        assert.ok(batch.outcomes[i].priced!.allowedCents > 0);
      }
      assert.deepEqual(batch.outcomes[2].failures, [WARNING], 'a warning does not stop pricing');
      assert.ok(batch.timings.price >= 0);
    });
  });

  describe('with PostgreSQL', () => {
    let dbs: ClaimsDatabases;
    let production: Knex;
    let staging: Knex;
    let writer: PostgresProductionWriter;

    before(async function () {
      await requireService(this, 'PostgreSQL');
    });

    beforeEach(async () => {
      dbs = await claimsDatabases();
      production = knexFor(dbs.productionUrl);
      staging = knexFor(dbs.stagingUrl);
      writer = new PostgresProductionWriter(production, sealer);
      await writer.ensureSchema();
    });

    afterEach(async () => {
      await production?.destroy();
      await staging?.destroy();
      await dbs?.drop();
    });

    /** validate -> predict -> price, as a channel runs them. */
    async function runStages(batch: ClaimBatch, action: 'flag' | 'hold' = 'hold'): Promise<void> {
      await validateBatch(batch, { rules, sealer, production: writer, today: TODAY });
      predictBatch(batch, { model, sealer, action, today: TODAY });
      priceBatch(batch, priceDeps);
    }

    describe('validateBatch', () => {
      it('marks claims production already holds as replays and does not check them again', async () => {
        const claims = validClaims(6, 1, 909);
        await writer.write({ batchId: 'earlier', priced: [pricedRow(claims[0]), pricedRow(claims[1])], failed: [{ claim: claims[2], failures: [ERROR] }] });
        const again = claims.map(cloneClaim);
        again[1].memberId = ''; // would fail, but it is a replay
        again[4].memberId = '';
        const batch = sealBatch('v', SOURCE, again, sealer);
        const report = await validateBatch(batch, { rules, sealer, production: writer, today: TODAY });
        assert.deepEqual(
          batch.outcomes.map((o) => o.alreadyWritten ?? false),
          [true, true, true, false, false, false],
        );
        for (const i of [0, 1, 2]) assert.equal(batch.outcomes[i].failures, undefined);
        assert.deepEqual(rulesOf(batch, 3), []);
        assert.deepEqual(rulesOf(batch, 4), ['MEMBER_ID_REQUIRED']);
        assert.deepEqual({ items: report.items, failed: report.failed, rules: report.rules }, { items: 3, failed: 1, rules: ['MEMBER_ID_REQUIRED'] });
        assert.ok(batch.timings.validate >= 0);
      });

      it('fails an original whose key production holds (DUPLICATE_IN_PRODUCTION), not a replacement; in-batch duplicates too', async () => {
        const [a, b] = validClaims(2, 1, 910);
        await writer.write({ batchId: 'earlier', priced: [pricedRow(a)], failed: [] });
        const dup = { ...cloneClaim(a), stagingId: '10' };
        const replacement = { ...cloneClaim(a), stagingId: '11', frequency: '7', originalReference: 'PCN-1' };
        const elsewhere = { ...cloneClaim(a), stagingId: '12', facilityId: a.facilityId === 'FAC01' ? 'FAC02' : 'FAC01' };
        const first = { ...cloneClaim(b), stagingId: '13' };
        const second = { ...cloneClaim(b), stagingId: '14' };
        const batch = sealBatch('d', SOURCE, [dup, replacement, elsewhere, first, second], sealer);
        const report = await validateBatch(batch, { rules, sealer, production: writer, today: TODAY });
        assert.deepEqual(
          batch.claims.map((_, i) => rulesOf(batch, i)),
          [['DUPLICATE_IN_PRODUCTION'], [], [], [], ['DUPLICATE_IN_BATCH']],
        );
        const f = batch.outcomes[0].failures!.find((x) => x.rule === 'DUPLICATE_IN_PRODUCTION')!;
        assert.deepEqual([f.field, f.value], ['claimId', a.claimId]);
        assert.equal(report.failed, 2);

        // Without production, only the batch is checked.
        const alone = sealBatch('d2', SOURCE, [dup, first, second], sealer);
        await validateBatch(alone, { rules, sealer, today: TODAY });
        assert.deepEqual(
          alone.claims.map((_, i) => rulesOf(alone, i)),
          [[], [], ['DUPLICATE_IN_BATCH']],
        );
      });
    });

    describe('writeBatch', () => {
      it('a live claim that reached the destination without a price fails NOT_PRICED; replays count as replayed; every row is marked done', async () => {
        const claims = validClaims(5, 1, 911);
        await writer.write({ batchId: 'earlier', priced: [pricedRow(claims[0])], failed: [] });
        const batch = sealBatch('w', SOURCE, claims, sealer);
        await validateBatch(batch, { rules, sealer, production: writer, today: TODAY }); // no price stage
        const done: Array<{ ids: string[]; batchId: string }> = [];
        const r = await writeBatch(batch, { writer, sealer, staging: { markDone: async (ids, batchId) => void done.push({ ids, batchId }) } });
        assert.deepEqual({ written: r.written, failed: r.failed, replayed: r.replayed, duplicates: r.duplicates }, { written: 0, failed: 4, replayed: 1, duplicates: [] });
        assert.deepEqual(done, [{ ids: ['1', '2', '3', '4', '5'], batchId: 'w' }]);
        assert.deepEqual(await production('failed_claims').pluck('rules'), ['NOT_PRICED', 'NOT_PRICED', 'NOT_PRICED', 'NOT_PRICED']);
        assert.ok(batch.timings.write >= 0);
      });

      it('end to end on 500 generated claims with invalid ones and replays: staged = production + failed, each claim once, staging done', async () => {
        const N = 500;
        const BATCH = 100;
        const set = generateClaimSet(N, { seed: 20260315, invalidRate: 0.08, duplicateRate: 0.05, today: TODAY });
        assert.equal(set.invalid.filter((x) => !set.duplicates.some((d) => d.index === x.index)).length, 40);
        assert.equal(set.duplicates.length, 25);
        await loadStaging(staging, set.claims);
        const source = new ClaimsStaging(staging, { workerId: 'test:1', leaseS: 300 });

        const batches: ClaimBatch[] = [];
        for (let claimed = await source.claimBatch(BATCH); claimed; claimed = await source.claimBatch(BATCH)) {
          const batch = sealBatch(claimed.batchId, { table: 'claims_staging', claimedBy: 'test:1', claimedAt: claimed.claimedAt }, claimed.claims, sealer);
          await runStages(batch);
          const r = await writeBatch(batch, { writer, sealer, staging: source });
          assert.equal(r.written + r.failed + r.replayed, batch.claims.length, batch.batchId);
          batches.push(batch);
        }
        assert.equal(batches.length, N / BATCH);

        const counts = await countClaims(staging, production);
        assert.equal(counts.staged, N);
        assert.equal(counts.production + counts.failed, N, 'staged = production + failed');
        assert.equal(counts.inBoth, 0);
        assert.equal(counts.stagingDone, N);
        assert.equal(counts.batches, N / BATCH);
        const sums = (await production.raw('SELECT sum(written)::int AS w, sum(failed)::int AS f FROM claim_batches')).rows[0] as { w: number; f: number };
        assert.deepEqual(sums, { w: counts.production, f: counts.failed });

        // The table gave ids in COPY order: staging id = index + 1.
        const stagedIds = (await staging('claims_staging').select(staging.raw('id::int AS id'), 'claim_id', 'batch_id').orderBy('claims_staging.id')) as Array<{ id: number; claim_id: string; batch_id: string }>;
        assert.deepEqual(
          stagedIds.map((r) => [r.id, r.claim_id]),
          set.claims.map((c, i) => [i + 1, c.claimId]),
        );
        const batchIds = new Set(await production('claim_batches').pluck('batch_id'));
        for (const r of stagedIds) assert.ok(batchIds.has(r.batch_id), `staging row ${r.id} done under an unknown batch`);

        const failedRules = new Map(
          ((await production('failed_claims').select(production.raw('staging_id::int AS id'), 'rules')) as Array<{ id: number; rules: string }>).map((r) => [r.id - 1, r.rules.split(',')]),
        );
        const inProduction = new Set(((await production('claims').select(production.raw('staging_id::int AS id'))) as Array<{ id: number }>).map((r) => r.id - 1));
        const invalid = new Set(set.invalid.map((x) => x.index));
        for (const { index } of set.invalid) assert.ok(failedRules.has(index), `invalid claim ${index} (${set.invalid.find((x) => x.index === index)?.defect}) not in failed_claims`);
        for (const { index } of set.duplicates) {
          assert.ok(failedRules.has(index), `replay ${index} not in failed_claims`);
          const r = failedRules.get(index)!;
          assert.ok(invalid.has(index) || r.includes('DUPLICATE_IN_BATCH') || r.includes('DUPLICATE_IN_PRODUCTION'), `replay ${index}: ${r.join(',')}`);
        }
        // A replay of a claim an earlier batch wrote to production: the validate stage finds its key there.
        const replaysAcrossBatches = set.duplicates.filter((d) => Math.floor(d.index / BATCH) !== Math.floor(d.of / BATCH) && inProduction.has(d.of));
        assert.ok(replaysAcrossBatches.length >= 5, `${replaysAcrossBatches.length} replays of claims an earlier batch wrote`);
        for (const d of replaysAcrossBatches) assert.ok(failedRules.get(d.index)!.includes('DUPLICATE_IN_PRODUCTION'), `replay ${d.index} of ${d.of}`);
        // What fails without a planted defect was held by the model.
        for (const [index, r] of failedRules) {
          if (invalid.has(index) || set.duplicates.some((d) => d.index === index)) continue;
          assert.deepEqual(r, [PREDICTED_DENIAL_RULE], `clean claim ${index} failed: ${r.join(',')}`);
        }
        assert.equal(inProduction.size + failedRules.size, N);
        for (const i of inProduction) assert.ok(!invalid.has(i), `invalid claim ${i} reached production`);

        // The same batches through writeBatch again: nothing new.
        const before = await countClaims(staging, production);
        const reasonsBefore = await countRows(production, 'failed_claim_reasons');
        for (const batch of batches) {
          const r = await writeBatch(batch, { writer, sealer, staging: source });
          assert.deepEqual({ written: r.written, failed: r.failed, replayed: r.replayed }, { written: 0, failed: 0, replayed: batch.claims.length });
        }
        assert.deepEqual(await countClaims(staging, production), before);
        assert.equal(await countRows(production, 'failed_claim_reasons'), reasonsBefore);

        // And through the whole channel again (rows claimed again after a lost lease): every claim is a replay.
        const rerun = sealBatch('claims_staging:1-100:again', SOURCE, openBatch(batches[0], sealer), sealer);
        await runStages(rerun);
        assert.ok(rerun.outcomes.every((o) => o.alreadyWritten === true && o.failures === undefined && o.priced === undefined && o.prediction === undefined));
        const r = await writeBatch(rerun, { writer, sealer, staging: source });
        assert.deepEqual({ written: r.written, failed: r.failed, replayed: r.replayed }, { written: 0, failed: 0, replayed: 100 });
        assert.deepEqual(await countClaims(staging, production), { ...before, batches: before.batches + 1 });
      });
    });
  });
});
