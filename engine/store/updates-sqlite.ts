/**
 * Stage updates and accept flags on SQLite (the embedded default), a group-commit batch at a
 * time: the batch folded per message exactly as on PostgreSQL (`foldWrites`, so both dialects
 * share one meaning of a batch), then written with statements prepared once per connection, in
 * one transaction on knex's one better-sqlite3 connection.
 *
 * Why: through knex's query builder each update was one to three statements, each rebuilt and
 * re-prepared (knex and better-sqlite3's prepare were about 15% of the engine's CPU in
 * bench:mllp's embedded profile), as receive.ts found for receives (sqlite-connection.ts).
 */
import type { Knex } from 'knex';
import { preparedPerConnection, type SqliteDatabase } from './sqlite-connection';
import { AGGREGATE_STATUS_SQL, destinationMergeSql, foldWrites, unknownMessage, type StoreWrite } from './stage-updates';

// A destination row for a message that does not exist is skipped, not a foreign-key error that
// would fail the batch; the message statement then reports the message unknown.
const DESTINATION_SQL = `insert into message_destinations (message_id, destination, status, attempts, sent, response, error, updated_at)
  select ?, ?, ?, ?, ?, ?, ?, ? where exists (select 1 from messages where id = ?)
  ${destinationMergeSql('message_destinations')}`;

// After the destination rows, so the aggregate reads them (one connection, one transaction).
const MESSAGE_SQL = `update messages set
    status = case ? when 'set' then ? when 'destinations' then ${AGGREGATE_STATUS_SQL} else status end,
    updated_at = case when ? then ? else updated_at end,
    accepted = accepted or ?,
    attempts = attempts + ?,
    transformed = coalesce(?, transformed),
    sent = coalesce(?, sent),
    response = coalesce(?, response),
    error = coalesce(?, error)
  where id = ?`;

const statementsFor = preparedPerConnection((db) => ({ destination: db.prepare(DESTINATION_SQL), message: db.prepare(MESSAGE_SQL) }));

/** Writes one batch; per write, undefined or the error for that write alone (an unknown id). */
export async function commitWritesOnSqlite(knex: Knex, writes: readonly StoreWrite[], now: number): Promise<Array<Error | undefined>> {
  const { messages, destinations } = foldWrites(writes);
  const db = (await knex.client.acquireConnection()) as SqliteDatabase;
  try {
    const s = statementsFor(db);
    const known = db.transaction(() => {
      for (const d of destinations) s.destination.run(d.id, d.destination, d.status, d.attempts, d.sent, d.response, d.error, now, d.id);
      const found = new Set<string>();
      for (const m of messages) {
        const { changes } = s.message.run(
          m.statusFrom, m.status, m.touched ? 1 : 0, now, m.accepted ? 1 : 0, m.attempts, m.transformed, m.sent, m.response, m.error, m.id,
        );
        if (changes > 0) found.add(m.id);
      }
      return found;
    })();
    return writes.map((w) => (known.has(w.id) ? undefined : unknownMessage(w.id)));
  } finally {
    await knex.client.releaseConnection(db);
  }
}
