/**
 * Database connections of the claims nodes, one pool per URL shared by every node that names it
 * (the validate stage's duplicate lookups and the destination's writes use the same pool), closed
 * when the last user lets go. URLs come from environment variables named in the node's config:
 * a password never sits in channels.yaml or flows.json.
 */
import knexFactory, { type Knex } from 'knex';
import * as mssql from 'mssql';
import type { Sealer } from './batch';
import { MssqlProductionWriter } from './production-mssql';
import { PostgresProductionWriter } from './production-pg';
import type { ProductionWriter } from './production';

interface Shared<T> {
  value: T;
  users: number;
}

const pools = new Map<string, Shared<Knex>>();

export type ClaimsDbDialect = 'postgres' | 'mssql';

/** Which engine a URL points at: postgres:// / postgresql://, or mssql:// / sqlserver://. */
export function dialectOf(url: string): ClaimsDbDialect {
  if (/^postgres(ql)?:\/\//i.test(url)) return 'postgres';
  if (/^(mssql|sqlserver):\/\//i.test(url)) return 'mssql';
  // Name only the scheme: anything more of the value may hold a password.
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  throw new Error(scheme ? `unsupported claims database URL scheme '${scheme}': use postgres:// or mssql://` : 'the claims database setting is not a URL (no scheme): use postgres://... or mssql://...');
}

/** A knex pool on a PostgreSQL URL; call the returned release when done. */
export function acquirePostgres(url: string, poolMax = 8): { knex: Knex; release(): Promise<void> } {
  let shared = pools.get(url);
  if (!shared) {
    shared = { value: knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: poolMax } }), users: 0 };
    pools.set(url, shared);
  }
  shared.users += 1;
  const s = shared;
  let released = false;
  return {
    knex: s.value,
    async release() {
      if (released) return;
      released = true;
      s.users -= 1;
      if (s.users === 0) {
        pools.delete(url);
        await s.value.destroy();
      }
    },
  };
}

/** A production writer for the URL's engine, with its own release. */
export async function openProductionWriter(url: string, sealer: Sealer): Promise<{ writer: ProductionWriter; release(): Promise<void> }> {
  if (dialectOf(url) === 'postgres') {
    const { knex, release } = acquirePostgres(url);
    return { writer: new PostgresProductionWriter(knex, sealer), release };
  }
  const pool = await new mssql.ConnectionPool(url).connect();
  const writer = new MssqlProductionWriter(pool, sealer);
  return { writer, release: () => writer.close() };
}
