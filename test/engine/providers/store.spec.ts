/**
 * The provider store on SQLite (a temp file) and PostgreSQL (a fresh schema): migration 0005,
 * insert and read back, keyset paging, change detection per field (status, name, taxonomy,
 * address per purpose) recorded with the write, blanks never overwriting stored data, alerts
 * unique per (kind, key).
 */
import assert from 'node:assert/strict';
import { diffProviders, formatAddress, mergeProvider, openProviderStore } from '../../../engine/providers/store';
import type { ProviderRecord, ProviderStore } from '../../../engine/providers/types';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';

const T0 = new Date('2026-01-05T10:00:00.000Z');

function record(npi: string, over: Partial<ProviderRecord> = {}): ProviderRecord {
  return {
    npi,
    kind: 'individual',
    name: 'BOB ABERNATHY, DO',
    taxonomies: ['207Q00000X'],
    addresses: [
      { purpose: 'LOCATION', line: ['1200 N GLENN ENGLISH'], city: 'CORDELL', state: 'OK', postalCode: '736322010', country: 'US', phone: '580-832-3838' },
      { purpose: 'MAILING', line: ['PO BOX 1'], city: 'CORDELL', state: 'OK', postalCode: '73632' },
    ],
    status: 'active',
    source: 'nppes',
    updatedAt: T0.toISOString(),
    ...over,
  };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`engine/providers store (${dialect})`, function () {
    let target: StoreTarget;
    let db: KnexMessageStore;
    let store: ProviderStore;
    let now: Date;

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(async () => {
      target = targetFor(dialect);
      db = await target.open();
      await db.migrate();
      now = T0;
      store = openProviderStore(db.knex, { clock: () => now });
    });

    afterEach(async () => {
      await db?.close();
      await target?.cleanup();
    });

    it('creates the three tables, with (kind, key) unique on alerts', async () => {
      for (const t of ['providers', 'provider_changes', 'provider_alerts']) assert.ok(await db.knex.schema.hasTable(t), t);
      await db.knex('provider_alerts').insert({ kind: 'k', key: 'x', message: 'm', opened_at: dialect === 'postgres' ? new Date() : Date.now() });
      await assert.rejects(db.knex('provider_alerts').insert({ kind: 'k', key: 'x', message: 'm2', opened_at: dialect === 'postgres' ? new Date() : Date.now() }));
    });

    it('stores a new record without changes and reads it back as it was', async () => {
      const r = record('1114920071', { caqhProviderId: '12345678', attestedOn: '2025-11-01' });
      assert.deepEqual(await store.upsert(r), []);
      assert.deepEqual(await store.get('1114920071'), r);
      assert.equal(await store.get('1234567893'), undefined);
      assert.deepEqual(await store.changes('1114920071'), []);
    });

    it('lists by NPI in pages (keyset on afterNpi)', async () => {
      const npis = ['1932510609', '1043467608', '1508193921', '1114920071', '1568946812'];
      for (const n of npis) await store.upsert(record(n));
      const first = await store.list({ limit: 2 });
      const second = await store.list({ limit: 2, afterNpi: first[1].npi });
      const third = await store.list({ limit: 2, afterNpi: second[1].npi });
      assert.deepEqual([...first, ...second, ...third].map((r) => r.npi), [...npis].sort());
      assert.equal((await store.list()).length, 5);
    });

    it('records each change with before, after, source and time: status, name, taxonomy, address per purpose', async () => {
      await store.upsert(record('1114920071'));
      now = new Date('2026-01-12T10:00:00.000Z');
      const changes = await store.upsert(
        record('1114920071', {
          name: 'ROBERT ABERNATHY, DO',
          taxonomies: ['207Q00000X', '207R00000X'],
          addresses: [
            { purpose: 'LOCATION', line: ['9 NEW RD', 'STE 2'], city: 'TULSA', state: 'OK', postalCode: '74101', country: 'US' },
            { purpose: 'MAILING', line: ['PO BOX 1'], city: 'CORDELL', state: 'OK', postalCode: '73632' },
          ],
          status: 'deactivated',
          deactivatedOn: '2026-01-10',
          source: 'revalidation',
        }),
      );
      const at = '2026-01-12T10:00:00.000Z';
      assert.deepEqual(changes, [
        { npi: '1114920071', field: 'status', before: 'active', after: 'deactivated 2026-01-10', source: 'revalidation', at },
        { npi: '1114920071', field: 'name', before: 'BOB ABERNATHY, DO', after: 'ROBERT ABERNATHY, DO', source: 'revalidation', at },
        { npi: '1114920071', field: 'taxonomy', before: '207Q00000X', after: '207Q00000X,207R00000X', source: 'revalidation', at },
        { npi: '1114920071', field: 'address', before: 'LOCATION: 1200 N GLENN ENGLISH, CORDELL, OK 736322010', after: 'LOCATION: 9 NEW RD STE 2, TULSA, OK 74101', source: 'revalidation', at },
      ]);
      assert.deepEqual(await store.changes('1114920071'), changes);
      const stored = await store.get('1114920071');
      assert.equal(stored?.status, 'deactivated');
      assert.equal(stored?.deactivatedOn, '2026-01-10');
      assert.equal(stored?.name, 'ROBERT ABERNATHY, DO');
      // The same again: nothing new.
      assert.deepEqual(await store.upsert({ ...stored!, source: 'revalidation' }), []);
      assert.equal((await store.changes('1114920071')).length, 4);
    });

    it('an added or removed address purpose is a change; a new phone number alone is not', async () => {
      await store.upsert(record('1114920071'));
      const base = record('1114920071');
      assert.deepEqual(await store.upsert({ ...base, addresses: [{ ...base.addresses[0], phone: '555' }, base.addresses[1]] }), []);
      const practice = { purpose: 'PRACTICE', line: ['5 PRACTICE WAY'], city: 'ENID', state: 'OK', postalCode: '73701' };
      const added = await store.upsert({ ...base, addresses: [...base.addresses, practice] });
      assert.deepEqual(added.map((c) => [c.field, c.before, c.after]), [['address', '', 'PRACTICE: 5 PRACTICE WAY, ENID, OK 73701']]);
    });

    it('never overwrites with blanks: empty name, lists and missing CAQH fields keep what is stored', async () => {
      await store.upsert(record('1114920071', { caqhProviderId: 'C1', attestedOn: '2025-10-01' }));
      const changes = await store.upsert({ ...record('1114920071'), name: ' ', taxonomies: [], addresses: [], source: 'caqh' });
      assert.deepEqual(changes, []);
      const stored = await store.get('1114920071');
      assert.equal(stored?.name, 'BOB ABERNATHY, DO');
      assert.deepEqual(stored?.taxonomies, ['207Q00000X']);
      assert.equal(stored?.addresses.length, 2);
      assert.equal(stored?.caqhProviderId, 'C1');
      assert.equal(stored?.attestedOn, '2025-10-01');
      assert.equal(stored?.source, 'caqh');
      const attested = await store.upsert({ ...record('1114920071'), attestedOn: '2026-01-01', source: 'caqh' });
      assert.deepEqual(attested.map((c) => [c.field, c.before, c.after]), [['attestedOn', '2025-10-01', '2026-01-01']]);
    });

    it('reactivation clears the deactivation date', async () => {
      await store.upsert(record('1114920071', { status: 'deactivated', deactivatedOn: '2025-01-01' }));
      const changes = await store.upsert(record('1114920071'));
      assert.deepEqual(changes.map((c) => [c.field, c.before, c.after]), [['status', 'deactivated 2025-01-01', 'active']]);
      assert.equal((await store.get('1114920071'))?.deactivatedOn, undefined);
    });

    it('concurrent upserts of one new NPI: one row, no error', async () => {
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => store.upsert(record('1114920071', { name: i === 0 ? 'BOB ABERNATHY, DO' : 'BOB ABERNATHY, DO' }))));
      assert.ok(results.every((c) => c.length === 0));
      assert.equal((await store.list()).length, 1);
    });

    it('raises an alert once per (kind, key) and lists them, optionally by kind', async () => {
      assert.equal(await store.raiseAlert({ kind: 'npi-deactivated', key: '1114920071', message: 'NPI 1114920071 is deactivated' }), true);
      assert.equal(await store.raiseAlert({ kind: 'npi-deactivated', key: '1114920071', message: 'again' }), false);
      assert.equal(await store.raiseAlert({ kind: 'caqh-attestation-due', key: '1114920071', message: 'other kind, same key' }), true);
      assert.equal(await store.raiseAlert({ kind: 'npi-deactivated', key: '1568946812', message: 'another NPI' }), true);
      const all = await store.alerts();
      assert.deepEqual(all.map((a) => [a.kind, a.key, a.message]), [
        ['npi-deactivated', '1114920071', 'NPI 1114920071 is deactivated'],
        ['caqh-attestation-due', '1114920071', 'other kind, same key'],
        ['npi-deactivated', '1568946812', 'another NPI'],
      ]);
      assert.equal(all[0].openedAt, T0.toISOString());
      assert.equal((await store.alerts({ kind: 'npi-deactivated' })).length, 2);
    });
  });
}

describe('engine/providers store helpers', () => {
  it('formatAddress writes one line, with the country when not US', () => {
    assert.equal(formatAddress({ purpose: 'LOCATION', line: ['1 A  ST', ''], city: 'X', state: 'MD', postalCode: '21201', country: 'US' }), '1 A ST, X, MD 21201');
    assert.equal(formatAddress({ purpose: 'LOCATION', line: ['1 Rue'], city: 'Paris', state: '', postalCode: '75001', country: 'fr' }), '1 Rue, Paris, 75001, FR');
  });

  it('diffProviders ignores case and spacing in names and addresses', () => {
    const a = record('1114920071');
    assert.deepEqual(diffProviders(a, { ...a, name: 'bob  abernathy, do' }), []);
  });

  it('mergeProvider drops undefined fields', () => {
    const merged = mergeProvider(record('1114920071'), record('1114920071'));
    assert.ok(!Object.values(merged).includes(undefined));
  });
});
