/**
 * The claims tables, declared once with knex's schema builder so that PostgreSQL and SQL Server
 * (knex's mssql dialect) get the same shape.
 *
 * Staging (PostgreSQL; the hospital's system writes it, Wasl claims rows from it):
 *   claims_staging: one row per claim; `status` new -> in_flight (leased to a Wasl process) -> done.
 * Production (PostgreSQL or SQL Server):
 *   claims: priced claims. `staging_id` is unique: a redelivered batch cannot write a claim twice.
 *     Original claims (frequency 1) are unique on (facility_id, claim_id) (CLAIMS.md §6), so a
 *     duplicate racing past validation in another batch is caught by the database itself.
 *   failed_claims (+ failed_claim_reasons, failed_claim_audit): what the workbench shows.
 *     `staging_id` unique here too; a claim is in exactly one of claims / failed_claims.
 *     SECURITY: member id, patient name and birth date are in `sealed` (AES-256-GCM), never in clear.
 *   claim_batches: one row per batch written, in the same transaction as its claims.
 */
import type { Knex } from 'knex';

export interface ClaimTables {
  staging: string;
  claims: string;
  failed: string;
  reasons: string;
  audit: string;
  batches: string;
}

export const DEFAULT_TABLES: ClaimTables = {
  staging: 'claims_staging',
  claims: 'claims',
  failed: 'failed_claims',
  reasons: 'failed_claim_reasons',
  audit: 'failed_claim_audit',
  batches: 'claim_batches',
};

/** Columns a staging row holds (besides the lease columns). */
export function defineStagingTable(t: Knex.CreateTableBuilder, knexRaw: (sql: string) => Knex.Raw, table: string = DEFAULT_TABLES.staging): void {
  t.bigIncrements('id').primary();
  t.string('claim_id', 38).notNullable();
  t.string('facility_id', 32).notNullable();
  t.string('frequency', 1).notNullable().defaultTo('1');
  t.string('original_reference', 50);
  t.string('payer_id', 32).notNullable();
  t.string('member_id', 80);
  t.string('patient_family', 100);
  t.string('patient_given', 100);
  t.date('birth_date');
  t.string('sex', 1);
  t.string('billing_npi', 10);
  t.string('rendering_npi', 10);
  t.string('place_of_service', 2);
  t.text('diagnoses').notNullable(); // JSON array of ICD-10-CM codes
  t.text('lines').notNullable(); // JSON array of ClaimLine
  t.bigInteger('total_charge_cents').notNullable();
  t.string('locality_mac', 10);
  t.string('locality_number', 4);
  t.string('status', 12).notNullable().defaultTo('new');
  t.string('claimed_by', 64);
  t.timestamp('claimed_at', { useTz: true });
  t.integer('attempts').notNullable().defaultTo(0);
  t.string('batch_id', 120);
  t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knexRaw('CURRENT_TIMESTAMP'));
  t.index(['status', 'id'], `${table}_status_id`);
}

/** Creates the staging table when it is missing (demo, bench and tests; a hospital has its own). */
export async function ensureStagingTable(knex: Knex, tables: ClaimTables = DEFAULT_TABLES): Promise<void> {
  if (!(await knex.schema.hasTable(tables.staging))) await createIgnoringRace(knex.schema.createTable(tables.staging, (t) => defineStagingTable(t, (q) => knex.raw(q), tables.staging)));
}

/** Creates the production tables that are missing. */
export async function ensureProductionTables(knex: Knex, tables: ClaimTables = DEFAULT_TABLES): Promise<void> {
  for (const [name, define] of productionTableDefinitions(knex, tables)) {
    if (!(await knex.schema.hasTable(name))) await createIgnoringRace(knex.schema.createTable(name, define));
  }
}

/**
 * Two nodes (validate and the destination) may create the tables at the same start: the loser's
 * "already exists" (42P07 relation, 23505 on pg_type, 42710 type) means the winner did the work.
 */
async function createIgnoringRace(create: Promise<unknown>): Promise<void> {
  try {
    await create;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== '42P07' && code !== '23505' && code !== '42710') throw err;
  }
}

