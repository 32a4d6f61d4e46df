/**
 * One contract suite for the message store, run against SQLite and PostgreSQL. Each test gets its
 * own SQLite file or PostgreSQL schema.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import type { Dialect } from '../../../engine/store/rows';
import type { NewMessage, StageUpdate, StoredMessage } from '../../../engine/store/types';
import { DATABASE_URL, postgresUnavailable, targetFor, type StoreTarget } from './helpers';

function message(overrides: Partial<NewMessage> = {}): NewMessage {
  return {
    id: crypto.randomUUID(),
    channel: 'adt',
    correlationId: crypto.randomUUID(),
    sender: 'HIS^HOSP',
    controlId: crypto.randomUUID(),
    messageType: 'ADT^A01',
    patientKey: 'MRN-1',
    raw: 'MSH|^~\\&|HIS|HOSP|WASL|WASL|20250101||ADT^A01|1|P|2.5\r',
    ...overrides,
  };
}

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`engine/store KnexMessageStore (${dialect})`, function () {
    let target: StoreTarget;
    let store: KnexMessageStore;

    before(async function () {
      if (dialect !== 'postgres') return;
      const reason = await postgresUnavailable();
      if (!reason) return;
      if (process.env.CI === 'true') throw new Error(`PostgreSQL at ${new URL(DATABASE_URL).host} is required in CI: ${reason}`);
      console.warn(`\n!!! SKIPPING PostgreSQL message store tests: ${new URL(DATABASE_URL).host} unreachable (${reason}) !!!\n`);
      this.skip();
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

    it('reports its dialect', () => {
      assert.equal(store.dialect, dialect);
    });

    it('migrates idempotently', async () => {
      await store.migrate();
      await store.migrate();
      const ran = await store.knex('wasl_migrations').select('name');
      // Each migration ran once, in order (later migrations: 0002_fhir_connections, 0003_fhir_sync, ...).
      const names = ran.map((r: { name: string }) => r.name);
      assert.equal(names[0], '0001_messages');
      assert.deepEqual(names, [...new Set(names)].sort());
      assert.ok(await store.knex.schema.hasTable('messages'));
      assert.ok(await store.knex.schema.hasTable('message_destinations'));
      const receivedAt = (await store.knex('messages').columnInfo())['received_at'];
      assert.equal(receivedAt.type, dialect === 'postgres' ? 'timestamp with time zone' : 'bigint');
    });

    it('receives a new message and keeps its content', async () => {
      const m = message();
      const r = await store.receive(m);
      assert.deepEqual(r, { id: m.id, correlationId: m.correlationId, duplicate: false, accepted: false, status: 'RECEIVED' });
      const got = await store.get(m.id);
      assert.ok(got);
      assert.equal(got.raw, m.raw);
      assert.equal(got.channel, 'adt');
      assert.equal(got.sender, m.sender);
      assert.equal(got.controlId, m.controlId);
      assert.equal(got.messageType, 'ADT^A01');
      assert.equal(got.patientKey, 'MRN-1');
      assert.equal(got.status, 'RECEIVED');
      assert.equal(got.accepted, false);
      assert.equal(got.transformed, null);
      assert.equal(got.error, null);
      assert.equal(got.attempts, 0);
      assert.ok(got.receivedAt instanceof Date && Math.abs(got.receivedAt.getTime() - Date.now()) < 60_000);
      assert.deepEqual(got.destinations, []);
    });

    it('stores optional fields as null', async () => {
      const m = message({ messageType: undefined, patientKey: undefined });
      await store.receive(m);
      const got = await store.get(m.id);
      assert.equal(got?.messageType, null);
      assert.equal(got?.patientKey, null);
    });

    it('returns undefined for an unknown id', async () => {
      assert.equal(await store.get('nope'), undefined);
    });

    it('recognises a resend and returns the first row', async () => {
      const first = message();
      await store.receive(first);
      await store.markAccepted(first.id);
      const resend = message({ controlId: first.controlId, raw: 'other' });
      const r = await store.receive(resend);
      assert.deepEqual(r, { id: first.id, correlationId: first.correlationId, duplicate: true, accepted: true, status: 'RECEIVED' });
      assert.equal(await store.get(resend.id), undefined);
      assert.equal((await store.get(first.id))?.raw, first.raw);
    });

    it('reports a resend before markAccepted as not accepted', async () => {
      const first = message();
      await store.receive(first);
      const r = await store.receive(message({ controlId: first.controlId }));
      assert.equal(r.duplicate, true);
      assert.equal(r.accepted, false);
    });

    it('keys dedupe on channel, sender and control id together', async () => {
      const first = message();
      await store.receive(first);
      assert.equal((await store.receive(message({ controlId: first.controlId, sender: 'LAB^HOSP' }))).duplicate, false);
      assert.equal((await store.receive(message({ controlId: first.controlId, channel: 'orm' }))).duplicate, false);
    });

    it('gives exactly one duplicate:false to 20 concurrent receives of one message', async () => {
      const key = message();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => store.receive(message({ controlId: key.controlId }))),
      );
      const fresh = results.filter((r) => !r.duplicate);
      assert.equal(fresh.length, 1);
      assert.ok(results.every((r) => r.id === fresh[0].id && r.correlationId === fresh[0].correlationId));
      const rows = await store.knex('messages').where({ control_id: key.controlId }).count({ n: '*' });
      assert.equal(Number(rows[0].n), 1);
    });

    it('sorts one batch of concurrent receives into new rows and duplicates, as the intake sends them', async () => {
      // The intake derives the id from the dedupe key, so copies of one message share their id.
      const existing = message();
      await store.receive(existing);
      const fresh = Array.from({ length: 30 }, (_, i) => message({ patientKey: i % 3 ? `MRN-${i}` : undefined, messageType: i % 4 ? 'ADT^A01' : undefined }));
      const resentTwice = fresh.slice(0, 5).map((m) => ({ ...m }));
      const results = await Promise.all([...fresh, ...resentTwice, existing].map((m) => store.receive(m)));
      // Arriving together, either copy may be the one stored; exactly one of them is.
      for (let i = 0; i < 30; i++) {
        const copies = [results[i], ...(i < 5 ? [results[30 + i]] : [])];
        assert.equal(copies.filter((r) => !r.duplicate).length, 1, `message ${i}`);
        assert.ok(copies.every((r) => r.id === fresh[i].id));
      }
      assert.equal(results[35].duplicate, true);
      const rows = await store.knex('messages').count({ n: '*' });
      assert.equal(Number(rows[0].n), 31);
      const got = await store.get(fresh[0].id);
      assert.equal(got?.patientKey ?? null, null);
      assert.equal(got?.messageType ?? null, null);
      assert.equal((await store.get(fresh[1].id))?.patientKey, 'MRN-1');
    });

    // PostgreSQL only: SQLite does not enforce varchar lengths, PostgreSQL refuses a control id over 200 characters.
    if (dialect === 'postgres') it('fails only the receive the database refuses when it shares a batch with others', async () => {
      const good = Array.from({ length: 10 }, () => message());
      const bad = message({ controlId: 'X'.repeat(201) });
      const outcomes = await Promise.allSettled([...good.slice(0, 5), bad, ...good.slice(5)].map((m) => store.receive(m)));
      assert.equal(outcomes[5].status, 'rejected');
      assert.deepEqual(outcomes.filter((o) => o.status === 'fulfilled').length, 10);
      for (const m of good) assert.equal((await store.get(m.id))?.raw, m.raw);
      assert.equal(await store.get(bad.id), undefined);
    });

    it('keeps content that needs escaping in a batched insert byte for byte', async () => {
      const awkward = ['a "quoted" \\ back\\slash', '{braces},commas', 'NULL', '', 'ünïcødé ✓ 🙂', 'line\nbreak\r\tTab'];
      const ms = awkward.map((raw) => message({ raw, patientKey: raw.slice(0, 10) || undefined }));
      await Promise.all(ms.map((m) => store.receive(m)));
      for (const m of ms) assert.equal((await store.get(m.id))?.raw, m.raw);
    });

    it('keeps content that needs escaping in batched stage updates byte for byte', async () => {
      // On PostgreSQL a batch with destination outcomes travels as SQL text with its values
      // spliced in as literals (updates-postgres.ts): quotes, backslashes and placeholders included.
      const awkward = ["it's \"quoted\" \\ back\\slash", "E'x' $1 $$ ?", '{braces},commas', 'NULL', '', 'ünïcødé ✓ 🙂', "line\nbreak\r\tTab'; drop table messages; --"];
      const ms = awkward.map(() => message());
      for (const m of ms) await store.receive(m);
      await Promise.all(
        ms.flatMap((m, i) => [
          store.update(m.id, { status: 'TRANSFORMED', transformed: awkward[i] }),
          store.update(m.id, { status: 'SENT', destination: 'fhir', sent: awkward[i], response: awkward[(i + 1) % awkward.length], error: { text: awkward[i] } }),
        ]),
      );
      for (const [i, m] of ms.entries()) {
        const got = await store.get(m.id);
        assert.equal(got?.transformed, awkward[i]);
        assert.deepEqual(
          [got?.destinations?.[0].sent, got?.destinations?.[0].response, got?.destinations?.[0].error],
          [awkward[i], awkward[(i + 1) % awkward.length], { text: awkward[i] }],
        );
      }
    });

    it('rejects a reused id for a different message', async () => {
      const first = message();
      await store.receive(first);
      await assert.rejects(store.receive(message({ id: first.id })), { code: 'VALIDATION_STORE_ID_CONFLICT' });
    });

    it('marks a message accepted', async () => {
      const m = message();
      await store.receive(m);
      await store.markAccepted(m.id);
      assert.equal((await store.get(m.id))?.accepted, true);
    });

    it('rejects only the write for an unknown id in a batch', async () => {
      const ms = Array.from({ length: 50 }, () => message());
      for (const m of ms) await store.receive(m);
      const outcomes = await Promise.allSettled([
        ...ms.map((m) => store.markAccepted(m.id)),
        store.markAccepted('missing'),
        store.update('missing', { status: 'SENT', destination: 'fhir' }),
      ]);
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 50);
      for (const o of outcomes.slice(50)) {
        assert.equal(o.status, 'rejected');
        assert.equal((o as PromiseRejectedResult).reason.code, 'TRANSIENT_STORE_UNKNOWN_MESSAGE');
      }
      for (const m of ms) assert.equal((await store.get(m.id))?.accepted, true);
    });

    it('an update that arrives a moment before its row commits waits for the row instead of failing', async () => {
      const m = message();
      const update = store.update(m.id, { status: 'TRANSFORMED', transformed: '{}' });
      await new Promise((r) => setTimeout(r, 20));
      await store.receive(m);
      await update;
      assert.equal((await store.get(m.id))?.status, 'TRANSFORMED');
    });

    it('commits 2000 concurrent writes', async () => {
      const ms = Array.from({ length: 200 }, () => message());
      await Promise.all(ms.map((m) => store.receive(m)));
      await Promise.all(
        ms.flatMap((m) => [
          store.markAccepted(m.id),
          ...Array.from({ length: 9 }, (_, i) => store.update(m.id, { status: 'TRANSFORMED', transformed: `v${i}` })),
        ]),
      );
      for (const m of ms) {
        const got = await store.get(m.id);
        assert.equal(got?.accepted, true);
        // Writes for one id commit in submission order.
        assert.equal(got?.transformed, 'v8');
      }
    });

    it('records stages on the message row', async () => {
      const m = message();
      await store.receive(m);
      await store.update(m.id, { status: 'TRANSFORMED', transformed: '{"resourceType":"Patient"}' });
      let got = await store.get(m.id);
      assert.equal(got?.status, 'TRANSFORMED');
      assert.equal(got?.transformed, '{"resourceType":"Patient"}');
      assert.equal(got?.attempts, 0);
      assert.ok(got && got.updatedAt.getTime() >= got.receivedAt.getTime());

      await store.update(m.id, { status: 'QUEUED' });
      await store.update(m.id, { status: 'ERROR', error: { kind: 'transient', code: 'TRANSIENT_ETIMEDOUT', details: { n: 1 } } });
      await store.update(m.id, { status: 'SENT', sent: 'out', response: 'MSA|AA' });
      got = await store.get(m.id);
      assert.equal(got?.status, 'SENT');
      assert.equal(got?.transformed, '{"resourceType":"Patient"}', 'unset fields are kept');
      assert.equal(got?.sent, 'out');
      assert.equal(got?.response, 'MSA|AA');
      assert.deepEqual(got?.error, { kind: 'transient', code: 'TRANSIENT_ETIMEDOUT', details: { n: 1 } });
      assert.equal(got?.attempts, 2, 'ERROR and SENT are attempts; the first QUEUED is not');
    });

    it('records per-destination outcomes and the worst status on the message', async () => {
      const m = message();
      await store.receive(m);
      await store.update(m.id, { status: 'TRANSFORMED', transformed: 't' });
      await store.update(m.id, { status: 'QUEUED', destination: 'fhir' });
      await store.update(m.id, { status: 'QUEUED', destination: 'nphies' });
      assert.equal((await store.get(m.id))?.status, 'QUEUED');

      await store.update(m.id, { status: 'SENT', destination: 'fhir', sent: 'bundle', response: '201' });
      assert.equal((await store.get(m.id))?.status, 'QUEUED', 'nphies still pending');

      const timeout = { kind: 'transient', code: 'TRANSIENT_ETIMEDOUT' };
      await store.update(m.id, { status: 'QUEUED', destination: 'nphies', sent: 'claim', error: timeout });
      await store.update(m.id, { status: 'ERROR', destination: 'nphies', error: { kind: 'integration', code: 'INTEGRATION_REJECTED' } });

      const got = await store.get(m.id);
      assert.equal(got?.status, 'ERROR');
      assert.equal(got?.transformed, 't');
      assert.equal(got?.sent, null, 'destination content stays on the destination row');
      assert.deepEqual(got?.error, { kind: 'integration', code: 'INTEGRATION_REJECTED' });
      assert.equal(got?.attempts, 3);
      const [fhir, nphies] = got?.destinations ?? [];
      assert.deepEqual(
        { ...fhir, updatedAt: undefined },
        { destination: 'fhir', status: 'SENT', attempts: 1, sent: 'bundle', response: '201', error: null, updatedAt: undefined },
      );
      assert.equal(nphies.destination, 'nphies');
      assert.equal(nphies.status, 'ERROR');
      assert.equal(nphies.attempts, 2);
      assert.equal(nphies.sent, 'claim');
      assert.deepEqual(nphies.error, { kind: 'integration', code: 'INTEGRATION_REJECTED' });
      assert.ok(nphies.updatedAt instanceof Date);

      // A later success on the failed destination clears the message's ERROR.
      await store.update(m.id, { status: 'SENT', destination: 'nphies', response: 'ok' });
      assert.equal((await store.get(m.id))?.status, 'SENT');
    });

    it('ends a batch of updates exactly as the same updates written one at a time', async () => {
      // Submitted without waiting, a message's updates share one group-commit batch (on
      // PostgreSQL: folded into set-based statements); awaited one by one, each is its own batch.
      const timeout = { kind: 'transient', code: 'TRANSIENT_ETIMEDOUT' };
      // Each sequence with the status and attempts it must end with.
      const sequences: Array<[StageUpdate[], string, number]> = [
        [[
          { status: 'TRANSFORMED', transformed: 't' },
          { status: 'QUEUED', destination: 'fhir' },
          { status: 'QUEUED', destination: 'nphies' },
          { status: 'SENT', destination: 'fhir', sent: 'bundle', response: '201' },
          { status: 'QUEUED', destination: 'nphies', sent: 'claim', error: timeout },
          { status: 'ERROR', destination: 'nphies', error: { kind: 'integration', code: 'INTEGRATION_REJECTED' } },
        ], 'ERROR', 3],
        // A direct status after destination outcomes wins over their aggregate.
        [[{ status: 'QUEUED', destination: 'fhir' }, { status: 'SENT', destination: 'fhir', response: 'r' }, { status: 'TRANSFORMED', transformed: 'again' }], 'TRANSFORMED', 1],
        // And a destination outcome after a direct status brings the aggregate back (SENT outranks FILTERED).
        [[{ status: 'ERROR', error: timeout }, { status: 'SENT', destination: 'a', sent: 's' }, { status: 'FILTERED', destination: 'b' }], 'SENT', 2],
        [[{ status: 'TRANSFORMED', transformed: 'x' }, { status: 'QUEUED' }, { status: 'ERROR', error: timeout }, { status: 'SENT', sent: 'out', response: 'MSA|AA' }], 'SENT', 2],
      ];
      const view = (m: StoredMessage | undefined) => m && {
        status: m.status, attempts: m.attempts, transformed: m.transformed, sent: m.sent, response: m.response, error: m.error,
        destinations: (m.destinations ?? []).map((d) => ({ ...d, updatedAt: undefined })),
      };
      for (const [updates, status, attempts] of sequences) {
        const batched = message();
        const oneByOne = message();
        await store.receive(batched);
        await store.receive(oneByOne);
        await Promise.all(updates.map((u) => store.update(batched.id, u)));
        for (const u of updates) await store.update(oneByOne.id, u);
        const got = view(await store.get(batched.id));
        assert.deepEqual(got, view(await store.get(oneByOne.id)), JSON.stringify(updates));
        assert.deepEqual([got?.status, got?.attempts], [status, attempts], JSON.stringify(updates));
      }
    });

    it('shows FILTERED when every destination filtered the message', async () => {
      const m = message();
      await store.receive(m);
      await store.update(m.id, { status: 'FILTERED', destination: 'a' });
      await store.update(m.id, { status: 'FILTERED', destination: 'b' });
      assert.equal((await store.get(m.id))?.status, 'FILTERED');
    });

    it('counts per channel', async () => {
      const statuses = ['RECEIVED', 'TRANSFORMED', 'QUEUED', 'FILTERED', 'SENT', 'SENT', 'ERROR'] as const;
      for (const status of statuses) {
        const m = message();
        await store.receive(m);
        if (status !== 'RECEIVED') await store.update(m.id, { status });
      }
      await store.receive(message({ channel: 'orm' }));
      assert.deepEqual(await store.counters(), {
        adt: { received: 7, filtered: 1, queued: 3, sent: 2, errored: 1 },
        orm: { received: 1, filtered: 0, queued: 1, sent: 0, errored: 0 },
      });
    });

    it('returns no counters for an empty store', async () => {
      assert.deepEqual(await store.counters(), {});
    });

    it('lists newest first with keyset pagination and filters', async () => {
      // Ids ascend with arrival, so rows received in the same millisecond still sort newest first.
      const ids: string[] = [];
      for (let i = 0; i < 25; i++) {
        const id = `m-${String(i).padStart(3, '0')}`;
        ids.push(id);
        await store.receive(message({ id, channel: i % 5 === 0 ? 'orm' : 'adt' }));
        if (i % 2 === 0) await store.update(id, { status: 'SENT' });
      }
      const newestFirst = [...ids].reverse();

      const pages: string[][] = [];
      let beforeId: string | undefined;
      for (;;) {
        const page = await store.list({ limit: 10, beforeId });
        if (page.length === 0) break;
        pages.push(page.map((m) => m.id));
        beforeId = page[page.length - 1].id;
      }
      assert.deepEqual(pages.map((p) => p.length), [10, 10, 5]);
      assert.deepEqual(pages.flat(), newestFirst);

      const orm = await store.list({ channel: 'orm' });
      assert.deepEqual(orm.map((m) => m.id), newestFirst.filter((id) => Number(id.slice(2)) % 5 === 0));
      const sentAdt = await store.list({ channel: 'adt', status: 'SENT', limit: 3 });
      assert.deepEqual(sentAdt.map((m) => m.id), ['m-024', 'm-022', 'm-018']);
      const next = await store.list({ channel: 'adt', status: 'SENT', limit: 3, beforeId: 'm-018' });
      assert.deepEqual(next.map((m) => m.id), ['m-016', 'm-014', 'm-012']);
      assert.equal(sentAdt[0].raw, message().raw);
      assert.equal(sentAdt[0].destinations, undefined);

      assert.deepEqual(await store.list({ beforeId: 'pruned' }), []);
      assert.equal((await store.list({})).length, 25);
      assert.equal((await store.list({ limit: 0 })).length, 1, 'limit is clamped to at least 1');
    });

    it('commits queued writes on close and is safe to close twice', async () => {
      const m = message();
      await store.receive(m);
      const pending = store.update(m.id, { status: 'SENT', sent: 'x' });
      await Promise.all([store.close(), store.close()]);
      await pending;
      await assert.rejects(store.update(m.id, { status: 'ERROR' }), /closed/);
      store = await target.open();
      assert.equal((await store.get(m.id))?.status, 'SENT');
    });
  });
}
