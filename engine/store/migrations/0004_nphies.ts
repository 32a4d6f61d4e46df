/**
 * NPHIES claim lifecycle (engine/nphies/lifecycle.ts): claims with their state, every transition
 * (from, to, time, cause, actor), eligibility and pre-authorisation records linked to claims, and
 * the submission ledger (connectors/nphies/ledger.ts) keyed by idempotency key, so a retry or a
 * crash-and-redeliver never submits the same claim twice.
 *
 * Amounts are decimal(14,2) (SAR has halalas); drivers may hand them back as strings, so the
 * store converts. Times follow 0001 (timestamptz on PostgreSQL, epoch ms on SQLite).
 */
import type { Knex } from 'knex';

function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string, nullable = false): void {
  const col = knex.client.dialect === 'postgresql' ? t.timestamp(name, { useTz: true, precision: 3 }) : t.bigInteger(name);
  if (nullable) col.nullable();
  else col.notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('nphies_eligibility', (t) => {
    t.string('id', 64).primary();
    t.string('identifier_system', 300).notNullable();
    t.string('identifier_value', 200).notNullable();
    t.string('provider_license', 100).notNullable();
    t.string('payer_license', 100).notNullable();
    t.string('patient_key', 200).nullable();
    t.string('request_id', 64).nullable();
    t.string('outcome', 32).nullable();
    t.boolean('inforce').nullable();
    t.string('disposition', 500).nullable();
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    t.unique(['identifier_system', 'identifier_value'], { indexName: 'nphies_eligibility_identifier' });
  });

  await knex.schema.createTable('nphies_preauths', (t) => {
    t.string('id', 64).primary();
    t.string('identifier_system', 300).notNullable();
    t.string('identifier_value', 200).notNullable();
    t.string('provider_license', 100).notNullable();
    t.string('payer_license', 100).notNullable();
    t.string('patient_key', 200).nullable();
    t.string('request_id', 64).nullable();
    t.string('outcome', 32).nullable();
    t.string('pre_auth_ref', 200).nullable();
    t.decimal('approved_amount', 14, 2).nullable();
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    t.unique(['identifier_system', 'identifier_value'], { indexName: 'nphies_preauths_identifier' });
  });

  await knex.schema.createTable('nphies_claims', (t) => {
    t.string('id', 64).primary();
    t.string('identifier_system', 300).notNullable();
    t.string('identifier_value', 200).notNullable();
    t.string('provider_license', 100).notNullable();
    t.string('payer_license', 100).notNullable();
    t.string('patient_key', 200).nullable();
    t.string('state', 16).notNullable();
    t.string('currency', 3).notNullable().defaultTo('SAR');
    t.decimal('claimed_amount', 14, 2).nullable();
    t.decimal('approved_amount', 14, 2).nullable();
    t.decimal('paid_amount', 14, 2).nullable();
    t.string('payment_ref', 200).nullable();
    t.string('pre_auth_ref', 200).nullable();
    t.string('preauth_id', 64).nullable().references('id').inTable('nphies_preauths').onDelete('SET NULL');
    t.string('eligibility_id', 64).nullable().references('id').inTable('nphies_eligibility').onDelete('SET NULL');
    /** Bundle and MessageHeader ids of the claim-request: reused on every resend (NPHIES dedupes on them). */
    t.string('bundle_id', 64).nullable();
    t.string('request_id', 64).nullable();
    /** Last NPHIES error codes, JSON list of {code, message?, expression?}: codes, no patient data. */
    t.text('errors').nullable();
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    t.unique(['identifier_system', 'identifier_value'], { indexName: 'nphies_claims_identifier' });
    t.index(['state'], 'nphies_claims_state');
    t.index(['request_id'], 'nphies_claims_request');
  });

  await knex.schema.createTable('nphies_claim_transitions', (t) => {
    t.increments('id').primary();
    t.string('claim_id', 64).notNullable().references('id').inTable('nphies_claims').onDelete('CASCADE');
    t.string('from_state', 16).nullable();
    t.string('to_state', 16).notNullable();
    timeColumn(knex, t, 'at');
    /** The message that caused it: a MessageHeader id, a PaymentReconciliation id, a batch line. */
    t.string('cause', 200).nullable();
    t.string('actor', 200).notNullable();
    t.index(['claim_id', 'id'], 'nphies_claim_transitions_claim');
  });

  await knex.schema.createTable('nphies_submissions', (t) => {
    /** Claim business identifier + request Bundle id (connectors/nphies/ledger.ts). */
    t.string('idempotency_key', 600).primary();
    t.string('request_id', 64).notNullable();
    t.string('status', 16).notNullable();
    t.string('outcome', 16).nullable();
    t.string('response_code', 20).nullable();
    /** The NphiesResult as JSON (with the response Bundle): PHI, never logged or served in lists. */
    t.text('result').nullable();
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
    t.index(['request_id'], 'nphies_submissions_request');
  });

  await knex.schema.createTable('nphies_batches', (t) => {
    t.string('id', 64).primary();
    t.string('source', 500).notNullable();
    t.integer('total').notNullable();
    t.integer('done').notNullable().defaultTo(0);
    t.integer('failed').notNullable().defaultTo(0);
    t.integer('skipped').notNullable().defaultTo(0);
    t.string('status', 16).notNullable();
    timeColumn(knex, t, 'started_at');
    timeColumn(knex, t, 'finished_at', true);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('nphies_batches');
  await knex.schema.dropTableIfExists('nphies_submissions');
  await knex.schema.dropTableIfExists('nphies_claim_transitions');
  await knex.schema.dropTableIfExists('nphies_claims');
  await knex.schema.dropTableIfExists('nphies_preauths');
  await knex.schema.dropTableIfExists('nphies_eligibility');
}
