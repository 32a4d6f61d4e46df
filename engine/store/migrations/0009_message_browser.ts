/**
 * The message browser (docs/operations.md "Messages"): lineage and search indexes.
 *
 * - `reprocess_of`: a reprocessed message is a new row (new id, new correlation id) pointing at
 *   the row it copies. No foreign key on purpose: pruning an original must not delete or rewrite
 *   its reprocessed copies (setting them to null would also put them back under the dedupe key).
 * - Dedupe: a copy keeps the original's (channel, sender, control_id), so the unique key now
 *   covers only rows that came from a source (`where reprocess_of is null`). A partial unique
 *   index works the same on PostgreSQL and SQLite, and `insert ... on conflict do nothing`
 *   without a target (receive.ts) honours it on both.
 * - Search walks (received_at, id) newest first (keyset pagination, never OFFSET), so every
 *   filter column gets an index that ends in (received_at, id): one equality, then the index
 *   order is the page order and a page reads `limit` rows however many match. The single-column
 *   indexes of 0001 are replaced under the same names (a prefix of the new ones, so nothing that
 *   used them gets slower), and (channel, status) grows the same tail.
 *
 * Each index costs the intake a little on every insert; bench:mllp measures that path.
 */
import type { Knex } from 'knex';

/** Indexes of 0001 rebuilt with the keyset tail, plus the new ones. Name -> columns. */
const SEARCH_INDEXES: ReadonlyArray<[string, string[], string[]]> = [
  // [name, columns now, columns in 0001 (empty: new here)]
  ['messages_channel_status', ['channel', 'status', 'received_at', 'id'], ['channel', 'status']],
  ['messages_control_id', ['control_id', 'received_at', 'id'], ['control_id']],
  ['messages_patient_key', ['patient_key', 'received_at', 'id'], ['patient_key']],
  ['messages_correlation_id', ['correlation_id', 'received_at', 'id'], ['correlation_id']],
  ['messages_channel_time', ['channel', 'received_at', 'id'], []],
  ['messages_status_time', ['status', 'received_at', 'id'], []],
];

const DEDUPE_COLUMNS = ['channel', 'sender', 'control_id'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.string('reprocess_of', 64).nullable();
    // 0001 made this a unique constraint (PostgreSQL) / unique index (SQLite); knex drops either.
    t.dropUnique(DEDUPE_COLUMNS, 'messages_dedupe_key');
  });
  await knex.raw(`create unique index messages_dedupe_key on messages (${DEDUPE_COLUMNS.join(', ')}) where reprocess_of is null`);
  // Partial: only copies have a value, so the index stays as small as the number of reprocesses.
  await knex.raw('create index messages_reprocess_of on messages (reprocess_of) where reprocess_of is not null');
  for (const [name, columns] of SEARCH_INDEXES) {
    await knex.raw(`drop index if exists ${name}`);
    await knex.raw(`create index ${name} on messages (${columns.join(', ')})`);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const [name, , before] of SEARCH_INDEXES) {
    await knex.raw(`drop index if exists ${name}`);
    if (before.length) await knex.raw(`create index ${name} on messages (${before.join(', ')})`);
  }
  await knex.raw('drop index if exists messages_reprocess_of');
  await knex.raw('drop index if exists messages_dedupe_key');
  // Copies would collide with their originals under the full unique key: they go first.
  await knex('messages').whereNotNull('reprocess_of').delete();
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('reprocess_of');
    t.unique(DEDUPE_COLUMNS, { indexName: 'messages_dedupe_key' });
  });
}
