/**
 * 0006_caqh: CAQH ProView credentialing sync (engine/providers/caqh-sync.ts, issue 8).
 *
 * - caqh_roster: the identity map Wasl provider (NPI) ↔ po_provider_id ↔ caqh_provider_id, the
 *   roster state (pending_batch, rostered, exception, derostered; CAQH.md §7.2) and the last
 *   Status Check (profile status and date, authorization, practice state, attestation date).
 *   `profile` holds the directory fields of the last add (names, correspondence address, practice
 *   state, type) as JSON: never SSN, birth date, DEA, UPIN or tax id.
 * - caqh_batches: every roster submission, written BEFORE the request leaves (status
 *   `submitting`), so a crash never leads to a blind re-submit (CAQH.md §2: re-adding creates
 *   exceptions). `payload_hash` finds an earlier submission of the same entries; `entries` holds
 *   the ids per entry (no PHI); `result` the per-provider outcome lines.
 * - caqh_documents: supporting-document metadata, one row per version (a new version when the
 *   SHA-256 changes); the bytes are not stored here.
 *
 * Times follow 0001 (timestamptz on PostgreSQL, epoch ms on SQLite); dates are YYYY-MM-DD strings.
 */
import type { Knex } from 'knex';

function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string, nullable = false): void {
  const col = knex.client.dialect === 'postgresql' ? t.timestamp(name, { useTz: true, precision: 3 }) : t.bigInteger(name);
  if (nullable) col.nullable();
  else col.notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('caqh_roster', (t) => {
    t.string('npi', 10).primary();
    t.string('caqh_provider_id', 10).nullable();
    t.string('po_provider_id', 100).nullable();
    t.string('organization_id', 5).notNullable();
    /** pending_batch | rostered | exception | derostered. */
    t.string('state', 16).notNullable();
    t.string('exception_description', 500).nullable();
    t.string('roster_status', 50).nullable();
    t.string('provider_status', 100).nullable();
    t.string('provider_status_date', 10).nullable();
    t.boolean('authorized').nullable();
    t.string('practice_state', 2).nullable();
    t.string('attested_on', 10).nullable();
    t.string('last_recredential_date', 10).nullable();
    t.string('next_recredential_date', 10).nullable();
    t.string('last_batch_id', 100).nullable();
    t.text('profile').nullable();
    timeColumn(knex, t, 'status_checked_at', true);
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    t.unique(['caqh_provider_id'], { indexName: 'caqh_roster_caqh_id' });
    t.index(['state'], 'caqh_roster_state');
  });

  await knex.schema.createTable('caqh_batches', (t) => {
    t.string('id', 64).primary();
    /** CAQH's batch_Id; null until CAQH answered. */
    t.string('batch_id', 100).nullable();
    /** add | update | delete. */
    t.string('action', 8).notNullable();
    t.string('payload_hash', 64).notNullable();
    /** JSON [{npi, caqhProviderId?, poProviderId?}]: ids only. */
    t.text('entries').notNullable();
    t.integer('entry_count').notNullable();
    /** submitting | uncertain | pending | complete | failed | refused. */
    t.string('status', 16).notNullable();
    t.string('batch_status', 100).nullable();
    t.string('batch_time', 50).nullable();
    t.integer('polls').notNullable().defaultTo(0);
    /** JSON CaqhRosterResultLine[]: ids, outcome, exception text. */
    t.text('result').nullable();
    t.string('error_code', 100).nullable();
    timeColumn(knex, t, 'submitted_at');
    timeColumn(knex, t, 'last_polled_at', true);
    timeColumn(knex, t, 'completed_at', true);
    t.unique(['batch_id'], { indexName: 'caqh_batches_batch_id' });
    t.index(['payload_hash'], 'caqh_batches_payload');
    t.index(['status'], 'caqh_batches_status');
  });

  await knex.schema.createTable('caqh_documents', (t) => {
    t.increments('id').primary();
    t.string('caqh_provider_id', 10).notNullable();
    t.string('document_type', 100).notNullable();
    t.integer('version').notNullable();
    t.string('sha256', 64).notNullable();
    t.integer('size_bytes').notNullable();
    t.string('content_type', 100).notNullable();
    timeColumn(knex, t, 'fetched_at');
    /** Last time the same bytes were seen again. */
    timeColumn(knex, t, 'checked_at');
    t.unique(['caqh_provider_id', 'document_type', 'version'], { indexName: 'caqh_documents_version' });
  });

  /** Last retrieval outcome per provider and document type (available or CAQH's reason). */
  await knex.schema.createTable('caqh_document_checks', (t) => {
    t.string('caqh_provider_id', 10).notNullable();
    t.string('document_type', 100).notNullable();
    t.boolean('available').notNullable();
    t.integer('http_status').nullable();
    t.string('reason', 300).nullable();
    timeColumn(knex, t, 'checked_at');
    t.primary(['caqh_provider_id', 'document_type']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('caqh_document_checks');
  await knex.schema.dropTableIfExists('caqh_documents');
  await knex.schema.dropTableIfExists('caqh_batches');
  await knex.schema.dropTableIfExists('caqh_roster');
}
