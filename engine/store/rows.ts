/**
 * Conversion between database rows and the store's types. The two dialects hand back different
 * shapes (SQLite: 0/1 booleans and epoch-ms times; PostgreSQL: booleans, Dates, bigint counts as
 * strings), so everything read goes through here.
 */
import { decodeContent, encodeContent } from './content-codec';
import type { DestinationOutcome, MessageStatus, StoredMessage } from './types';

export type Dialect = 'sqlite' | 'postgres';

/** A `messages` row as the drivers return it. */
export interface MessageRow {
  id: string;
  channel: string;
  correlation_id: string;
  sender: string;
  control_id: string;
  message_type: string | null;
  patient_key: string | null;
  status: string;
  accepted: boolean | number;
  raw: string;
  transformed: string | null;
  sent: string | null;
  response: string | null;
  error: string | null;
  attempts: number | string;
  received_at: Date | number | string;
  updated_at: Date | number | string;
}

/** A `message_destinations` row as the drivers return it. */
export interface DestinationRow {
  message_id: string;
  destination: string;
  status: string;
  attempts: number | string;
  sent: string | null;
  response: string | null;
  error: string | null;
  updated_at: Date | number | string;
}

/** A time as the dialect's column stores it (see migrations/0001_messages.ts). */
export function toDbTime(dialect: Dialect, date: Date): Date | number {
  return dialect === 'postgres' ? date : date.getTime();
}

export function fromDbTime(value: Date | number | string): Date {
  if (value instanceof Date) return value;
  return new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
}

/** Error detail into its content column (JSON, through the codec). */
export function encodeError(error: Record<string, unknown> | undefined): string | undefined {
  return error === undefined ? undefined : encodeContent(JSON.stringify(error));
}

export function decodeError(value: string | null): Record<string, unknown> | null {
  const text = decodeContent(value);
  return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
}

export function toStoredMessage(row: MessageRow): StoredMessage {
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
    raw: decodeContent(row.raw),
    transformed: decodeContent(row.transformed),
    sent: decodeContent(row.sent),
    response: decodeContent(row.response),
    error: decodeError(row.error),
    attempts: Number(row.attempts),
    receivedAt: fromDbTime(row.received_at),
    updatedAt: fromDbTime(row.updated_at),
  };
}

export function toDestinationOutcome(row: DestinationRow): DestinationOutcome {
  return {
    destination: row.destination,
    status: row.status as MessageStatus,
    attempts: Number(row.attempts),
    sent: decodeContent(row.sent),
    response: decodeContent(row.response),
    error: decodeError(row.error),
    updatedAt: fromDbTime(row.updated_at),
  };
}
