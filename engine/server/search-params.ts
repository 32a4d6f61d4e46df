/**
 * The message search parameters of docs/operations.md (`channel, status, from, to, controlId,
 * patientKey, correlationId, key, limit, cursor`), read from a query string or from the `filter`
 * of a reprocess request. An empty value counts as absent (a form's blank field); anything that
 * cannot mean what it says is a ValidationError (400), never a silently wider search.
 */
import { ValidationError } from '../../common/errors';
import { MESSAGE_STATUSES, type MessageSearch } from '../store/search';
import type { MessageStatus } from '../store/types';

const TEXT_PARAMS = ['channel', 'controlId', 'patientKey', 'correlationId', 'key', 'cursor'] as const;

export function parseSearchParams(input: Record<string, unknown>): MessageSearch {
  const search: MessageSearch = {};
  for (const name of TEXT_PARAMS) {
    const value = text(input, name);
    if (value !== undefined) search[name] = value;
  }
  const status = text(input, 'status')?.toUpperCase();
  if (status !== undefined) {
    if (!(MESSAGE_STATUSES as readonly string[]).includes(status)) {
      throw new ValidationError('SEARCH_STATUS', `status must be one of ${MESSAGE_STATUSES.join(', ')}`, { path: 'status' });
    }
    search.status = status as MessageStatus;
  }
  search.from = time(input, 'from');
  search.to = time(input, 'to');
  const limit = text(input, 'limit');
  if (limit !== undefined) {
    if (!/^\d+$/.test(limit)) throw new ValidationError('SEARCH_LIMIT', 'limit must be a whole number', { path: 'limit' });
    search.limit = Number(limit);
  }
  for (const key of Object.keys(search) as Array<keyof MessageSearch>) if (search[key] === undefined) delete search[key];
  return search;
}

/** One value as a string: a repeated query parameter (`?a=1&a=2`) is ambiguous, so refused. */
function text(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new ValidationError('SEARCH_PARAM', `${name} must be given once, as text`, { path: name });
}

/** An ISO 8601 time (`2025-03-01`, `2025-03-01T08:00:00Z`) or epoch milliseconds. */
function time(input: Record<string, unknown>, name: string): Date | undefined {
  const value = text(input, name);
  if (value === undefined) return undefined;
  const date = /^\d+$/.test(value) ? new Date(Number(value)) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new ValidationError('SEARCH_TIME', `${name} must be an ISO 8601 time or epoch milliseconds`, { path: name });
  return date;
}
