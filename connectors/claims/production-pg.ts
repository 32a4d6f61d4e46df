/**
 * PostgreSQL production writer. Priced claims go in with one COPY straight into the table (as
 * fast as a plain table-to-table COPY); when that meets a claim already held (a redelivery, a
 * duplicate key) it is undone to a savepoint and the batch goes through a temporary table and
 * one set-based INSERT ... SELECT with ON CONFLICT instead. Failed claims,
 * few, with one `INSERT ... SELECT FROM unnest(...)`; all inside one transaction with the batch record.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pgArray } from '../../common/pg-array';
import type { Sealer } from './batch';
import {
  DUPLICATE_AT_WRITE,
  claimKeyOf,
  ruleList,
  sealFailedClaim,
  serviceDateOf,
  storedReasonValue,
  type FailedClaimRow,
  type PricedClaimRow,
  type ProductionWriter,
  type WriteBatch,
  type WriteResult,
} from './production';
import { DEFAULT_TABLES, ensureProductionTables, type ClaimTables } from './schema';

/** claims columns with their PostgreSQL array types, in insert order. */
const CLAIM_COLUMNS: Array<[string, string]> = [
  ['staging_id', 'bigint'],
  ['claim_id', 'text'],
  ['facility_id', 'text'],
  ['frequency', 'text'],
  ['original_reference', 'text'],
  ['payer_id', 'text'],
  ['member_id', 'text'],
  ['patient_family', 'text'],
  ['patient_given', 'text'],
  ['birth_date', 'date'],
  ['sex', 'text'],
  ['billing_npi', 'text'],
  ['rendering_npi', 'text'],
  ['place_of_service', 'text'],
  ['diagnoses', 'text'],
  ['lines', 'text'],
  ['priced_lines', 'text'],
  ['total_charge_cents', 'bigint'],
  ['allowed_cents', 'bigint'],
  ['conversion_factor', 'text'],
  ['denial_score', 'numeric'],
  ['denial_decided_by', 'text'],
  ['batch_id', 'text'],
];

/** An original claim (frequency 1): the kind the unique (facility, claim id) index covers. */
function isOriginal(p: PricedClaimRow): boolean {
  return (p.claim.frequency ?? '1') === '1';
}

