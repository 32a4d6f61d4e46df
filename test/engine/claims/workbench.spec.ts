/**
 * The failed-claims workbench against a real PostgreSQL (fresh schema per run). Failed claims are
 * seeded the way the pipeline makes them: synthetic claims with known defects run through the
 * real stages (validate, predict, price) and PostgresProductionWriter; the workbench then lists,
 * groups, opens, repairs and reprocesses them.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import knexFactory, { type Knex } from 'knex';
import winston from 'winston';
import { addLogTransport, removeLogTransport } from '../../../common/logger';
import { SecretBox } from '../../../common/secret-box';
import { sealBatch } from '../../../connectors/claims/batch';
import { serviceDateOf } from '../../../connectors/claims/production';
import { PostgresProductionWriter } from '../../../connectors/claims/production-pg';
import { predictBatch, priceBatch, validateBatch, writeBatch } from '../../../engine/claims/stages';
import { FailedClaimNotFoundError, FailedClaimsWorkbench, auditOwner, type FailedClaimDetail, type ReprocessDeps } from '../../../engine/claims/workbench';
import { generateClaimSet } from '../../../scripts/claims/synthetic-claims';
import { loadFeeSchedule } from '../../../transformers/claims/price';
import type { Claim, RuleFailure } from '../../../transformers/claims/types';
import { compileRuleSet, loadRuleSet } from '../../../transformers/claims/validate';
import { freshPostgresSchema, requireService } from '../../support/services';

/** A failed claim as seeded: the whole claim and the rules it broke. */
interface SeededFailure {
  claim: Claim;
  failures: RuleFailure[];
}

/**
 * Runs `claims` through the real stages into production; returns the failed ones with their reasons.
 */
async function seedThroughPipeline(knex: Knex, sealer: SecretBox, claims: Claim[], deps: ReprocessDeps, batchId: string): Promise<SeededFailure[]> {
  const writer = new PostgresProductionWriter(knex, sealer);
  await writer.ensureSchema();
  const batch = sealBatch(batchId, { table: 'claims_staging', claimedBy: 'seed', claimedAt: new Date().toISOString() }, claims, sealer);
  await validateBatch(batch, { rules: deps.rules, sealer, production: writer, today: deps.today });
  predictBatch(batch, { model: deps.model, sealer, action: deps.action, today: deps.today });
  priceBatch(batch, { schedule: deps.schedule, conversionFactor: deps.conversionFactor, useGpci: deps.useGpci });
  await writeBatch(batch, { writer, sealer });
  return claims.flatMap((claim, i) => (batch.outcomes[i].failures?.some((f) => f.severity === 'error') ? [{ claim, failures: batch.outcomes[i].failures ?? [] }] : []));
}

function testDeps(today: string): ReprocessDeps {
  // `flag`: a model score never holds a claim, so what passes depends on the rules alone.
  return { rules: compileRuleSet(loadRuleSet()), model: undefined, schedule: loadFeeSchedule(), conversionFactor: '36.04', useGpci: false, action: 'flag', today };
}

/** A patch that fixes the defects the seed plants (the reasons say where). */
function fixFor(detail: FailedClaimDetail, validCodes: string[]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  const lines: Record<string, Record<string, unknown>> = {};
  const diagnoses = [...detail.claim.diagnoses];
  for (const r of detail.reasons) {
    const line = /^lines\[(\d+)\]/.exec(r.field);
    if (r.rule === 'UNITS_NOT_POSITIVE' && line) lines[line[1]] = { ...lines[line[1]], units: 1 };
    else if (r.rule === 'MODIFIER_FORMAT' && line) {
      lines[line[1]] = { ...lines[line[1]], modifiers: detail.claim.lines[Number(line[1])].modifiers.filter((m) => /^[A-Z0-9]{2}$/.test(m)) };
    } else if (r.rule === 'ICD10_FORMAT') {
      const k = Number(/^diagnoses\[(\d+)\]$/.exec(r.field)?.[1]);
      diagnoses[k] = validCodes.find((c) => !diagnoses.includes(c)) as string;
      patch.diagnoses = diagnoses;
    } else if (r.rule === 'MEMBER_ID_REQUIRED') patch.memberId = `W${crypto.randomInt(1e8, 1e9)}`;
  }
  if (Object.keys(lines).length) patch.lines = lines;
  return patch;
}

