/**
 * The message store keeps one row per message and its content at each stage. It is what the ops
 * pages browse, what reprocessing replays, and how a resent HL7 message is recognised (dedupe on
 * channel + sender + control id). SQLite (better-sqlite3) by default, PostgreSQL in production,
 * both through knex with the same migrations.
 */

export type MessageStatus = 'RECEIVED' | 'FILTERED' | 'TRANSFORMED' | 'QUEUED' | 'SENT' | 'ERROR';

export interface NewMessage {
  id: string;
  channel: string;
  correlationId: string;
  /** Who sent it (HL7: MSH-3^MSH-4); part of the dedupe key. */
  sender: string;
  /** Business control id (HL7: MSH-10); part of the dedupe key. */
  controlId: string;
  /** e.g. `ADT^A01`. */
  messageType?: string;
  /** Indexed business key (e.g. patient identifier). Stored for search; never logged. */
  patientKey?: string;
  raw: string;
}

export interface ReceiveResult {
  /** Row id: the new one, or the existing one when this is a resend. */
  id: string;
  correlationId: string;
  duplicate: boolean;
  /** True once the source confirmed the message reached the queue (`markAccepted`). */
  accepted: boolean;
  status: MessageStatus;
}

export interface StageUpdate {
  status: MessageStatus;
  transformed?: string;
  sent?: string;
  response?: string;
  /** Error detail (WaslError.toJSON()), stored as JSON. */
  error?: Record<string, unknown>;
  /** Destination this update is about, when the stage is a destination. */
  destination?: string;
}

export interface StoredMessage {
  id: string;
  channel: string;
  correlationId: string;
  sender: string;
  controlId: string;
  messageType: string | null;
  patientKey: string | null;
  status: MessageStatus;
  accepted: boolean;
  raw: string;
  transformed: string | null;
  sent: string | null;
  response: string | null;
  error: Record<string, unknown> | null;
  attempts: number;
  receivedAt: Date;
  updatedAt: Date;
  /** Per-destination outcomes; filled by `get` only (not by `list`). */
  destinations?: DestinationOutcome[];
}

/** What one destination did with a message (one row per message and destination). */
export interface DestinationOutcome {
  destination: string;
  status: MessageStatus;
  /** Delivery attempts that ended (SENT, ERROR, or QUEUED with an error, i.e. queued for retry). */
  attempts: number;
  sent: string | null;
  response: string | null;
  error: Record<string, unknown> | null;
  updatedAt: Date;
}

export interface ChannelCounters {
  received: number;
  filtered: number;
  queued: number;
  sent: number;
  errored: number;
}

export interface MessageStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Runs pending migrations. */
  migrate(): Promise<void>;
  /**
   * Inserts the RECEIVED row, or finds the existing one for the same (channel, sender, controlId).
   * Concurrent calls with the same key return one row (one `duplicate: false`).
   */
  receive(message: NewMessage): Promise<ReceiveResult>;
  /** Records that the message is durably queued (the source may ACK). */
  markAccepted(id: string): Promise<void>;
  /** Records a stage's outcome. Writes may be batched; the promise resolves once written. */
  update(id: string, update: StageUpdate): Promise<void>;
  get(id: string): Promise<StoredMessage | undefined>;
  list(filter: { channel?: string; status?: MessageStatus; limit?: number; beforeId?: string }): Promise<StoredMessage[]>;
  counters(): Promise<Record<string, ChannelCounters>>;
  close(): Promise<void>;
}