/** Each production table with its definition, in creation order (for toSQL tests too). */
export function productionTableDefinitions(knex: Knex, tables: ClaimTables = DEFAULT_TABLES): Array<[string, (t: Knex.CreateTableBuilder) => void]> {
  return [
    [
      tables.claims,
      (t) => {
        t.bigInteger('staging_id').notNullable().primary();
        t.string('claim_id', 38).notNullable();
        t.string('facility_id', 32).notNullable();
        t.string('frequency', 1).notNullable();
        t.string('original_reference', 50);
        t.string('payer_id', 32).notNullable();
        t.string('member_id', 80).notNullable();
        t.string('patient_family', 100).notNullable();
        t.string('patient_given', 100).notNullable();
        t.date('birth_date').notNullable();
        t.string('sex', 1).notNullable();
        t.string('billing_npi', 10).notNullable();
        t.string('rendering_npi', 10);
        t.string('place_of_service', 2).notNullable();
        t.text('diagnoses').notNullable();
        t.text('lines').notNullable(); // JSON: the claim's lines as staged
        t.text('priced_lines').notNullable(); // JSON: per line { line, allowedCents, basis }
        t.bigInteger('total_charge_cents').notNullable();
        t.bigInteger('allowed_cents').notNullable();
        t.string('conversion_factor', 12).notNullable();
        t.decimal('denial_score', 6, 5);
        t.string('denial_decided_by', 8);
        t.string('batch_id', 120).notNullable();
        t.timestamp('written_at', { useTz: true }).notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP'));
        // Originals only (also serves the duplicate lookup, which asks about originals): a replacement (7) or void (8) carries the same key on purpose.
        t.unique(['facility_id', 'claim_id'], { indexName: `${tables.claims}_original_key`, predicate: knex.whereRaw("frequency = '1'") });
      },
    ],
    [
      tables.failed,
      (t) => {
        t.bigIncrements('id').primary();
        t.bigInteger('staging_id').notNullable().unique({ indexName: `${tables.failed}_staging_id` });
        t.string('claim_id', 38).notNullable();
        t.string('facility_id', 32).notNullable();
        t.string('payer_id', 32).notNullable();
        t.date('service_date');
        t.text('claim').notNullable(); // JSON of the claim without its sensitive fields
        t.text('sealed').notNullable(); // AES-256-GCM: member id, name, birth date
        t.string('rules', 400).notNullable(); // comma-separated rule ids, for display
        t.string('status', 12).notNullable().defaultTo('open'); // open | resolved
        t.integer('reprocess_count').notNullable().defaultTo(0);
        t.string('batch_id', 120).notNullable();
        t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP'));
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP'));
        t.index(['status', 'facility_id'], `${tables.failed}_status_facility`);
        t.index(['status', 'payer_id'], `${tables.failed}_status_payer`);
        t.index(['service_date'], `${tables.failed}_service_date`);
      },
    ],
    [
      tables.reasons,
      (t) => {
        t.bigInteger('failed_claim_id').notNullable().references('id').inTable(tables.failed).onDelete('CASCADE');
        t.string('rule', 64).notNullable();
        t.string('severity', 8).notNullable();
        t.string('field', 120).notNullable();
        t.string('value', 200).notNullable(); // '(sealed)' for a sensitive field
        t.string('message', 400).notNullable();
        t.index(['rule'], `${tables.reasons}_rule`);
        t.index(['failed_claim_id'], `${tables.reasons}_claim`);
      },
    ],
    [
      tables.audit,
      (t) => {
        t.bigIncrements('id').primary();
        t.bigInteger('failed_claim_id').notNullable();
        t.string('action', 20).notNullable(); // repair | reprocess
        t.string('actor', 120).notNullable();
        t.timestamp('at', { useTz: true }).notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP'));
        t.text('before'); // sealed JSON: may hold sensitive fields
        t.text('after');
        t.string('outcome', 200);
        t.index(['failed_claim_id'], `${tables.audit}_claim`);
      },
    ],
    [
      tables.batches,
      (t) => {
        t.string('batch_id', 120).primary();
        t.integer('claims').notNullable();
        t.integer('written').notNullable();
        t.integer('failed').notNullable();
        t.timestamp('done_at', { useTz: true }).notNullable().defaultTo(knex.raw('CURRENT_TIMESTAMP'));
      },
    ],
  ];
}
