/**
 * The SQL Server production writer without a server: the DDL and DML that knex's mssql dialect
 * compiles, the bulk-load table against the claims table, the bulk rows, and the writer's lookups
 * and schema creation run on a recording fake pool. Also connections.ts's dialectOf.
 */
import assert from 'node:assert/strict';
import type * as sql from 'mssql';
import { dialectOf } from '../../../connectors/claims/connections';
import { DUPLICATE_AT_WRITE, type WriteBatch } from '../../../connectors/claims/production';
import {
  CLAIMS_LOAD_TABLE,
  MssqlProductionWriter,
  claimsBulkTable,
  fillBulkTable,
  insertBatchSql,
  insertFailedClaimSql,
  insertReasonsSql,
  moveLoadedClaimsSql,
  mssqlDialect,
} from '../../../connectors/claims/production-mssql';
import { DEFAULT_TABLES, productionTableDefinitions, type ClaimTables } from '../../../connectors/claims/schema';
import type { RuleFailure } from '../../../transformers/claims/types';
import { pricedRow, testSealer, validClaims } from './support';

/** SQL Server refuses a request with more parameters than this (error 8003). */
const MSSQL_MAX_PARAMETERS = 2100;

const CUSTOM: ClaimTables = { staging: 'st', claims: 'prod_claims', failed: 'prod_failed', reasons: 'prod_reasons', audit: 'prod_audit', batches: 'prod_batches' };

/** The statements knex compiles for each production table. */
function createStatements(tables: ClaimTables = DEFAULT_TABLES): Map<string, string[]> {
  return new Map(productionTableDefinitions(mssqlDialect, tables).map(([name, define]) => [name, mssqlDialect.schema.createTable(name, define).toSQL().map((s) => s.sql)]));
}

/** `[column] type [not null]` of a CREATE TABLE, type normalised (`nvarchar (38)` = `nvarchar(38)`). */
function columnsOf(createTable: string): Array<{ name: string; type: string; notNull: boolean }> {
  const body = createTable.slice(createTable.indexOf('(') + 1, createTable.lastIndexOf(')'));
  const out: Array<{ name: string; type: string; notNull: boolean }> = [];
  const re = /\[(\w+)\] ([a-z]+(?: ?\([^)]*\))?)([^,[]*)/gi;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    if (/CONSTRAINT\s*$/i.test(body.slice(0, m.index))) continue; // `CONSTRAINT [name] ...`
    out.push({ name: m[1], type: m[2].toLowerCase().replace(/\s+/g, ''), notNull: /\bnot null\b/i.test(m[3]) });
  }
  return out;
}

/** The CREATE TABLE the mssql driver runs for a bulk table (`Table#declare`, missing from its typings). */
function declare(t: sql.Table): string {
  return (t as unknown as { declare(): string }).declare();
}

/** Placeholders in order of appearance. */
function placeholders(text: string): string[] {
  return [...text.matchAll(/@p\d+/g)].map((m) => m[0]);
}

function assertPlaceholdersInOrder(native: { sql: string; bindings: readonly unknown[] }): void {
  assert.ok(!native.sql.includes('?'), 'a knex placeholder was left in the SQL');
  assert.deepEqual(
    placeholders(native.sql),
    native.bindings.map((_, i) => `@p${i}`),
  );
}

interface Recorded {
  kind: 'query' | 'batch';
  sql: string;
  inputs: Map<string, unknown>;
}

/** A ConnectionPool stand-in that records what the writer runs and answers with canned rows. */
function fakePool(answer: (sqlText: string, inputs: Map<string, unknown>) => Array<Record<string, unknown>> = () => []) {
  const calls: Recorded[] = [];
  const pool = {
    request() {
      const inputs = new Map<string, unknown>();
      const req = {
        input(name: string, typeOrValue: unknown, value?: unknown) {
          inputs.set(name, value === undefined ? typeOrValue : value);
          return req;
        },
        async query(text: string) {
          calls.push({ kind: 'query', sql: text, inputs });
          return { recordset: answer(text, inputs) };
        },
        async batch(text: string) {
          calls.push({ kind: 'batch', sql: text, inputs });
          return { recordset: [] };
        },
      };
      return req;
    },
    async close() {},
  };
  return { pool: pool as unknown as sql.ConnectionPool, calls };
}

