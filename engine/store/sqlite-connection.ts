/**
 * The store's hot SQLite statements (receive.ts, updates-sqlite.ts) run on knex's one
 * better-sqlite3 connection with statements prepared once per connection: knex rebuilds and
 * re-prepares every statement, which halved the insert rate and cost the embedded engine about
 * 15% of its CPU on stage updates.
 */

/** The slice of better-sqlite3's API used here (the package ships no types). */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
}
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  transaction<T>(fn: () => T): () => T;
}

/**
 * `prepare(db)` runs once per connection and its statements are kept with it; the pool may
 * replace a connection, hence the WeakMap.
 */
export function preparedPerConnection<S>(prepare: (db: SqliteDatabase) => S): (db: SqliteDatabase) => S {
  const prepared = new WeakMap<SqliteDatabase, S>();
  return (db) => {
    let statements = prepared.get(db);
    if (!statements) prepared.set(db, (statements = prepare(db)));
    return statements;
  };
}
