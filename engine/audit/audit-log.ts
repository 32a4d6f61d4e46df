/**
 * The audit log on the message store's database (table `audit_log`, migration 0008). Each entry
 * holds the SHA-256 of the previous entry's hash and its own fields, so an edited, inserted or
 * deleted row breaks the chain from there on; `verifyAuditChain` finds the first break.
 *
 * Appends are serialised: in one process by a promise chain, across processes on PostgreSQL by a
 * transaction-scoped advisory lock, so two engines never both write seq N.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { fromDbTime, toDbTime } from '../store/rows';
import type { AuditEntry, AuditEntryInput, AuditLog } from './types';

/** prev_hash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);
/** Any constant shared by every Wasl process: the advisory lock that orders audit appends. */
const APPEND_LOCK = 0x5741534c; // "WASL"

interface AuditRow {
  seq: number | string;
  at: Date | number | string;
  actor: string;
  action: string;
  target: string | null;
  remote: string | null;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

/** The hash of one entry: over the previous hash and every stored field, in a fixed order. */
export function entryHash(prevHash: string, e: { seq: number; at: Date; actor: string; action: string; target: string | null; remote: string | null; detail: string | null }): string {
  const canonical = JSON.stringify([prevHash, e.seq, e.at.toISOString(), e.actor, e.action, e.target, e.remote, e.detail]);
  return createHash('sha256').update(canonical).digest('hex');
}

export class KnexAuditLog implements AuditLog {
  private tail: Promise<unknown> = Promise.resolve();
  private readonly dialect: 'postgres' | 'sqlite';

  constructor(private readonly knex: Knex) {
    this.dialect = knex.client.dialect === 'postgresql' ? 'postgres' : 'sqlite';
  }

  record(input: AuditEntryInput): Promise<void> {
    const next = this.tail.then(() => this.append(input));
    // A failed append must not block the ones after it; the caller still sees its own failure.
    this.tail = next.catch(() => undefined);
    return next;
  }

  private async append(input: AuditEntryInput): Promise<void> {
    await this.knex.transaction(async (trx) => {
      if (this.dialect === 'postgres') await trx.raw('SELECT pg_advisory_xact_lock(?)', [APPEND_LOCK]);
      const last = (await trx('audit_log').select('seq', 'hash').orderBy('seq', 'desc').first()) as Pick<AuditRow, 'seq' | 'hash'> | undefined;
      const seq = last ? Number(last.seq) + 1 : 1;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const fields = {
        seq,
        at: new Date(),
        actor: clip(input.actor, 100),
        action: input.action,
        target: input.target === undefined ? null : clip(input.target, 400),
        remote: input.from === undefined ? null : clip(input.from, 100),
        detail: input.detail === undefined ? null : JSON.stringify(input.detail),
      };
      await trx('audit_log').insert({ ...fields, at: toDbTime(this.dialect, fields.at), prev_hash: prevHash, hash: entryHash(prevHash, fields) });
    });
  }

  async list(filter: { actor?: string; action?: string; target?: string; afterSeq?: number; beforeSeq?: number; limit?: number }): Promise<AuditEntry[]> {
    const q = this.knex('audit_log').select('*');
    if (filter.actor) q.where('actor', filter.actor);
    if (filter.action) q.where('action', filter.action);
    if (filter.target) q.where('target', filter.target);
    if (filter.afterSeq !== undefined) q.where('seq', '>', filter.afterSeq);
    if (filter.beforeSeq !== undefined) q.where('seq', '<', filter.beforeSeq);
    const rows = (await q.orderBy('seq', 'desc').limit(Math.min(Math.max(filter.limit ?? 100, 1), 1000))) as AuditRow[];
    return rows.map(toEntry);
  }
}

function clip(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: fromDbTime(row.at),
    actor: row.actor,
    action: row.action as AuditEntry['action'],
    target: row.target ?? undefined,
    from: row.remote ?? undefined,
    detail: row.detail ? (JSON.parse(row.detail) as Record<string, unknown>) : undefined,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export interface ChainReport {
  ok: boolean;
  /** Entries read. */
  checked: number;
  /** First entry that does not fit the chain, and why. */
  brokenAt?: { seq: number; reason: string };
}

/**
 * Walks the whole log in order, in pages, and checks that seq has no gaps, each prev_hash is the
 * hash before it, and each hash is what the entry's fields give.
 */
export async function verifyAuditChain(knex: Knex, pageSize = 5000): Promise<ChainReport> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let checked = 0;
  for (;;) {
    const rows = (await knex('audit_log').select('*').where('seq', '>=', expectedSeq).orderBy('seq', 'asc').limit(pageSize)) as AuditRow[];
    if (rows.length === 0) return { ok: true, checked };
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) return { ok: false, checked, brokenAt: { seq: expectedSeq, reason: `entry ${expectedSeq} is missing (next is ${seq})` } };
      if (row.prev_hash !== prevHash) return { ok: false, checked, brokenAt: { seq, reason: 'prev_hash does not match the hash of the entry before' } };
      const fields = { seq, at: fromDbTime(row.at), actor: row.actor, action: row.action, target: row.target, remote: row.remote, detail: row.detail };
      if (entryHash(prevHash, fields) !== row.hash) return { ok: false, checked, brokenAt: { seq, reason: 'hash does not match the entry (fields were changed)' } };
      prevHash = row.hash;
      expectedSeq = seq + 1;
      checked++;
    }
  }
}
