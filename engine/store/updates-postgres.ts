/**
 * Stage updates and accept flags on PostgreSQL, a whole group-commit batch at a time: every write
 * that queued while the previous batch committed (any number of messages, any stages) becomes at
 * most two set-based statements, one for `message_destinations` and one for `messages`, sent in
 * ONE round trip: one simple query holding both, which PostgreSQL runs as one implicit
 * transaction. Before, each update was one to three statements inside BEGIN and COMMIT. A batch
 * without destination outcomes is one autocommit statement with bound parameters.
 *
 * Why: bench:mllp in production mode made seven statements per message here (TRANSFORMED, then
 * QUEUED and SENT at three each). Every statement is a round trip, a socket write costing the
 * engine about a hundred microseconds on this VM, and a planning and index-maintenance pass in
 * PostgreSQL: writes of the store were about a fifth of the engine's CPU and most of
 * PostgreSQL's per message.
 *
 * Accept flags take the same lane as the message's updates (knex-store.ts `laneFor`). They used
 * to be a statement of their own on another connection, and under load that statement and a
 * lane's transaction kept waiting for each other's row locks (and deadlocked now and then): one
 * lane per message means no two transactions of this process write the same message row at once.
 *
 * Tried and measured worse: the whole batch as ONE statement (the destination upsert as a
 * data-modifying CTE, the aggregate from its RETURNING), which saves BEGIN and COMMIT. PostgreSQL
 * spent more CPU planning that statement on every call than the two round trips cost (bench:mllp
 * production c8: PostgreSQL 1.3 -> 2.3 ms per message).
 *
 * The batch is first folded per message (stage-updates.ts `foldWrites`, shared with SQLite). A
 * message whose last update in the batch came from a destination shows the aggregate over its
 * destination rows, computed after they are written.
 */
import type { Knex } from 'knex';
import { pgArray, pgLiteral } from '../../common/pg-array';
import { withPgConnection } from './pg-connection';
import { AGGREGATE_STATUS_SQL, destinationMergeSql, foldWrites, unknownMessage, type StoreWrite } from './stage-updates';

// Destination rows first: the messages statement reads them for the aggregate status. A row for
// a message that does not exist (yet) is skipped, not a foreign-key error that would fail the
// whole batch; its update is then reported unknown by the messages statement.
const DESTINATIONS_SQL = `insert into message_destinations as d
    (message_id, destination, status, attempts, sent, response, error, updated_at)
  select v.message_id, v.destination, v.status, v.attempts, v.sent, v.response, v.error, $8::timestamptz
  from unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::text[], $6::text[], $7::text[])
    as v(message_id, destination, status, attempts, sent, response, error)
  where exists (select 1 from messages m where m.id = v.message_id)
  ${destinationMergeSql('d')}`;

// Columns an accept flag alone leaves as they are keep their old values, so PostgreSQL can update
// the row in place (HOT) when no indexed column changed and the page has room.
const MESSAGES_SQL = `update messages set
    status = case v.status_from when 'set' then v.status when 'destinations' then ${AGGREGATE_STATUS_SQL} else messages.status end,
    updated_at = case when v.touched then $11::timestamptz else messages.updated_at end,
    accepted = messages.accepted or v.accepted,
    attempts = messages.attempts + v.attempts,
    transformed = coalesce(v.transformed, messages.transformed),
    sent = coalesce(v.sent, messages.sent),
    response = coalesce(v.response, messages.response),
    error = coalesce(v.error, messages.error)
  from unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::boolean[], $6::integer[], $7::text[], $8::text[], $9::text[], $10::text[])
    as v(id, status_from, status, touched, accepted, attempts, transformed, sent, response, error)
  where messages.id = v.id
  returning messages.id`;

/** Writes one batch; per write, undefined or the error for that write alone (an unknown id). */
export async function commitWritesOnPostgres(knex: Knex, writes: readonly StoreWrite[], now: Date): Promise<Array<Error | undefined>> {
  const { messages: m, destinations: d } = foldWrites(writes);
  const messageValues = [
    pgArray(m.map((c) => c.id)),
    pgArray(m.map((c) => c.statusFrom)),
    pgArray(m.map((c) => c.status)),
    pgArray(m.map((c) => String(c.touched))),
    pgArray(m.map((c) => String(c.accepted))),
    pgArray(m.map((c) => c.attempts)),
    pgArray(m.map((c) => c.transformed)),
    pgArray(m.map((c) => c.sent)),
    pgArray(m.map((c) => c.response)),
    pgArray(m.map((c) => c.error)),
    now.toISOString(),
  ];
  const rows = await withPgConnection(knex, async (connection) => {
    // One statement: autocommit, parameters bound.
    if (d.length === 0) return (await connection.query({ text: MESSAGES_SQL, values: messageValues })).rows;
    // Two: both in ONE simple query, which PostgreSQL runs as one implicit transaction (all or
    // nothing) in one round trip. With BEGIN and COMMIT around two bound statements it was four.
    // A simple query takes no parameters, so the values travel as literals (pgLiteral).
    const destinationValues = [
      pgArray(d.map((c) => c.id)),
      pgArray(d.map((c) => c.destination)),
      pgArray(d.map((c) => c.status)),
      pgArray(d.map((c) => c.attempts)),
      pgArray(d.map((c) => c.sent)),
      pgArray(d.map((c) => c.response)),
      pgArray(d.map((c) => c.error)),
      now.toISOString(),
    ];
    const results = (await connection.query(`${spliced(DESTINATIONS_SQL, destinationValues)};\n${spliced(MESSAGES_SQL, messageValues)}`)) as unknown as Array<{ rows: Array<{ id: string }> }>;
    return results[1].rows;
  });
  const known = new Set(rows.map((r) => r.id));
  return writes.map((w) => (known.has(w.id) ? undefined : unknownMessage(w.id)));
}

/**
 * The statement with its `$n` placeholders replaced by the values as literals, in one pass over
 * the statement's own text (a value that happens to contain `$1` is never substituted again).
 */
function spliced(sql: string, values: string[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => pgLiteral(values[Number(n) - 1]));
}
