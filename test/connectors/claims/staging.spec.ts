/**
 * Claiming claims from the staging table on the real PostgreSQL (a fresh schema per test): id
 * order, leases, FOR UPDATE SKIP LOCKED between two processes' pools, markDone, and the mapping
 * of a staging row to a Claim.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { DEFAULT_TABLES, ensureStagingTable } from '../../../connectors/claims/schema';
import { ClaimsStaging, claimFromRow, leaseCheckEveryMs, stagingRowOf, type ClaimedBatch } from '../../../connectors/claims/staging';
import { cloneClaim, generateClaims } from '../../../scripts/claims/synthetic-claims';
import type { Claim } from '../../../transformers/claims/types';
import { compileRuleSet, loadRuleSet, validateClaims } from '../../../transformers/claims/validate';
import { knexFor, loadStaging } from '../../support/claims';
import { capturePlans } from '../../support/query-plans';
import { freshPostgresSchema, requireService } from '../../support/services';
import { TODAY, countRows } from './support';

type StagingRow = Parameters<typeof claimFromRow>[0];

interface LeaseRow {
  id: string;
  status: string;
  claimed_by: string | null;
  claimed_at: Date | null;
  attempts: number;
  batch_id: string | null;
}

const ids = (b: ClaimedBatch | undefined): number[] => (b ? b.claims.map((c) => Number(c.stagingId)) : []);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A claim as it comes back from staging: the table assigns the id; JSON drops undefined keys. */
function asStaged(c: Claim, id: number): Claim {
  return JSON.parse(JSON.stringify({ ...c, stagingId: String(id) })) as Claim;
}

