/**
 * A node-postgres connection borrowed from knex's pool for the store's hot statements, which go
 * straight to the driver: knex's query building cost more of the engine's CPU than the statements
 * themselves took in PostgreSQL (bench:mllp).
 */
import type { Knex } from 'knex';

/** The part of a node-postgres client used here. */
export interface PgConnection {
  query<R = { id: string }>(config: string | { name?: string; text: string; values?: unknown[] }): Promise<{ rows: R[] }>;
}

interface KnexClientPool {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<unknown>;
}

export async function withPgConnection<T>(knex: Knex, work: (connection: PgConnection) => Promise<T>): Promise<T> {
  const pool = knex.client as unknown as KnexClientPool;
  const connection = await pool.acquireConnection();
  try {
    return await work(connection);
  } finally {
    await pool.releaseConnection(connection);
  }
}
