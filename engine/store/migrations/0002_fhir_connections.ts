/**
 * FHIR connections (engine/fhir-connections/): one row per EHR FHIR server. `auth_public` holds
 * the auth settings that are not secret (JSON); `auth_secret` holds the secret ones as JSON sealed
 * with AES-256-GCM (engine/fhir-connections/secret-box.ts), null when the auth type has none.
 * Times as in 0001: timestamptz on PostgreSQL, epoch ms on SQLite.
 */
import type { Knex } from 'knex';

function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string): void {
  if (knex.client.dialect === 'postgresql') t.timestamp(name, { useTz: true, precision: 3 }).notNullable();
  else t.bigInteger(name).notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fhir_connections', (t) => {
    t.string('id', 64).primary();
    t.string('name', 200).notNullable();
    t.text('base_url').notNullable();
    t.string('fhir_version', 8).notNullable();
    t.string('auth_type', 32).notNullable();
    t.text('auth_secret').nullable();
    t.text('auth_public').notNullable();
    t.integer('timeout_ms').nullable();
    t.double('rate_limit_per_second').nullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('fhir_connections');
}
