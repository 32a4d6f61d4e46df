/**
 * SQL Server production writer. The bulk path: the batch's claims are bulk-loaded (TDS bulk
 * copy, the mssql driver's `request.bulk`) into a session temp table, then moved into `claims`
 * with one set-based INSERT ... SELECT that skips what production already holds, inside one
 * transaction with the failed claims and the batch record.
 *
 * SQL Server cannot run on the machines this was built on: the statements come from knex's mssql
 * dialect and are checked in test/connectors/claims/production-mssql.spec.ts (toSQL and the bulk
 * table definition); the same guarantees run live against PostgreSQL (production-pg.ts). Where
 * PostgreSQL's ON CONFLICT decides, this writer uses NOT EXISTS under SERIALIZABLE-like locking
 * hints (UPDLOCK, HOLDLOCK) so two batches cannot both insert the same key.
 */
import knexFactory, { type Knex } from 'knex';
import * as sql from 'mssql';
import type { Sealer } from './batch';
import {
  DUPLICATE_AT_WRITE,
  claimKeyOf,
  ruleList,
  sealFailedClaim,
  serviceDateOf,
  storedReasonValue,
  type FailedClaimRow,
  type ProductionWriter,
  type WriteBatch,
  type WriteResult,
} from './production';
import { DEFAULT_TABLES, productionTableDefinitions, type ClaimTables } from './schema';

/** A knex that only compiles SQL in SQL Server's dialect (never connects). */
export const mssqlDialect: Knex = knexFactory({ client: 'mssql' });

export const CLAIMS_LOAD_TABLE = '#wasl_claims_load';

/** The temp table `request.bulk` fills: same columns and types as `claims` (schema.ts). */
export function claimsBulkTable(): sql.Table {
  const t = new sql.Table(CLAIMS_LOAD_TABLE);
  t.create = true;
  t.columns.add('staging_id', sql.BigInt, { nullable: false, primary: true });
  t.columns.add('claim_id', sql.NVarChar(38), { nullable: false });
  t.columns.add('facility_id', sql.NVarChar(32), { nullable: false });
  t.columns.add('frequency', sql.NVarChar(1), { nullable: false });
  t.columns.add('original_reference', sql.NVarChar(50), { nullable: true });
  t.columns.add('payer_id', sql.NVarChar(32), { nullable: false });
  t.columns.add('member_id', sql.NVarChar(80), { nullable: false });
  t.columns.add('patient_family', sql.NVarChar(100), { nullable: false });
  t.columns.add('patient_given', sql.NVarChar(100), { nullable: false });
  t.columns.add('birth_date', sql.Date, { nullable: false });
  t.columns.add('sex', sql.NVarChar(1), { nullable: false });
  t.columns.add('billing_npi', sql.NVarChar(10), { nullable: false });
  t.columns.add('rendering_npi', sql.NVarChar(10), { nullable: true });
  t.columns.add('place_of_service', sql.NVarChar(2), { nullable: false });
  t.columns.add('diagnoses', sql.NVarChar(sql.MAX), { nullable: false });
  t.columns.add('lines', sql.NVarChar(sql.MAX), { nullable: false });
  t.columns.add('priced_lines', sql.NVarChar(sql.MAX), { nullable: false });
  t.columns.add('total_charge_cents', sql.BigInt, { nullable: false });
  t.columns.add('allowed_cents', sql.BigInt, { nullable: false });
  t.columns.add('conversion_factor', sql.NVarChar(12), { nullable: false });
  t.columns.add('denial_score', sql.Decimal(6, 5), { nullable: true });
  t.columns.add('denial_decided_by', sql.NVarChar(8), { nullable: true });
  t.columns.add('batch_id', sql.NVarChar(120), { nullable: false });
  return t;
}

/** The batch's priced claims as bulk rows, in claimsBulkTable's column order. */
export function fillBulkTable(table: sql.Table, batch: WriteBatch): sql.Table {
  for (const r of batch.priced) {
    const c = r.claim;
    table.rows.add(
      c.stagingId,
      c.claimId,
      c.facilityId,
      c.frequency ?? '1',
      c.originalReference ?? null,
      c.payerId,
      c.memberId,
      c.patientFamily,
      c.patientGiven,
      new Date(`${c.birthDate}T00:00:00Z`),
      c.sex,
      c.billingNpi,
      c.renderingNpi ?? null,
      c.placeOfService,
      JSON.stringify(c.diagnoses),
      JSON.stringify(c.lines),
      JSON.stringify(r.priced.lines),
      c.totalChargeCents,
      r.priced.allowedCents,
      r.priced.conversionFactor,
      r.prediction ? Number(r.prediction.score.toFixed(5)) : null,
      r.prediction?.decidedBy ?? null,
      batch.batchId,
    );
  }
  return table;
}

const CLAIM_COLUMN_NAMES = claimsBulkTable().columns.map((c) => c.name);

