/**
 * Message search and reprocessing lineage in the store, on SQLite and PostgreSQL: keyset pages
 * cover every match exactly once in newest-first order, `key` finds any business key, the plans
 * walk the search indexes (EXPLAIN), and reprocessed copies live beside the dedupe key.
 */
import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { deleteCopies, insertCopies, lineageOf, readForReprocess } from '../../../engine/store/lineage';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { toDbTime, type Dialect } from '../../../engine/store/rows';
import { decodeCursor, encodeCursor, searchMessages, searchQuery, type MessageSearch } from '../../../engine/store/search';
import type { MessageStatus } from '../../../engine/store/types';
import { requireDialect, targetFor, type StoreTarget } from './helpers';

interface Seeded {
  id: string;
  channel: string;
  status: MessageStatus;
  controlId: string;
  patientKey: string | null;
  correlationId: string;
  receivedAt: number;
}

const T0 = Date.UTC(2025, 0, 1);
const STATUSES: MessageStatus[] = ['SENT', 'SENT', 'ERROR', 'FILTERED', 'QUEUED'];

/**
 * `n` messages over three channels; times repeat in pairs so the id tie-break is exercised, and
 * correlation ids equal the message id for every third row (as the intake does) so `key` can
 * match one row twice.
 */
function seedRows(n: number, prefix = 'm'): Seeded[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `${prefix}-${String(i).padStart(5, '0')}`;
    return {
      id,
      channel: ['adt', 'lab', 'orders'][i % 3],
      status: STATUSES[i % STATUSES.length],
      controlId: `CTRL${i % 50}`,
      patientKey: i % 7 === 0 ? null : `MRN${i % 40}`,
      correlationId: i % 3 === 0 ? id : `corr-${i}`,
      receivedAt: T0 + Math.floor(i / 2) * 1000,
    };
  });
}

async function insertSeeded(store: KnexMessageStore, rows: Seeded[]): Promise<void> {
  const dbRows = rows.map((r) => ({
    id: r.id,
    channel: r.channel,
    correlation_id: r.correlationId,
    sender: `HIS^H${r.id}`, // unique per row: the dedupe key allows repeated control ids across senders
    control_id: r.controlId,
    message_type: 'ADT^A01',
    patient_key: r.patientKey,
    status: r.status,
    accepted: true,
    raw: `MSH|^~\\&|HIS|HOSP|||20250101||ADT^A01|${r.controlId}|P|2.5\r`,
    attempts: 0,
    received_at: toDbTime(store.dialect, new Date(r.receivedAt)),
    updated_at: toDbTime(store.dialect, new Date(r.receivedAt)),
  }));
  for (let i = 0; i < dbRows.length; i += 50) await store.knex('messages').insert(dbRows.slice(i, i + 50));
}

/** What a search must return, in order, computed without the database. */
function expected(rows: Seeded[], s: MessageSearch): string[] {
  return rows
    .filter((r) => s.channel === undefined || r.channel === s.channel)
    .filter((r) => s.status === undefined || r.status === s.status)
    .filter((r) => s.controlId === undefined || r.controlId === s.controlId)
    .filter((r) => s.patientKey === undefined || r.patientKey === s.patientKey)
    .filter((r) => s.correlationId === undefined || r.correlationId === s.correlationId)
    .filter((r) => s.from === undefined || r.receivedAt >= s.from.getTime())
    .filter((r) => s.to === undefined || r.receivedAt < s.to.getTime())
    .filter((r) => s.key === undefined || [r.id, r.controlId, r.patientKey, r.correlationId].includes(s.key))
    .sort((a, b) => b.receivedAt - a.receivedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
    .map((r) => r.id);
}

async function allPages(store: KnexMessageStore, s: MessageSearch): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await searchMessages(store.knex, store.dialect, { ...s, cursor });
    ids.push(...page.messages.map((m) => m.id));
    cursor = page.nextCursor ?? undefined;
    pages++;
    assert.ok(pages < 1000, 'paging ends');
  } while (cursor);
  return { ids, pages };
}

