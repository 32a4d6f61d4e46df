/**
 * Fills a migrated message store with the seeded rows of data.ts, fast: multi-row inserts, many
 * per transaction, on the driver's own connection (knex's query building would cost more than
 * the inserts). The store's indexes are all in place while it fills, as in production.
 */
import type { KnexMessageStore } from '../../engine/store/knex-store';
import { rowOf, type BenchRow } from './data';

const COLUMNS: ReadonlyArray<keyof BenchRow> = [
  'id', 'channel', 'correlation_id', 'sender', 'control_id', 'message_type', 'patient_key', 'status',
  'accepted', 'raw', 'error', 'attempts', 'received_at', 'updated_at',
];

/** Rows per statement: 14 columns × 100 = 1,400 parameters (SQLite allows 32,766, PostgreSQL 65,535). */
const ROWS_PER_STATEMENT = 100;
/** Rows per transaction. */
const ROWS_PER_TRANSACTION = 20_000;
/** PostgreSQL connections filling disjoint ranges at once. */
const PG_WORKERS = 2;

interface SqliteDb {
  prepare(sql: string): { run(...params: unknown[]): unknown };
  transaction<T extends (...args: never[]) => unknown>(fn: T): T;
}

interface PgClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

interface Pool<C> {
  acquireConnection(): Promise<C>;
  releaseConnection(c: C): Promise<unknown>;
}

function insertSql(rows: number, placeholder: (n: number) => string): string {
  const tuples = Array.from({ length: rows }, (_, r) => `(${COLUMNS.map((_, c) => placeholder(r * COLUMNS.length + c + 1)).join(', ')})`);
  return `insert into messages (${COLUMNS.join(', ')}) values ${tuples.join(', ')}`;
}

/** Inserts rows 0..total-1; `progress` is called after each transaction with the rows written so far. */
export async function fillStore(store: KnexMessageStore, total: number, seed: number, progress: (done: number) => void): Promise<void> {
  if (total % ROWS_PER_STATEMENT !== 0) throw new Error(`message count must be a multiple of ${ROWS_PER_STATEMENT}`);
  return store.dialect === 'sqlite' ? fillSqlite(store, total, seed, progress) : fillPostgres(store, total, seed, progress);
}

async function fillSqlite(store: KnexMessageStore, total: number, seed: number, progress: (done: number) => void): Promise<void> {
  const pool = store.knex.client as unknown as Pool<SqliteDb>;
  const db = await pool.acquireConnection();
  try {
    const stmt = db.prepare(insertSql(ROWS_PER_STATEMENT, () => '?'));
    const writeRange = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i += ROWS_PER_STATEMENT) stmt.run(...paramsOf(seed, i, ROWS_PER_STATEMENT, total, 'sqlite'));
    });
    for (let from = 0; from < total; from += ROWS_PER_TRANSACTION) {
      const to = Math.min(total, from + ROWS_PER_TRANSACTION);
      writeRange(from as never, to as never);
      progress(to);
      // Let the event loop breathe between transactions (the bench's own timers, logging).
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    await pool.releaseConnection(db);
  }
}

async function fillPostgres(store: KnexMessageStore, total: number, seed: number, progress: (done: number) => void): Promise<void> {
  const pool = store.knex.client as unknown as Pool<PgClient>;
  const sql = insertSql(ROWS_PER_STATEMENT, (n) => `$${n}`);
  let done = 0;
  let next = 0;
  const worker = async () => {
    const client = await pool.acquireConnection();
    try {
      for (;;) {
        const from = next;
        if (from >= total) return;
        next += ROWS_PER_TRANSACTION;
        const to = Math.min(total, from + ROWS_PER_TRANSACTION);
        await client.query('begin');
        for (let i = from; i < to; i += ROWS_PER_STATEMENT) await client.query(sql, paramsOf(seed, i, ROWS_PER_STATEMENT, total, 'postgres'));
        await client.query('commit');
        done += to - from;
        progress(done);
      }
    } finally {
      await pool.releaseConnection(client);
    }
  };
  await Promise.all(Array.from({ length: PG_WORKERS }, worker));
}

function paramsOf(seed: number, from: number, count: number, total: number, dialect: 'sqlite' | 'postgres'): unknown[] {
  const out: unknown[] = [];
  for (let i = from; i < from + count; i++) {
    const row = rowOf(seed, i, total);
    for (const c of COLUMNS) {
      const v = row[c];
      if (c === 'received_at' || c === 'updated_at') out.push(dialect === 'postgres' ? new Date(v as number) : v);
      else if (c === 'accepted') out.push(dialect === 'postgres' ? v : v ? 1 : 0);
      else out.push(v);
    }
  }
  return out;
}