/**
 * Moves the loaded rows into `claims`: skips staging ids production holds in either table
 * (replays), original claims whose key is taken, and a second original with the same key within
 * the load (duplicates: the caller sends them to failed_claims), and outputs the staging ids it
 * inserted.
 */
export function moveLoadedClaimsSql(tables: ClaimTables = DEFAULT_TABLES): Knex.SqlNative {
  const cols = CLAIM_COLUMN_NAMES.map(() => '??').join(', ');
  return mssqlDialect
    .raw(
      `INSERT INTO ?? (${cols}) OUTPUT inserted.staging_id
       SELECT ${CLAIM_COLUMN_NAMES.map(() => 'l.??').join(', ')} FROM ?? l
        WHERE NOT EXISTS (SELECT 1 FROM ?? c WITH (UPDLOCK, HOLDLOCK) WHERE c.staging_id = l.staging_id)
          AND NOT EXISTS (SELECT 1 FROM ?? f WITH (UPDLOCK, HOLDLOCK) WHERE f.staging_id = l.staging_id)
          AND NOT (l.frequency = '1' AND EXISTS (SELECT 1 FROM ?? k WITH (UPDLOCK, HOLDLOCK) WHERE k.facility_id = l.facility_id AND k.claim_id = l.claim_id AND k.frequency = '1'))
          AND NOT (l.frequency = '1' AND EXISTS (SELECT 1 FROM ?? d WHERE d.facility_id = l.facility_id AND d.claim_id = l.claim_id AND d.frequency = '1' AND d.staging_id < l.staging_id))`,
      [tables.claims, ...CLAIM_COLUMN_NAMES, ...CLAIM_COLUMN_NAMES, CLAIMS_LOAD_TABLE, tables.claims, tables.failed, tables.claims, CLAIMS_LOAD_TABLE],
    )
    .toSQL()
    .toNative();
}

/**
 * Which of these staging ids production holds. The ids go as ONE JSON parameter read with
 * OPENJSON: a 2,000-claim batch as `IN (@p0, ...)` would pass SQL Server's 2,100-parameter limit.
 */
export function alreadyWrittenSql(stagingIds: string[], tables: ClaimTables = DEFAULT_TABLES): Knex.SqlNative {
  const ids = JSON.stringify(stagingIds.map(Number));
  return mssqlDialect
    .raw(
      `SELECT CAST(staging_id AS nvarchar(20)) AS id FROM ?? WHERE staging_id IN (SELECT CAST([value] AS bigint) FROM OPENJSON(?))
       UNION ALL SELECT CAST(staging_id AS nvarchar(20)) FROM ?? WHERE staging_id IN (SELECT CAST([value] AS bigint) FROM OPENJSON(?))`,
      [tables.claims, ids, tables.failed, ids],
    )
    .toSQL()
    .toNative();
}

/**
 * Which (facility, claim id) keys of original claims production holds. T-SQL has no row-value
 * `IN ((a, b), ...)`: the pairs go as one JSON parameter, joined through OPENJSON ... WITH.
 */
export function existingKeysSql(keys: Array<{ facilityId: string; claimId: string }>, tables: ClaimTables = DEFAULT_TABLES): Knex.SqlNative {
  return mssqlDialect
    .raw(
      `SELECT c.facility_id, c.claim_id FROM ?? c
         JOIN OPENJSON(?) WITH (f nvarchar(32) '$[0]', id nvarchar(38) '$[1]') k ON c.facility_id = k.f AND c.claim_id = k.id
        WHERE c.frequency = '1'`,
      [tables.claims, JSON.stringify(keys.map((k) => [k.facilityId, k.claimId]))],
    )
    .toSQL()
    .toNative();
}

/** One failed claim (rows are few: plain parameterised inserts), skipped when already held. */
export function insertFailedClaimSql(
  row: { stagingId: string; claimId: string; facilityId: string; payerId: string; serviceDate: string | null; claim: string; sealed: string; rules: string; batchId: string },
  tables: ClaimTables = DEFAULT_TABLES,
): Knex.SqlNative {
  return mssqlDialect
    .raw(
      `INSERT INTO ?? (staging_id, claim_id, facility_id, payer_id, service_date, claim, sealed, rules, batch_id) OUTPUT inserted.id
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?
        WHERE NOT EXISTS (SELECT 1 FROM ?? WITH (UPDLOCK, HOLDLOCK) WHERE staging_id = ?)
          AND NOT EXISTS (SELECT 1 FROM ?? WITH (UPDLOCK, HOLDLOCK) WHERE staging_id = ?)`,
      [tables.failed, row.stagingId, row.claimId, row.facilityId, row.payerId, row.serviceDate, row.claim, row.sealed, row.rules, row.batchId, tables.failed, row.stagingId, tables.claims, row.stagingId],
    )
    .toSQL()
    .toNative();
}

export function insertReasonsSql(failedClaimId: string, reasons: FailedClaimRow['failures'], tables: ClaimTables = DEFAULT_TABLES): Knex.SqlNative {
  return mssqlDialect(tables.reasons)
    .insert(reasons.map((f) => ({ failed_claim_id: failedClaimId, rule: f.rule, severity: f.severity, field: f.field.slice(0, 120), value: storedReasonValue(f), message: f.message.slice(0, 400) })))
    .toSQL()
    .toNative();
}

