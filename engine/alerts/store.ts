/**
 * The `alerts` table (migration 0010) on knex. Opening and closing are decided by the database,
 * not by the process: several engines on one PostgreSQL evaluate the same rules, and only the one
 * whose write lands may notify.
 * - open: insert with `open_key` = the rule key, ignoring a conflict on its unique index. The row
 *   is ours only if it is there afterwards under our id.
 * - close: update where the row is still open. One process sees one row changed; the others none.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { fromDbTime, toDbTime, type Dialect } from '../store/rows';
import type { AlertKind, AlertRecord, AlertRule, AlertState, Reading } from './types';

interface AlertRow {
  id: string;
  rule_key: string;
  open_key: string | null;
  channel: string;
  rule: string;
  kind: string;
  state: string;
  value: number | string;
  threshold: number | string;
  message: string;
  opened_at: Date | number | string;
  closed_at: Date | number | string | null;
  notify_error: string | null;
  notified_at: Date | number | string | null;
}

export interface AlertListFilter {
  /** `open` (default) or `all`. */
  state?: 'open' | 'all';
  channel?: string;
  /** Newest first; default 100, at most 1000. */
  limit?: number;
}

/** Columns hold at most this many characters (migration 0010). */
const MAX_TEXT = 500;

export class KnexAlertStore {
  constructor(
    private readonly knex: Knex,
    private readonly dialect: Dialect,
  ) {}

  /** Every open alert. */
  async openAlerts(): Promise<AlertRecord[]> {
    const rows = await this.knex<AlertRow>('alerts').select('*').whereNotNull('open_key');
    return rows.map(toRecord);
  }

  /** Opens an alert for `rule`, unless one is open already (here or in another process): then undefined. */
  async open(rule: AlertRule, reading: Reading, at: Date): Promise<AlertRecord | undefined> {
    const id = crypto.randomUUID();
    await this.knex('alerts')
      .insert({
        id,
        rule_key: rule.key,
        open_key: rule.key,
        channel: rule.channel,
        rule: rule.name,
        kind: rule.kind,
        state: 'open',
        value: reading.value,
        threshold: reading.threshold,
        message: reading.message.slice(0, MAX_TEXT),
        opened_at: toDbTime(this.dialect, at),
      })
      .onConflict('open_key')
      .ignore();
    const row = await this.knex<AlertRow>('alerts').select('*').where({ id }).first();
    return row ? toRecord(row) : undefined;
  }

  /** Closes the alert; true only for the caller whose update closed it. */
  async close(id: string, at: Date): Promise<boolean> {
    const n = await this.knex('alerts').where({ id, state: 'open' }).update({ state: 'closed', open_key: null, closed_at: toDbTime(this.dialect, at) });
    return n === 1;
  }

  /** Records how the latest notification went: `error` (target and code) or null when it went out. */
  async recordNotification(id: string, at: Date, error: string | null): Promise<void> {
    await this.knex('alerts')
      .where({ id })
      .update({ notify_error: error === null ? null : error.slice(0, MAX_TEXT), notified_at: toDbTime(this.dialect, at) });
  }

  async get(id: string): Promise<AlertRecord | undefined> {
    const row = await this.knex<AlertRow>('alerts').select('*').where({ id }).first();
    return row ? toRecord(row) : undefined;
  }

  /** Alerts newest first (open ones only unless `state: 'all'`). */
  async list(filter: AlertListFilter = {}): Promise<AlertRecord[]> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? 100) || 100, 1), 1000);
    const q = this.knex<AlertRow>('alerts').select('*');
    if (filter.state !== 'all') q.whereNotNull('open_key');
    if (filter.channel !== undefined) q.where('channel', filter.channel);
    const rows = await q.orderBy([{ column: 'opened_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit);
    return rows.map(toRecord);
  }
}

function toRecord(row: AlertRow): AlertRecord {
  return {
    id: row.id,
    ruleKey: row.rule_key,
    channel: row.channel,
    rule: row.rule,
    kind: row.kind as AlertKind,
    state: row.state as AlertState,
    value: Number(row.value),
    threshold: Number(row.threshold),
    message: row.message,
    openedAt: fromDbTime(row.opened_at),
    closedAt: row.closed_at === null ? null : fromDbTime(row.closed_at),
    notifyError: row.notify_error,
    notifiedAt: row.notified_at === null ? null : fromDbTime(row.notified_at),
  };
}
