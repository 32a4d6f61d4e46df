/**
 * Header rules shared by both transports, so a message looks the same whichever one carried it.
 */
import { ValidationError } from '../../common/errors';
import type { MessageHeaders } from './types';

/** Header holding the reason given to the last `retry` (the interface's contract). */
export const LAST_ERROR_HEADER = 'x-wasl-last-error';

/**
 * Reasons end up in headers and the dead-letter view; an error message that embeds a whole
 * response would bloat every redelivery, so keep the start, which names the code.
 */
const MAX_REASON_LENGTH = 1000;

export function trimReason(reason: string): string {
  const text = String(reason);
  return text.length <= MAX_REASON_LENGTH ? text : `${text.slice(0, MAX_REASON_LENGTH - 1)}…`;
}

/**
 * Rejects headers the rest of the pipeline cannot rely on. Checked at publish so a bad producer
 * fails at its own call, not at some consumer later. Messages name the header, never its value.
 */
export function checkHeaders(headers: MessageHeaders): void {
  if (headers === null || typeof headers !== 'object') {
    throw new ValidationError('TRANSPORT_HEADERS', 'headers must be an object');
  }
  for (const key of ['correlationId', 'messageId', 'channel'] as const) {
    if (typeof headers[key] !== 'string' || headers[key] === '') {
      throw new ValidationError('TRANSPORT_HEADERS', `header ${key} must be a non-empty string`, { path: key });
    }
  }
  if (!Number.isInteger(headers.attempt) || headers.attempt < 1) {
    throw new ValidationError('TRANSPORT_HEADERS', 'header attempt must be an integer >= 1', { path: 'attempt' });
  }
  for (const [key, value] of Object.entries(headers)) {
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value))) {
      throw new ValidationError('TRANSPORT_HEADERS', `header ${key} must be a string or a finite number`, { path: key });
    }
  }
}

/** Headers for the next attempt: `attempt + 1` and the reason in `x-wasl-last-error`. */
export function retryHeaders(headers: MessageHeaders, reason: string): MessageHeaders {
  return { ...headers, attempt: headers.attempt + 1, [LAST_ERROR_HEADER]: trimReason(reason) };
}

/**
 * AMQP caps queue names at 255 bytes and the transport appends suffixes (`.dlq`,
 * `.delay.30s`), so keep names short enough for every derived queue on either transport.
 */
export function checkQueueName(queue: string): void {
  if (typeof queue !== 'string' || queue === '' || Buffer.byteLength(queue) > 200) {
    throw new ValidationError('TRANSPORT_QUEUE_NAME', 'queue name must be a non-empty string of at most 200 bytes');
  }
}
