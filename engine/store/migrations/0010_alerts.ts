/**
 * Alerts (engine/alerts/): one row per time a rule's condition opened, closed in place when it
 * clears. Times follow 0001 (timestamptz on PostgreSQL, epoch ms on SQLite).
 *
 * `open_key` holds the rule's key (`<channel>/<rule>`) while the alert is open and NULL once it
 * closes. Its unique index allows one open alert per rule, whichever process inserts it: several
 * engines on one PostgreSQL each evaluate the rules, and the one whose insert lands is the one that
 * notifies. NULLs never collide (PostgreSQL and SQLite alike), so closed rows pile up freely.
 *
 * The signal queries get indexes here too: the error rate counts a channel's messages finished in
 * a window (messages by channel and updated_at), and destination-down reads a destination's last
 * outcomes (message_destinations by destination and updated_at). Without them each evaluation
 * would scan the table. A silent feed's newest received_at and the oldest waiting message use
 * 0009's messages_channel_time and messages_channel_status, so nothing is added for them: each
 * index costs the intake a little on every insert.
 */
import type { Knex } from 'knex';

/** A time column of the dialect's natural type (see 0001). */
function timeColumn(knex: Knex, t: Knex.CreateTableBuilder, name: string, nullable = false): void {
  const column = knex.client.dialect === 'postgresql' ? t.timestamp(name, { useTz: true, precision: 3 }) : t.bigInteger(name);
  if (nullable) column.nullable();
  else column.notNullable();
}

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alerts', (t) => {
    t.string('id', 64).primary();
    /** `<channel>/<rule>`: what "the same rule" is across restarts and processes. */
    t.string('rule_key', 300).notNullable();
    /** `rule_key` while open, NULL once closed: the one-open-alert-per-rule guard. */
    t.string('open_key', 300).nullable();
    t.string('channel', 200).notNullable();
    t.string('rule', 200).notNullable();
    /** error-rate | queue-depth | oldest-age | silence | destination-down. */
    t.string('kind', 32).notNullable();
    /** open | closed. */
    t.string('state', 8).notNullable();
    /** The reading that opened it and the threshold it reached (ratio, messages or seconds). */
    t.double('value').notNullable();
    t.double('threshold').notNullable();
    /** Why it opened, in counts and codes only (it reaches e-mails and webhooks). */
    t.string('message', 500).notNullable();
    timeColumn(knex, t, 'opened_at');
    timeColumn(knex, t, 'closed_at', true);
    /** The latest notification that failed (target and code), NULL when the latest succeeded. */
    t.string('notify_error', 500).nullable();
    timeColumn(knex, t, 'notified_at', true);
    t.unique(['open_key'], { indexName: 'alerts_one_open_per_rule' });
    t.index(['opened_at', 'id'], 'alerts_opened_at');
    t.index(['channel', 'opened_at'], 'alerts_channel_opened_at');
  });

  await knex.schema.alterTable('messages', (t) => {
    t.index(['channel', 'updated_at'], 'messages_channel_updated_at');
  });
  await knex.schema.alterTable('message_destinations', (t) => {
    t.index(['destination', 'updated_at'], 'message_destinations_destination_updated_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('message_destinations', (t) => t.dropIndex(['destination', 'updated_at'], 'message_destinations_destination_updated_at'));
  await knex.schema.alterTable('messages', (t) => t.dropIndex(['channel', 'updated_at'], 'messages_channel_updated_at'));
  await knex.schema.dropTableIfExists('alerts');
}
