/**
 * Migrations as imported modules behind a custom migration source, so the same list runs under
 * tsx (.ts) and compiled (dist/*.js) without knex scanning a directory for files of one extension.
 * Add a migration: write `NNNN_name.ts` exporting `up`/`down`, then append it to `MIGRATIONS`.
 * Never rename or reorder one that shipped: knex records the names it ran.
 */
import type { Knex } from 'knex';
import * as m0001 from './0001_messages';
import * as m0002 from './0002_fhir_connections';
import * as m0003 from './0003_fhir_sync';
import * as m0004 from './0004_nphies';
import * as m0005 from './0005_providers';
import * as m0006 from './0006_caqh';

interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: readonly Migration[] = [
  { name: '0001_messages', up: m0001.up, down: m0001.down },
  { name: '0002_fhir_connections', up: m0002.up, down: m0002.down },
  { name: '0003_fhir_sync', up: m0003.up, down: m0003.down },
  { name: '0004_nphies', up: m0004.up, down: m0004.down },
  { name: '0005_providers', up: m0005.up, down: m0005.down },
  { name: '0006_caqh', up: m0006.up, down: m0006.down },
  { name: '0007_plannet', ...(require('./0007_plannet') as Pick<Migration, 'up' | 'down'>) },
  { name: '0008_auth_audit', ...(require('./0008_auth_audit') as Pick<Migration, 'up' | 'down'>) },
  { name: '0009_message_browser', ...(require('./0009_message_browser') as Pick<Migration, 'up' | 'down'>) },
  { name: '0010_alerts', ...(require('./0010_alerts') as Pick<Migration, 'up' | 'down'>) },
  { name: '0011_channel_states', ...(require('./0011_channel_states') as Pick<Migration, 'up' | 'down'>) },
];

/** Knex migration source serving `MIGRATIONS` in order. */
export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...MIGRATIONS],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => ({ up: m.up, down: m.down }),
};

/** Table where knex records which migrations ran (and its lock table, with `_lock`). */
export const MIGRATIONS_TABLE = 'wasl_migrations';

/**
 * Runs pending migrations. Safe to call concurrently from several processes (knex takes a lock
 * row) and repeatedly (already-run migrations are skipped). On PostgreSQL, pass `schema` when the
 * connection's search path points at a non-default schema, so knex's bookkeeping lands there too.
 */
export async function migrateLatest(knex: Knex, opts: { schema?: string } = {}): Promise<void> {
  await knex.migrate.latest({ migrationSource, tableName: MIGRATIONS_TABLE, schemaName: opts.schema });
}
