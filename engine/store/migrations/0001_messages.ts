/**
 * Messages and their per-destination outcomes.
 *
 * Times are `timestamptz` on PostgreSQL (readable in psql, usable by pruning SQL) and epoch
 * milliseconds on SQLite, which has no time type; `rows.ts` converts both to `Date`.
 */
import type { Knex } from 'knex';

/** Adds a not-null time column of the dialect's natural type. */
function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string): void {
  if (knex.client.dialect === 'postgresql') t.timestamp(name, { useTz: true, precision: 3 }).notNullable();
  else t.bigInteger(name).notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('messages', (t) => {
    t.string('id', 64).primary();
    t.string('channel', 200).notNullable();
    t.string('correlation_id', 64).notNullable();
    t.string('sender', 400).notNullable();
    t.string('control_id', 200).notNullable();
    t.string('message_type', 100).nullable();
    t.string('patient_key', 200).nullable();
    t.string('status', 16).notNullable();
    t.boolean('accepted').notNullable().defaultTo(false);
    t.text('raw').notNullable();
    t.text('transformed').nullable();
    t.text('sent').nullable();
    t.text('response').nullable();
    t.text('error').nullable();
    t.integer('attempts').notNullable().defaultTo(0);
    timeColumn(knex, t, 'received_at');
    timeColumn(knex, t, 'updated_at');
    // The dedupe key: a resent HL7 message (same MSH-3^MSH-4 and MSH-10) maps to the first row.
    t.unique(['channel', 'sender', 'control_id'], { indexName: 'messages_dedupe_key' });
    t.index(['channel', 'status'], 'messages_channel_status');
    t.index(['correlation_id'], 'messages_correlation_id');
    t.index(['control_id'], 'messages_control_id');
    t.index(['patient_key'], 'messages_patient_key');
    // Keyset pagination walks (received_at, id) newest first.
    t.index(['received_at', 'id'], 'messages_received_at');
  });

  await knex.schema.createTable('message_destinations', (t) => {
    t.string('message_id', 64).notNullable().references('id').inTable('messages').onDelete('CASCADE');
    t.string('destination', 200).notNullable();
    t.string('status', 16).notNullable();
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('sent').nullable();
    t.text('response').nullable();
    t.text('error').nullable();
    timeColumn(knex, t, 'updated_at');
    t.primary(['message_id', 'destination']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('message_destinations');
  await knex.schema.dropTableIfExists('messages');
}
