/**
 * Users, sign-in sessions, API tokens and the hash-chained audit log (engine/auth/, engine/audit/).
 * Secrets are stored only as hashes: bcrypt for passwords, SHA-256 for session and API tokens
 * (random 256-bit values, so a fast hash is enough and lookups stay indexed).
 *
 * The audit log is append-only at the database too: a trigger refuses UPDATE and DELETE, so
 * tampering needs someone who can drop the trigger, and the hash chain then shows it.
 */
import type { Knex } from 'knex';

function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string, nullable = false): void {
  const col = knex.client.dialect === 'postgresql' ? t.timestamp(name, { useTz: true, precision: 3 }) : t.bigInteger(name);
  if (nullable) col.nullable();
  else col.notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => {
    t.string('username', 100).primary();
    t.string('password_hash', 100).notNullable();
    t.string('role', 32).notNullable();
    t.boolean('disabled').notNullable().defaultTo(false);
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'updated_at');
  });
  await knex.schema.createTable('user_sessions', (t) => {
    t.string('token_hash', 64).primary();
    t.string('username', 100).notNullable().references('username').inTable('users').onDelete('CASCADE');
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'expires_at');
    t.index(['username'], 'user_sessions_username');
  });
  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 32).primary();
    t.string('username', 100).notNullable().references('username').inTable('users').onDelete('CASCADE');
    t.string('name', 200).notNullable();
    t.string('token_hash', 64).notNullable().unique({ indexName: 'api_tokens_token_hash' });
    timeColumn(knex, t, 'created_at');
    timeColumn(knex, t, 'last_used_at', true);
    timeColumn(knex, t, 'revoked_at', true);
  });
  await knex.schema.createTable('audit_log', (t) => {
    t.bigInteger('seq').primary();
    timeColumn(knex, t, 'at');
    t.string('actor', 100).notNullable();
    t.string('action', 50).notNullable();
    t.string('target', 400).nullable();
    t.string('remote', 100).nullable();
    t.text('detail').nullable();
    t.string('prev_hash', 64).notNullable();
    t.string('hash', 64).notNullable();
    t.index(['actor', 'seq'], 'audit_log_actor');
    t.index(['action', 'seq'], 'audit_log_action');
    t.index(['target', 'seq'], 'audit_log_target');
  });
  if (knex.client.dialect === 'postgresql') {
    await knex.raw(`CREATE FUNCTION wasl_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$`);
    await knex.raw('CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION wasl_audit_log_append_only()');
  } else {
    await knex.raw("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END");
    await knex.raw("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END");
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('audit_log');
  if (knex.client.dialect === 'postgresql') await knex.raw('DROP FUNCTION IF EXISTS wasl_audit_log_append_only()');
  await knex.schema.dropTableIfExists('api_tokens');
  await knex.schema.dropTableIfExists('user_sessions');
  await knex.schema.dropTableIfExists('users');
}
