/**
 * Provider records (engine/providers/store.ts, types in engine/providers/types.ts): what Wasl knows
 * of each provider by NPI (from NPPES lookups, CAQH imports, payer directories, manual entry),
 * every change found to them (revalidation, imports), and the alerts provider work raises, unique
 * per (kind, key) so raising one twice is a no-op.
 *
 * Lists (taxonomies, addresses) are JSON text: they are read and written whole with the record,
 * never queried inside. Times follow 0001 (timestamptz on PostgreSQL, epoch ms on SQLite).
 */
import type { Knex } from 'knex';

function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string): void {
  if (knex.client.dialect === 'postgresql') t.timestamp(name, { useTz: true, precision: 3 }).notNullable();
  else t.bigInteger(name).notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('providers', (t) => {
    t.string('npi', 10).primary();
    /** individual (NPI-1) | organization (NPI-2). */
    t.string('kind', 16).notNullable();
    t.string('name', 500).notNullable();
    /** JSON list of NUCC codes, primary first. */
    t.text('taxonomies').notNullable();
    /** JSON list of ProviderAddress. */
    t.text('addresses').notNullable();
    /** active | deactivated. */
    t.string('status', 16).notNullable();
    /** YYYY-MM-DD. */
    t.string('deactivated_on', 10).nullable();
    t.string('source', 32).notNullable();
    t.string('caqh_provider_id', 64).nullable();
    t.string('attested_on', 10).nullable();
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    t.index(['caqh_provider_id'], 'providers_caqh_provider_id');
    t.index(['status'], 'providers_status');
  });

  await knex.schema.createTable('provider_changes', (t) => {
    t.increments('id').primary();
    t.string('npi', 10).notNullable();
    /** status | name | address | taxonomy | … */
    t.string('field', 32).notNullable();
    t.text('before').notNullable();
    t.text('after').notNullable();
    t.string('source', 32).notNullable();
    timeColumn(knex, t, 'at');
    t.index(['npi', 'id'], 'provider_changes_npi');
  });

  await knex.schema.createTable('provider_alerts', (t) => {
    t.increments('id').primary();
    /** npi-deactivated | caqh-attestation-due | … */
    t.string('kind', 64).notNullable();
    /** What makes it unique: `<npi>`, `<caqhId>:<threshold days>`. */
    t.string('key', 200).notNullable();
    t.text('message').notNullable();
    timeColumn(knex, t, 'opened_at');
    t.unique(['kind', 'key'], { indexName: 'provider_alerts_kind_key' });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('provider_alerts');
  await knex.schema.dropTableIfExists('provider_changes');
  await knex.schema.dropTableIfExists('providers');
}
