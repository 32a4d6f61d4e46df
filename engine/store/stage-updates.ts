/**
 * What a stage update means for the stored rows, shared by both ways of writing it: one update at
 * a time (knex-store.ts, SQLite) and a whole group-commit batch in set-based statements
 * (updates-postgres.ts). Both must leave the same rows behind; the store's contract suite runs
 * the same tests against each.
 */
import { TransientError } from '../../common/errors';
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
