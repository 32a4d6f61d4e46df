/**
 * The slice of better-sqlite3 the embedded transport uses, typed here because the project has
 * no @types/better-sqlite3, plus opening the queue file with its pragmas and schema.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface Statement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqliteDatabase {
  readonly open: boolean;
  prepare(sql: string): Statement;
  exec(sql: string): SqliteDatabase;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): SqliteDatabase;
}

type SqliteConstructor = new (file: string) => SqliteDatabase;

/**
 * `synchronous` trades the last commits on power loss for speed. With WAL both settings survive
 * kill -9 of the process (the WAL is in the OS page cache); only NORMAL can lose the last
 * transactions when the machine itself loses power, because WAL frames are fsynced at
 * checkpoint, not at every commit. Figures measured here: see engine/transport/README.md.
 */
export type Synchronous = 'NORMAL' | 'FULL';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queues (
  name TEXT PRIMARY KEY
);
-- One row per message in any queue. state: ready (waiting, maybe delayed by available_at),
-- inflight (held by a consumer, lease = its claim), dead (in the dead-letter queue, reason set).
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  queue TEXT NOT NULL,
  body BLOB NOT NULL,
  headers TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  available_at INTEGER NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('ready', 'inflight', 'dead')),
  reason TEXT,
  lease INTEGER
);
CREATE INDEX IF NOT EXISTS messages_pick ON messages (queue, state, available_at, id);
`;

/** Opens (creating if needed) the queue file in WAL mode with the schema in place. */
export function openQueueDatabase(file: string, synchronous: Synchronous): SqliteDatabase {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const Database = require('better-sqlite3') as SqliteConstructor;
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    // Only this process writes, but a CLI reading depth may hold a read lock briefly.
    db.pragma('busy_timeout = 5000');
    db.exec(SCHEMA);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}
