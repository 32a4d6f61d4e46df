/**
 * The message store on knex: SQLite (better-sqlite3, the embedded default) or PostgreSQL
 * (production), same migrations and queries apart from the time column type and the hot writes,
 * which each dialect does its own way: `receive` (receive.ts, receive-postgres.ts) and stage
 * updates (updates-sqlite.ts, updates-postgres.ts).
 *
 * `markAccepted` and `update` run on every message at every stage, so they go through group
 * commit (group-commit.ts): one transaction per batch of queued writes instead of one per call,
 * folded per message and written by updates-postgres.ts or updates-sqlite.ts.
 * A destination update writes its content to `message_destinations`; the message row then shows
 * the most urgent status over its destinations (ERROR > QUEUED > TRANSFORMED > RECEIVED > SENT >
 * FILTERED), the total attempts and the last error.
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ValidationError } from '../../common/errors';
import { logger } from '../../common/logger';
import { GroupCommit } from './group-commit';
import { migrateLatest } from './migrations';
import { receiveOnSqlite, receiveRow } from './receive';
import { PostgresReceiver } from './receive-postgres';
import { UNKNOWN_MESSAGE_CODE, type StoreWrite } from './stage-updates';
import { commitWritesOnPostgres } from './updates-postgres';
import { commitWritesOnSqlite } from './updates-sqlite';
import {
  toDbTime,
  toDestinationOutcome,
  toStoredMessage,
  type DestinationRow,
  type Dialect,
  type MessageRow,
} from './rows';
import type {
  ChannelCounters,
  MessageStatus,
  MessageStore,
  NewMessage,
  ReceiveResult,
  StageUpdate,
  StoredMessage,
} from './types';

export { migrateLatest } from './migrations';

export interface KnexStoreOptions {
  /** PostgreSQL connection URL; when set, the store uses PostgreSQL. */
  databaseUrl?: string;
  /** SQLite database file, used when `databaseUrl` is not set. */
  sqliteFile?: string;
  /** PostgreSQL only: schema to use (created if missing), e.g. one per test run. */
  schema?: string;
}

const DEFAULT_LIST_LIMIT = 100;
const MAX_LIST_LIMIT = 1000;
/** Parallel group-commit transactions on PostgreSQL (knex's pool holds 10 connections). */
const PG_WRITE_LANES = 4;
/** How long an accept flag may wait to share its lane's next statement. */
const ACCEPT_WAIT_MS = 20;
/** How long an SQLite connection waits for another one (e.g. the embedded transport) to release the write lock. */
const SQLITE_BUSY_TIMEOUT_MS = 5000;

export class KnexMessageStore implements MessageStore {
  /** Group-commit lanes; a message's writes always take the same lane, so they commit in order. */
  private readonly lanes: GroupCommit<StoreWrite>[];
  /** PostgreSQL: receives, batched into one statement (receive-postgres.ts). */
  private readonly pgReceiver: PostgresReceiver | undefined;
  private closing: Promise<void> | undefined;
  private readonly log = logger({ stage: 'store' });

  private constructor(
    /** The knex instance; exposed for the CLI and tests, not for ad-hoc queries elsewhere. */
    readonly knex: Knex,
    readonly dialect: Dialect,
    private readonly schema: string | undefined,
  ) {
    // SQLite has one connection, so one lane. On PostgreSQL each lane is a connection committing
    // batches in parallel; lanes touch disjoint messages, so they never wait on each other's locks.
    const lanes = dialect === 'postgres' ? PG_WRITE_LANES : 1;
    this.lanes = Array.from({ length: lanes }, () => new GroupCommit<StoreWrite>((batch) => this.commitWrites(batch)));
    this.pgReceiver = dialect === 'postgres' ? new PostgresReceiver(knex) : undefined;
  }

