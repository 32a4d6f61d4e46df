/**
 * Message search for the browser: filters on channel, status, time and business keys, newest
 * first, one page at a time by keyset (the last row's (received_at, id) is the cursor), never by
 * OFFSET, so page 1,000 costs what page 1 costs and rows arriving meanwhile shift nothing.
 *
 * Every filter column has an index ending in (received_at, id) (migrations/0009): with the
 * equalities fixed, the index order is the page order and the database reads `limit + 1` rows.
 * `key` (any business key) is one such walk per key column, merged: `or` across columns would
 * make both dialects collect every match and sort it, slow for a patient with years of messages.
 *
 * Only metadata is read here; content columns (raw, transformed, sent, response) never are.
 */
import type { Knex } from 'knex';
import { ValidationError } from '../../common/errors';
import { decodeError, fromDbTime, toDbTime, type Dialect } from './rows';
import type { MessageStatus, StoredMessage } from './types';

export const MESSAGE_STATUSES: readonly MessageStatus[] = ['RECEIVED', 'FILTERED', 'TRANSFORMED', 'QUEUED', 'SENT', 'ERROR'];

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface MessageSearch {
  channel?: string;
  status?: MessageStatus;
  /** Received at or after. */
  from?: Date;
  /** Received before (exclusive, so consecutive ranges do not overlap). */
  to?: Date;
  controlId?: string;
  patientKey?: string;
  correlationId?: string;
  /** Exact match on any business key: message id, control id, patient key or correlation id. */
  key?: string;
  /** Page size, 1 to MAX_PAGE_SIZE (default DEFAULT_PAGE_SIZE). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

/** A message without its content: what a search returns. */
export interface MessageSummary extends Omit<StoredMessage, 'raw' | 'transformed' | 'sent' | 'response' | 'destinations'> {
  /** The message this one reprocesses, if it is a reprocessed copy. */
  reprocessOf: string | null;
}

export interface SearchPage {
  messages: MessageSummary[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

interface SummaryRow {
  id: string;
  channel: string;
  correlation_id: string;
  sender: string;
  control_id: string;
  message_type: string | null;
  patient_key: string | null;
  status: string;
  accepted: boolean | number;
  attempts: number | string;
  error: string | null;
  received_at: Date | number | string;
  updated_at: Date | number | string;
  reprocess_of: string | null;
}

const SUMMARY_COLUMNS = [
  'id', 'channel', 'correlation_id', 'sender', 'control_id', 'message_type', 'patient_key', 'status',
  'accepted', 'attempts', 'error', 'received_at', 'updated_at', 'reprocess_of',
] as const;

/** The columns `key` looks in; each has its own index (the id: the primary key). */
const KEY_COLUMNS = ['id', 'control_id', 'patient_key', 'correlation_id'] as const;

const ORDER: Array<{ column: string; order: 'desc' }> = [
  { column: 'received_at', order: 'desc' },
  { column: 'id', order: 'desc' },
];

interface Cursor {
  receivedAt: number;
  id: string;
}

/** Opaque to callers: base64url of the last row's time (epoch ms) and id. */
export function encodeCursor(receivedAt: Date, id: string): string {
  return Buffer.from(JSON.stringify([receivedAt.getTime(), id]), 'utf8').toString('base64url');
}

/** @throws ValidationError `VALIDATION_SEARCH_CURSOR` for anything `encodeCursor` did not make. */
export function decodeCursor(cursor: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { receivedAt: value[0], id: value[1] };
    }
  } catch {
    // fall through: same answer as a well-formed but wrong value
  }
  throw new ValidationError('SEARCH_CURSOR', 'cursor is not one this API returned', { path: 'cursor' });
}

export function pageSize(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_PAGE_SIZE;
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_PAGE_SIZE);
}

/**
 * The page query (reads `pageSize + 1` rows: the extra one says whether a next page exists).
 * Exported so tests can EXPLAIN it on both dialects.
 */
export function searchQuery(knex: Knex, dialect: Dialect, search: MessageSearch): Knex.QueryBuilder {
  const n = pageSize(search.limit) + 1;
  const cursor = search.cursor === undefined ? undefined : decodeCursor(search.cursor);
  const walk = (keyColumn?: string, keyValue?: string): Knex.QueryBuilder => {
    const q = knex('messages').select(...SUMMARY_COLUMNS);
    if (keyColumn !== undefined) q.where(keyColumn, keyValue);
    // SQLite's planner, without ANALYZE statistics, may walk the channel or status index (it
    // also yields the page order) rather than the far more selective business key; the unary +
    // takes a term out of index choice on SQLite (sqlite.org/optoverview.html, "Disqualifying
    // WHERE clause terms"). PostgreSQL has statistics and no + for text, so it gets plain terms.
    const selective = keyColumn !== undefined || search.controlId !== undefined || search.patientKey !== undefined || search.correlationId !== undefined;
    const eq = (column: string, value: string) => (dialect === 'sqlite' && selective ? q.whereRaw(`+${column} = ?`, [value]) : q.where(column, value));
    if (search.controlId !== undefined) q.where('control_id', search.controlId);
    if (search.patientKey !== undefined) q.where('patient_key', search.patientKey);
    if (search.correlationId !== undefined) q.where('correlation_id', search.correlationId);
    if (search.channel !== undefined) eq('channel', search.channel);
    if (search.status !== undefined) eq('status', search.status);
    if (search.from !== undefined) q.where('received_at', '>=', toDbTime(dialect, search.from));
    if (search.to !== undefined) q.where('received_at', '<', toDbTime(dialect, search.to));
    if (cursor) {
      // A row value: both dialects compare it against the index's (received_at, id) in one range.
      q.whereRaw('(received_at, id) < (?, ?)', [toDbTime(dialect, new Date(cursor.receivedAt)), cursor.id]);
    }
    return q.orderBy(ORDER).limit(n);
  };
  if (search.key === undefined) return walk();
  const key = search.key;
  // One walk per key column, each a subquery (SQLite allows ORDER BY/LIMIT only there inside a
  // compound select), merged by `union`, which also drops a row found twice (an intake message's
  // correlation id is its id).
  const [first, ...rest] = KEY_COLUMNS.map((column, i) => knex.select('*').from(walk(column, key).as(`k${i}`)));
  return knex.select('*').from(first.union(rest).as('k')).orderBy(ORDER).limit(n);
}

export async function searchMessages(knex: Knex, dialect: Dialect, search: MessageSearch): Promise<SearchPage> {
  const size = pageSize(search.limit);
  const rows: SummaryRow[] = await searchQuery(knex, dialect, search);
  const page = rows.slice(0, size).map(toSummary);
  const last = page[page.length - 1];
  return { messages: page, nextCursor: rows.length > size && last ? encodeCursor(last.receivedAt, last.id) : null };
}

function toSummary(row: SummaryRow): MessageSummary {
  return {
    id: row.id,
    channel: row.channel,
    correlationId: row.correlation_id,
    sender: row.sender,
    controlId: row.control_id,
    messageType: row.message_type,
    patientKey: row.patient_key,
    status: row.status as MessageStatus,
    accepted: Boolean(row.accepted),
    attempts: Number(row.attempts),
    error: decodeError(row.error),
    receivedAt: fromDbTime(row.received_at),
    updatedAt: fromDbTime(row.updated_at),
    reprocessOf: row.reprocess_of,
  };
}
