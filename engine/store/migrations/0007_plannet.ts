/**
 * Plan-Net payer directories (issue 8, connectors/plannet/):
 * - `plannet_submissions`: every participation we pushed to a payer, keyed by adapter and the
 *   identifier value our pushed resource carries (its conditional-update key), with the status
 *   (sending, accepted, published, rejected, failed, not-accepted, invalid), the payer's answer
 *   (HTTP status, resource id and version) and the attempt count. Codes only, no provider data
 *   beyond the NPI and the payer's network reference.
 * - `plannet_participations`: our side of each provider's participation in a payer network
 *   (accepting new patients, affiliated organization, locations, specialties, period), which
 *   engine/providers/plannet-sync.ts compares with the payer's directory and pushes.
 *
 * Times follow 0001 (timestamptz on PostgreSQL, epoch ms on SQLite).
 */
import type { Knex } from 'knex';

function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string, nullable = false): void {
  const col = knex.client.dialect === 'postgresql' ? t.timestamp(name, { useTz: true, precision: 3 }) : t.bigInteger(name);
  if (nullable) col.nullable();
  else col.notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('plannet_submissions', (t) => {
    t.string('adapter_id', 100).notNullable();
    t.string('identifier_value', 64).notNullable();
    t.string('npi', 10).notNullable();
    t.string('network', 300).notNullable();
    t.string('resource_type', 40).notNullable();
    t.string('status', 16).notNullable();
    t.integer('http_status').nullable();
    t.string('resource_id', 64).nullable();
    t.string('version_id', 64).nullable();
    t.string('payload_hash', 64).nullable();
    t.string('error_code', 100).nullable();
    t.string('detail', 500).nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    timeColumn(knex, t, 'submitted_at', true);
    timeColumn(knex, t, 'published_at', true);
    t.primary(['adapter_id', 'identifier_value']);
    t.index(['adapter_id', 'npi'], 'plannet_submissions_npi');
    t.index(['status'], 'plannet_submissions_status');
  });

  await knex.schema.createTable('plannet_participations', (t) => {
    t.string('adapter_id', 100).notNullable();
    t.string('npi', 10).notNullable();
    t.string('network', 300).notNullable();
    t.string('accepting_patients', 16).notNullable();
    t.string('organization_npi', 10).nullable();
    t.string('organization_ref', 300).nullable();
    /** JSON arrays of strings. */
    t.text('locations').nullable();
    t.text('specialties').nullable();
    t.text('characteristics').nullable();
    t.string('role', 40).nullable();
    t.string('start_date', 10).nullable();
    t.string('end_date', 10).nullable();
    timeColumn(knex, t, 'updated_at');
    t.primary(['adapter_id', 'npi', 'network']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('plannet_participations');
  await knex.schema.dropTableIfExists('plannet_submissions');
}
