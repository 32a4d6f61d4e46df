/**
 * The `channel_states` table (migration 0011, engine/store/channel-states.ts) on SQLite and on
 * PostgreSQL: one row per channel, replaced by each request, read whole, refusing unknown states,
 * seen by a second store on the same database and still there after a reopen.
 */
import assert from 'node:assert/strict';
import knexFactory from 'knex';
import { ChannelStateStore, channelStateUpsert } from '../../../engine/store/channel-states';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { MIGRATIONS_TABLE, migrationSource } from '../../../engine/store/migrations';
import type { Dialect } from '../../../engine/store/rows';
import { requireDialect, targetFor, type StoreTarget } from './helpers';

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`engine/store channel states (${dialect})`, function () {
    this.timeout(30_000);
    let target: StoreTarget;
    let opened: KnexMessageStore[];

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(() => {
      target = targetFor(dialect);
      opened = [];
    });

    afterEach(async () => {
      for (const s of opened) await s.close();
      await target.cleanup();
    });

    const open = async () => {
      const s = await target.open();
      await s.migrate();
      opened.push(s);
      return { store: s, states: new ChannelStateStore(s.knex, s.dialect) };
    };

    it('keeps one row per channel, the latest request replacing the one before', async () => {
      const { states } = await open();
      assert.deepEqual(await states.states(), new Map());
      assert.equal(await states.get('adt'), undefined, 'no row: nobody asked');
      const at = new Date('2025-03-01T10:00:00.123Z');
      await states.save('adt', 'stopped', 'alice', at);
      await states.save('lab', 'paused', 'bob');
      await states.save('adt', 'running', 'carol', new Date('2025-03-01T10:05:00.456Z'));
      assert.deepEqual(await states.states(), new Map([['adt', 'running'], ['lab', 'paused']]));
      assert.deepEqual(await states.get('adt'), { channel: 'adt', state: 'running', updatedAt: new Date('2025-03-01T10:05:00.456Z'), updatedBy: 'carol' });
    });

    it('is shared by every store on the database and kept across a reopen', async () => {
      const a = await open();
      const b = await open();
      await a.states.save('adt', 'stopped', 'alice');
      assert.equal((await b.states.states()).get('adt'), 'stopped');
      await a.store.close();
      await b.store.close();
      opened = [];
      const again = await open();
      assert.equal((await again.states.get('adt'))?.state, 'stopped');
      assert.equal((await again.states.get('adt'))?.updatedBy, 'alice');
    });

    it('stores the time in the dialect\'s time type (as 0001) and rolls back', async () => {
      const { store } = await open();
      const updatedAt = (await store.knex('channel_states').columnInfo())['updated_at'];
      assert.equal(updatedAt.type, dialect === 'postgres' ? 'timestamp with time zone' : 'bigint');
      await store.knex.migrate.down({ migrationSource, tableName: MIGRATIONS_TABLE });
      assert.equal(await store.knex.schema.hasTable('channel_states'), false);
    });

    it('refuses a state no engine knows', async () => {
      const { store } = await open();
      await assert.rejects(store.knex('channel_states').insert({ channel: 'adt', state: 'halted', updated_at: dialect === 'postgres' ? new Date() : Date.now(), updated_by: 'x' }), /check constraint/i);
    });
  });
}

describe('engine/store channel states: the upsert per dialect', () => {
  // Without a connection, as knex's own builder tests do.
  const upsert = (client: string) =>
    channelStateUpsert(knexFactory({ client, useNullAsDefault: true }), { channel: 'adt', state: 'stopped', updated_at: 0, updated_by: 'alice' }).toSQL().toNative().sql;

  it('postgres: insert ... on conflict (channel) do update', () => {
    assert.equal(
      upsert('pg'),
      'insert into "channel_states" ("channel", "state", "updated_at", "updated_by") values ($1, $2, $3, $4) on conflict ("channel") do update set "state" = excluded."state", "updated_at" = excluded."updated_at", "updated_by" = excluded."updated_by"',
    );
  });

  it('sqlite: the same statement', () => {
    assert.equal(
      upsert('better-sqlite3'),
      'insert into `channel_states` (`channel`, `state`, `updated_at`, `updated_by`) values (?, ?, ?, ?) on conflict (`channel`) do update set `state` = excluded.`state`, `updated_at` = excluded.`updated_at`, `updated_by` = excluded.`updated_by`',
    );
  });
});
