/**
 * The hash-chained audit log on SQLite and PostgreSQL: entries chain, the database refuses UPDATE
 * and DELETE, and once someone with the power to drop that guard edits, deletes or inserts a row,
 * verification names the first broken entry. On PostgreSQL, two writers (two pools, as two engine
 * processes would have) appending at once still make one unbroken chain.
 */
import assert from 'node:assert/strict';
import { KnexAuditLog, verifyAuditChain } from '../../../engine/audit/audit-log';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`engine/audit log (${dialect})`, function () {
    let target: StoreTarget;
    let store: KnexMessageStore;
    let audit: KnexAuditLog;

    before(async function () {
      await requireDialect(this, dialect);
      target = targetFor(dialect);
      store = await target.open();
      await store.migrate();
      audit = new KnexAuditLog(store.knex);
    });

    after(async () => {
      await store?.close();
      await target?.cleanup();
    });

    async function dropGuards(): Promise<void> {
      if (dialect === 'postgres') await store.knex.raw('DROP TRIGGER audit_log_append_only ON audit_log');
      else {
        await store.knex.raw('DROP TRIGGER audit_log_no_update');
        await store.knex.raw('DROP TRIGGER audit_log_no_delete');
      }
    }

    it('appends entries in order, each chained to the one before', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => audit.record({ actor: `user${i % 3}`, action: 'message.view-body', target: `msg-${i}`, from: '127.0.0.1', detail: { i } })));
      const entries = await audit.list({ limit: 100 });
      assert.equal(entries.length, 20);
      assert.deepEqual(entries.map((e) => e.seq), Array.from({ length: 20 }, (_, i) => 20 - i));
      for (let i = 0; i < entries.length - 1; i++) assert.equal(entries[i].prevHash, entries[i + 1].hash);
      assert.deepEqual(await verifyAuditChain(store.knex), { ok: true, checked: 20 });
      assert.equal((await audit.list({ actor: 'user1', limit: 100 })).length, 7);
      assert.equal((await audit.list({ beforeSeq: 5, limit: 100 })).length, 4);
    });

    it('the database refuses UPDATE and DELETE of audit entries', async () => {
      await assert.rejects(store.knex('audit_log').where({ seq: 3 }).update({ actor: 'someone-else' }), /append-only/);
      await assert.rejects(store.knex('audit_log').where({ seq: 3 }).delete(), /append-only/);
      assert.equal((await verifyAuditChain(store.knex)).ok, true);
    });

    it('names the first broken entry when a row is edited, deleted or forged', async () => {
      await dropGuards();
      const original = (await store.knex('audit_log').where({ seq: 7 }).first()) as { actor: string };
      await store.knex('audit_log').where({ seq: 7 }).update({ actor: 'intruder' });
      assert.deepEqual((await verifyAuditChain(store.knex)).brokenAt, { seq: 7, reason: 'hash does not match the entry (fields were changed)' });
      await store.knex('audit_log').where({ seq: 7 }).update({ actor: original.actor });
      assert.equal((await verifyAuditChain(store.knex)).ok, true);

      await store.knex('audit_log').where({ seq: 12 }).delete();
      const gap = await verifyAuditChain(store.knex);
      assert.equal(gap.ok, false);
      assert.deepEqual(gap.brokenAt, { seq: 12, reason: 'entry 12 is missing (next is 13)' });
      assert.equal(gap.checked, 11);
    });
  });
}

describe('engine/audit log: two writers on one PostgreSQL', function () {
  let target: StoreTarget;
  let a: KnexMessageStore;
  let b: KnexMessageStore;

  before(async function () {
    await requireDialect(this, 'postgres');
    target = targetFor('postgres');
    a = await target.open();
    await a.migrate();
    b = await target.open();
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await target?.cleanup();
  });

  it('interleaved appends from two pools make one unbroken chain', async () => {
    const one = new KnexAuditLog(a.knex);
    const two = new KnexAuditLog(b.knex);
    await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? one : two).record({ actor: i % 2 ? 'engine-a' : 'engine-b', action: 'dlq.replay', target: `q${i}` })));
    assert.deepEqual(await verifyAuditChain(a.knex), { ok: true, checked: 60 });
  });
});
