/**
 * Reprocessing lineage in the store: a reprocessed message is a new row (new id, new correlation
 * id, status RECEIVED) whose `reprocess_of` names the row it copies (migrations/0009). The copy
 * keeps the original's channel, sender, control id, type, patient key and raw content, so it is
 * found by the same searches and goes through the channel exactly as the original came in.
 */
import type { Knex } from 'knex';
import { decodeContent, encodeContent } from './content-codec';
import { toDbTime, type Dialect } from './rows';
import type { MessageStatus } from './types';

export interface Lineage {
  /** The message this one reprocesses; null for a message that came from its source. */
  reprocessOf: string | null;
  /** Copies made by reprocessing this message, oldest first. */
  reprocessedAs: string[];
}

/** What reprocessing needs of an original. */
export interface ReprocessSource {
  id: string;
  channel: string;
  sender: string;
  controlId: string;
  messageType: string | null;
  patientKey: string | null;
  status: MessageStatus;
  raw: string;
}

/** A copy to insert: `id` is new and doubles as its correlation id. */
export interface ReprocessCopy {
  id: string;
  original: ReprocessSource;
}

/** Ids per statement: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const CHUNK = 500;

/** The lineage of `id`, or undefined when there is no such message. */
export async function lineageOf(knex: Knex, id: string): Promise<Lineage | undefined> {
  const row: { reprocess_of: string | null } | undefined = await knex('messages').select('reprocess_of').where({ id }).first();
  if (!row) return undefined;
  // Served by the partial index messages_reprocess_of.
  const copies: Array<{ id: string }> = await knex('messages')
    .select('id')
    .where('reprocess_of', id)
    .orderBy([{ column: 'received_at' }, { column: 'id' }]);
  return { reprocessOf: row.reprocess_of, reprocessedAs: copies.map((c) => c.id) };
}

/** The originals among `ids` that exist, by id. */
export async function readForReprocess(knex: Knex, ids: readonly string[]): Promise<Map<string, ReprocessSource>> {
  const out = new Map<string, ReprocessSource>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows: Array<Record<string, string | null>> = await knex('messages')
      .select('id', 'channel', 'sender', 'control_id', 'message_type', 'patient_key', 'status', 'raw')
      .whereIn('id', ids.slice(i, i + CHUNK));
    for (const r of rows) {
      out.set(r.id!, {
        id: r.id!,
        channel: r.channel!,
        sender: r.sender!,
        controlId: r.control_id!,
        messageType: r.message_type,
        patientKey: r.patient_key,
        status: r.status as MessageStatus,
        raw: decodeContent(r.raw!),
      });
    }
  }
  return out;
}

/** Inserts the copies as RECEIVED rows, all in one transaction. */
export async function insertCopies(knex: Knex, dialect: Dialect, copies: readonly ReprocessCopy[], now: Date): Promise<void> {
  if (copies.length === 0) return;
  const at = toDbTime(dialect, now);
  const rows = copies.map(({ id, original: o }) => ({
    id,
    channel: o.channel,
    correlation_id: id,
    sender: o.sender,
    control_id: o.controlId,
    message_type: o.messageType,
    patient_key: o.patientKey,
    status: 'RECEIVED',
    accepted: false,
    raw: encodeContent(o.raw),
    attempts: 0,
    received_at: at,
    updated_at: at,
    reprocess_of: o.id,
  }));
  await knex.transaction(async (trx) => {
    // 14 columns: 100 rows is 1,400 parameters per statement.
    for (let i = 0; i < rows.length; i += 100) await trx('messages').insert(rows.slice(i, i + 100));
  });
}

/** Removes copies that could not be queued: a row nothing will ever process would mislead. */
export async function deleteCopies(knex: Knex, ids: readonly string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += CHUNK) {
    // `reprocess_of is not null`: never an original, whatever id a caller passes.
    await knex('messages').whereIn('id', ids.slice(i, i + CHUNK)).whereNotNull('reprocess_of').delete();
  }
}
