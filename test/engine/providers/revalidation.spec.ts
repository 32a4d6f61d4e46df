/**
 * NPPES revalidation against the simulator over HTTP, with the provider store on SQLite (and
 * PostgreSQL): every known provider is looked up again (bypassing the cache); a deactivation
 * (dropped by the API, or listed as deactivated) raises exactly one alert and a second run none;
 * name, address and taxonomy changes are recorded; failed lookups change nothing; pages of the
 * store are walked; the schedule parser and the timer.
 */
import assert from 'node:assert/strict';
import { createNppesAdapter, type NppesAdapter } from '../../../connectors/nppes/client';
import { NppesRevalidationJob, parseSchedule, providerRecordFromNppes, type RevalidationReport } from '../../../engine/providers/revalidation';
import { openProviderStore } from '../../../engine/providers/store';
import type { ProviderStore } from '../../../engine/providers/types';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { startNppesSimulator, type NppesSimulator } from '../../simulators/nppes/server';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';

const NPIS = ['1114920071', '1780689109', '1225035769', '1568946812', '1932668134'];

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`engine/providers NPPES revalidation (${dialect})`, function () {
    this.timeout(30_000);
    let sim: NppesSimulator;
    let nppes: NppesAdapter;
    let target: StoreTarget;
    let db: KnexMessageStore;
    let store: ProviderStore;

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(async () => {
      sim = await startNppesSimulator();
      nppes = createNppesAdapter({ baseUrl: sim.url, retry: { maxAttempts: 1 } });
      target = targetFor(dialect);
      db = await target.open();
      await db.migrate();
      store = openProviderStore(db.knex);
      // What Wasl knows: the providers as NPPES had them when first looked up.
      for (const npi of NPIS) await store.upsert(providerRecordFromNppes((await nppes.lookup(npi))!, new Date('2026-01-01T00:00:00Z')));
      sim.resetStats();
    });

    afterEach(async () => {
      await nppes?.close();
      await sim?.close();
      await db?.close();
      await target?.cleanup();
    });

    it('finds nothing to change when NPPES has not changed, and asks NPPES afresh for every provider (no cache)', async () => {
      const job = new NppesRevalidationJob({ store, nppes });
      const report = await job.runOnce();
      assert.equal(report.checked, NPIS.length);
      assert.equal(report.unchanged, NPIS.length);
      assert.deepEqual([report.changed, report.deactivated, report.alertsRaised, report.failed], [0, 0, 0, 0]);
      for (const npi of NPIS) assert.equal(sim.stats.byNumber[npi], 1, npi);
      await job.runOnce();
      for (const npi of NPIS) assert.equal(sim.stats.byNumber[npi], 2, `${npi} asked again, not cached`);
    });

    it('a deactivation (the API stops listing the NPI) raises exactly one alert; a second run raises none', async () => {
      sim.deactivate('1780689109');
      const job = new NppesRevalidationJob({ store, nppes, clock: () => new Date('2026-02-01T08:00:00Z') });
      const first = await job.runOnce();
      assert.equal(first.deactivated, 1);
      assert.equal(first.alertsRaised, 1);
      assert.deepEqual(first.changes.map((c) => [c.npi, c.field, c.before, c.after]), [['1780689109', 'status', 'active', 'deactivated 2026-02-01']]);
      const alerts = await store.alerts({ kind: 'npi-deactivated' });
      assert.equal(alerts.length, 1);
      assert.equal(alerts[0].key, '1780689109');
      assert.match(alerts[0].message, /NPI 1780689109 is no longer listed by NPPES/);
      const stored = await store.get('1780689109');
      assert.equal(stored?.status, 'deactivated');
      assert.equal(stored?.name, 'BOB ERDELYI, MD', 'what we knew is kept');

      const second = await job.runOnce();
      assert.equal(second.alertsRaised, 0);
      assert.equal(second.deactivated, 0);
      assert.equal(second.changed, 0);
      assert.equal((await store.alerts()).length, 1);
      assert.equal((await store.changes('1780689109')).length, 1);
    });

    it('a record NPPES lists as deactivated (status D) gives its date, one alert', async () => {
      sim.deactivate('1568946812', { mode: 'flagged', date: '2025-12-15' });
      const job = new NppesRevalidationJob({ store, nppes });
      const report = await job.runOnce();
      assert.equal(report.alertsRaised, 1);
      assert.equal((await store.get('1568946812'))?.deactivatedOn, '2025-12-15');
      assert.match((await store.alerts())[0].message, /deactivated on 2025-12-15/);
      assert.equal((await job.runOnce()).alertsRaised, 0);
    });

    it('records name, address and taxonomy changes', async () => {
      sim.setBasic('1114920071', { first_name: 'ROBERT' });
      sim.setAddress('1225035769', 'LOCATION', { address_1: '1 OCEAN BLVD', city: 'ISLIP', postal_code: '117511234' });
      sim.setTaxonomies('1932668134', [{ code: '207R00000X', desc: 'Internal Medicine', primary: true }]);
      const report = await new NppesRevalidationJob({ store, nppes }).runOnce();
      assert.equal(report.changed, 3);
      assert.equal(report.alertsRaised, 0);
      assert.deepEqual((await store.changes('1114920071')).map((c) => [c.field, c.before, c.after, c.source]), [['name', 'BOB ABERNATHY, DO', 'ROBERT ABERNATHY, DO', 'nppes']]);
      assert.deepEqual((await store.changes('1225035769')).map((c) => [c.field, c.before, c.after]), [['address', 'LOCATION: 756 E PARK AVE, LONG BEACH, NY 115612605', 'LOCATION: 1 OCEAN BLVD, ISLIP, NY 117511234']]);
      const tax = await store.changes('1932668134');
      assert.equal(tax.length, 1);
      assert.equal(tax[0].field, 'taxonomy');
      assert.equal(tax[0].after, '207R00000X');
      assert.equal((await store.get('1114920071'))?.name, 'ROBERT ABERNATHY, DO');
    });

    it('a reactivated NPI is recorded as a status change back to active', async () => {
      sim.deactivate('1114920071');
      const job = new NppesRevalidationJob({ store, nppes });
      await job.runOnce();
      sim.reactivate('1114920071');
      const report = await job.runOnce();
      assert.equal(report.reactivated, 1);
      assert.equal((await store.get('1114920071'))?.status, 'active');
      assert.equal((await store.get('1114920071'))?.deactivatedOn, undefined);
    });

    it('a failed lookup changes nothing and is reported; the run goes on', async () => {
      sim.inject({ type: 'status', status: 500 });
      const report = await new NppesRevalidationJob({ store, nppes }, { concurrency: 1 }).runOnce();
      assert.equal(report.failed, 1);
      assert.equal(report.checked, NPIS.length - 1);
      assert.deepEqual(report.errors, [{ npi: [...NPIS].sort()[0], code: 'TRANSIENT_ADAPTER_HTTP_500' }]);
      assert.equal(report.alertsRaised, 0, 'an outage is not a deactivation');
      assert.equal((await store.get([...NPIS].sort()[0]))?.status, 'active');
    });

    it('walks the store page by page', async () => {
      const pages: number[] = [];
      const paged: ProviderStore = { ...store, list: async (o) => { const r = await store.list(o); pages.push(r.length); return r; }, upsert: (r) => store.upsert(r), raiseAlert: (a) => store.raiseAlert(a) };
      const report = await new NppesRevalidationJob({ store: paged, nppes }, { pageSize: 2 }).runOnce();
      assert.equal(report.checked, NPIS.length);
      assert.deepEqual(pages, [2, 2, 1]);
    });

    it('runs on its schedule (unref timer) and calls onRun; stop() ends it', async () => {
      const reports: RevalidationReport[] = [];
      const job = new NppesRevalidationJob({ store, nppes }, { schedule: '50ms', onRun: (r) => reports.push(r) });
      job.start();
      job.start(); // idempotent
      const until = Date.now() + 5000;
      while (reports.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      await job.stop();
      const n = reports.length;
      assert.ok(n >= 2, `ran ${n} times`);
      await new Promise((r) => setTimeout(r, 120));
      assert.equal(reports.length, n, 'no run after stop');
      assert.ok(reports.every((r) => r.checked === NPIS.length));
    });
  });
}

describe('engine/providers revalidation schedule', () => {
  it('parses weekly (default), daily, hourly, <n><unit>, every …, ISO 8601 durations and milliseconds', () => {
    assert.equal(parseSchedule(undefined), 7 * 86_400_000);
    assert.equal(parseSchedule('weekly'), 7 * 86_400_000);
    assert.equal(parseSchedule('Daily'), 86_400_000);
    assert.equal(parseSchedule('hourly'), 3_600_000);
    assert.equal(parseSchedule('12h'), 12 * 3_600_000);
    assert.equal(parseSchedule('every 3d'), 3 * 86_400_000);
    assert.equal(parseSchedule('2w'), 14 * 86_400_000);
    assert.equal(parseSchedule('500ms'), 500);
    assert.equal(parseSchedule('P7D'), 7 * 86_400_000);
    assert.equal(parseSchedule('PT6H30M'), 6.5 * 3_600_000);
    assert.equal(parseSchedule(60_000), 60_000);
    assert.equal(parseSchedule('60000'), 60_000);
    for (const bad of ['fortnightly', '0s', '-1h', 'P', 'PT', 0, -5, '* * * * *']) assert.throws(() => parseSchedule(bad), /schedule must be/, String(bad));
  });
});