/** The plan as text: SQLite's EXPLAIN QUERY PLAN details, or PostgreSQL's EXPLAIN lines. */
async function planOf(store: KnexMessageStore, s: MessageSearch): Promise<string> {
  const q = searchQuery(store.knex, store.dialect, s).toSQL();
  if (store.dialect === 'sqlite') {
    const rows: Array<{ detail: string }> = await store.knex.raw(`explain query plan ${q.sql}`, q.bindings as never);
    return rows.map((r) => r.detail).join('\n');
  }
  const result: { rows: Array<{ 'QUERY PLAN': string }> } = await store.knex.raw(`explain ${q.sql}`, q.bindings as never);
  return result.rows.map((r) => r['QUERY PLAN']).join('\n');
}

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`engine/store message search (${dialect})`, function () {
    let target: StoreTarget;
    let store: KnexMessageStore;

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(async () => {
      target = targetFor(dialect);
      store = await target.open();
      await store.migrate();
    });

    afterEach(async () => {
      await store?.close();
      await target?.cleanup();
    });

    describe('keyset pages', () => {
      const rows = seedRows(240);
      beforeEach(() => insertSeeded(store, rows));

      const searches: Array<[string, MessageSearch]> = [
        ['everything', {}],
        ['one channel', { channel: 'lab' }],
        ['channel and status', { channel: 'adt', status: 'SENT' }],
        ['status', { status: 'ERROR' }],
        ['a time range', { from: new Date(T0 + 20_000), to: new Date(T0 + 90_000) }],
        ['channel in a time range', { channel: 'orders', from: new Date(T0 + 10_000), to: new Date(T0 + 100_000) }],
        ['patient key', { patientKey: 'MRN3' }],
        ['control id', { controlId: 'CTRL7' }],
        ['correlation id', { correlationId: 'corr-10' }],
        ['patient key and status', { patientKey: 'MRN5', status: 'SENT' }],
        ['any key: a patient key', { key: 'MRN11' }],
        ['any key: a control id, in one channel', { key: 'CTRL3', channel: 'adt' }],
        ['any key: an id that is also its correlation id', { key: 'm-00012' }],
      ];
      for (const [name, s] of searches) {
        it(`covers every match exactly once, newest first: ${name}`, async () => {
          const want = expected(rows, s);
          assert.ok(want.length > 0, 'the seed has matches');
          const { ids, pages } = await allPages(store, { ...s, limit: 7 });
          assert.deepEqual(ids, want);
          assert.equal(pages, Math.max(1, Math.ceil(want.length / 7)));
        });
      }

      it('holds its place while new messages arrive: a page after the cursor never repeats or skips', async () => {
        const first = await searchMessages(store.knex, store.dialect, { channel: 'adt', limit: 10 });
        await insertSeeded(store, seedRows(30, 'new').map((r) => ({ ...r, receivedAt: r.receivedAt + 10_000_000 })));
        const second = await searchMessages(store.knex, store.dialect, { channel: 'adt', limit: 10, cursor: first.nextCursor! });
        assert.deepEqual(second.messages.map((m) => m.id), expected(rows, { channel: 'adt' }).slice(10, 20));
      });

      it('returns metadata only, with types the same on both dialects', async () => {
        const page = await searchMessages(store.knex, store.dialect, { key: 'm-00012', limit: 1 });
        const m = page.messages[0];
        assert.equal(m.id, 'm-00012');
        assert.equal(m.receivedAt.getTime(), T0 + 6000);
        assert.equal(m.accepted, true);
        assert.equal(m.attempts, 0);
        assert.equal(m.reprocessOf, null);
        assert.equal('raw' in m, false);
      });

      it('ends with a null cursor, and clamps the page size', async () => {
        const all = await searchMessages(store.knex, store.dialect, { limit: 100_000 });
        assert.equal(all.messages.length, 240);
        assert.equal(all.nextCursor, null);
        const one = await searchMessages(store.knex, store.dialect, { limit: 0 });
        assert.equal(one.messages.length, 1);
        const none = await searchMessages(store.knex, store.dialect, { controlId: 'nope' });
        assert.deepEqual(none, { messages: [], nextCursor: null });
      });
    });

    it('refuses a cursor it did not make', () => {
      for (const bad of ['', 'garbage', Buffer.from('[1]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
        assert.throws(() => decodeCursor(bad), ValidationError);
      }
      assert.deepEqual(decodeCursor(encodeCursor(new Date(5), 'x')), { receivedAt: 5, id: 'x' });
    });

    it('walks the search indexes (EXPLAIN), not the table', async function () {
      this.timeout(60_000);
      // Enough rows, and statistics, for PostgreSQL's planner to cost the choices as it would in production.
      await insertSeeded(store, seedRows(3000));
      await store.knex.raw(dialect === 'postgres' ? 'analyze messages' : 'select 1');
      const cursor = encodeCursor(new Date(T0 + 500_000), 'm-01000');
      const cases: Array<[MessageSearch, RegExp[]]> = [
        [{ controlId: 'CTRL7' }, [/messages_control_id/]],
        [{ controlId: 'CTRL7', cursor }, [/messages_control_id/]],
        [{ patientKey: 'MRN3', channel: 'adt' }, [/messages_patient_key/]],
        [{ correlationId: 'corr-10', status: 'SENT' }, [/messages_correlation_id/]],
        [{ key: 'MRN3', channel: 'lab' }, [/messages_control_id/, /messages_patient_key/, /messages_correlation_id/]],
        // On a table this small PostgreSQL may walk (received_at, id) and filter: still an index
        // and no sort. bench:browser-search prints the plans at a million rows.
        [{ channel: 'adt', status: 'SENT', cursor }, [/messages_channel_status|messages_received_at/]],
      ];
      for (const [s, indexes] of cases) {
        const plan = await planOf(store, s);
        for (const index of indexes) assert.match(plan, index, `${JSON.stringify(s)}:\n${plan}`);
        assert.doesNotMatch(plan, /Seq Scan|SCAN messages\b(?! USING)/, `${JSON.stringify(s)}:\n${plan}`);
      }
      // A page of one channel or status needs no sort: the index order is the page order.
      for (const s of [{ channel: 'adt' }, { status: 'ERROR' as MessageStatus }, { channel: 'adt', status: 'SENT' as MessageStatus }]) {
        const plan = await planOf(store, s);
        assert.doesNotMatch(plan, /TEMP B-TREE|Sort|Seq Scan/, `${JSON.stringify(s)}:\n${plan}`);
      }
    });

    describe('reprocessed copies and the dedupe key', () => {
      const msg = { id: 'orig-1', channel: 'adt', correlationId: 'orig-1', sender: 'HIS^HOSP', controlId: 'MSG1', messageType: 'ADT^A01', patientKey: 'MRN-9', raw: 'MSH|^~\\&|HIS|HOSP|||x||ADT^A01|MSG1|P|2.5\r' };

      it('keeps copies with the original control id beside the original, and a resend still maps to the original', async () => {
        await store.receive(msg);
        const [original] = (await readForReprocess(store.knex, ['orig-1'])).values();
        assert.equal(original.raw, msg.raw);
        // Later than the original by a clear margin: rows of the same millisecond order by id.
        await insertCopies(store.knex, store.dialect, [{ id: 'copy-1', original }], new Date(Date.now() + 10));
        await insertCopies(store.knex, store.dialect, [{ id: 'copy-2', original }], new Date(Date.now() + 20));

        const resend = await store.receive({ ...msg, id: 'resend-id', correlationId: 'resend-id' });
        assert.equal(resend.duplicate, true);
        assert.equal(resend.id, 'orig-1');

        const copy = await store.get('copy-1');
        assert.equal(copy?.controlId, 'MSG1');
        assert.equal(copy?.correlationId, 'copy-1');
        assert.equal(copy?.status, 'RECEIVED');
        assert.equal(copy?.raw, msg.raw);
        assert.deepEqual(await lineageOf(store.knex, 'orig-1'), { reprocessOf: null, reprocessedAs: ['copy-1', 'copy-2'] });
        assert.deepEqual(await lineageOf(store.knex, 'copy-2'), { reprocessOf: 'orig-1', reprocessedAs: [] });
        assert.equal(await lineageOf(store.knex, 'nope'), undefined);

        const found = await searchMessages(store.knex, store.dialect, { controlId: 'MSG1' });
        assert.deepEqual(found.messages.map((m) => [m.id, m.reprocessOf]), [['copy-2', 'orig-1'], ['copy-1', 'orig-1'], ['orig-1', null]]);
      });

      it('still refuses a second source row with the same key', async () => {
        await store.receive(msg);
        await assert.rejects(store.knex('messages').insert({ ...(await store.knex('messages').where({ id: 'orig-1' }).first()), id: 'other' }));
      });

      it('deletes only copies', async () => {
        await store.receive(msg);
        const [original] = (await readForReprocess(store.knex, ['orig-1'])).values();
        await insertCopies(store.knex, store.dialect, [{ id: 'copy-1', original }], new Date());
        await deleteCopies(store.knex, ['copy-1', 'orig-1']);
        assert.equal(await store.get('copy-1'), undefined);
        assert.ok(await store.get('orig-1'));
      });
    });
  });
}
