/**
 * What a stage update means for the stored rows, shared by the two dialects' batch writers
 * (updates-postgres.ts, updates-sqlite.ts): the status aggregate over destinations, what counts
 * as an attempt, and `foldWrites`, which turns a group-commit batch into one change per row.
 *
 * Folding gives the same rows as applying the updates one by one: statuses are last-wins,
 * attempts add up, and content and error columns take the last value given (an update never
 * clears one). The store's contract suite checks a batch against the same updates one at a time,
 * and against the statuses and attempts they must end with, on both databases.
 */
import { TransientError } from '../../common/errors';
import { encodeContent } from './content-codec';
import { encodeError } from './rows';
import type { StageUpdate } from './types';

/**
 * Status a message shows when its destinations disagree: the one most in need of attention. An
 * error on one destination must stay visible after another destination succeeds.
 */
const STATUS_RANK_SQL = `case d.status when 'ERROR' then 5 when 'QUEUED' then 4 when 'TRANSFORMED' then 3
  when 'RECEIVED' then 2 when 'SENT' then 1 else 0 end`;

/** The message's status from its destination rows; a scalar subquery over `messages.id`. */
export const AGGREGATE_STATUS_SQL = `(select case max(${STATUS_RANK_SQL}) when 5 then 'ERROR' when 4 then 'QUEUED'
  when 3 then 'TRANSFORMED' when 2 then 'RECEIVED' when 1 then 'SENT' else 'FILTERED' end
  from message_destinations d where d.message_id = messages.id)`;

/**
 * How a destination outcome merges into an existing `message_destinations` row, as the
 * `on conflict` action of both dialects' upserts: the status is replaced, attempts add up, content
 * and error keep their old value when the update gives none. `row` names the existing row.
 */
export function destinationMergeSql(row: string): string {
  return `on conflict (message_id, destination) do update set
    status = excluded.status,
    attempts = ${row}.attempts + excluded.attempts,
    sent = coalesce(excluded.sent, ${row}.sent),
    response = coalesce(excluded.response, ${row}.response),
    error = coalesce(excluded.error, ${row}.error),
    updated_at = excluded.updated_at`;
}

/**
 * Whether an update records one delivery attempt that ended: SENT, ERROR, or QUEUED carrying an
 * error (a transient failure queued for retry). QUEUED without an error is the first enqueue, and
 * RECEIVED/TRANSFORMED/FILTERED are not deliveries.
 */
export function countsAsAttempt(update: StageUpdate): boolean {
  return update.status === 'SENT' || update.status === 'ERROR' || (update.status === 'QUEUED' && update.error !== undefined);
}

export const UNKNOWN_MESSAGE_CODE = 'TRANSIENT_STORE_UNKNOWN_MESSAGE';

/**
 * Transient: the source inserts a message's row while its queued copy is already on the way
 * (hl7-intake.ts), so a stage can get there first; a moment later the row exists.
 */
export function unknownMessage(id: string): Error {
  return new TransientError('STORE_UNKNOWN_MESSAGE', `No stored message with id ${id}`);
}

/** One queued write: a message's accept flag (its queued copy is confirmed) or a stage update. */
export type StoreWrite = { kind: 'accept'; id: string } | { kind: 'update'; id: string; update: StageUpdate };

/** The net change of one batch to one `messages` row. */
export interface MessageChange {
  id: string;
  /** `keep`: only the accept flag changes; `destinations`: the status is their aggregate. */
  statusFrom: 'keep' | 'set' | 'destinations';
  /** With `set`, the status. */
  status: string | null;
  /** A stage update is progress (updated_at moves); an accept flag alone is bookkeeping and leaves it. */
  touched: boolean;
  accepted: boolean;
  attempts: number;
  transformed: string | null;
  sent: string | null;
  response: string | null;
  error: string | null;
}

/** The net change of one batch to one `message_destinations` row. */
export interface DestinationChange {
  id: string;
  destination: string;
  status: string;
  attempts: number;
  sent: string | null;
  response: string | null;
  error: string | null;
}

/**
 * The batch as one change per row, in key order (so that concurrent batches take their row
 * locks in the same order).
 */
export function foldWrites(writes: readonly StoreWrite[]): { messages: MessageChange[]; destinations: DestinationChange[] } {
  const messages = new Map<string, MessageChange>();
  const destinations = new Map<string, DestinationChange>();
  for (const w of writes) {
    const id = w.id;
    let m = messages.get(id);
    if (!m) {
      m = { id, statusFrom: 'keep', status: null, touched: false, accepted: false, attempts: 0, transformed: null, sent: null, response: null, error: null };
      messages.set(id, m);
    }
    if (w.kind === 'accept') {
      m.accepted = true;
      continue;
    }
    const u = w.update;
    const attempt = countsAsAttempt(u) ? 1 : 0;
    const error = encodeError(u.error) ?? null;
    m.touched = true;
    m.attempts += attempt;
    if (u.transformed !== undefined) m.transformed = encodeContent(u.transformed);
    if (error !== null) m.error = error;
    if (u.destination === undefined) {
      m.statusFrom = 'set';
      m.status = u.status;
      if (u.sent !== undefined) m.sent = encodeContent(u.sent);
      if (u.response !== undefined) m.response = encodeContent(u.response);
      continue;
    }
    m.statusFrom = 'destinations';
    m.status = null;
    const key = `${id}\u0000${u.destination}`;
    let d = destinations.get(key);
    if (!d) destinations.set(key, (d = { id, destination: u.destination, status: u.status, attempts: 0, sent: null, response: null, error: null }));
    d.status = u.status;
    d.attempts += attempt;
    if (u.sent !== undefined) d.sent = encodeContent(u.sent);
    if (u.response !== undefined) d.response = encodeContent(u.response);
    if (error !== null) d.error = error;
  }
  const byKey = <T extends { id: string; destination?: string }>(a: T, b: T) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : (a.destination ?? '') < (b.destination ?? '') ? -1 : (a.destination ?? '') > (b.destination ?? '') ? 1 : 0;
  return { messages: [...messages.values()].sort(byKey), destinations: [...destinations.values()].sort(byKey) };
}
