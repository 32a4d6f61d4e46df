/**
 * What an operator asked of each channel (start, pause, stop), shared by every engine process on
 * the database and kept across restarts (engine/runtime/channel-state-sync.ts). One row per
 * channel that was ever asked; no row means nobody asked, so the channel runs. Times follow 0001
 * (timestamptz on PostgreSQL, epoch ms on SQLite).
 *
 * Processes read the whole table every few seconds, so it stays one small row per channel: the
 * history of who asked what lives in the audit log (migration 0008), not here.
 */
import type { Knex } from 'knex';

/** A time column of the dialect's natural type (see 0001). */
function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string): void {
  (knex.client.dialect === 'postgresql' ? t.timestamp(name, { useTz: true, precision: 3 }) : t.bigInteger(name)).notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('channel_states', (t) => {
    t.string('channel', 200).primary();
    // A state no engine knows would stop nobody; refuse it at the database too.
    t.string('state', 8).notNullable().checkIn(['running', 'paused', 'stopped'], 'channel_states_state');
    timeColumn(knex, t, 'updated_at');
    /** The user (or `anonymous`) whose request wrote the row, as in the audit log's actor. */
    t.string('updated_by', 100).notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('channel_states');
}
