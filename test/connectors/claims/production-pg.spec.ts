/**
 * The PostgreSQL production writer on the real PostgreSQL (a fresh schema per test): the schema,
 * one write of priced and failed claims, replays, duplicates caught by the unique index, what
 * failed_claims keeps sealed, and all-or-nothing transactions.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { SecretKeyError } from '../../../common/secret-box';
import { SENSITIVE_FIELDS } from '../../../connectors/claims/batch';
import { claimKeyOf, failedClaimOwner, openFailedClaim, type FailedClaimRow, type WriteResult } from '../../../connectors/claims/production';
import { PostgresProductionWriter } from '../../../connectors/claims/production-pg';
import { cloneClaim } from '../../../scripts/claims/synthetic-claims';
import type { Claim, RuleFailure } from '../../../transformers/claims/types';
import { knexFor } from '../../support/claims';
import { capturePlans } from '../../support/query-plans';
import { freshPostgresSchema, requireService } from '../../support/services';
import { cipherBytes, countRows, pricedRow, stagingIdsIn, stringsIn, testSealer, validClaims } from './support';

const TABLES = ['claims', 'failed_claims', 'failed_claim_reasons', 'failed_claim_audit', 'claim_batches'];

interface FailedRow {
  id: string;
  staging_id: string;
  claim_id: string;
  facility_id: string;
  payer_id: string;
  service_date: string | null;
  claim: string;
  sealed: string;
  rules: string;
  status: string;
  reprocess_count: number;
  batch_id: string;
}

/** A failed claim with the reasons the tests plant: one sensitive field, one not. */
function failedRow(claim: Claim, extra: RuleFailure[] = []): FailedClaimRow {
  return {
    claim,
    failures: [
      { rule: 'ICD10_FORMAT', severity: 'error', field: 'diagnoses[0]', value: claim.diagnoses[0], message: 'Diagnosis is not ICD-10-CM shaped' },
      { rule: 'BIRTH_DATE_NOT_FUTURE', severity: 'error', field: 'birthDate', value: claim.birthDate, message: 'Patient birth date is in the future' },
      { rule: 'TIMELY_FILING', severity: 'warning', field: 'lines[0].serviceFrom', value: claim.lines[0].serviceFrom, message: 'old' },
      ...extra,
    ],
  };
}

/** What a stored result must say, ignoring the optional timing figures. */
function outcome(r: WriteResult): Omit<WriteResult, 'steps'> {
  return { written: r.written, failed: r.failed, replayed: r.replayed, duplicates: [...r.duplicates].sort() };
}