export class PostgresProductionWriter implements ProductionWriter {
  readonly dialect = 'postgres' as const;
  /** Original keys this writer is writing now, each with the end of the write holding it. */
  private readonly keysInFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly knex: Knex,
    private readonly sealer: Sealer,
    private readonly tables: ClaimTables = DEFAULT_TABLES,
  ) {}

  ensureSchema(): Promise<void> {
    return ensureProductionTables(this.knex, this.tables);
  }

  async alreadyWritten(stagingIds: string[]): Promise<Set<string>> {
    if (stagingIds.length === 0) return new Set();
    return this.stagingIdsHeld(this.knex, stagingIds);
  }

  async existingKeys(keys: Array<{ facilityId: string; claimId: string }>): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    return this.originalKeysHeld(
      this.knex,
      keys.map((k) => k.facilityId),
      keys.map((k) => k.claimId),
    );
  }

  /**
   * Which of these (facility, claim id) keys claims holds as originals, as claimKeyOf keys. One
   * probe of the original-key index per key (LATERAL ... LIMIT 1 cannot be turned into a join):
   * as a plain join, a table without statistics (new, or not analyzed since a bulk load) was
   * hash-joined, every original claim read on every batch (18 ms and growing at 10,000 rows,
   * against about 2 ms for 2,000 probes).
   */
  private async originalKeysHeld(runner: Knex | Knex.Transaction, facilityIds: string[], claimIds: string[]): Promise<Set<string>> {
    const { rows } = (await runner.raw(
      `SELECT k.f AS facility_id, k.id AS claim_id FROM unnest(?::text[], ?::text[]) k(f, id)
         CROSS JOIN LATERAL (SELECT 1 FROM ?? c WHERE c.facility_id = k.f AND c.claim_id = k.id AND c.frequency = '1' LIMIT 1) hit`,
      [pgArray(facilityIds), pgArray(claimIds), this.tables.claims],
    )) as { rows: Array<{ facility_id: string; claim_id: string }> };
    return new Set(rows.map((r) => claimKeyOf(r.facility_id, r.claim_id)));
  }

  /**
   * Writes one batch. A batch holding an original key that another write of this writer is
   * putting into claims right now waits for that write to end first. Without the wait both COPY
   * the key; the second blocks on the first's uncommitted row, then fails on the unique index,
   * undoes its COPY and takes the careful path (bench:claims: 22 of 50 batches, whose duplicates
   * were drawn from claims still in flight). After the wait, the key is committed, so the
   * in-transaction check sets the duplicate aside and the straight COPY goes through. Writes in
   * other processes can still race; the careful path stays for them.
   */
  async write(batch: WriteBatch): Promise<WriteResult> {
    const keys = [...new Set(batch.priced.filter(isOriginal).map((p) => claimKeyOf(p.claim.facilityId, p.claim.claimId)))];
    // Looked up and claimed in one synchronous pass, so of two writes sharing a key exactly one
    // waits for the other: no cycle, no deadlock.
    const earlier = new Set<Promise<void>>();
    for (const key of keys) {
      const busy = this.keysInFlight.get(key);
      if (busy) earlier.add(busy);
    }
    const waitStarted = performance.now();
    const run = (async () => {
      if (earlier.size > 0) await Promise.all(earlier);
      return this.writeInTransaction(batch, earlier.size > 0 ? performance.now() - waitStarted : undefined);
    })();
    const ended = run.then(
      () => undefined,
      () => undefined,
    );
    for (const key of keys) this.keysInFlight.set(key, ended);
    try {
      return await run;
    } finally {
      for (const key of keys) if (this.keysInFlight.get(key) === ended) this.keysInFlight.delete(key);
    }
  }

  private async writeInTransaction(batch: WriteBatch, keyWaitMs: number | undefined): Promise<WriteResult> {
    return this.knex.transaction(async (trx) => {
      const t = this.tables;
      const steps: Record<string, number> = {};
      if (keyWaitMs !== undefined) steps.keyWait = Math.round(keyWaitMs * 100) / 100;
      let mark = performance.now();
      const step = (name: string): void => {
        const now = performance.now();
        steps[name] = Math.round((now - mark) * 100) / 100;
        mark = now;
      };
      const failed: FailedClaimRow[] = [...batch.failed];
      let written = 0;
      let replayed = 0;
      const duplicates: string[] = [];
      if (batch.priced.length > 0) {
        const cols = CLAIM_COLUMNS.map(([c]) => `"${c}"`).join(', ');
        // Originals whose key production gained after this batch was validated (a duplicate in a
        // batch written meanwhile) would fail the straight COPY: set them aside first (one indexed
        // lookup), so the COPY usually succeeds; they are told apart below like any missing claim.
        const taken = await this.existingKeysIn(trx, batch.priced);
        const toCopy = taken.size ? batch.priced.filter((p) => !taken.has(p)) : batch.priced;
        const text = claimCopyRows({ ...batch, priced: toCopy });
        const ids = toCopy.map((p) => p.claim.stagingId);
        step('csv');
        let rows = await this.copyStraight(trx, cols, text, ids);
        step('copy');
        // `insert` is timed only when the careful path ran (the figures say how often it does).
        if (!rows) {
          // Some claim is already held (a redelivery racing its first pass, or a duplicate key):
          // COPY into a temporary table, then one INSERT that skips what is held. ON CONFLICT DO
          // NOTHING with no target covers both unique keys: staging_id (a replay) and the
          // original-claim key (a duplicate); which one is told apart below.
          await trx.raw(`CREATE TEMP TABLE IF NOT EXISTS wasl_claims_load (LIKE ?? INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`, [t.claims]);
          await copyCsv(trx, `COPY wasl_claims_load (${cols}) FROM STDIN`, text);
          rows = (
            (await trx.raw(
              `INSERT INTO ?? (${cols}) SELECT ${cols} FROM wasl_claims_load u
                WHERE NOT EXISTS (SELECT 1 FROM ?? f WHERE f.staging_id = u.staging_id)
                ORDER BY u.facility_id, u.claim_id
               ON CONFLICT DO NOTHING RETURNING staging_id::text AS id`,
              [t.claims, t.failed],
            )) as { rows: Array<{ id: string }> }
          ).rows;
          step('insert');
        }
        written = rows.length;
        if (written < batch.priced.length) {
          const inserted = new Set(rows.map((r) => r.id));
          const missing = batch.priced.filter((p) => !inserted.has(p.claim.stagingId));
          const held = await this.stagingIdsHeld(trx, missing.map((p) => p.claim.stagingId));
          for (const p of missing) {
            if (held.has(p.claim.stagingId)) {
              replayed += 1;
            } else {
              duplicates.push(p.claim.stagingId);
              failed.push({ claim: p.claim, failures: [{ ...DUPLICATE_AT_WRITE, value: p.claim.claimId }] });
            }
          }
        }
      }
      const failedWritten = await this.writeFailed(trx, batch.batchId, failed);
      step('failed');
      replayed += failed.length - failedWritten;
      await trx.raw(`INSERT INTO ?? (batch_id, claims, written, failed) VALUES (?, ?, ?, ?) ON CONFLICT (batch_id) DO NOTHING`, [
        t.batches,
        batch.batchId,
        batch.priced.length + batch.failed.length,
        written,
        failedWritten,
      ]);
      step('batch');
      return { written, failed: failedWritten, replayed, duplicates, steps };
    });
  }

  /**
   * The usual case, as fast as the floor: COPY straight into claims, inside a savepoint. If any
   * claim is already held (unique violation), or any staging id is in failed_claims, the savepoint
   * is rolled back and the caller takes the careful path. Returns the ids written, or undefined.
   */
  private async copyStraight(trx: Knex.Transaction, cols: string, text: string, ids: string[]): Promise<Array<{ id: string }> | undefined> {
    await trx.raw('SAVEPOINT wasl_copy');
    try {
      await copyCsv(trx, `COPY ${this.knex.raw('??', [this.tables.claims]).toQuery()} (${cols}) FROM STDIN`, text);
      const { rows } = (await trx.raw(`SELECT 1 FROM ?? WHERE staging_id = ANY(?::bigint[]) LIMIT 1`, [this.tables.failed, pgArray(ids)])) as { rows: unknown[] };
      if (rows.length > 0) {
        await trx.raw('ROLLBACK TO SAVEPOINT wasl_copy');
        return undefined;
      }
      await trx.raw('RELEASE SAVEPOINT wasl_copy');
      return ids.map((id) => ({ id }));
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      await trx.raw('ROLLBACK TO SAVEPOINT wasl_copy');
      return undefined;
    }
  }

  /** failed_claims rows and their reasons; a staging id already in either table is skipped. */
  private async writeFailed(trx: Knex.Transaction, batchId: string, failed: FailedClaimRow[]): Promise<number> {
    if (failed.length === 0) return 0;
    const t = this.tables;
    const sealed = failed.map((f) => sealFailedClaim(f.claim, this.sealer));
    const { rows } = (await trx.raw(
      `INSERT INTO ?? (staging_id, claim_id, facility_id, payer_id, service_date, claim, sealed, rules, batch_id)
       SELECT u.* FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::date[], ?::text[], ?::text[], ?::text[], ?::text[])
         AS u(staging_id, claim_id, facility_id, payer_id, service_date, claim, sealed, rules, batch_id)
        WHERE NOT EXISTS (SELECT 1 FROM ?? c WHERE c.staging_id = u.staging_id)
       ON CONFLICT (staging_id) DO NOTHING RETURNING id::text AS id, staging_id::text AS staging_id`,
      [
        t.failed,
        failed.map((f) => f.claim.stagingId),
        failed.map((f) => f.claim.claimId),
        failed.map((f) => f.claim.facilityId),
        failed.map((f) => f.claim.payerId),
        failed.map((f) => serviceDateOf(f.claim)),
        sealed.map((s) => JSON.stringify(s.open)),
        sealed.map((s) => s.sealed),
        failed.map((f) => ruleList(f.failures)),
        failed.map(() => batchId),
        t.claims,
      ] as Knex.RawBinding[],
    )) as { rows: Array<{ id: string; staging_id: string }> };
    if (rows.length === 0) return 0;
    const byStaging = new Map(failed.map((f) => [f.claim.stagingId, f]));
    const reasons = rows.flatMap((r) => (byStaging.get(r.staging_id)?.failures ?? []).map((f) => ({ id: r.id, f })));
    await trx.raw(
      `INSERT INTO ?? (failed_claim_id, rule, severity, field, value, message)
       SELECT * FROM unnest(?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])`,
      [
        t.reasons,
        reasons.map((r) => r.id),
        reasons.map((r) => r.f.rule),
        reasons.map((r) => r.f.severity),
        reasons.map((r) => r.f.field.slice(0, 120)),
        reasons.map((r) => storedReasonValue(r.f)),
        reasons.map((r) => r.f.message.slice(0, 400)),
      ],
    );
    return rows.length;
  }

  /** The priced claims whose original key claims already holds, seen from inside the transaction. */
  private async existingKeysIn(trx: Knex.Transaction, priced: PricedClaimRow[]): Promise<Set<PricedClaimRow>> {
    const originals = priced.filter(isOriginal);
    if (originals.length === 0) return new Set();
    const keys = await this.originalKeysHeld(
      trx,
      originals.map((p) => p.claim.facilityId),
      originals.map((p) => p.claim.claimId),
    );
    if (keys.size === 0) return new Set();
    return new Set(originals.filter((p) => keys.has(claimKeyOf(p.claim.facilityId, p.claim.claimId))));
  }

  /** Of these staging ids, those either table holds (inside the write's transaction, as it sees them). */
  private async stagingIdsHeld(runner: Knex | Knex.Transaction, ids: string[]): Promise<Set<string>> {
    const { rows } = (await runner.raw(
      `SELECT staging_id::text AS id FROM ?? WHERE staging_id = ANY(?::bigint[]) UNION ALL SELECT staging_id::text FROM ?? WHERE staging_id = ANY(?::bigint[])`,
      [this.tables.claims, pgArray(ids), this.tables.failed, pgArray(ids)],
    )) as { rows: Array<{ id: string }> };
    return new Set(rows.map((r) => r.id));
  }

  async close(): Promise<void> {
    await this.knex.destroy();
  }
}