describe('connectors/claims/production-mssql (SQL as compiled, no server)', () => {
  describe('table definitions in the mssql dialect', () => {
    const statements = createStatements();

    it('creates the five production tables in order, bracket-quoted, without PostgreSQL types', () => {
      assert.deepEqual([...statements.keys()], ['claims', 'failed_claims', 'failed_claim_reasons', 'failed_claim_audit', 'claim_batches']);
      for (const [name, sqls] of statements) {
        assert.match(sqls[0], new RegExp(`^CREATE TABLE \\[${name}\\] \\(`));
        for (const s of sqls) {
          assert.ok(!s.includes('"'), `double quotes in ${s}`);
          assert.doesNotMatch(s, /\b(timestamptz|bigserial|serial|text|varchar|boolean|jsonb?)\b/i, s);
        }
      }
    });

    it('claims: nvarchar columns of the declared widths, datetimeoffset, a primary key on staging_id', () => {
      const claims = statements.get('claims')!;
      const cols = new Map(columnsOf(claims[0]).map((c) => [c.name, c]));
      assert.deepEqual(cols.get('staging_id'), { name: 'staging_id', type: 'bigint', notNull: true });
      assert.deepEqual(cols.get('claim_id'), { name: 'claim_id', type: 'nvarchar(38)', notNull: true });
      assert.deepEqual(cols.get('original_reference'), { name: 'original_reference', type: 'nvarchar(50)', notNull: false });
      assert.deepEqual(cols.get('birth_date'), { name: 'birth_date', type: 'date', notNull: true });
      assert.deepEqual(cols.get('lines'), { name: 'lines', type: 'nvarchar(max)', notNull: true });
      assert.deepEqual(cols.get('denial_score'), { name: 'denial_score', type: 'decimal(6,5)', notNull: false });
      assert.deepEqual(cols.get('written_at'), { name: 'written_at', type: 'datetimeoffset', notNull: true });
      assert.match(claims[0], /\[written_at\] datetimeoffset not null CONSTRAINT \[claims_written_at_default\] DEFAULT CURRENT_TIMESTAMP/);
      assert.match(claims[0], /CONSTRAINT \[claims_pkey\] PRIMARY KEY \(\[staging_id\]\)/);
    });

    it("claims: the original-claim key is a filtered unique index WHERE frequency = '1'", () => {
      const claims = statements.get('claims')!;
      assert.equal(claims.length, 2);
      assert.equal(claims[1], "CREATE UNIQUE INDEX [claims_original_key] ON [claims] ([facility_id], [claim_id]) where frequency = '1'");
    });

    it('failed_claims: identity id, unique staging_id, sealed and claim as nvarchar(max), the workbench indexes', () => {
      const failed = statements.get('failed_claims')!;
      assert.match(failed[0], /\[id\] bigint identity\(1,1\) not null primary key/);
      const cols = new Map(columnsOf(failed[0]).map((c) => [c.name, c]));
      assert.equal(cols.get('sealed')?.type, 'nvarchar(max)');
      assert.equal(cols.get('claim')?.type, 'nvarchar(max)');
      assert.equal(cols.get('rules')?.type, 'nvarchar(400)');
      assert.equal(cols.get('service_date')?.notNull, false);
      assert.equal(cols.get('created_at')?.type, 'datetimeoffset');
      assert.ok(failed.some((s) => /^CREATE UNIQUE INDEX \[failed_claims_staging_id\] ON \[failed_claims\] \(\[staging_id\]\)/.test(s)));
      for (const idx of ['failed_claims_status_facility', 'failed_claims_status_payer', 'failed_claims_service_date']) {
        assert.ok(failed.some((s) => s.startsWith(`CREATE INDEX [${idx}] ON [failed_claims]`)), idx);
      }
      const reasons = statements.get('failed_claim_reasons')!;
      assert.match(reasons[0], /FOREIGN KEY \(\[failed_claim_id\]\) REFERENCES \[failed_claims\] \(\[id\]\) ON DELETE CASCADE/);
      assert.match(statements.get('claim_batches')![0], /CONSTRAINT \[claim_batches_pkey\] PRIMARY KEY \(\[batch_id\]\)/);
    });

    it('names tables and indexes after configured table names', () => {
      const custom = createStatements(CUSTOM);
      assert.deepEqual([...custom.keys()], ['prod_claims', 'prod_failed', 'prod_reasons', 'prod_audit', 'prod_batches']);
      assert.equal(custom.get('prod_claims')![1], "CREATE UNIQUE INDEX [prod_claims_original_key] ON [prod_claims] ([facility_id], [claim_id]) where frequency = '1'");
      assert.match(custom.get('prod_reasons')![0], /REFERENCES \[prod_failed\] \(\[id\]\)/);
      for (const sqls of custom.values()) for (const s of sqls) assert.doesNotMatch(s, /(TABLE|ON|REFERENCES) \[(claims|failed_claims|failed_claim_reasons|failed_claim_audit|claim_batches)\]/);
    });
  });

  describe('the bulk-load table', () => {
    it('has the claims columns (but written_at) in order, with the same types and nullability', () => {
      const claimsCols = columnsOf(createStatements().get('claims')![0]);
      const bulkCols = columnsOf(declare(claimsBulkTable()));
      assert.deepEqual(
        bulkCols,
        claimsCols.filter((c) => c.name !== 'written_at'),
      );
      assert.ok(bulkCols.length >= 22);
    });

    it('declare() creates the session temp table #wasl_claims_load keyed on staging_id', () => {
      const t = claimsBulkTable();
      assert.equal(CLAIMS_LOAD_TABLE, '#wasl_claims_load');
      assert.equal(t.create, true);
      assert.match(declare(t), /^create table \[#wasl_claims_load\] \(\[staging_id\] bigint not null primary key, \[claim_id\] nvarchar \(38\) not null, /);
    });

    it('fillBulkTable: one row per priced claim, values in column order, dates as Date, absent values as null', () => {
      const [a, b] = validClaims(2, 501, 31);
      b.frequency = '7';
      b.originalReference = 'PCN-0001';
      delete b.renderingNpi;
      const rowA = pricedRow(a, { score: 0.1234567, likelyDenied: false, decidedBy: 'model', version: 'm1' });
      const rowB = pricedRow(b);
      const batch: WriteBatch = { batchId: 'claims_staging:501-502:9', priced: [rowA, rowB], failed: [] };
      const t = fillBulkTable(claimsBulkTable(), batch);
      assert.equal(t.rows.length, 2);
      const names = t.columns.map((c) => c.name);
      const rec = (i: number) => Object.fromEntries(names.map((n, k) => [n, t.rows[i][k]]));
      for (const r of t.rows) assert.equal(r.length, names.length);
      const ra = rec(0);
      assert.equal(ra.staging_id, '501');
      assert.equal(ra.claim_id, a.claimId);
      assert.equal(ra.frequency, '1');
      assert.equal(ra.original_reference, null);
      assert.equal(ra.member_id, a.memberId);
      assert.equal(ra.patient_family, a.patientFamily);
      assert.ok(ra.birth_date instanceof Date);
      assert.equal((ra.birth_date as Date).toISOString(), `${a.birthDate}T00:00:00.000Z`);
      assert.equal(ra.rendering_npi, a.renderingNpi ?? null);
      assert.equal(ra.diagnoses, JSON.stringify(a.diagnoses));
      assert.deepEqual(JSON.parse(ra.lines as string), JSON.parse(JSON.stringify(a.lines)));
      assert.deepEqual(JSON.parse(ra.priced_lines as string), rowA.priced.lines);
      assert.ok(rowA.priced.lines.every((l) => l.allowedCents > 0 && l.basis.length > 0));
      assert.equal(ra.total_charge_cents, a.totalChargeCents);
      assert.equal(ra.allowed_cents, rowA.priced.allowedCents);
      assert.equal(ra.conversion_factor, '36.04');
      assert.equal(ra.denial_score, 0.12346);
      assert.equal(ra.denial_decided_by, 'model');
      assert.equal(ra.batch_id, 'claims_staging:501-502:9');
      const rb = rec(1);
      assert.equal(rb.frequency, '7');
      assert.equal(rb.original_reference, 'PCN-0001');
      assert.equal(rb.rendering_npi, null);
      assert.equal(rb.denial_score, null);
      assert.equal(rb.denial_decided_by, null);
      // Nullability of the table agrees with the values: no null where the column is not null.
      for (const r of [ra, rb]) for (const c of t.columns) if (!c.nullable) assert.notEqual(r[c.name], null, c.name);
    });
  });

  describe('statements', () => {
    it('moveLoadedClaimsSql: bracketed columns in the same order both sides, OUTPUT, locking hints on every lookup', () => {
      const q = moveLoadedClaimsSql();
      assert.deepEqual(q.bindings, []);
      const names = claimsBulkTable().columns.map((c) => c.name);
      const m = /^INSERT INTO \[claims\] \(([^)]*)\) OUTPUT inserted\.staging_id\s+SELECT (.*?) FROM \[#wasl_claims_load\] l\s/s.exec(q.sql);
      assert.ok(m, q.sql);
      assert.equal(m[1], names.map((n) => `[${n}]`).join(', '));
      assert.equal(m[2], names.map((n) => `l.[${n}]`).join(', '));
      assert.match(q.sql, /NOT EXISTS \(SELECT 1 FROM \[claims\] c WITH \(UPDLOCK, HOLDLOCK\) WHERE c\.staging_id = l\.staging_id\)/);
      assert.match(q.sql, /NOT EXISTS \(SELECT 1 FROM \[failed_claims\] f WITH \(UPDLOCK, HOLDLOCK\) WHERE f\.staging_id = l\.staging_id\)/);
      assert.match(
        q.sql,
        /NOT \(l\.frequency = '1' AND EXISTS \(SELECT 1 FROM \[claims\] k WITH \(UPDLOCK, HOLDLOCK\) WHERE k\.facility_id = l\.facility_id AND k\.claim_id = l\.claim_id AND k\.frequency = '1'\)\)/,
      );
      const custom = moveLoadedClaimsSql(CUSTOM).sql;
      assert.match(custom, /^INSERT INTO \[prod_claims\] /);
      assert.match(custom, /FROM \[prod_failed\] f WITH/);
      assert.ok(!/\[(claims|failed_claims)\]/.test(custom));
    });

    // Regression (was a bug): moveLoadedClaimsSql only looks at rows already in [claims]. Two originals with the same
    // (facility_id, claim_id) in one load both pass NOT EXISTS and the second breaks the filtered
    // unique index (error 2601): the whole batch fails and is retried for ever, where PostgreSQL's
    // writer sends the second to failed_claims as DUPLICATE_IN_PRODUCTION.
    it('moveLoadedClaimsSql: also holds back a second original with the same key within the same load', () => {
      const text = moveLoadedClaimsSql().sql;
      // The load table must be consulted for another row with the same key (e.g. NOT EXISTS over
      // #wasl_claims_load l2 with a lower staging_id, or ROW_NUMBER() OVER (PARTITION BY facility_id, claim_id)).
      const loadRefs = text.match(/#wasl_claims_load/g) ?? [];
      assert.ok(loadRefs.length >= 2 || /PARTITION BY\s+(l\.)?\[?facility_id\]?,\s*(l\.)?\[?claim_id\]?/i.test(text), text);
    });

    it('insertFailedClaimSql: @p0..@p10 in column order, OUTPUT inserted.id, locked existence checks on both tables', () => {
      const row = { stagingId: '77', claimId: 'ABC000000077', facilityId: 'FAC03', payerId: '60054', serviceDate: '2026-01-05', claim: '{"x":1}', sealed: 'v1.k.i.t.c', rules: 'ICD10_FORMAT', batchId: 'b:1' };
      const q = insertFailedClaimSql(row, CUSTOM);
      assertPlaceholdersInOrder(q);
      assert.deepEqual(q.bindings, ['77', 'ABC000000077', 'FAC03', '60054', '2026-01-05', '{"x":1}', 'v1.k.i.t.c', 'ICD10_FORMAT', 'b:1', '77', '77']);
      assert.match(q.sql, /^INSERT INTO \[prod_failed\] \(staging_id, claim_id, facility_id, payer_id, service_date, claim, sealed, rules, batch_id\) OUTPUT inserted\.id\s+SELECT @p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8\s/);
      assert.match(q.sql, /NOT EXISTS \(SELECT 1 FROM \[prod_failed\] WITH \(UPDLOCK, HOLDLOCK\) WHERE staging_id = @p9\)/);
      assert.match(q.sql, /NOT EXISTS \(SELECT 1 FROM \[prod_claims\] WITH \(UPDLOCK, HOLDLOCK\) WHERE staging_id = @p10\)/);
      // A claim without a date of service: NULL is a parameter, not text.
      const noDate = insertFailedClaimSql({ ...row, serviceDate: null });
      assert.equal(noDate.bindings[4], null);
      assert.match(noDate.sql, /^INSERT INTO \[failed_claims\] /);
    });

    it('insertReasonsSql: one row per failure, columns and parameters aligned, sensitive values sealed, widths respected', () => {
      const failures: RuleFailure[] = [
        { rule: 'MEMBER_ID_REQUIRED', severity: 'error', field: 'memberId', value: 'W123456789', message: 'Member id is required' },
        { rule: 'BIRTH_DATE_NOT_FUTURE', severity: 'error', field: 'birthDate', value: '2030-01-01', message: 'future' },
        { rule: 'ICD10_FORMAT', severity: 'error', field: 'diagnoses[1]', value: 'E11-9', message: 'x'.repeat(450) },
        { rule: 'LONG', severity: 'warning', field: 'f'.repeat(130), value: 'v'.repeat(250), message: 'm' },
      ];
      const q = insertReasonsSql('42', failures, CUSTOM);
      assertPlaceholdersInOrder(q);
      const m = /^insert into \[prod_reasons\] \(([^)]*)\) values (.*)$/s.exec(q.sql);
      assert.ok(m, q.sql);
      const cols = m[1].split(', ').map((c) => c.replace(/^\[|\]$/g, ''));
      assert.deepEqual([...cols].sort(), ['failed_claim_id', 'field', 'message', 'rule', 'severity', 'value']);
      assert.equal(q.bindings.length, cols.length * failures.length);
      const rows = failures.map((_, i) => Object.fromEntries(cols.map((c, k) => [c, q.bindings[i * cols.length + k]])));
      assert.deepEqual(rows[0], { failed_claim_id: '42', rule: 'MEMBER_ID_REQUIRED', severity: 'error', field: 'memberId', value: '(sealed)', message: 'Member id is required' });
      assert.equal(rows[1].value, '(sealed)');
      assert.equal(rows[2].value, 'E11-9');
      assert.equal((rows[2].message as string).length, 400);
      assert.equal((rows[3].field as string).length, 120);
      assert.equal((rows[3].value as string).length, 200);
      assert.ok(!q.bindings.includes('W123456789') && !q.bindings.includes('2030-01-01'), 'a sensitive value reached the reasons table');
    });

    it('insertBatchSql: the batch row once (NOT EXISTS on the batch id), parameters in order', () => {
      const q = insertBatchSql('claims_staging:1-10:5', 10, 7, 3, CUSTOM);
      assertPlaceholdersInOrder(q);
      assert.deepEqual(q.bindings, ['claims_staging:1-10:5', 10, 7, 3, 'claims_staging:1-10:5']);
      assert.equal(q.sql, 'INSERT INTO [prod_batches] (batch_id, claims, written, failed) SELECT @p0, @p1, @p2, @p3 WHERE NOT EXISTS (SELECT 1 FROM [prod_batches] WHERE batch_id = @p4)');
    });

    it('the duplicate-at-write reason is an error on claimId', () => {
      assert.deepEqual(DUPLICATE_AT_WRITE, {
        rule: 'DUPLICATE_IN_PRODUCTION',
        severity: 'error',
        field: 'claimId',
        message: 'production already holds an original claim with this claim id for this facility',
      });
    });
  });

  describe('MssqlProductionWriter on a recording pool', () => {
    it('alreadyWritten: one UNION ALL over claims and failed_claims, the ids as one OPENJSON parameter per table; answers the ids returned', async () => {
      const { pool, calls } = fakePool(() => [{ id: '12' }, { id: 12 }, { id: '14' }]);
      const writer = new MssqlProductionWriter(pool, testSealer(), CUSTOM);
      assert.deepEqual(await writer.alreadyWritten([]), new Set());
      assert.equal(calls.length, 0, 'no query for no ids');
      assert.deepEqual(await writer.alreadyWritten(['12', '13', '14']), new Set(['12', '14']));
      assert.equal(calls.length, 1);
      const c = calls[0];
      assert.equal(
        c.sql.replace(/\s+/g, ' '),
        'SELECT CAST(staging_id AS nvarchar(20)) AS id FROM [prod_claims] WHERE staging_id IN (SELECT CAST([value] AS bigint) FROM OPENJSON(@p0)) UNION ALL SELECT CAST(staging_id AS nvarchar(20)) FROM [prod_failed] WHERE staging_id IN (SELECT CAST([value] AS bigint) FROM OPENJSON(@p1))',
      );
      assert.deepEqual([...c.inputs.entries()], [
        ['p0', '[12,13,14]'],
        ['p1', '[12,13,14]'],
      ]);
    });

    // Regression (was a bug): a batch of the default size (2000 claims) makes alreadyWritten send 4,000 parameters
    // (the ids twice); SQL Server refuses more than 2,100 per request (error 8003), so the validate
    // stage fails every full batch against a SQL Server production database.
    it('alreadyWritten: a full default batch (2000 ids) stays within SQL Server’s 2,100 parameters per request', async () => {
      const { pool, calls } = fakePool();
      const writer = new MssqlProductionWriter(pool, testSealer());
      await writer.alreadyWritten(Array.from({ length: 2000 }, (_, i) => String(i + 1)));
      assert.ok(calls.length >= 1);
      for (const c of calls) assert.ok(c.inputs.size <= MSSQL_MAX_PARAMETERS, `${c.inputs.size} parameters in one request`);
    });

    it('existingKeys: originals only, answers facility\\0claim keys; no query for no keys', async () => {
      const { pool, calls } = fakePool(() => [{ facility_id: 'FAC01', claim_id: 'A1' }]);
      const writer = new MssqlProductionWriter(pool, testSealer());
      assert.deepEqual(await writer.existingKeys([]), new Set());
      assert.equal(calls.length, 0);
      const keys = await writer.existingKeys([
        { facilityId: 'FAC01', claimId: 'A1' },
        { facilityId: 'FAC02', claimId: 'B2' },
      ]);
      assert.deepEqual(keys, new Set(['FAC01\u0000A1']));
      assert.equal(calls.length, 1);
      assert.match(calls[0].sql.replace(/\s+/g, ' '), /^SELECT c\.facility_id, c\.claim_id FROM \[claims\] c JOIN OPENJSON\(@p0\) WITH \(f nvarchar\(32\) '\$\[0\]', id nvarchar\(38\) '\$\[1\]'\) k ON c\.facility_id = k\.f AND c\.claim_id = k\.id WHERE c\.frequency = '1'$/);
      assert.deepEqual([...calls[0].inputs.entries()], [['p0', '[["FAC01","A1"],["FAC02","B2"]]']]);
    });

    // Regression (was a bug): knex compiles the two-column whereIn to a row-value IN, `([facility_id], [claim_id]) in
    // ((@p1, @p2), ...)`, which T-SQL does not have (syntax error near ','): the validate stage's
    // duplicate lookup fails on SQL Server for every batch.
    it('existingKeys: compiles to T-SQL SQL Server accepts (no row-value IN)', async () => {
      const { pool, calls } = fakePool();
      const writer = new MssqlProductionWriter(pool, testSealer());
      await writer.existingKeys([
        { facilityId: 'FAC01', claimId: 'A1' },
        { facilityId: 'FAC02', claimId: 'B2' },
      ]);
      for (const c of calls) assert.doesNotMatch(c.sql, /\(\s*\[facility_id\]\s*,\s*\[claim_id\]\s*\)\s+in\s+\(\s*\(/i, c.sql);
    });

    it('ensureSchema: asks OBJECT_ID for each table and creates only the missing ones, with the dialect’s DDL', async () => {
      const present = new Set(['claims', 'failed_claim_audit']);
      const { pool, calls } = fakePool((text, inputs) => (text === 'SELECT OBJECT_ID(@name) AS id' ? [{ id: present.has(String(inputs.get('name'))) ? 101 : null }] : []));
      await new MssqlProductionWriter(pool, testSealer()).ensureSchema();
      const lookups = calls.filter((c) => c.kind === 'query');
      assert.deepEqual(
        lookups.map((c) => [c.sql, c.inputs.get('name')]),
        ['claims', 'failed_claims', 'failed_claim_reasons', 'failed_claim_audit', 'claim_batches'].map((n) => ['SELECT OBJECT_ID(@name) AS id', n]),
      );
      const created = calls.filter((c) => c.kind === 'batch');
      const expected = new Map(productionTableDefinitions(mssqlDialect).map(([name, define]) => [name, mssqlDialect.schema.createTable(name, define).toString()]));
      assert.deepEqual(
        created.map((c) => c.sql),
        ['failed_claims', 'failed_claim_reasons', 'claim_batches'].map((n) => expected.get(n)),
      );
      assert.match(created[0].sql, /^CREATE TABLE \[failed_claims\]/);
      assert.match(created[0].sql, /CREATE UNIQUE INDEX \[failed_claims_staging_id\]/);
    });
  });
});

describe('connectors/claims/connections dialectOf', () => {
  it('postgres:// and postgresql:// are PostgreSQL; mssql:// and sqlserver:// are SQL Server (any case)', () => {
    assert.equal(dialectOf('postgres://u:p@db:5432/claims'), 'postgres');
    assert.equal(dialectOf('postgresql://db/claims'), 'postgres');
    assert.equal(dialectOf('POSTGRES://db/claims'), 'postgres');
    assert.equal(dialectOf('mssql://sa:pw@sql:1433/claims'), 'mssql');
    assert.equal(dialectOf('sqlserver://sql/claims'), 'mssql');
    assert.equal(dialectOf('SqlServer://sql/claims'), 'mssql');
  });

  it('refuses other schemes, naming the scheme and what is supported', () => {
    assert.throws(() => dialectOf('mysql://root:pw@db/claims'), /unsupported claims database URL scheme 'mysql': use postgres:\/\/ or mssql:\/\//);
    assert.throws(() => dialectOf('postgres:/db'), /not a URL \(no scheme\): use postgres:\/\/\.\.\. or mssql:\/\/\.\.\./);
    assert.throws(() => dialectOf('xpostgres://db'), /unsupported claims database URL scheme 'xpostgres'/);
    assert.throws(() => dialectOf(''), /not a URL \(no scheme\)/);
  });

  it('does not echo the password of a refused URL', () => {
    assert.throws(
      () => dialectOf('mysql://root:Secr3t!@db/claims'),
      (e: Error) => !e.message.includes('Secr3t!'),
    );
  });

  // Regression (was a bug): for a value without a `:` (an ADO-style SQL Server connection string, which the mssql
  // driver accepts), the error quotes the whole value, password included; claims-api.ts returns
  // that message to the HTTP caller (503) and the nodes log it.
  it('does not echo the password of a connection string that is not a URL', () => {
    assert.throws(
      () => dialectOf('Server=sql;Database=claims;User Id=sa;Password=Secr3t!'),
      (e: Error) => !e.message.includes('Secr3t!'),
    );
  });
});
