/**
 * Reads claims from the PostgreSQL staging table in batches. Several Wasl processes can poll the
 * same table: each claims its rows with `FOR UPDATE SKIP LOCKED`, so no two take the same row, and
 * marks them `in_flight` with a lease. A row whose lease ran out (its process died mid-batch) is
 * claimed again by the next poll: nothing staged is ever left behind. Production's unique
 * staging_id makes the second pass harmless.
 */
import type { Knex } from 'knex';
import { pgArray } from '../../common/pg-array';
import type { Claim, ClaimLine } from '../../transformers/claims/types';
import { DEFAULT_TABLES } from './schema';

export interface ClaimedBatch {
  /** `<table>:<first id>-<last id>:<claimedAt ms>`: unique per claim of rows. */
  batchId: string;
  claimedAt: string;
  claims: Claim[];
}

export interface StagingOptions {
  table?: string;
  /** Names this process in `claimed_by` (host:pid). */
  workerId: string;
  /** A claimed row not finished within this many seconds may be claimed again. */
  leaseS: number;
  /**
   * Claims of one row before it is left alone (default 5). A row whose batch keeps failing
   * (dead-lettered each time) would otherwise come back every lease, forever; past this it stays
   * `in_flight` with its attempts, for an operator (ops figures count it as stuck).
   */
  maxAttempts?: number;
  /** How often expired leases are looked for, in ms (default leaseCheckEveryMs(leaseS); 0: every poll). */
  leaseCheckMs?: number;
}

interface StagingRow {
  id: string;
  claim_id: string;
  facility_id: string;
  frequency: string;
  original_reference: string | null;
  payer_id: string;
  member_id: string | null;
  patient_family: string | null;
  patient_given: string | null;
  birth_date: string | null;
  sex: string | null;
  billing_npi: string | null;
  rendering_npi: string | null;
  place_of_service: string | null;
  diagnoses: string;
  lines: string;
  total_charge_cents: string;
  locality_mac: string | null;
  locality_number: string | null;
}

/** Every this many polls, new rows are looked for from the start of the table (see claimBatch). */
const RESCAN_EVERY = 20;

/**
 * How often a poller looks for expired leases: a tenth of the lease, at most every 10 s. That
 * query walks every row in flight (18,000 index entries and 16 ms per poll in bench:claims), and a
 * lease that ran out is then reclaimed at most a tenth of a lease late.
 */
export function leaseCheckEveryMs(leaseS: number): number {
  return Math.min(leaseS * 100, 10_000);
}

export class ClaimsStaging {
  private readonly table: string;
  /** The id after the last new row this poller claimed: where the next poll looks first. */
  private cursor = '0';
  private polls = 0;
  /** When expired leases are next looked for (epoch ms); 0: on the next poll. */
  private nextLeaseCheck = 0;

  constructor(
    private readonly knex: Knex,
    private readonly options: StagingOptions,
  ) {
    this.table = options.table ?? DEFAULT_TABLES.staging;
  }

  /**
   * Claims up to `limit` rows in id order, rows in flight past their lease first, then new ones,
   * and returns them as claims. Each claim is one statement: the claim and the read cannot be
   * separated by a crash.
   *
   * Two range scans rather than one `status = 'new' OR (expired)` query: that one walked the whole
   * (status, id) index through every row already done, so each poll cost more than the last
   * (29 ms of scanning per poll halfway through 100,000 rows, measured alone). New rows are taken from a cursor (the id after the last one this poller took),
   * so a poll reads only rows it may claim. Rows below the cursor that are still new (locked by
   * another poller when we passed, or committed out of id order) are picked up by a rescan from
   * the start: whenever the cursor comes up short, and every RESCAN_EVERY polls.
   */
  async claimBatch(limit: number): Promise<ClaimedBatch | undefined> {
    const claimedAt = new Date();
    const rows: StagingRow[] = [];
    if (claimedAt.getTime() >= this.nextLeaseCheck) {
      const leaseEnded = new Date(claimedAt.getTime() - this.options.leaseS * 1000);
      rows.push(...(await this.claimWhere(`status = 'in_flight' AND claimed_at < ? AND attempts < ?`, [leaseEnded, this.options.maxAttempts ?? 5], limit, claimedAt)));
      // A full batch of expired rows: there may be more, so look again on the next poll.
      this.nextLeaseCheck = rows.length < limit ? claimedAt.getTime() + (this.options.leaseCheckMs ?? leaseCheckEveryMs(this.options.leaseS)) : 0;
    }
    if (rows.length < limit) {
      this.polls += 1;
      const rescan = this.polls % RESCAN_EVERY === 0 ? '0' : this.cursor;
      rows.push(...(await this.claimNew(rescan, limit - rows.length, claimedAt)));
      if (rows.length < limit && rescan !== '0') rows.push(...(await this.claimNew('0', limit - rows.length, claimedAt)));
    }
    if (rows.length === 0) return undefined;
    // RETURNING gives no order; the batch id and the claims' order must not depend on it.
    rows.sort((a, b) => compareIds(a.id, b.id));
    const batchId = `${this.table}:${rows[0].id}-${rows[rows.length - 1].id}:${claimedAt.getTime()}`;
    return { batchId, claimedAt: claimedAt.toISOString(), claims: rows.map(claimFromRow) };
  }

  /**
   * New rows from id `from` on; the cursor goes just past the last one taken. After a rescan that
   * may move it back, which is harmless (the scan covers new rows only) and follows a staging
   * table whose ids started again from 1.
   */
  private async claimNew(from: string, limit: number, claimedAt: Date): Promise<StagingRow[]> {
    const rows = await this.claimWhere(`status = 'new' AND id >= ?::bigint`, [from], limit, claimedAt);
    if (rows.length > 0) {
      const last = rows.reduce((max, r) => (compareIds(r.id, max) > 0 ? r.id : max), rows[0].id);
      this.cursor = (BigInt(last) + 1n).toString();
    }
    return rows;
  }