  /** Opens (does not migrate) a store: PostgreSQL when `databaseUrl` is set, else SQLite. */
  static async open(opts: KnexStoreOptions): Promise<KnexMessageStore> {
    if (opts.databaseUrl) {
      const knex = knexFactory({
        client: 'pg',
        connection: opts.databaseUrl,
        searchPath: opts.schema ? [opts.schema] : undefined,
      });
      try {
        // Also proves the database is reachable, so a wrong URL fails at startup, not on the first message.
        if (opts.schema) await knex.raw('create schema if not exists ??', [opts.schema]);
        else await knex.raw('select 1');
      } catch (err) {
        await knex.destroy();
        throw err;
      }
      return new KnexMessageStore(knex, 'postgres', opts.schema);
    }
    if (!opts.sqliteFile) throw new ValidationError('STORE_CONFIG', 'Message store needs databaseUrl or sqliteFile');
    fs.mkdirSync(path.dirname(path.resolve(opts.sqliteFile)), { recursive: true });
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: opts.sqliteFile },
      useNullAsDefault: true,
      pool: {
        afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          try {
            // WAL: readers do not block the writer. NORMAL: in WAL mode a commit survives a process
            // crash (kill -9); only an OS crash or power loss can drop the last commits.
            conn.pragma('journal_mode = WAL');
            conn.pragma('synchronous = NORMAL');
            conn.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
            // Off by default in SQLite; needed for message_destinations' cascade on pruning.
            conn.pragma('foreign_keys = ON');
            done(null, conn);
          } catch (err) {
            done(err as Error, conn);
          }
        },
      },
    });
    return new KnexMessageStore(knex, 'sqlite', undefined);
  }

  async migrate(): Promise<void> {
    await migrateLatest(this.knex, { schema: this.schema });
  }

  async receive(message: NewMessage): Promise<ReceiveResult> {
    const row = receiveRow(message, toDbTime(this.dialect, new Date()));
    return this.pgReceiver ? this.pgReceiver.receive(row) : receiveOnSqlite(this.knex, row);
  }

  async markAccepted(id: string): Promise<void> {
    // The message's own lane, so the flag never waits for a lock held by a transaction writing
    // the same row on another connection (updates-postgres.ts). Nothing waits for the flag (only
    // a resend's dedupe shortcut reads it), so it may wait for the message's next update and go
    // in the same statement.
    return this.laneFor(id).submit({ kind: 'accept', id }, ACCEPT_WAIT_MS);
  }

  async update(id: string, update: StageUpdate): Promise<void> {
    // The intake inserts a message's row while its queued copy is already on the way, so a fast
    // stage can get here a moment before the row commits. Waiting a little here spares that
    // message a trip through the retry queue (and the channel a misleading lastError).
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.laneFor(id).submit({ kind: 'update', id, update });
      } catch (err) {
        if (attempt >= ROW_NOT_YET_COMMITTED_WAITS_MS.length || (err as { code?: string }).code !== UNKNOWN_MESSAGE_CODE) throw err;
        await new Promise((resolve) => setTimeout(resolve, ROW_NOT_YET_COMMITTED_WAITS_MS[attempt]));
      }
    }
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    const row = await this.knex('messages').select<MessageRow[]>('*').where({ id }).first();
    if (!row) return undefined;
    const destinations = await this.knex('message_destinations')
      .select<DestinationRow[]>('*')
      .where({ message_id: id })
      .orderBy('destination');
    return { ...toStoredMessage(row), destinations: destinations.map(toDestinationOutcome) };
  }

  /**
   * Newest first. `beforeId` is the last id of the previous page (keyset pagination on
   * received_at, id: stable while new messages arrive). An unknown `beforeId` (pruned) gives [].
   */
  async list(filter: { channel?: string; status?: MessageStatus; limit?: number; beforeId?: string }): Promise<StoredMessage[]> {
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_LIST_LIMIT), 1), MAX_LIST_LIMIT);
    const q = this.knex('messages').select<MessageRow[]>('*');
    if (filter.channel !== undefined) q.where('channel', filter.channel);
    if (filter.status !== undefined) q.where('status', filter.status);
    if (filter.beforeId !== undefined) {
      const cursor = await this.knex('messages')
        .select<Pick<MessageRow, 'id' | 'received_at'>>('id', 'received_at')
        .where({ id: filter.beforeId })
        .first();
      if (!cursor) return [];
      // Row-value comparison (PostgreSQL, SQLite >= 3.15) so PostgreSQL can walk the index.
      q.whereRaw('(received_at, id) < (?, ?)', [cursor.received_at, cursor.id]);
    }
    const rows = await q.orderBy([{ column: 'received_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit);
    return rows.map(toStoredMessage);
  }

  /**
   * Per channel: `received` counts every row; `queued` counts messages not yet final (RECEIVED,
   * TRANSFORMED, QUEUED), i.e. in flight or waiting for a retry.
   */
  async counters(): Promise<Record<string, ChannelCounters>> {
    // Grouping on (channel, status) is answered from the messages_channel_status index.
    const rows: Array<{ channel: string; status: string; n: number | string }> = await this.knex('messages')
      .select('channel', 'status')
      .count({ n: '*' })
      .groupBy('channel', 'status');
    const out: Record<string, ChannelCounters> = {};
    for (const r of rows) {
      const c = (out[r.channel] ??= { received: 0, filtered: 0, queued: 0, sent: 0, errored: 0 });
      const n = Number(r.n);
      c.received += n;
      if (r.status === 'FILTERED') c.filtered += n;
      else if (r.status === 'SENT') c.sent += n;
      else if (r.status === 'ERROR') c.errored += n;
      else c.queued += n;
    }
    return out;
  }

  /** Commits queued writes, then closes the connections. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.lanes.map((lane) => lane.close()));
      await this.pgReceiver?.close();
      await this.knex.destroy();
    })();
    return this.closing;
  }

  private laneFor(id: string): GroupCommit<StoreWrite> {
    if (this.lanes.length === 1) return this.lanes[0];
    let h = 0;
    for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) | 0;
    return this.lanes[Math.abs(h) % this.lanes.length];
  }

  /**
   * One batch, folded per message (stage-updates.ts `foldWrites`) and written in one transaction
   * with one time stamp: PostgreSQL in one round trip (updates-postgres.ts), SQLite with prepared
   * statements (updates-sqlite.ts).
   */
  private async commitWrites(batch: StoreWrite[]): Promise<Array<Error | undefined>> {
    try {
      return this.dialect === 'postgres' ? await commitWritesOnPostgres(this.knex, batch, new Date()) : await commitWritesOnSqlite(this.knex, batch, Date.now());
    } catch (err) {
      // Only the driver's code: error messages carry SQL text, and this log must stay free of content.
      const code = (err as { code?: unknown }).code;
      this.log.warn('store batch failed; group commit retries its writes one by one', { batch: batch.length, code });
      throw err;
    }
  }
}

/** Waits before trying an update again whose row is not there yet (see `update`). */
const ROW_NOT_YET_COMMITTED_WAITS_MS = [10, 40, 150];
