/**
 * FHIR Encounter and note sync (connectors/fhir/sync/): synced Encounters with their Patient,
 * their notes, one row per sync run, and the incremental high-water marks.
 *
 * FHIR instants are kept as the server's ISO text (`last_updated`, period): they are compared
 * only with each other, and ISO-8601 UTC text sorts in time order. Our own times follow 0001
 * (timestamptz on PostgreSQL, epoch ms on SQLite).
 */
import type { Knex } from 'knex';

function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string, nullable = false): void {
  const col = knex.client.dialect === 'postgresql' ? t.timestamp(name, { useTz: true, precision: 3 }) : t.bigInteger(name);
  if (nullable) col.nullable();
  else col.notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('fhir_encounters', (t) => {
    t.increments('id').primary();
    t.string('connection_id', 200).notNullable();
    t.string('fhir_encounter_id', 64).notNullable();
    t.string('version_id', 64).nullable();
    t.string('last_updated', 40).nullable();
    t.string('status', 32).nullable();
    t.string('patient_ref', 200).nullable();
    t.string('period_start', 40).nullable();
    t.string('period_end', 40).nullable();
    t.text('raw').notNullable();
    t.text('patient_raw').nullable();
    t.integer('note_count').notNullable().defaultTo(0);
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    t.unique(['connection_id', 'fhir_encounter_id'], { indexName: 'fhir_encounters_key' });
    t.index(['connection_id', 'updated_at'], 'fhir_encounters_updated');
  });

  await knex.schema.createTable('fhir_encounter_notes', (t) => {
    t.increments('id').primary();
    t.integer('encounter_row_id').unsigned().notNullable().references('id').inTable('fhir_encounters').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.string('source', 300).notNullable();
    t.string('resource_type', 40).notNullable();
    t.string('resource_id', 64).notNullable();
    t.string('title', 500).nullable();
    t.string('content_type', 200).notNullable();
    t.text('text').nullable();
    t.string('extraction', 20).notNullable();
    t.string('reason', 60).nullable();
    t.binary('bytes').nullable();
    t.index(['encounter_row_id', 'position'], 'fhir_encounter_notes_encounter');
  });

  await knex.schema.createTable('fhir_sync_runs', (t) => {
    t.string('id', 64).primary();
    t.string('connection_id', 200).notNullable();
    timeColumn(knex, t, 'started_at');
    timeColumn(knex, t, 'finished_at');
    t.integer('pages').notNullable();
    t.integer('fetched').notNullable();
    t.integer('created').notNullable();
    t.integer('updated').notNullable();
    t.integer('skipped').notNullable();
    t.integer('failed').notNullable();
    t.integer('duration_ms').notNullable();
    t.boolean('complete').notNullable();
    t.string('high_water_from', 40).nullable();
    t.string('high_water_mark', 40).nullable();
    /** JSON list of {encounterId?, page?, code, message}: ids and codes, no patient data. */
    t.text('errors').notNullable();
    t.index(['connection_id', 'started_at'], 'fhir_sync_runs_connection');
  });

  await knex.schema.createTable('fhir_sync_high_water', (t) => {
    t.string('connection_id', 200).notNullable();
    t.string('query_key', 200).notNullable();
    t.string('high_water_mark', 40).notNullable();
    timeColumn(knex, t, 'updated_at');
    t.primary(['connection_id', 'query_key']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('fhir_sync_high_water');
  await knex.schema.dropTableIfExists('fhir_sync_runs');
  await knex.schema.dropTableIfExists('fhir_encounter_notes');
  await knex.schema.dropTableIfExists('fhir_encounters');
}