describe('connectors/claims/production-pg (PostgreSQL)', function () {
  this.timeout(60_000);
  const sealer = testSealer();
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let knex: Knex;
  let writer: PostgresProductionWriter;
  let extra: Knex[];

  const counts = async () => Object.fromEntries(await Promise.all(TABLES.map(async (t) => [t, await countRows(knex, t)] as const)));
  const failedRows = async (): Promise<FailedRow[]> =>
    (await knex('failed_claims')
      .select('*', knex.raw('id::text AS id'), knex.raw('staging_id::text AS staging_id'), knex.raw("to_char(service_date, 'YYYY-MM-DD') AS service_date"))
      .orderBy('failed_claims.staging_id')) as FailedRow[];
  const pool = (): Knex => {
    const k = knexFor(schema.url);
    extra.push(k);
    return k;
  };

  before(async function () {
    await requireService(this, 'PostgreSQL');
  });

  beforeEach(async () => {
    schema = await freshPostgresSchema();
    knex = knexFor(schema.url);
    extra = [];
    writer = new PostgresProductionWriter(knex, sealer);
    await writer.ensureSchema();
  });

  afterEach(async () => {
    for (const k of extra) await k.destroy();
    await knex?.destroy();
    await schema?.drop();
  });

  describe('ensureSchema', () => {
    it('creates the tables with the unique keys production relies on, and is idempotent', async () => {
      await writer.ensureSchema();
      for (const t of TABLES) assert.ok(await knex.schema.hasTable(t), t);
      const { rows } = (await knex.raw(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()`)) as { rows: Array<{ indexname: string; indexdef: string }> };
      const def = new Map(rows.map((r) => [r.indexname, r.indexdef]));
      assert.match(def.get('claims_original_key') ?? '', /^CREATE UNIQUE INDEX claims_original_key ON \S+claims USING btree \(facility_id, claim_id\) WHERE \(\(frequency\)::text = '1'::text\)$/);
      assert.match(def.get('claims_pkey') ?? '', /UNIQUE INDEX claims_pkey ON \S+claims USING btree \(staging_id\)$/);
      assert.match(def.get('failed_claims_staging_id') ?? '', /UNIQUE INDEX failed_claims_staging_id ON \S+failed_claims USING btree \(staging_id\)$/);
      assert.match(def.get('claim_batches_pkey') ?? '', /UNIQUE INDEX claim_batches_pkey ON \S+claim_batches USING btree \(batch_id\)$/);
    });

    it('two writers starting together on a schema that exists both go ahead', async () => {
      const other = new PostgresProductionWriter(pool(), sealer);
      await Promise.all([writer.ensureSchema(), other.ensureSchema(), writer.ensureSchema()]);
      assert.equal((await other.write({ batchId: 'b', priced: [pricedRow(validClaims(1, 1)[0])], failed: [] })).written, 1);
    });

    /** A knex whose tables never exist and whose CREATE TABLE fails as a racing loser's does. */
    const losingRace = (code: string) => {
      const created: string[] = [];
      const knexStub = {
        schema: {
          hasTable: async () => false,
          createTable: (name: string) => {
            created.push(name);
            return Promise.reject(Object.assign(new Error(`"${name}" already exists (${code})`), { code }));
          },
        },
      } as unknown as Knex;
      return { knexStub, created };
    };

    it('a CREATE TABLE lost to a concurrent creator (42P07, 23505) is the winner having done the work; other errors are not', async () => {
      for (const code of ['42P07', '23505']) {
        const { knexStub, created } = losingRace(code);
        await new PostgresProductionWriter(knexStub, sealer).ensureSchema();
        assert.deepEqual(created, TABLES, code);
      }
      await assert.rejects(new PostgresProductionWriter(losingRace('42501').knexStub, sealer).ensureSchema(), (e: { code?: string }) => e.code === '42501');
    });

    // Regression (was a bug): schema.ts createIgnoringRace() ignores 42P07 and 23505 but PostgreSQL also reports a
    // lost CREATE TABLE race as 42710 `type "<table>" already exists` (about 1 race in 40 here), so
    // two nodes creating the tables at the same start sometimes fail.
    it('... including 42710 (type already exists), which PostgreSQL also gives the loser', async () => {
      const { knexStub } = losingRace('42710');
      await new PostgresProductionWriter(knexStub, sealer).ensureSchema();
    });

    // Regression (was a bug): the same, live: run often enough, one of the rounds loses with 42710.
    it('two writers creating the schema at the same moment both succeed (repeated on fresh schemas)', async () => {
      for (let round = 0; round < 25; round++) {
        const fresh = await freshPostgresSchema();
        const a = knexFor(fresh.url);
        const b = knexFor(fresh.url);
        try {
          await Promise.all([new PostgresProductionWriter(a, sealer).ensureSchema(), new PostgresProductionWriter(b, sealer).ensureSchema()]);
          for (const t of TABLES) assert.ok(await a.schema.hasTable(t), `${t} (round ${round})`);
          const { rows } = (await a.raw(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN ('claims_original_key', 'failed_claims_staging_id')`)) as {
            rows: Array<{ n: number }>;
          };
          assert.equal(rows[0].n, 2, `unique indexes (round ${round})`);
        } finally {
          await a.destroy();
          await b.destroy();
          await fresh.drop();
        }
      }
    });
  });

  describe('write', () => {
    it('writes priced and failed claims and the batch in one call', async () => {
      const claims = validClaims(12, 101);
      const priced = claims.slice(0, 9).map((c, i) => pricedRow(c, i % 2 ? { score: 0.123456, likelyDenied: false, decidedBy: 'model', version: 'm' } : undefined));
      const failed = claims.slice(9).map((c) => failedRow(c));
      const r = await writer.write({ batchId: 'claims_staging:101-112:1', priced, failed });
      assert.deepEqual(outcome(r), { written: 9, failed: 3, replayed: 0, duplicates: [] });
      assert.deepEqual(await counts(), { claims: 9, failed_claims: 3, failed_claim_reasons: 9, failed_claim_audit: 0, claim_batches: 1 });
      assert.deepEqual(await stagingIdsIn(knex, 'claims'), [101, 102, 103, 104, 105, 106, 107, 108, 109]);
      assert.deepEqual(await stagingIdsIn(knex, 'failed_claims'), [110, 111, 112]);
      assert.deepEqual(
        await knex('claim_batches').select('batch_id', 'claims', 'written', 'failed'),
        [{ batch_id: 'claims_staging:101-112:1', claims: 12, written: 9, failed: 3 }],
      );
    });

    it('stores a priced claim column for column: names with commas, quotes, backslashes and line breaks, lines and their prices, the denial score', async () => {
      const [c] = validClaims(1, 7);
      c.patientFamily = `D'Angelo, "Jr." \\N`;
      c.patientGiven = 'Ana\tLucia\r\nX';
      c.frequency = '7';
      c.originalReference = 'PCN,"77"';
      const row = pricedRow(c, { score: 0.8765432, likelyDenied: true, decidedBy: 'rules', version: 'r1' });
      await writer.write({ batchId: 'b7', priced: [row], failed: [] });
      const stored = (
        (await knex.raw(
          `SELECT staging_id::text AS staging_id, claim_id, facility_id, frequency, original_reference, payer_id, member_id, patient_family, patient_given,
                  to_char(birth_date, 'YYYY-MM-DD') AS birth_date, sex, billing_npi, rendering_npi, place_of_service, diagnoses, lines, priced_lines,
                  total_charge_cents::text AS total, allowed_cents::text AS allowed, conversion_factor, denial_score::text AS score, denial_decided_by, batch_id,
                  written_at > now() - interval '1 minute' AS recent
             FROM claims`,
        )) as { rows: Array<Record<string, unknown>> }
      ).rows;
      assert.equal(stored.length, 1);
      const s = stored[0];
      assert.deepEqual(
        { ...s, lines: undefined, priced_lines: undefined },
        {
          staging_id: '7',
          claim_id: c.claimId,
          facility_id: c.facilityId,
          frequency: '7',
          original_reference: 'PCN,"77"',
          payer_id: c.payerId,
          member_id: c.memberId,
          patient_family: `D'Angelo, "Jr." \\N`,
          patient_given: 'Ana\tLucia\r\nX',
          birth_date: c.birthDate,
          sex: c.sex,
          billing_npi: c.billingNpi,
          rendering_npi: c.renderingNpi ?? null,
          place_of_service: c.placeOfService,
          diagnoses: JSON.stringify(c.diagnoses),
          lines: undefined,
          priced_lines: undefined,
          total: String(c.totalChargeCents),
          allowed: String(row.priced.allowedCents),
          conversion_factor: '36.04',
          score: '0.87654',
          denial_decided_by: 'rules',
          batch_id: 'b7',
          recent: true,
        },
      );
      // The lines as staged, and beside them what each was allowed and why.
      assert.deepEqual(JSON.parse(s.lines as string), JSON.parse(JSON.stringify(c.lines)));
      assert.deepEqual(JSON.parse(s.priced_lines as string), row.priced.lines);
      assert.equal(row.priced.lines.length, c.lines.length);
      assert.ok(row.priced.allowedCents > 0);
    });

    it('stores failed claims with their rules, earliest date of service and every reason', async () => {
      const [c] = validClaims(1, 300);
      c.lines = [...c.lines, { ...c.lines[0], line: c.lines.length + 1, serviceFrom: '2001-02-03' }];
      const f = failedRow(c);
      await writer.write({ batchId: 'bf', priced: [], failed: [f] });
      const [row] = await failedRows();
      assert.equal(row.staging_id, '300');
      assert.equal(row.claim_id, c.claimId);
      assert.equal(row.facility_id, c.facilityId);
      assert.equal(row.payer_id, c.payerId);
      assert.equal(row.service_date, '2001-02-03');
      assert.equal(row.rules, 'ICD10_FORMAT,BIRTH_DATE_NOT_FUTURE,TIMELY_FILING');
      assert.equal(row.status, 'open');
      assert.equal(row.reprocess_count, 0);
      assert.equal(row.batch_id, 'bf');
      const reasons = await knex('failed_claim_reasons').select('rule', 'severity', 'field', 'value', 'message').where('failed_claim_id', row.id).orderBy('rule');
      assert.deepEqual(reasons, [
        { rule: 'BIRTH_DATE_NOT_FUTURE', severity: 'error', field: 'birthDate', value: '(sealed)', message: 'Patient birth date is in the future' },
        { rule: 'ICD10_FORMAT', severity: 'error', field: 'diagnoses[0]', value: c.diagnoses[0], message: 'Diagnosis is not ICD-10-CM shaped' },
        { rule: 'TIMELY_FILING', severity: 'warning', field: 'lines[0].serviceFrom', value: c.lines[0].serviceFrom, message: 'old' },
      ]);
    });

    it('writes an empty batch as a batch record only', async () => {
      const r = await writer.write({ batchId: 'empty', priced: [], failed: [] });
      assert.deepEqual(outcome(r), { written: 0, failed: 0, replayed: 0, duplicates: [] });
      assert.deepEqual(await counts(), { claims: 0, failed_claims: 0, failed_claim_reasons: 0, failed_claim_audit: 0, claim_batches: 1 });
    });
  });

  describe('replays', () => {
    it('a batch written again writes nothing and reports every claim replayed', async () => {
      const claims = validClaims(10, 1);
      const batch = { batchId: 'claims_staging:1-10:1', priced: claims.slice(0, 7).map((c) => pricedRow(c)), failed: claims.slice(7).map((c) => failedRow(c)) };
      await writer.write(batch);
      const before = await counts();
      const again = await writer.write(batch);
      assert.deepEqual(outcome(again), { written: 0, failed: 0, replayed: 10, duplicates: [] });
      assert.deepEqual(await counts(), before);
      // Redelivered under a new batch id (the rows were claimed again after their lease): still nothing.
      const other = await writer.write({ ...batch, batchId: 'claims_staging:1-10:2' });
      assert.deepEqual(outcome(other), { written: 0, failed: 0, replayed: 10, duplicates: [] });
      assert.deepEqual(await counts(), { ...before, claim_batches: 2 });
    });

    it('a batch partly written before writes only the rest', async () => {
      const claims = validClaims(8, 1);
      await writer.write({ batchId: 'first', priced: claims.slice(0, 3).map((c) => pricedRow(c)), failed: [failedRow(claims[3])] });
      const priced = [0, 1, 2, 4, 5].map((i) => pricedRow(claims[i]));
      const r = await writer.write({ batchId: 'second', priced, failed: [failedRow(claims[3]), failedRow(claims[6]), failedRow(claims[7])] });
      assert.deepEqual(outcome(r), { written: 2, failed: 2, replayed: 4, duplicates: [] });
      assert.deepEqual(await stagingIdsIn(knex, 'claims'), [1, 2, 3, 5, 6]);
      assert.deepEqual(await stagingIdsIn(knex, 'failed_claims'), [4, 7, 8]);
      assert.equal(await countRows(knex, 'failed_claim_reasons'), 9, 'no second set of reasons for claim 4');
    });

    it('a priced claim whose staging id is already in failed_claims is not written to claims', async () => {
      const claims = validClaims(4, 1);
      await writer.write({ batchId: 'first', priced: [], failed: [failedRow(claims[0])] });
      const r = await writer.write({ batchId: 'second', priced: claims.map((c) => pricedRow(c)), failed: [] });
      assert.equal(r.written, 3);
      assert.equal(r.failed, 0);
      assert.deepEqual(await stagingIdsIn(knex, 'claims'), [2, 3, 4]);
      assert.deepEqual(await stagingIdsIn(knex, 'failed_claims'), [1]);
      assert.equal(await countRows(knex, 'failed_claim_reasons'), 3);
    });

    // Regression (was a bug): production-pg.ts write(): a priced claim turned away because failed_claims already holds
    // its staging id is looked up with alreadyWrittenIn(), which reads `claims` only; the claim is
    // then reported as a duplicate (`duplicates`, and a DUPLICATE_IN_PRODUCTION metric in sql-out)
    // although it is a replay.
    it('... and is reported as replayed, not as a duplicate', async () => {
      const claims = validClaims(4, 1);
      await writer.write({ batchId: 'first', priced: [], failed: [failedRow(claims[0])] });
      const r = await writer.write({ batchId: 'second', priced: claims.map((c) => pricedRow(c)), failed: [] });
      assert.deepEqual(outcome(r), { written: 3, failed: 0, replayed: 1, duplicates: [] });
    });

    it('a failed claim whose staging id is already in claims is not written to failed_claims', async () => {
      const claims = validClaims(3, 1);
      await writer.write({ batchId: 'first', priced: [pricedRow(claims[0])], failed: [] });
      const r = await writer.write({ batchId: 'second', priced: [], failed: claims.map((c) => failedRow(c)) });
      assert.deepEqual(outcome(r), { written: 0, failed: 2, replayed: 1, duplicates: [] });
      assert.deepEqual(await stagingIdsIn(knex, 'claims'), [1]);
      assert.deepEqual(await stagingIdsIn(knex, 'failed_claims'), [2, 3]);
      assert.equal(await countRows(knex, 'failed_claim_reasons'), 6);
    });

    it('the same batch written by two processes at once lands once', async () => {
      const claims = validClaims(200, 1);
      const batch = { batchId: 'race', priced: claims.slice(0, 180).map((c) => pricedRow(c)), failed: claims.slice(180).map((c) => failedRow(c)) };
      const [a, b] = await Promise.all([new PostgresProductionWriter(pool(), sealer).write(batch), new PostgresProductionWriter(pool(), sealer).write(batch)]);
      assert.equal(a.written + b.written, 180);
      assert.equal(a.failed + b.failed, 20);
      assert.equal(a.replayed + b.replayed, 200);
      assert.deepEqual([...a.duplicates, ...b.duplicates], []);
      assert.deepEqual(await counts(), { claims: 180, failed_claims: 20, failed_claim_reasons: 60, failed_claim_audit: 0, claim_batches: 1 });
    });
  });

  describe('duplicates caught by the unique index', () => {
    it('an original with a (facility, claim id) production holds goes to failed_claims as DUPLICATE_IN_PRODUCTION; a replacement (7) is written', async () => {
      const [orig, other] = validClaims(2, 1);
      await writer.write({ batchId: 'first', priced: [pricedRow(orig)], failed: [] });
      const dup = { ...cloneClaim(orig), stagingId: '50' };
      const replacement = { ...cloneClaim(orig), stagingId: '51', frequency: '7', originalReference: 'PCN-1' };
      const r = await writer.write({ batchId: 'second', priced: [pricedRow(dup), pricedRow(replacement), pricedRow({ ...other, stagingId: '52' })], failed: [] });
      assert.deepEqual(outcome(r), { written: 2, failed: 1, replayed: 0, duplicates: ['50'] });
      assert.deepEqual(await stagingIdsIn(knex, 'claims'), [1, 51, 52]);
      const [row] = await failedRows();
      assert.equal(row.staging_id, '50');
      assert.equal(row.rules, 'DUPLICATE_IN_PRODUCTION');
      assert.equal(row.batch_id, 'second');
      assert.deepEqual(await knex('failed_claim_reasons').select('rule', 'severity', 'field', 'value', 'message'), [
        { rule: 'DUPLICATE_IN_PRODUCTION', severity: 'error', field: 'claimId', value: orig.claimId, message: 'production already holds an original claim with this claim id for this facility' },
      ]);
      assert.deepEqual(await knex('claim_batches').select('batch_id', 'claims', 'written', 'failed').where('batch_id', 'second'), [{ batch_id: 'second', claims: 3, written: 2, failed: 1 }]);
      // The same claim id at another facility is another claim.
      const elsewhere = { ...cloneClaim(orig), stagingId: '60', facilityId: orig.facilityId === 'FAC01' ? 'FAC02' : 'FAC01' };
      assert.equal((await writer.write({ batchId: 'third', priced: [pricedRow(elsewhere)], failed: [] })).written, 1);
    });

    it('two originals with the same key in one batch: one is written, the other is a duplicate', async () => {
      const [a] = validClaims(1, 1);
      const b = { ...cloneClaim(a), stagingId: '2' };
      const r = await writer.write({ batchId: 'one', priced: [pricedRow(a), pricedRow(b)], failed: [] });
      assert.equal(r.written, 1);
      assert.equal(r.failed, 1);
      assert.equal(r.duplicates.length, 1);
      const inClaims = await stagingIdsIn(knex, 'claims');
      const inFailed = await stagingIdsIn(knex, 'failed_claims');
      assert.deepEqual([...inClaims, ...inFailed].sort(), [1, 2]);
      assert.deepEqual(inFailed, [Number(r.duplicates[0])]);
    });

    it('two batches of one writer sharing keys: the second waits for the first and COPYs straight, its twins going to failed_claims', async () => {
      const claims = validClaims(40, 1, 77);
      const twins = claims.slice(0, 10).map((c, i) => ({ ...cloneClaim(c), stagingId: String(500 + i) }));
      const others = validClaims(30, 600, 78);
      const first = writer.write({ batchId: 'first', priced: claims.map((c) => pricedRow(c)), failed: [] });
      const second = writer.write({ batchId: 'second', priced: [...twins, ...others].map((c) => pricedRow(c)), failed: [] });
      const [r1, r2] = await Promise.all([first, second]);
      assert.deepEqual([r1.written, r1.duplicates.length], [40, 0]);
      assert.deepEqual([r2.written, r2.duplicates.length, r2.failed], [30, 10, 10]);
      assert.deepEqual(new Set(r2.duplicates), new Set(twins.map((t) => t.stagingId)));
      // Neither took the careful path (temporary table and INSERT ... ON CONFLICT); the second waited.
      assert.equal(r1.steps?.insert, undefined);
      assert.equal(r2.steps?.insert, undefined);
      assert.equal(r1.steps?.keyWait, undefined);
      assert.ok(typeof r2.steps?.keyWait === 'number');
      assert.deepEqual(await counts(), { claims: 70, failed_claims: 10, failed_claim_reasons: 10, failed_claim_audit: 0, claim_batches: 2 });
    });

    it('a batch sharing no key with the writes in flight does not wait for them', async () => {
      const [r1, r2] = await Promise.all([
        writer.write({ batchId: 'a', priced: validClaims(20, 1, 90).map((c) => pricedRow(c)), failed: [] }),
        writer.write({ batchId: 'b', priced: validClaims(20, 100, 91).map((c) => pricedRow(c)), failed: [] }),
      ]);
      assert.deepEqual([r1.written, r2.written], [20, 20]);
      assert.equal(r2.steps?.keyWait, undefined);
    });

    it('two batches racing with the same keys on two pools, listed in opposite orders: exactly one original of each key wins, no deadlock', async () => {
      const twin = (c: Claim, id: number) => ({ ...cloneClaim(c), stagingId: String(id) });
      for (let round = 0; round < 3; round++) {
        const claims = validClaims(60, 1 + round * 1000, 300 + round);
        const batchA = { batchId: `A${round}`, priced: claims.map((c) => pricedRow(c)), failed: [] };
        const batchB = { batchId: `B${round}`, priced: claims.map((c, i) => pricedRow(twin(c, round * 1000 + 500 + i))).reverse(), failed: [] };
        const [ra, rb] = await Promise.all([new PostgresProductionWriter(pool(), sealer).write(batchA), new PostgresProductionWriter(pool(), sealer).write(batchB)]);
        assert.equal(ra.written + rb.written, 60, `round ${round}`);
        assert.equal(ra.duplicates.length + rb.duplicates.length, 60, `round ${round}`);
      }
      assert.equal(await countRows(knex, 'claims'), 180);
      assert.equal(await countRows(knex, 'failed_claims'), 180);
      const { rows } = (await knex.raw(`SELECT count(DISTINCT (facility_id, claim_id))::int AS n FROM claims`)) as { rows: Array<{ n: number }> };
      assert.equal(rows[0].n, 180);
      assert.equal(Number((await knex('failed_claims').whereNot('rules', 'DUPLICATE_IN_PRODUCTION').count({ n: '*' }))[0].n), 0);
    });
  });

  describe('lookups', () => {
    it('alreadyWritten: staging ids held in claims or failed_claims', async () => {
      const claims = validClaims(6, 1);
      await writer.write({ batchId: 'x', priced: claims.slice(0, 3).map((c) => pricedRow(c)), failed: claims.slice(3, 5).map((c) => failedRow(c)) });
      assert.deepEqual(await writer.alreadyWritten([]), new Set());
      assert.deepEqual(await writer.alreadyWritten(['1', '3', '4', '6', '999']), new Set(['1', '3', '4']));
    });

    it('existingKeys: the keys of originals production holds, of those asked about', async () => {
      const [a, b, c] = validClaims(3, 1);
      const replacementOnly = { ...c, frequency: '7', originalReference: 'PCN-9' };
      await writer.write({ batchId: 'x', priced: [pricedRow(a), pricedRow(replacementOnly)], failed: [failedRow(b)] });
      assert.deepEqual(await writer.existingKeys([]), new Set());
      const keys = await writer.existingKeys([
        { facilityId: a.facilityId, claimId: a.claimId },
        { facilityId: b.facilityId, claimId: b.claimId }, // failed, not in production
        { facilityId: c.facilityId, claimId: c.claimId }, // a replacement only
        { facilityId: 'FAC99', claimId: a.claimId }, // another facility
      ]);
      assert.deepEqual(keys, new Set([claimKeyOf(a.facilityId, a.claimId)]));
    });
  });

  // Regression (was a bug): as a join, a claims table without statistics (new, or not analyzed since a bulk
  // load) was hash-joined, reading every original claim on every batch: 18 ms at 10,000 rows and
  // growing, 2 s of PostgreSQL's CPU in bench:claims.
  it('existingKeys probes the original-key index once per key, whatever the statistics say', async () => {
    await writer.write({ batchId: 'bulk', priced: validClaims(3000, 5).map((c) => pricedRow(c)), failed: [] });
    const capture = capturePlans(schema.url);
    extra.push(capture.knex);
    const asked = validClaims(40, 5).map((c) => ({ facilityId: c.facilityId, claimId: c.claimId }));
    const keys = await new PostgresProductionWriter(capture.knex, sealer).existingKeys(asked);
    assert.equal(keys.size, 40);
    const [plan] = capture.plansOf('CROSS JOIN LATERAL');
    assert.ok(plan, capture.plans.join('\n\n'));
    assert.match(plan, /Index (Only )?Scan using claims_original_key on claims c .*loops=40\)/, plan);
    assert.doesNotMatch(plan, /Hash|Seq Scan|Bitmap/, plan);
  });

  describe('SECURITY: failed_claims', () => {
    it('keeps member id, name and birth date sealed; reasons on them say (sealed); the workbench opens them back', async () => {
      const claims = validClaims(5, 40);
      const extraReasons = (c: Claim): RuleFailure[] => [
        { rule: 'MEMBER_ID_FORMAT', severity: 'error', field: 'memberId', value: c.memberId, message: 'm' },
        { rule: 'NAME_CHECK', severity: 'warning', field: 'patientFamily', value: c.patientFamily, message: 'n' },
        { rule: 'NAME_CHECK_GIVEN', severity: 'warning', field: 'patientGiven', value: c.patientGiven, message: 'g' },
      ];
      await writer.write({ batchId: 'sec', priced: [], failed: claims.map((c) => failedRow(c, extraReasons(c))) });
      const rows = await failedRows();
      assert.equal(rows.length, 5);
      for (const row of rows) {
        const c = claims.find((x) => x.stagingId === row.staging_id)!;
        const names = [c.patientFamily, c.patientGiven];
        for (const [column, value] of Object.entries(row)) {
          if (column === 'sealed' || typeof value !== 'string') continue;
          assert.ok(!value.includes(c.memberId), `member id in clear in ${column}`);
          assert.ok(!value.includes(c.birthDate), `birth date in clear in ${column}`);
          assert.ok(!names.includes(value), `a name is ${column}`);
        }
        const open = JSON.parse(row.claim) as Record<string, unknown>;
        for (const { at, s } of stringsIn(open)) assert.ok(!names.includes(s), `a name at ${at} of the claim column`);
        assert.match(row.sealed, /^v1\.[0-9a-f]{16}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
        assert.ok(!cipherBytes(row.sealed).includes(c.memberId), 'the sealed column is only encoded');
        for (const f of SENSITIVE_FIELDS) assert.ok(!(f in open), `${f} in the claim column`);
        assert.equal(open.stagingId, c.stagingId);
        assert.deepEqual(open.lines, JSON.parse(JSON.stringify(c.lines)));
        const reopened = openFailedClaim(open, row.sealed, row.staging_id, sealer);
        assert.deepEqual(reopened, JSON.parse(JSON.stringify(c)));
        // Bound to its own row: the sealed value of another staging id does not open.
        assert.throws(() => openFailedClaim(open, row.sealed, String(Number(row.staging_id) + 1), sealer), SecretKeyError);
        assert.throws(() => sealer.open(row.sealed, failedClaimOwner(`${row.staging_id}0`)), SecretKeyError);
      }
      const reasons = (await knex('failed_claim_reasons').select('field', 'value')) as Array<{ field: string; value: string }>;
      assert.equal(reasons.length, 30);
      for (const r of reasons) if (SENSITIVE_FIELDS.includes(r.field as (typeof SENSITIVE_FIELDS)[number])) assert.equal(r.value, '(sealed)', r.field);
      for (const c of claims) {
        for (const r of reasons) {
          assert.ok(!r.value.includes(c.memberId) && !r.value.includes(c.birthDate), `a sensitive value in failed_claim_reasons (${r.field})`);
          assert.ok(r.value !== c.patientFamily && r.value !== c.patientGiven, `a name in failed_claim_reasons (${r.field})`);
        }
      }
    });

    it('a duplicate caught at write time is sealed the same way', async () => {
      const [a] = validClaims(1, 1);
      await writer.write({ batchId: 'x', priced: [pricedRow(a)], failed: [] });
      await writer.write({ batchId: 'y', priced: [pricedRow({ ...cloneClaim(a), stagingId: '2' })], failed: [] });
      const [row] = await failedRows();
      for (const column of ['claim', 'rules', 'claim_id'] as const) assert.ok(!row[column].includes(a.memberId) && !row[column].includes(a.birthDate), column);
      assert.ok(!cipherBytes(row.sealed).includes(a.memberId));
      assert.deepEqual(openFailedClaim(JSON.parse(row.claim) as Record<string, unknown>, row.sealed, '2', sealer), JSON.parse(JSON.stringify({ ...a, stagingId: '2' })));
    });
  });

  describe('transactions', () => {
    it('a claim the database refuses (an impossible birth date) rolls the whole write back', async () => {
      const claims = validClaims(6, 1);
      const bad = { ...claims[2], birthDate: '1990-02-30' };
      await assert.rejects(
        writer.write({ batchId: 'bad', priced: [pricedRow(claims[0]), pricedRow(claims[1]), pricedRow(bad), pricedRow(claims[3])], failed: claims.slice(4).map((c) => failedRow(c)) }),
        (e: { code?: string }) => /^22/.test(e.code ?? ''),
      );
      assert.deepEqual(await counts(), { claims: 0, failed_claims: 0, failed_claim_reasons: 0, failed_claim_audit: 0, claim_batches: 0 });
    });

    it('a failure after the claims were inserted (a failed claim with an impossible date of service) leaves no claim behind', async () => {
      const claims = validClaims(6, 1);
      const bad = cloneClaim(claims[5]);
      bad.lines[0].serviceFrom = '2023-02-30'; // date-shaped, so it reaches the INSERT
      await assert.rejects(writer.write({ batchId: 'late', priced: claims.slice(0, 5).map((c) => pricedRow(c)), failed: [failedRow(bad)] }), (e: { code?: string }) => /^22/.test(e.code ?? ''));
      assert.deepEqual(await counts(), { claims: 0, failed_claims: 0, failed_claim_reasons: 0, failed_claim_audit: 0, claim_batches: 0 });
      // The pool is fine afterwards: the same claims write.
      const ok = await writer.write({ batchId: 'late', priced: claims.slice(0, 5).map((c) => pricedRow(c)), failed: [failedRow(claims[5])] });
      assert.deepEqual(outcome(ok), { written: 5, failed: 1, replayed: 0, duplicates: [] });
    });

    it('a failure while a replayed batch takes the careful path also rolls back', async () => {
      const claims = validClaims(6, 1);
      await writer.write({ batchId: 'first', priced: [pricedRow(claims[0])], failed: [] });
      const bad = cloneClaim(claims[5]);
      bad.lines[0].serviceFrom = '2023-02-30';
      await assert.rejects(writer.write({ batchId: 'second', priced: claims.slice(0, 5).map((c) => pricedRow(c)), failed: [failedRow(bad)] }));
      assert.deepEqual(await stagingIdsIn(knex, 'claims'), [1]);
      assert.equal(await countRows(knex, 'failed_claims'), 0);
      assert.equal(await countRows(knex, 'claim_batches'), 1);
    });

    it('several writes inside one outer transaction (savepoints, as the workbench does) each land, and roll back with it', async () => {
      const claims = validClaims(8, 1);
      await writer.write({ batchId: 'seed', priced: [pricedRow(claims[0])], failed: [] });
      const results: WriteResult[] = [];
      await knex.transaction(async (trx) => {
        const inner = new PostgresProductionWriter(trx, sealer);
        // A replay first (the careful path), then fresh claims, then a replay again.
        results.push(await inner.write({ batchId: 't1', priced: claims.slice(0, 3).map((c) => pricedRow(c)), failed: [] }));
        results.push(await inner.write({ batchId: 't2', priced: claims.slice(3, 5).map((c) => pricedRow(c)), failed: [failedRow(claims[5])] }));
        results.push(await inner.write({ batchId: 't3', priced: [4, 6, 7].map((i) => pricedRow(claims[i])), failed: [] }));
      });
      assert.deepEqual(results.map(outcome), [
        { written: 2, failed: 0, replayed: 1, duplicates: [] },
        { written: 2, failed: 1, replayed: 0, duplicates: [] },
        { written: 2, failed: 0, replayed: 1, duplicates: [] },
      ]);
      assert.deepEqual(await stagingIdsIn(knex, 'claims'), [1, 2, 3, 4, 5, 7, 8]);
      const rows = (await knex('claims').select(knex.raw('staging_id::int AS id'), 'batch_id').orderBy('staging_id')) as Array<{ id: number; batch_id: string }>;
      assert.deepEqual(
        rows.map((r) => `${r.id}:${r.batch_id}`),
        ['1:seed', '2:t1', '3:t1', '4:t2', '5:t2', '7:t3', '8:t3'],
      );

      await assert.rejects(
        knex.transaction(async (trx) => {
          await new PostgresProductionWriter(trx, sealer).write({ batchId: 'gone', priced: [pricedRow({ ...claims[0], stagingId: '90', claimId: 'NEW-90' })], failed: [] });
          throw new Error('caller gave up');
        }),
        /caller gave up/,
      );
      assert.equal(await countRows(knex, 'claims', { staging_id: 90 }), 0);
      assert.equal(await countRows(knex, 'claim_batches', { batch_id: 'gone' }), 0);
    });
  });
});
