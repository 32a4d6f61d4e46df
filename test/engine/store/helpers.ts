/**
 * Test targets for the message store: a fresh SQLite file in a temp folder, or a fresh PostgreSQL
 * schema (`wasl_test_<random>`) dropped afterwards, so runs and tests never see each other's rows.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { KnexMessageStore } from '../../../engine/store/knex-store';
import type { Dialect } from '../../../engine/store/rows';

export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface StoreTarget {
  /** Opens a (not yet migrated) store on this target; may be called again to reopen. */
  open(): Promise<KnexMessageStore>;
  /** Removes the file or schema. */
  cleanup(): Promise<void>;
}

export function randomSuffix(): string {
  return crypto.randomBytes(6).toString('hex');
}

export function sqliteTarget(): StoreTarget & { dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-store-'));
  return {
    dir,
    open: () => KnexMessageStore.open({ sqliteFile: path.join(dir, 'wasl.db') }),
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

export function postgresTarget(): StoreTarget & { schema: string } {
  const schema = `wasl_test_${randomSuffix()}`;
  return {
    schema,
    open: () => KnexMessageStore.open({ databaseUrl: DATABASE_URL, schema }),
    cleanup: async () => {
      await withPg((c) => c.query(`drop schema if exists "${schema}" cascade`));
    },
  };
}

export function targetFor(dialect: Dialect): StoreTarget {
  return dialect === 'sqlite' ? sqliteTarget() : postgresTarget();
}

async function withPg<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** The reason PostgreSQL cannot be used, or undefined when it answers. */
export async function postgresUnavailable(): Promise<string | undefined> {
  try {
    await withPg((c) => c.query('select 1'));
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * In a mocha `before`: for the postgres dialect, skip the suite loudly when PostgreSQL is not
 * reachable, and fail instead under CI=true. SQLite always runs.
 */
export async function requireDialect(ctx: Mocha.Context, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'postgres') return;
  const why = await postgresUnavailable();
  if (!why) return;
  if (process.env.CI === 'true') throw new Error(`PostgreSQL unavailable: ${why}`);
  console.warn(`\n  !!! PostgreSQL unavailable (${why}): SKIPPING ${ctx.test?.parent?.fullTitle()}\n`);
  ctx.skip();
}