  /**
   * One claiming statement: locks (skipping rows others hold), leases and returns the rows `where`
   * picks, walking the (status, id) index in its own order and stopping at `limit`.
   *
   * The planner is told not to sort or build a bitmap for this one statement (SET LOCAL, in its own
   * transaction). Its estimates come from statistics, and a staging table's are wrong exactly when
   * it matters: just after a bulk load (none yet, or from when every row was done), "few rows are
   * new" made it collect every new row, sort them all and keep 2,000: 100 ms per poll at 100,000
   * staged rows against 25 ms for the index walk, each poll paying for all the rows behind it.
   */
  private async claimWhere(where: string, bindings: unknown[], limit: number, claimedAt: Date): Promise<StagingRow[]> {
    const t = this.knex.raw('??', [this.table]).toQuery();
    return this.knex.transaction(async (trx) => {
      await trx.raw(`SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)`);
      const { rows } = (await trx.raw(
        `UPDATE ${t} s SET status = 'in_flight', claimed_by = ?, claimed_at = ?, attempts = s.attempts + 1
           FROM (SELECT id FROM ${t} WHERE ${where} ORDER BY status, id LIMIT ? FOR UPDATE SKIP LOCKED) picked
          WHERE s.id = picked.id
          RETURNING s.id::text AS id, s.claim_id, s.facility_id, s.frequency, s.original_reference, s.payer_id, s.member_id,
                    s.patient_family, s.patient_given, to_char(s.birth_date, 'YYYY-MM-DD') AS birth_date, s.sex,
                    s.billing_npi, s.rendering_npi, s.place_of_service, s.diagnoses, s.lines,
                    s.total_charge_cents::text AS total_charge_cents, s.locality_mac, s.locality_number`,
        [this.options.workerId, claimedAt, ...bindings, limit] as Knex.RawBinding[],
      )) as { rows: StagingRow[] };
      return rows;
    });
  }

  /** Marks rows finished (written to production or to failed_claims). */
  async markDone(stagingIds: string[], batchId: string): Promise<void> {
    if (stagingIds.length === 0) return;
    await this.knex.raw(`UPDATE ?? SET status = 'done', batch_id = ? WHERE id = ANY(?::bigint[])`, [this.table, batchId, pgArray(stagingIds)]);
  }

  /** Row counts by status, and `stuck`: rows past maxAttempts that no poll takes any more. */
  async counts(): Promise<Record<string, number>> {
    const rows = (await this.knex(this.table).select('status').count({ n: '*' }).groupBy('status')) as Array<{ status: string; n: string | number }>;
    // Stuck: on its last attempt AND that lease has run out (a row being worked on is not stuck).
    const leaseEnded = new Date(Date.now() - this.options.leaseS * 1000);
    const stuck = (await this.knex(this.table)
      .where('status', 'in_flight')
      .andWhere('attempts', '>=', this.options.maxAttempts ?? 5)
      .andWhere('claimed_at', '<', leaseEnded)
      .count({ n: '*' })) as Array<{ n: string | number }>;
    return { ...Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])), stuck: Number(stuck[0]?.n ?? 0) };
  }
}

function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A staging row as a Claim; missing values become '' so that validation names them. */
export function claimFromRow(r: StagingRow): Claim {
  const claim: Claim = {
    stagingId: r.id,
    claimId: r.claim_id,
    facilityId: r.facility_id,
    frequency: r.frequency || '1',
    payerId: r.payer_id,
    memberId: r.member_id ?? '',
    patientFamily: r.patient_family ?? '',
    patientGiven: r.patient_given ?? '',
    birthDate: r.birth_date ?? '',
    sex: r.sex ?? '',
    billingNpi: r.billing_npi ?? '',
    placeOfService: r.place_of_service ?? '',
    diagnoses: parseJsonArray<string>(r.diagnoses),
    lines: parseJsonArray<ClaimLine>(r.lines),
    totalChargeCents: Number(r.total_charge_cents),
  };
  if (r.original_reference) claim.originalReference = r.original_reference;
  if (r.rendering_npi) claim.renderingNpi = r.rendering_npi;
  if (r.locality_mac && r.locality_number) claim.locality = { mac: r.locality_mac, locality: r.locality_number };
  return claim;
}

/** Malformed JSON in a staging row must not stop the batch: the claim then fails validation. */
function parseJsonArray<T>(text: string): T[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as T[]) : [];
  } catch {
    return [];
  }
}

/** A Claim as a staging row (the bench, the tests and the workbench's demo loader write these). */
export function stagingRowOf(c: Claim): Record<string, unknown> {
  return {
    claim_id: c.claimId,
    facility_id: c.facilityId,
    frequency: c.frequency ?? '1',
    original_reference: c.originalReference ?? null,
    payer_id: c.payerId,
    member_id: c.memberId || null,
    patient_family: c.patientFamily || null,
    patient_given: c.patientGiven || null,
    birth_date: c.birthDate || null,
    sex: c.sex || null,
    billing_npi: c.billingNpi || null,
    rendering_npi: c.renderingNpi ?? null,
    place_of_service: c.placeOfService || null,
    diagnoses: JSON.stringify(c.diagnoses),
    lines: JSON.stringify(c.lines),
    total_charge_cents: c.totalChargeCents,
    locality_mac: c.locality?.mac ?? null,
    locality_number: c.locality?.locality ?? null,
  };
}
