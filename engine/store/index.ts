/**
 * Entry point of the message store: `openStore` picks the database from the environment's
 * settings (PostgreSQL when DATABASE_URL is set, else `<dataDir>/wasl.db`) and migrates it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { KnexMessageStore } from './knex-store';
import type { MessageStore } from './types';

export { KnexMessageStore, migrateLatest } from './knex-store';
export { countsAsAttempt } from './stage-updates';
export type { KnexStoreOptions } from './knex-store';
export * from './types';

/** SQLite file name inside the data folder. */
export const SQLITE_FILE_NAME = 'wasl.db';

/**
 * Opens and migrates the message store.
 * @param opts.databaseUrl PostgreSQL URL (DATABASE_URL); when unset, SQLite in `dataDir`
 * @param opts.dataDir data folder (WASL_DATA_DIR), created if missing
 */
export async function openStore(opts: { databaseUrl?: string; dataDir: string }): Promise<MessageStore> {
  let store: KnexMessageStore;
  if (opts.databaseUrl) {
    store = await KnexMessageStore.open({ databaseUrl: opts.databaseUrl });
  } else {
    fs.mkdirSync(opts.dataDir, { recursive: true });
    store = await KnexMessageStore.open({ sqliteFile: path.join(opts.dataDir, SQLITE_FILE_NAME) });
  }
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
