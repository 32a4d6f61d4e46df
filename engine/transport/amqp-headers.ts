/**
 * Between MessageHeaders and AMQP message properties.
 */
import type { MessageProperties, Options } from 'amqplib';
import type { MessageHeaders } from './types';

/** Dead-letter reason, carried on messages in Q.dlq only. */
export const DEAD_REASON_HEADER = 'x-wasl-dead-reason';
/** Per-publish sequence number, used to spot a mandatory publish the broker returned. */
export const PUBLISH_SEQ_HEADER = 'x-wasl-seq';

/**
 * Headers the broker adds (dead-lettering history, quorum redelivery count) or we add for
 * bookkeeping. They are not part of the message: stripping them keeps the headers a handler
 * sees identical on both transports, and stops `x-death` growing on every retry cycle.
 */
const INTERNAL_HEADERS = new Set([
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
  'x-wasl-seq',
]);

/** Publish options for a persistent message carrying `headers` (plus extra internal headers). */
export function toPublishOptions(headers: MessageHeaders, extra: Record<string, string | number> = {}): Options.Publish {
  return {
    persistent: true,
    mandatory: true,
    messageId: headers.messageId,
    correlationId: headers.correlationId,
    headers: { ...headers, ...extra },
  };
}

/** MessageHeaders of a received message, without broker and bookkeeping headers. */
export function fromProperties(props: MessageProperties): { headers: MessageHeaders; deadReason?: string } {
  const raw = (props.headers ?? {}) as Record<string, unknown>;
  const headers: Record<string, string | number> = {};
  let deadReason: string | undefined;
  for (const [key, value] of Object.entries(raw)) {
    if (key === DEAD_REASON_HEADER) {
      deadReason = String(value);
      continue;
    }
    if (INTERNAL_HEADERS.has(key)) continue;
    if (typeof value === 'string' || typeof value === 'number') headers[key] = value;
    else if (Buffer.isBuffer(value)) headers[key] = value.toString('utf8');
  }
  // Fall back on the AMQP properties if a foreign producer set only those.
  headers.messageId ??= props.messageId ?? '';
  headers.correlationId ??= props.correlationId ?? '';
  headers.channel ??= '';
  headers.attempt = typeof headers.attempt === 'number' ? headers.attempt : Number(headers.attempt) || 1;
  return { headers: headers as MessageHeaders, deadReason };
}
