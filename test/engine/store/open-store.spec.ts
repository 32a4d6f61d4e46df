import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type KnexMessageStore } from '../../../engine/store';
import type { MessageStore } from '../../../engine/store/types';
import { DATABASE_URL, postgresTarget, postgresUnavailable } from './helpers';

describe('engine/store openStore', () => {
  let dataDir: string;
  let store: MessageStore | undefined;

  beforeEach(() => {
    dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-open-')), 'nested', 'data');
  });

  afterEach(async () => {
    await store?.close();
    store = undefined;
    fs.rmSync(path.dirname(path.dirname(dataDir)), { recursive: true, force: true });
  });

  it('creates <dataDir>/wasl.db, migrated, when no database URL is set', async () => {
    store = await openStore({ dataDir });
    assert.equal(store.dialect, 'sqlite');
    assert.ok(fs.existsSync(path.join(dataDir, 'wasl.db')));
    assert.deepEqual(await store.counters(), {});
  });

  it('keeps messages across close and reopen (SQLite)', async () => {
    store = await openStore({ dataDir });
    const r = await store.receive({ id: 'p-1', channel: 'adt', correlationId: 'c-1', sender: 'HIS', controlId: '1', raw: 'MSH|1' });
    await store.markAccepted(r.id);
    await store.update(r.id, { status: 'SENT', destination: 'fhir', response: 'ok' });
    await store.close();

    store = await openStore({ dataDir });
    const got = await store.get('p-1');
    assert.equal(got?.raw, 'MSH|1');
    assert.equal(got?.accepted, true);
    assert.equal(got?.status, 'SENT');
    assert.equal(got?.destinations?.[0]?.response, 'ok');
    const again = await store.receive({ id: 'p-2', channel: 'adt', correlationId: 'c-2', sender: 'HIS', controlId: '1', raw: 'MSH|1' });
    assert.deepEqual(again, { id: 'p-1', correlationId: 'c-1', duplicate: true, accepted: true, status: 'SENT' });
  });

  it('uses PostgreSQL when a database URL is set', async function () {
    if (await postgresUnavailable()) {
      if (process.env.CI === 'true') throw new Error('PostgreSQL is required in CI');
      console.warn('\n!!! SKIPPING openStore PostgreSQL test: PostgreSQL unreachable !!!\n');
      this.skip();
    }
    // openStore takes no schema: point the connection's search_path at a fresh one instead.
    const target = postgresTarget();
    try {
      await (await target.open()).close(); // creates the schema
      const url = new URL(DATABASE_URL);
      url.searchParams.set('options', `-c search_path=${target.schema}`);
      store = await openStore({ databaseUrl: url.toString(), dataDir });
      assert.equal(store.dialect, 'postgres');
      assert.equal(fs.existsSync(dataDir), false, 'no SQLite file with PostgreSQL');
      await store.receive({ id: 'p-1', channel: 'adt', correlationId: 'c-1', sender: 'HIS', controlId: '1', raw: 'MSH|1' });
      assert.equal((await store.get('p-1'))?.raw, 'MSH|1');
      // Other schemas of the shared test database may hold a messages table too (a developer's own
      // engine run); what matters is that this store lives in the schema its URL names.
      const knex = (store as KnexMessageStore).knex;
      const where = await knex('pg_tables').select('schemaname').where({ tablename: 'messages' });
      assert.ok(where.some((r: { schemaname: string }) => r.schemaname === target.schema));
      const current = await knex.raw('select current_schema() as schema');
      assert.equal(current.rows[0].schema, target.schema);
    } finally {
      await store?.close();
      store = undefined;
      await target.cleanup();
    }
  });
});
