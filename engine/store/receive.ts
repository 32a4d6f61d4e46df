/**
 * `receive`: insert the RECEIVED row, or find the row a resend collides with. Two
 * implementations of the same three steps (insert ignoring conflicts; on conflict read the row
 * with the same dedupe key; if there is none, the id itself was taken):
 *
 * - `receiveWithKnex`, for PostgreSQL: concurrent inserts of one key wait on the unique index, so
 *   exactly one wins and the others then read the winner's committed row (the first insert of
 *   every message goes in a batch, receive-postgres.ts; this is the path of a collision);
 * - `receiveOnSqlite`, the embedded default: prepared statements on knex's one better-sqlite3
 *   connection, run synchronously while holding it. Knex rebuilds and re-prepares every statement,
 *   which halved the insert rate (4,500/s through knex against 10,000/s prepared on this machine).
 */
import type { Knex } from 'knex';
import { ValidationError } from '../../common/errors';
import { encodeContent } from './content-codec';
import { preparedPerConnection, type SqliteDatabase } from './sqlite-connection';
import type { MessageStatus, NewMessage, ReceiveResult } from './types';

/** The columns `receive` writes, in `messages`' naming. */
export interface ReceiveRow {
  id: string;
  channel: string;
  correlation_id: string;
  sender: string;
  control_id: string;
  message_type: string | null;
  patient_key: string | null;
  status: 'RECEIVED';
  accepted: boolean;
  raw: string;
  attempts: number;
  received_at: Date | number;
  updated_at: Date | number;
}

interface ExistingRow {
  id: string;
  correlation_id: string;
  accepted: boolean | number;
  status: string;
}

export function receiveRow(message: NewMessage, now: Date | number): ReceiveRow {
  return {
    id: message.id,
    channel: message.channel,
    correlation_id: message.correlationId,
    sender: message.sender,
    control_id: message.controlId,
    message_type: message.messageType ?? null,
    patient_key: message.patientKey ?? null,
    status: 'RECEIVED',
    accepted: false,
    raw: encodeContent(message.raw),
    attempts: 0,
    received_at: now,
    updated_at: now,
  };
}

/**
 * The insert behind `receive`: `insert ... on conflict do nothing returning id`. No conflict
 * target, so an id collision is reported by `receive` instead of raising. Exported so the SQL can
 * be asserted per dialect. Knex has no `onConflict` for mssql: a SQL Server store would catch
 * unique-key errors 2601/2627 (or use MERGE) instead.
 */
export function receiveInsert(knex: Knex, row: ReceiveRow): Knex.QueryBuilder {
  return knex('messages').insert(row).onConflict().ignore().returning('id');
}

const EXISTING_COLUMNS = ['id', 'correlation_id', 'accepted', 'status'] as const;

/** Two tries: the row a resend collided with can be pruned between the insert and the read. */
const TRIES = 2;

export async function receiveWithKnex(knex: Knex, row: ReceiveRow): Promise<ReceiveResult> {
  for (let i = 0; i < TRIES; i++) {
    const inserted: unknown[] = await receiveInsert(knex, row);
    if (inserted.length > 0) return fresh(row);
    const existing = await knex('messages')
      .select<ExistingRow>(...EXISTING_COLUMNS)
      .where({ channel: row.channel, sender: row.sender, control_id: row.control_id })
      // Reprocessed copies share the key; only the source's row is the one a resend maps to.
      .whereNull('reprocess_of')
      .first();
    if (existing) return duplicate(existing);
    if (await knex('messages').select('id').where({ id: row.id }).first()) throw idConflict(row.id);
  }
  throw vanished(row.id);
}

/** The receive's statements, prepared once per connection (sqlite-connection.ts). */
const statementsFor = preparedPerConnection((db) => ({
  insert: db.prepare(
    `insert into messages (id, channel, correlation_id, sender, control_id, message_type, patient_key, status,
       accepted, raw, attempts, received_at, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing`,
  ),
  byKey: db.prepare(
    `select ${EXISTING_COLUMNS.join(', ')} from messages where channel = ? and sender = ? and control_id = ? and reprocess_of is null`,
  ),
  byId: db.prepare('select id from messages where id = ?'),
}));

export async function receiveOnSqlite(knex: Knex, row: ReceiveRow): Promise<ReceiveResult> {
  // Holding the pool's only connection keeps group-commit transactions out while this runs.
  const db = (await knex.client.acquireConnection()) as SqliteDatabase;
  try {
    const s = statementsFor(db);
    const r = row;
    for (let i = 0; i < TRIES; i++) {
      const { changes } = s.insert.run(
        r.id, r.channel, r.correlation_id, r.sender, r.control_id, r.message_type, r.patient_key, r.status,
        r.accepted ? 1 : 0, r.raw, r.attempts, r.received_at, r.updated_at,
      );
      if (changes > 0) return fresh(row);
      const existing = s.byKey.get(r.channel, r.sender, r.control_id) as ExistingRow | undefined;
      if (existing) return duplicate(existing);
      if (s.byId.get(r.id)) throw idConflict(r.id);
    }
    throw vanished(row.id);
  } finally {
    await knex.client.releaseConnection(db);
  }
}

/** The result for a row this receive inserted. */
export function fresh(row: ReceiveRow): ReceiveResult {
  return { id: row.id, correlationId: row.correlation_id, duplicate: false, accepted: false, status: 'RECEIVED' };
}

function duplicate(existing: ExistingRow): ReceiveResult {
  return {
    id: existing.id,
    correlationId: existing.correlation_id,
    duplicate: true,
    accepted: Boolean(existing.accepted),
    status: existing.status as MessageStatus,
  };
}

function idConflict(id: string): Error {
  return new ValidationError('STORE_ID_CONFLICT', `Message id ${id} already used by another message`);
}

function vanished(id: string): Error {
  return new ValidationError('STORE_RECEIVE_CONFLICT', `Message ${id} neither inserted nor found`);
}