/**
 * The batch's priced claims as COPY text-format lines (tab-separated, `\N` for NULL), in
 * CLAIM_COLUMNS order. Text format, not CSV: the JSON columns are full of quotes, which CSV would
 * have to double on every field; text format only escapes backslash, tab and line breaks, which
 * these values almost never hold (checked per value, escaped when they do).
 */
function claimCopyRows(batch: WriteBatch): string {
  // In key order: two batches holding the same keys (duplicates racing) then take the unique
  // index's row locks in the same order, so one waits for the other instead of deadlocking.
  const sorted = [...batch.priced].sort((a, b) => compareKeys(a.claim, b.claim));
  const batchId = copyText(batch.batchId);
  const parts: string[] = new Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i];
    const c = r.claim;
    parts[i] =
      c.stagingId +
      '\t' + copyText(c.claimId) +
      '\t' + copyText(c.facilityId) +
      '\t' + copyText(c.frequency ?? '1') +
      '\t' + copyText(c.originalReference) +
      '\t' + copyText(c.payerId) +
      '\t' + copyText(c.memberId) +
      '\t' + copyText(c.patientFamily) +
      '\t' + copyText(c.patientGiven) +
      '\t' + copyText(c.birthDate) +
      '\t' + copyText(c.sex) +
      '\t' + copyText(c.billingNpi) +
      '\t' + copyText(c.renderingNpi) +
      '\t' + copyText(c.placeOfService) +
      '\t' + copyText(JSON.stringify(c.diagnoses)) +
      '\t' + copyText(JSON.stringify(c.lines)) +
      '\t' + copyText(JSON.stringify(r.priced.lines)) +
      '\t' + c.totalChargeCents +
      '\t' + r.priced.allowedCents +
      '\t' + copyText(r.priced.conversionFactor) +
      '\t' + (r.prediction ? r.prediction.score.toFixed(5) : '\\N') +
      '\t' + copyText(r.prediction?.decidedBy) +
      '\t' + batchId +
      '\n';
  }
  return parts.join('');
}

function compareKeys(a: { facilityId: string; claimId: string }, b: { facilityId: string; claimId: string }): number {
  return a.facilityId < b.facilityId ? -1 : a.facilityId > b.facilityId ? 1 : a.claimId < b.claimId ? -1 : a.claimId > b.claimId ? 1 : 0;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A COPY text-format value: `\N` when absent; backslash, tab, CR and LF escaped. */
function copyText(v: string | undefined | null): string {
  if (v === undefined || v === null) return '\\N';
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** Streams text into a COPY ... FROM STDIN on the transaction's own connection. */
async function copyCsv(trx: Knex.Transaction, statement: string, text: string): Promise<void> {
  const conn = (await trx.client.acquireConnection()) as PoolClient;
  try {
    await pipeline(Readable.from([text]), conn.query(copyFrom(statement)));
  } finally {
    await trx.client.releaseConnection(conn);
  }
}