export function insertBatchSql(batchId: string, claims: number, written: number, failed: number, tables: ClaimTables = DEFAULT_TABLES): Knex.SqlNative {
  return mssqlDialect
    .raw(`INSERT INTO ?? (batch_id, claims, written, failed) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM ?? WHERE batch_id = ?)`, [
      tables.batches,
      batchId,
      claims,
      written,
      failed,
      tables.batches,
      batchId,
    ])
    .toSQL()
    .toNative();
}

export class MssqlProductionWriter implements ProductionWriter {
  readonly dialect = 'mssql' as const;

  constructor(
    private readonly pool: sql.ConnectionPool,
    private readonly sealer: Sealer,
    private readonly tables: ClaimTables = DEFAULT_TABLES,
  ) {}

  async ensureSchema(): Promise<void> {
    for (const [name, define] of productionTableDefinitions(mssqlDialect, this.tables)) {
      const exists = await this.pool.request().input('name', sql.NVarChar, name).query('SELECT OBJECT_ID(@name) AS id');
      if (exists.recordset[0]?.id == null) await this.pool.request().batch(mssqlDialect.schema.createTable(name, define).toString());
    }
  }

  async alreadyWritten(stagingIds: string[]): Promise<Set<string>> {
    if (stagingIds.length === 0) return new Set();
    const rows = await this.run(this.pool.request(), alreadyWrittenSql(stagingIds, this.tables));
    return new Set(rows.map((r) => String(r.id)));
  }

  async existingKeys(keys: Array<{ facilityId: string; claimId: string }>): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.run(this.pool.request(), existingKeysSql(keys, this.tables));
    return new Set(rows.map((r) => claimKeyOf(String(r.facility_id), String(r.claim_id))));
  }

  async write(batch: WriteBatch): Promise<WriteResult> {
    const trx = new sql.Transaction(this.pool);
    await trx.begin(sql.ISOLATION_LEVEL.READ_COMMITTED);
    try {
      const failed: FailedClaimRow[] = [...batch.failed];
      let written = 0;
      let replayed = 0;
      const duplicates: string[] = [];
      if (batch.priced.length > 0) {
        await new sql.Request(trx).bulk(fillBulkTable(claimsBulkTable(), batch));
        const inserted = new Set((await this.run(new sql.Request(trx), moveLoadedClaimsSql(this.tables))).map((r) => String(r.staging_id)));
        written = inserted.size;
        const missing = batch.priced.filter((p) => !inserted.has(p.claim.stagingId));
        // Asked inside the transaction: on the pool it could wait on the rows this transaction just inserted.
        const held = missing.length
          ? new Set((await this.run(new sql.Request(trx), alreadyWrittenSql(missing.map((p) => p.claim.stagingId), this.tables))).map((r) => String(r.id)))
          : new Set<string>();
        for (const p of missing) {
          if (held.has(p.claim.stagingId)) replayed += 1;
          else {
            duplicates.push(p.claim.stagingId);
            failed.push({ claim: p.claim, failures: [{ ...DUPLICATE_AT_WRITE, value: p.claim.claimId }] });
          }
        }
        await new sql.Request(trx).batch(`DROP TABLE ${CLAIMS_LOAD_TABLE}`);
      }
      let failedWritten = 0;
      for (const f of failed) {
        const s = sealFailedClaim(f.claim, this.sealer);
        const row = {
          stagingId: f.claim.stagingId,
          claimId: f.claim.claimId,
          facilityId: f.claim.facilityId,
          payerId: f.claim.payerId,
          serviceDate: serviceDateOf(f.claim),
          claim: JSON.stringify(s.open),
          sealed: s.sealed,
          rules: ruleList(f.failures),
          batchId: batch.batchId,
        };
        const ids = await this.run(new sql.Request(trx), insertFailedClaimSql(row, this.tables));
        if (ids.length === 0) {
          replayed += 1;
          continue;
        }
        failedWritten += 1;
        if (f.failures.length) await this.run(new sql.Request(trx), insertReasonsSql(String(ids[0].id), f.failures, this.tables));
      }
      await this.run(new sql.Request(trx), insertBatchSql(batch.batchId, batch.priced.length + batch.failed.length, written, failedWritten, this.tables));
      await trx.commit();
      return { written, failed: failedWritten, replayed, duplicates };
    } catch (err) {
      await trx.rollback().catch(() => undefined);
      throw err;
    }
  }

  /** Runs a knex-compiled native statement (`@p0`, `@p1`... placeholders) on a request. */
  private async run(req: sql.Request, q: Knex.SqlNative): Promise<Array<Record<string, unknown>>> {
    q.bindings.forEach((v, i) => req.input(`p${i}`, v as never));
    const result = await req.query(q.sql);
    return (result.recordset ?? []) as Array<Record<string, unknown>>;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