describe('connectors/claims/staging (PostgreSQL)', function () {
  this.timeout(60_000);
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let knex: Knex;
  let others: Knex[];
  const claims = generateClaims(60, { seed: 4242, today: TODAY });

  const leaseRows = async (where: (q: Knex.QueryBuilder) => void = () => undefined): Promise<LeaseRow[]> => {
    const q = knex(DEFAULT_TABLES.staging).select(knex.raw('id::text AS id'), 'status', 'claimed_by', 'claimed_at', 'attempts', 'batch_id').orderByRaw('claims_staging.id');
    where(q);
    return (await q) as LeaseRow[];
  };
  /** Moves the lease of some rows `seconds` into the past (as if their process died); the process clock, as claimBatch uses. */
  const ageLease = (stagingIds: number[], seconds: number) =>
    knex('claims_staging')
      .whereIn('id', stagingIds)
      .update({ claimed_at: new Date(Date.now() - seconds * 1000) });
  // leaseCheckMs 0: these tests age leases in the table and poll again at once.
  const staging = (workerId: string, leaseS = 300, k: Knex = knex, maxAttempts?: number) => new ClaimsStaging(k, { workerId, leaseS, maxAttempts, leaseCheckMs: 0 });

  before(async function () {
    await requireService(this, 'PostgreSQL');
  });

  beforeEach(async () => {
    schema = await freshPostgresSchema();
    knex = knexFor(schema.url);
    others = [];
    await loadStaging(knex, claims);
  });

  afterEach(async () => {
    for (const k of others) await k.destroy();
    await knex?.destroy();
    await schema?.drop();
  });

  it('claims new rows in id order, marks them in_flight with claimed_by, claimed_at and one attempt', async () => {
    const s = staging('host-a:11');
    const before = Date.now();
    const first = await s.claimBatch(25);
    const second = await s.claimBatch(25);
    assert.deepEqual(ids(first), range(1, 25));
    assert.deepEqual(ids(second), range(26, 50));
    assert.deepEqual(first!.claims, claims.slice(0, 25).map((c, i) => asStaged(c, i + 1)));
    const claimedAt = Date.parse(first!.claimedAt);
    assert.ok(claimedAt >= before - 1000 && claimedAt <= Date.now() + 1000);

    const rows = await leaseRows();
    for (const r of rows.slice(0, 50)) {
      assert.equal(r.status, 'in_flight', `row ${r.id}`);
      assert.equal(r.claimed_by, 'host-a:11');
      assert.equal(r.attempts, 1);
      assert.equal(r.batch_id, null);
    }
    assert.equal(rows[0].claimed_at?.getTime(), claimedAt);
    for (const r of rows.slice(50)) {
      assert.equal(r.status, 'new');
      assert.equal(r.claimed_by, null);
      assert.equal(r.attempts, 0);
    }
    assert.deepEqual(await s.counts(), { in_flight: 50, new: 10, stuck: 0 });
  });

  it('returns the last partial batch, then undefined when nothing is left', async () => {
    const s = staging('w');
    assert.equal((await s.claimBatch(50))!.claims.length, 50);
    assert.deepEqual(ids(await s.claimBatch(50)), range(51, 60));
    assert.equal(await s.claimBatch(50), undefined);
  });

  it('orders the claims of a batch numerically across a digit boundary (9 before 10, 99 before 100)', async () => {
    await loadStaging(knex, generateClaims(50, { seed: 5, today: TODAY })); // ids 61..110
    const s = staging('w');
    await s.claimBatch(5); // 1..5
    const batch = await s.claimBatch(105);
    assert.deepEqual(ids(batch), range(6, 110));
    assert.match(batch!.batchId, /^claims_staging:6-110:\d+$/);
  });

  it('two processes (two pools) claiming at once never get the same row, and together get all of them', async () => {
    await loadStaging(knex, generateClaims(540, { seed: 99, today: TODAY })); // 600 rows
    const a = knexFor(schema.url);
    const b = knexFor(schema.url);
    others.push(a, b);
    const drain = async (s: ClaimsStaging): Promise<ClaimedBatch[]> => {
      const got: ClaimedBatch[] = [];
      for (let batch = await s.claimBatch(7); batch; batch = await s.claimBatch(7)) got.push(batch);
      return got;
    };
    // Four claimers on two pools, all starting together.
    const results = await Promise.all([drain(staging('a:1', 300, a)), drain(staging('b:1', 300, b)), drain(staging('a:2', 300, a)), drain(staging('b:2', 300, b))]);
    const all = results.flat().flatMap((batch) => ids(batch));
    assert.equal(new Set(all).size, all.length, 'a row was claimed twice');
    assert.deepEqual([...all].sort((x, y) => x - y), range(1, 600));
    for (const r of results) assert.ok(r.length > 0, 'every claimer got work: they really ran side by side');
    const byWorker = (await knex('claims_staging').select('claimed_by').count({ n: '*' }).groupBy('claimed_by')) as Array<{ claimed_by: string; n: string }>;
    assert.deepEqual(byWorker.map((r) => r.claimed_by).sort(), ['a:1', 'a:2', 'b:1', 'b:2']);
    assert.equal(await countRows(knex, 'claims_staging', { attempts: 1, status: 'in_flight' }), 600);
  });

  it('skips rows another transaction holds locked instead of waiting for them', async () => {
    const other = knexFor(schema.url);
    others.push(other);
    const trx = await other.transaction();
    try {
      await trx.raw('SELECT id FROM claims_staging WHERE id <= 10 FOR UPDATE');
      const started = Date.now();
      const batch = await staging('w').claimBatch(10);
      assert.ok(Date.now() - started < 5000, 'claimBatch waited for the lock');
      assert.deepEqual(ids(batch), range(11, 20));
    } finally {
      await trx.rollback();
    }
    assert.deepEqual(ids(await staging('w').claimBatch(10)), range(1, 10));
  });

  it('a poller that passed locked rows comes back for them when its cursor runs short', async () => {
    const other = knexFor(schema.url);
    others.push(other);
    const s = staging('w');
    const trx = await other.transaction();
    try {
      await trx.raw('SELECT id FROM claims_staging WHERE id <= 10 FOR UPDATE');
      assert.deepEqual(ids(await s.claimBatch(10)), range(11, 20));
    } finally {
      await trx.rollback();
    }
    // From its cursor it finds 21..60 (40 rows), then rescans from the start for the rest.
    assert.deepEqual(ids(await s.claimBatch(45)), [...range(1, 5), ...range(21, 60)]);
    assert.deepEqual(ids(await s.claimBatch(45)), range(6, 10));
    assert.equal(await s.claimBatch(45), undefined);
  });

  it('keeps claiming from a staging table emptied and filled again with ids from 1', async () => {
    const s = staging('w');
    assert.equal((await s.claimBatch(100))!.claims.length, 60);
    await knex.raw('TRUNCATE claims_staging RESTART IDENTITY');
    await loadStaging(knex, generateClaims(30, { seed: 6, today: TODAY }));
    assert.deepEqual(ids(await s.claimBatch(10)), range(1, 10));
    assert.deepEqual(ids(await s.claimBatch(10)), range(11, 20));
  });

  it('claims rows again once their lease has run out, and not while it is live', async () => {
    const first = staging('dead:1', 60);
    const second = staging('alive:2', 60);
    assert.deepEqual(ids(await first.claimBatch(10)), range(1, 10));
    await ageLease(range(1, 10), 30); // within the 60 s lease
    assert.deepEqual(ids(await second.claimBatch(10)), range(11, 20), 'a live lease was taken over');

    await ageLease(range(1, 5), 61); // rows 1-5: their process died
    const again = await second.claimBatch(10);
    // Expired leases come first, then new rows.
    assert.deepEqual(ids(again), [1, 2, 3, 4, 5, 21, 22, 23, 24, 25]);
    const rows = await leaseRows((q) => q.whereIn('id', [1, 5, 6, 21]));
    assert.deepEqual(
      rows.map((r) => [r.id, r.status, r.claimed_by, r.attempts]),
      [
        ['1', 'in_flight', 'alive:2', 2],
        ['5', 'in_flight', 'alive:2', 2],
        ['6', 'in_flight', 'dead:1', 1],
        ['21', 'in_flight', 'alive:2', 1],
      ],
    );
    assert.ok(rows[0].claimed_at!.getTime() > Date.now() - 10_000, 'the new lease starts now');
  });

  // Regression (was a bug): just after a bulk load the table has no statistics (or ones from when every row
  // was done), the planner expected a few new rows, and each poll collected every new row, sorted
  // them and kept 2,000: 100 ms per poll at 100,000 staged rows, the largest cost in bench:claims.
  it('a poll walks the (status, id) index and stops at the batch size, whatever the statistics say', async () => {
    await loadStaging(knex, generateClaims(5000, { seed: 99, today: TODAY }));
    const capture = capturePlans(schema.url);
    others.push(capture.knex);
    const s = new ClaimsStaging(capture.knex, { workerId: 'w', leaseS: 60 });
    assert.equal((await s.claimBatch(100))!.claims.length, 100);
    const plans = capture.plansOf("status = 'new'");
    assert.equal(plans.length, 1, capture.plans.join('\n\n'));
    assert.match(plans[0], /Index Scan using claims_staging_status_id/, plans[0]);
    assert.doesNotMatch(plans[0], /Sort|Bitmap/, plans[0]);
    assert.match(plans[0], /Index Scan using claims_staging_status_id on claims_staging .*\(actual time=[\d.]+ rows=100 loops=1\)/, 'the walk stops at the batch size');
  });

  it('looks for expired leases a tenth of a lease apart (at most 10 s), and at once again after a full batch of them', async () => {
    assert.equal(leaseCheckEveryMs(300), 10_000);
    assert.equal(leaseCheckEveryMs(3), 300);
    const s = new ClaimsStaging(knex, { workerId: 'w', leaseS: 60 });
    assert.deepEqual(ids(await s.claimBatch(5)), [1, 2, 3, 4, 5]);
    await ageLease(range(1, 5), 120);
    assert.deepEqual(ids(await s.claimBatch(5)), [6, 7, 8, 9, 10], 'checked 0 s ago: not yet');
    const eager = new ClaimsStaging(knex, { workerId: 'e', leaseS: 60 });
    assert.deepEqual(ids(await eager.claimBatch(3)), [1, 2, 3], 'a poller that has not looked yet looks at once');
    assert.deepEqual(ids(await eager.claimBatch(3)), [4, 5, 11], 'after a full batch of expired rows it looks again, then takes new rows');
    await ageLease(range(1, 11), 120);
    assert.deepEqual(ids(await eager.claimBatch(2)), [12, 13], 'then it waits');
  });

  it('a short lease: rows claimed a moment ago are claimed again after leaseS', async () => {
    const s = staging('w', 1);
    assert.deepEqual(ids(await s.claimBatch(3)), [1, 2, 3]);
    assert.deepEqual(ids(await s.claimBatch(3)), [4, 5, 6]);
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(ids(await s.claimBatch(6)), [1, 2, 3, 4, 5, 6]);
  });

  it('stops claiming a row again after maxAttempts: it stays in_flight and counts as stuck', async () => {
    const s = staging('w', 60, knex, 2);
    assert.deepEqual(ids(await s.claimBatch(5)), [1, 2, 3, 4, 5]);
    await ageLease(range(1, 5), 120);
    assert.deepEqual(ids(await s.claimBatch(5)), [1, 2, 3, 4, 5], 'second attempt');
    await ageLease(range(1, 5), 120);
    assert.deepEqual(ids(await s.claimBatch(5)), [6, 7, 8, 9, 10], 'no third attempt');
    const rows = await leaseRows((q) => q.whereIn('id', [1, 5]));
    assert.deepEqual(
      rows.map((r) => [r.status, r.attempts]),
      [
        ['in_flight', 2],
        ['in_flight', 2],
      ],
    );
    assert.deepEqual(await s.counts(), { in_flight: 10, new: 50, stuck: 5 });
    // The default is 5 attempts.
    const d = staging('d', 60);
    await knex('claims_staging').whereIn('id', range(1, 5)).update({ attempts: 4 });
    await ageLease(range(1, 10), 120);
    assert.deepEqual(ids(await d.claimBatch(10)), range(1, 10));
    await ageLease(range(1, 10), 120);
    assert.deepEqual(ids(await d.claimBatch(5)), [6, 7, 8, 9, 10], 'rows 1-5 had their fifth attempt');
    assert.equal((await d.counts()).stuck, 5);
  });

  // Regression (was a bug): counts() calls a row stuck as soon as it is claimed for its last attempt, while
  // that attempt's lease is still live and the row may well be written; with maxAttempts 1 every
  // batch in flight shows as stuck.
  it('counts: a row on its last attempt is stuck only once that lease has run out', async () => {
    const s = staging('w', 60, knex, 1);
    await s.claimBatch(5);
    assert.equal((await s.counts()).stuck, 0, 'rows being worked on are not stuck');
    await ageLease(range(1, 5), 120);
    assert.equal((await s.counts()).stuck, 5);
  });

  it('markDone finishes the named rows with the batch id; done rows are never claimed again', async () => {
    const s = staging('w', 60);
    const batch = (await s.claimBatch(10))!;
    await s.markDone(
      batch.claims.slice(0, 6).map((c) => c.stagingId),
      batch.batchId,
    );
    await s.markDone([], 'nothing');
    const rows = await leaseRows((q) => q.where('id', '<=', 11));
    assert.deepEqual(
      rows.map((r) => [r.status, r.batch_id]),
      [...range(1, 6).map(() => ['done', batch.batchId]), ...range(7, 10).map(() => ['in_flight', null]), ['new', null]],
    );
    assert.deepEqual(await s.counts(), { done: 6, in_flight: 4, new: 50, stuck: 0 });
    await ageLease(range(1, 10), 3600);
    assert.deepEqual(ids(await s.claimBatch(10)), [7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });

  it('batch ids are unique, name the table and the first and last id', async () => {
    const s1 = staging('w1', 300);
    const s2 = staging('w2', 300);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push((await s1.claimBatch(10))!.batchId);
    assert.deepEqual(
      seen.map((id) => id.replace(/:\d+$/, '')),
      range(0, 5).map((k) => `claims_staging:${k * 10 + 1}-${k * 10 + 10}`),
    );
    // The same rows claimed again after their lease: a new batch id.
    await ageLease(range(1, 10), 301);
    const again = (await s2.claimBatch(10))!;
    assert.match(again.batchId, /^claims_staging:1-10:\d+$/);
    seen.push(again.batchId);
    assert.equal(new Set(seen).size, seen.length);
  });

  it('reads a row back as the claim that was staged: every column, in both directions', async () => {
    const c = cloneClaim(claims[0]);
    c.frequency = '7';
    c.originalReference = 'PCN-77';
    c.renderingNpi = '1234567893';
    c.patientFamily = `D'Angelo, "Jr."`;
    c.locality = { mac: '01112', locality: '05' };
    await knex('claims_staging').insert(stagingRowOf(c));
    const s = staging('w');
    await s.claimBatch(60);
    const batch = (await s.claimBatch(60))!;
    assert.deepEqual(batch.claims, [asStaged(c, 61)]);
  });

  it('a row with NULLs reads as empty strings, so that validation names each missing field', async () => {
    await knex('claims_staging').insert({ claim_id: 'NULLS1', facility_id: 'FAC01', payer_id: '60054', diagnoses: '["E11.9"]', lines: '[]', total_charge_cents: 0 });
    const s = staging('w');
    await s.claimBatch(60);
    const [claim] = (await s.claimBatch(10))!.claims;
    assert.deepEqual(claim, {
      stagingId: '61',
      claimId: 'NULLS1',
      facilityId: 'FAC01',
      frequency: '1',
      payerId: '60054',
      memberId: '',
      patientFamily: '',
      patientGiven: '',
      birthDate: '',
      sex: '',
      billingNpi: '',
      placeOfService: '',
      diagnoses: ['E11.9'],
      lines: [],
      totalChargeCents: 0,
    });
    const [failures] = validateClaims([claim], compileRuleSet(loadRuleSet()), { today: TODAY });
    const named = new Set(failures.filter((f) => f.severity === 'error').map((f) => `${f.rule}@${f.field}`));
    for (const expected of [
      'MEMBER_ID_REQUIRED@memberId',
      'PATIENT_FAMILY_NAME_REQUIRED@patientFamily',
      'PATIENT_GIVEN_NAME_REQUIRED@patientGiven',
      'BIRTH_DATE_REQUIRED@birthDate',
      'SEX_REQUIRED@sex',
      'BILLING_NPI_REQUIRED@billingNpi',
      'POS_REQUIRED@placeOfService',
      'LINE_REQUIRED@lines',
    ]) {
      assert.ok(named.has(expected), `${expected} not reported (got ${[...named].join(', ')})`);
    }
  });

  it('claimFromRow: malformed or non-array JSON becomes [], one bad column does not stop the row', () => {
    const row: StagingRow = {
      id: '9007199254740993',
      claim_id: 'C1',
      facility_id: 'F1',
      frequency: '',
      original_reference: null,
      payer_id: 'P1',
      member_id: 'M1',
      patient_family: 'Fam',
      patient_given: 'Giv',
      birth_date: '1980-02-29',
      sex: 'F',
      billing_npi: '1234567893',
      rendering_npi: null,
      place_of_service: '11',
      diagnoses: '["E11.9", ',
      lines: '{"line":1}',
      total_charge_cents: '12345',
      locality_mac: '01112',
      locality_number: null,
    };
    const claim = claimFromRow(row);
    assert.equal(claim.stagingId, '9007199254740993', 'the id stays text: bigint ids beyond 2^53 are not rounded');
    assert.equal(claim.frequency, '1');
    assert.deepEqual(claim.diagnoses, []);
    assert.deepEqual(claim.lines, []);
    assert.equal(claim.totalChargeCents, 12345);
    assert.equal(claim.birthDate, '1980-02-29');
    assert.ok(!('originalReference' in claim) && !('renderingNpi' in claim));
    assert.ok(!('locality' in claim), 'a MAC without a locality number is no locality');
    assert.deepEqual(claimFromRow({ ...row, diagnoses: 'null', lines: '"text"' }).diagnoses, []);
    assert.deepEqual(claimFromRow({ ...row, locality_number: '05' }).locality, { mac: '01112', locality: '05' });
    assert.deepEqual(claimFromRow({ ...row, lines: '[{"line":1}]' }).lines, [{ line: 1 }]);
  });

  it('works on a staging table of another name', async () => {
    const table = 'Hospital Claims';
    await loadStaging(knex, claims.slice(0, 4), table);
    const s = new ClaimsStaging(knex, { workerId: 'w', leaseS: 60, table });
    const batch = (await s.claimBatch(10))!;
    assert.match(batch.batchId, /^Hospital Claims:1-4:\d+$/);
    assert.equal(batch.claims.length, 4);
    await s.markDone(['1', '2'], batch.batchId);
    assert.deepEqual(await s.counts(), { done: 2, in_flight: 2, stuck: 0 });
    assert.deepEqual(await staging('w').counts(), { new: 60, stuck: 0 }, 'the default table was not touched');
  });

  // Regression (was a bug): schema.ts names the staging index 'claims_staging_status_id' whatever the table is called;
  // a second staging table in the same schema gets no (status, id) index, silently (createIgnoringRace
  // swallows the 42P07 of the index). claimBatch then scans the table.
  it('a staging table of another name gets its own (status, id) index', async () => {
    await ensureStagingTable(knex, { ...DEFAULT_TABLES, staging: 'claims_staging_b' });
    const { rows } = (await knex.raw(`SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'claims_staging_b'`)) as { rows: Array<{ indexdef: string }> };
    assert.ok(
      rows.some((r) => /\(status, id\)/.test(r.indexdef)),
      rows.map((r) => r.indexdef).join('\n'),
    );
  });
});