describe('claims: failed-claims workbench (PostgreSQL)', function () {
  this.timeout(60_000);
  const today = new Date().toISOString().slice(0, 10);
  const sealer = new SecretBox(crypto.randomBytes(32).toString('hex'));
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let knex: Knex;
  let wb: FailedClaimsWorkbench;
  let deps: ReprocessDeps;
  let seeded: SeededFailure[];
  let validCodes: string[];
  const logLines: string[] = [];
  const capture = new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, cb) => (logLines.push(String(chunk)), cb()) }) });

  const idOf = async (stagingId: string): Promise<string> => (await knex('failed_claims').first(knex.raw('id::text as id')).where('staging_id', stagingId)).id as string;
  const rowsFor = async (stagingId: string) => ({
    claims: Number((await knex('claims').count({ n: '*' }).where('staging_id', stagingId))[0].n),
    failed: Number((await knex('failed_claims').count({ n: '*' }).where('staging_id', stagingId))[0].n),
  });
  const withRule = (rule: string) => seeded.filter((s) => s.failures.some((f) => f.rule === rule));
  const stagingIds = (items: Array<{ stagingId: string }>) => items.map((i) => i.stagingId).sort();

  before(async function () {
    await requireService(this, 'PostgreSQL');
    schema = await freshPostgresSchema();
    knex = knexFactory({ client: 'pg', connection: schema.url, pool: { min: 0, max: 6 } });
    deps = testDeps(today);
    const set = generateClaimSet(60, { seed: 20260301, invalidRate: 0.5, today, defects: ['ICD10_FORMAT', 'ZERO_UNITS', 'MISSING_MEMBER_ID', 'BAD_MODIFIER'] });
    seeded = await seedThroughPipeline(knex, sealer, set.claims, deps, 'seed:1-60');
    const failedIds = new Set(seeded.map((s) => s.claim.stagingId));
    validCodes = [...new Set(set.claims.filter((c) => !failedIds.has(c.stagingId)).flatMap((c) => c.diagnoses))];
    wb = new FailedClaimsWorkbench(knex, sealer);
    addLogTransport(capture);
  });

  after(async () => {
    removeLogTransport(capture);
    await knex?.destroy();
    await schema?.drop();
  });

  it('seeds as the pipeline does: the planted defects are in failed_claims with their reasons', async () => {
    assert.equal(seeded.length, 30);
    assert.equal(Number((await knex('failed_claims').count({ n: '*' }))[0].n), 30);
    assert.equal(Number((await knex('claims').count({ n: '*' }))[0].n), 30);
    for (const rule of ['ICD10_FORMAT', 'UNITS_NOT_POSITIVE', 'MEMBER_ID_REQUIRED', 'MODIFIER_FORMAT']) assert.ok(withRule(rule).length >= 2, `${rule} seeded`);
  });

  it('lists open failed claims without sensitive fields', async () => {
    const { items, next } = await wb.list({ limit: 500 });
    assert.equal(next, undefined);
    assert.deepEqual(stagingIds(items), seeded.map((s) => s.claim.stagingId).sort());
    assert.deepEqual(Object.keys(items[0]).sort(), ['claimId', 'createdAt', 'facilityId', 'id', 'payerId', 'reprocessCount', 'rules', 'serviceDate', 'stagingId', 'status'].sort());
    const text = JSON.stringify(items);
    for (const s of seeded) {
      if (s.claim.memberId) assert.ok(!text.includes(s.claim.memberId), 'member id in the list');
      assert.ok(!text.includes(s.claim.birthDate), 'birth date in the list');
    }
    const one = items.find((i) => i.stagingId === seeded[0].claim.stagingId);
    assert.deepEqual(one?.rules, [...new Set(seeded[0].failures.map((f) => f.rule))]);
    assert.equal(one?.serviceDate, serviceDateOf(seeded[0].claim));
  });

  it('pages with a keyset cursor: every row once, in id order, and the last page has no next', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await wb.list({ limit: 7, after });
      assert.ok(page.items.length <= 7);
      seen.push(...page.items.map((i) => i.id));
      after = page.next;
      pages += 1;
    } while (after);
    assert.equal(pages, 5); // 30 rows: 7 + 7 + 7 + 7 + 2
    assert.equal(new Set(seen).size, 30);
    assert.deepEqual(seen, [...seen].sort((a, b) => Number(a) - Number(b)));
    // The cursor is an id, not an offset: rows before it leaving the table do not shift the page.
    const second = await wb.list({ limit: 7, after: seen[6] });
    assert.deepEqual(second.items.map((i) => i.id), seen.slice(7, 14));
  });

  it('filters by rule, facility, payer, dates of service and status', async () => {
    for (const rule of ['ICD10_FORMAT', 'MEMBER_ID_REQUIRED', 'MODIFIER_UNKNOWN']) {
      const { items } = await wb.list({ rule, limit: 500 });
      assert.deepEqual(stagingIds(items), withRule(rule).map((s) => s.claim.stagingId).sort(), rule);
    }
    const facility = seeded[3].claim.facilityId;
    assert.deepEqual(stagingIds((await wb.list({ facilityId: facility, limit: 500 })).items), seeded.filter((s) => s.claim.facilityId === facility).map((s) => s.claim.stagingId).sort());
    const payer = seeded[5].claim.payerId;
    assert.deepEqual(stagingIds((await wb.list({ payerId: payer, limit: 500 })).items), seeded.filter((s) => s.claim.payerId === payer).map((s) => s.claim.stagingId).sort());
    const dates = seeded.map((s) => serviceDateOf(s.claim) as string).sort();
    const [from, to] = [dates[8], dates[20]];
    const inRange = seeded.filter((s) => (serviceDateOf(s.claim) as string) >= from && (serviceDateOf(s.claim) as string) <= to);
    assert.ok(inRange.length > 0 && inRange.length < 30);
    assert.deepEqual(stagingIds((await wb.list({ from, to, limit: 500 })).items), inRange.map((s) => s.claim.stagingId).sort());
    assert.equal((await wb.list({ from: dates[29] > today ? dates[29] : today, to: '2999-12-31', limit: 500 })).items.every((i) => (i.serviceDate as string) >= today), true);
    assert.deepEqual((await wb.list({ status: 'resolved' })).items, []);
    // Filters combine.
    const rule = 'ICD10_FORMAT';
    const f = withRule(rule)[0].claim.facilityId;
    assert.deepEqual(stagingIds((await wb.list({ rule, facilityId: f, limit: 500 })).items), withRule(rule).filter((s) => s.claim.facilityId === f).map((s) => s.claim.stagingId).sort());
  });

  it('groups failed claims by rule with the rule message, largest first', async () => {
    const { total, groups } = await wb.groups();
    assert.equal(total, 30);
    const expected = new Map<string, number>();
    for (const s of seeded) for (const r of new Set(s.failures.map((f) => f.rule))) expected.set(r, (expected.get(r) ?? 0) + 1);
    assert.deepEqual(new Map(groups.map((g) => [g.rule, g.claims])), expected);
    assert.deepEqual(groups.map((g) => g.claims), [...groups.map((g) => g.claims)].sort((a, b) => b - a));
    const icd = groups.find((g) => g.rule === 'ICD10_FORMAT');
    assert.equal(icd?.message, withRule('ICD10_FORMAT')[0].failures.find((f) => f.rule === 'ICD10_FORMAT')?.message);
    assert.equal(icd?.severity, 'error');
    const facility = seeded[0].claim.facilityId;
    const narrowed = await wb.groups({ facilityId: facility });
    assert.equal(narrowed.total, seeded.filter((s) => s.claim.facilityId === facility).length);
  });

  it('opens a claim: sensitive fields decrypted, reasons, empty audit trail', async () => {
    const s = withRule('ICD10_FORMAT')[0];
    const detail = await wb.get(await idOf(s.claim.stagingId));
    assert.deepEqual(detail.claim, s.claim);
    assert.deepEqual(
      detail.reasons.map((r) => `${r.rule}@${r.field}`).sort(),
      s.failures.map((f) => `${f.rule}@${f.field}`).sort(),
    );
    assert.deepEqual(detail.audit, []);
    await assert.rejects(wb.get('999999999'), FailedClaimNotFoundError);
  });

  it('keeps the member id, name and birth date out of the stored row in clear', async () => {
    const s = seeded.find((x) => x.claim.memberId) as SeededFailure;
    const row = await knex('failed_claims').first('claim', 'sealed').where('staging_id', s.claim.stagingId);
    for (const column of [row.claim, row.sealed] as string[]) {
      assert.ok(!column.includes(s.claim.memberId), 'member id in clear');
      assert.ok(!column.includes(s.claim.patientFamily), 'family name in clear');
      assert.ok(!column.includes(s.claim.birthDate), 'birth date in clear');
    }
    assert.match(row.sealed, /^v1\./);
    // The reason of a sensitive field carries no value either.
    const m = withRule('MEMBER_ID_REQUIRED')[0];
    const reason = await knex('failed_claim_reasons').first('value').where({ failed_claim_id: await idOf(m.claim.stagingId), rule: 'MEMBER_ID_REQUIRED' });
    assert.equal(reason.value, '(sealed)');
  });

  it('repairs a claim: stored claim re-sealed, audit row with sealed before and after', async () => {
    const s = withRule('UNITS_NOT_POSITIVE')[0];
    const id = await idOf(s.claim.stagingId);
    const line = Number(/^lines\[(\d+)\]/.exec(s.failures.find((f) => f.rule === 'UNITS_NOT_POSITIVE')!.field)![1]);
    const sealedBefore = (await knex('failed_claims').first('sealed').where('id', id)).sealed as string;
    const { changed } = await wb.repair(id, { lines: { [line]: { units: 1 } }, patientGiven: 'Renamed' }, 'analyst@example.org');
    assert.deepEqual(changed.sort(), [`lines[${line}].units`, 'patientGiven'].sort());

    const detail = await wb.get(id);
    assert.equal(detail.claim.lines[line].units, 1);
    assert.equal(detail.claim.patientGiven, 'Renamed');
    assert.equal(detail.claim.memberId, s.claim.memberId);
    assert.notEqual((await knex('failed_claims').first('sealed').where('id', id)).sealed, sealedBefore);
    // Reasons stay until the claim is reprocessed.
    assert.ok(detail.reasons.some((r) => r.rule === 'UNITS_NOT_POSITIVE'));

    const audit = await knex('failed_claim_audit').select('*').where('failed_claim_id', id);
    assert.equal(audit.length, 1);
    assert.equal(audit[0].action, 'repair');
    assert.equal(audit[0].actor, 'analyst@example.org');
    for (const column of [audit[0].before, audit[0].after] as string[]) {
      assert.ok(!column.includes(s.claim.patientGiven) && !column.includes('Renamed') && !column.includes(s.claim.birthDate), 'audit in clear');
    }
    const before = JSON.parse(sealer.open(audit[0].before, auditOwner(id))) as Claim;
    const after = JSON.parse(sealer.open(audit[0].after, auditOwner(id))) as Claim;
    assert.deepEqual(before, s.claim);
    assert.equal(after.lines[line].units, 1);
    assert.equal(after.patientGiven, 'Renamed');
    assert.throws(() => sealer.open(audit[0].before, auditOwner(String(Number(id) + 1))), /integrity/);
    assert.deepEqual(
      detail.audit[0].changes?.map((c) => c.field).sort(),
      [`lines[${line}].units`, 'patientGiven'].sort(),
    );
    assert.deepEqual(detail.audit[0].changes?.find((c) => c.field === `lines[${line}].units`), { field: `lines[${line}].units`, before: 0, after: 1 });
  });

  it('refuses a bad patch with the field path and why, and writes nothing', async () => {
    const id = await idOf(withRule('ICD10_FORMAT')[1].claim.stagingId);
    const audits = async () => Number((await knex('failed_claim_audit').count({ n: '*' }))[0].n);
    const n = await audits();
    await assert.rejects(wb.repair(id, { memberid: 'x' }, 'a'), (e: Error & { path?: string }) => e.path === 'body.memberid' && /unknown claim field/.test(e.message));
    await assert.rejects(wb.repair(id, { lines: { 0: { units: '2' } } }, 'a'), (e: Error & { path?: string }) => e.path === 'body.lines[0].units' && /must be a number, got a string/.test(e.message));
    await assert.rejects(wb.repair(id, { lines: { 9: { units: 2 } } }, 'a'), (e: Error & { path?: string }) => e.path === 'body.lines[9]' && /no such line/.test(e.message));
    await assert.rejects(wb.repair(id, { stagingId: '1' }, 'a'), /not editable/);
    await assert.rejects(wb.repair(id, { claimId: 'x'.repeat(39) }, 'a'), /at most 38 fit/);
    await assert.rejects(wb.repair('999999999', { sex: 'F' }, 'a'), FailedClaimNotFoundError);
    assert.equal(await audits(), n);
  });

  it('reprocesses a fixed claim: it moves to claims and leaves failed_claims in one step', async () => {
    const s = withRule('UNITS_NOT_POSITIVE')[0]; // repaired above
    const id = await idOf(s.claim.stagingId);
    assert.deepEqual(await rowsFor(s.claim.stagingId), { claims: 0, failed: 1 });
    const report = await wb.reprocess([id], 'analyst@example.org', deps);
    assert.deepEqual([report.matched, report.written, report.stillFailing, report.notFound], [1, 1, 0, 0]);
    assert.deepEqual(report.results[0], { id, stagingId: s.claim.stagingId, claimId: s.claim.claimId, outcome: 'written', rules: [] });
    assert.deepEqual(await rowsFor(s.claim.stagingId), { claims: 1, failed: 0 });
    const prod = await knex('claims').first('member_id', 'patient_given', 'allowed_cents', 'batch_id').where('staging_id', s.claim.stagingId);
    assert.equal(prod.member_id, s.claim.memberId);
    assert.equal(prod.patient_given, 'Renamed');
    assert.ok(Number(prod.allowed_cents) > 0);
    assert.match(prod.batch_id, /^workbench:/);
    assert.equal(Number((await knex('failed_claim_reasons').count({ n: '*' }).where('failed_claim_id', id))[0].n), 0);
    const audit = await knex('failed_claim_audit').select('action', 'outcome', 'actor').where('failed_claim_id', id).orderBy('id');
    assert.deepEqual(audit.map((a) => [a.action, a.outcome]), [
      ['repair', audit[0].outcome],
      ['reprocess', 'written'],
    ]);
    await assert.rejects(wb.get(id), FailedClaimNotFoundError);
  });

  it('reprocesses a still-broken claim: kept, reasons replaced, count and audit updated', async () => {
    const s = withRule('ICD10_FORMAT')[1];
    const id = await idOf(s.claim.stagingId);
    const detail = await wb.get(id);
    // Fix the diagnosis but break the units of line 0: the reasons must change to the new problem.
    await wb.repair(id, { ...fixFor(detail, validCodes), lines: { 0: { units: 0 } } }, 'analyst@example.org');
    const report = await wb.reprocess([id], 'analyst@example.org', deps);
    assert.deepEqual(report.results.map((r) => [r.outcome, r.rules]), [['still failing', ['UNITS_NOT_POSITIVE']]]);
    assert.deepEqual(await rowsFor(s.claim.stagingId), { claims: 0, failed: 1 });
    const after = await wb.get(id);
    assert.deepEqual(after.reasons.map((r) => `${r.rule}@${r.field}`), ['UNITS_NOT_POSITIVE@lines[0].units']);
    assert.deepEqual(after.rules, ['UNITS_NOT_POSITIVE']);
    assert.equal(after.reprocessCount, 1);
    assert.deepEqual(after.audit.map((a) => [a.action, a.outcome]), [
      ['repair', after.audit[0].outcome],
      ['reprocess', 'still failing: UNITS_NOT_POSITIVE'],
    ]);
    // And it no longer shows under its old rule.
    assert.ok(!(await wb.list({ rule: 'ICD10_FORMAT', limit: 500 })).items.some((i) => i.id === id));
  });

  it('catches a repair that makes the claim a duplicate of one in production', async () => {
    const s = withRule('MODIFIER_FORMAT')[0];
    const id = await idOf(s.claim.stagingId);
    const taken = (await knex('claims').first('facility_id', 'claim_id').where('frequency', '1')) as { facility_id: string; claim_id: string };
    await wb.repair(id, { ...fixFor(await wb.get(id), validCodes), facilityId: taken.facility_id, claimId: taken.claim_id }, 'analyst@example.org');
    const report = await wb.reprocess([id], 'analyst@example.org', deps);
    assert.deepEqual(report.results.map((r) => [r.outcome, r.rules]), [['still failing', ['DUPLICATE_IN_PRODUCTION']]]);
    assert.deepEqual(await rowsFor(s.claim.stagingId), { claims: 0, failed: 1 });
  });

  it('two reprocesses of the same claim at once write it exactly once', async () => {
    const s = withRule('MODIFIER_FORMAT')[1];
    const id = await idOf(s.claim.stagingId);
    await wb.repair(id, fixFor(await wb.get(id), validCodes), 'a@example.org');
    const [a, b] = await Promise.all([wb.reprocess([id], 'a@example.org', deps), wb.reprocess([id], 'b@example.org', deps)]);
    assert.deepEqual([a.results[0].outcome, b.results[0].outcome].sort(), ['not found', 'written']);
    assert.deepEqual(await rowsFor(s.claim.stagingId), { claims: 1, failed: 0 });
  });

  it('bulk-reprocesses every claim matching a filter after the fix, leaving the unfixed ones', async () => {
    const members = withRule('MEMBER_ID_REQUIRED');
    assert.ok(members.length >= 3);
    const [unfixed, ...fixed] = members;
    for (const m of fixed) {
      const id = await idOf(m.claim.stagingId);
      await wb.repair(id, fixFor(await wb.get(id), validCodes), 'bulk@example.org');
    }
    const claimsBefore = Number((await knex('claims').count({ n: '*' }))[0].n);
    const report = await wb.reprocess({ rule: 'MEMBER_ID_REQUIRED' }, 'bulk@example.org', deps);
    assert.deepEqual([report.matched, report.written, report.stillFailing, report.capped], [members.length, fixed.length, 1, false]);
    assert.deepEqual(report.results.find((r) => r.stagingId === unfixed.claim.stagingId)?.rules, ['MEMBER_ID_REQUIRED']);
    assert.equal(Number((await knex('claims').count({ n: '*' }))[0].n), claimsBefore + fixed.length);
    for (const m of fixed) assert.deepEqual(await rowsFor(m.claim.stagingId), { claims: 1, failed: 0 });
    assert.deepEqual(stagingIds((await wb.list({ rule: 'MEMBER_ID_REQUIRED' })).items), [unfixed.claim.stagingId]);
    // Every staging id is in exactly one of the two tables.
    const { rows } = (await knex.raw(
      `SELECT staging_id, count(*)::int AS n FROM (SELECT staging_id FROM claims UNION ALL SELECT staging_id FROM failed_claims) t GROUP BY staging_id HAVING count(*) <> 1`,
    )) as { rows: unknown[] };
    assert.deepEqual(rows, []);
    assert.equal(Number((await knex('claims').count({ n: '*' }))[0].n) + Number((await knex('failed_claims').count({ n: '*' }))[0].n), 60);
  });

  it('reports ids that name no open failed claim as not found', async () => {
    const report = await wb.reprocess(['999999998'], 'a@example.org', deps);
    assert.deepEqual(report.results, [{ id: '999999998', outcome: 'not found', rules: [] }]);
  });

  it('logs ids and counts, never a member id, name or birth date', () => {
    assert.ok(logLines.some((l) => /failed claims reprocessed/.test(l)));
    assert.ok(logLines.some((l) => /failed claim repaired/.test(l)));
    const text = logLines.join('');
    for (const s of seeded) {
      for (const v of [s.claim.memberId, s.claim.patientFamily, s.claim.birthDate]) if (v) assert.ok(!text.includes(`"${v}"`) && !text.includes(v), 'PHI in the log');
    }
    assert.ok(!text.includes('Renamed'));
  });
});
