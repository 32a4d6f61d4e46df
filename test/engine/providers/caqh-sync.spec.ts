/**
 * CAQH ProView sync (engine/providers/caqh-sync.ts) on SQLite (all migrations, the provider store
 * of 0005 and the CAQH tables of 0006) against the CAQH simulator over loopback HTTP: roster add
 * and polling, import into provider records, export of roster changes, the submission ledger,
 * supporting-document metadata, and re-attestation alerts once per threshold.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { WaslError } from '../../../common/errors';
import { createCaqhAdapter, type CaqhAdapter } from '../../../connectors/caqh/client';
import { ATTESTATION_ALERT_KIND, CaqhSync, addDays, startCaqhScheduler, type CaqhSyncSettings, type CaqhSyncRunSummary } from '../../../engine/providers/caqh-sync';
import { openProviderStore } from '../../../engine/providers/store';
import type { ProviderStore } from '../../../engine/providers/types';
import * as m0005 from '../../../engine/store/migrations/0005_providers';
import * as m0006 from '../../../engine/store/migrations/0006_caqh';
import { capturingLogger } from '../../support/logging';
import { INITIAL_ADD, NPI_2, NPI_3 } from '../../connectors/caqh/fixtures';
import { startCaqhSimulator, type CaqhSimulator, type CaqhSimulatorOptions } from '../../simulators/caqh/server';

const NPI = '1234567893';
const FAST_POLL = { initialDelayMs: 2, maxDelayMs: 10, maxWaitMs: 5_000 };

async function rejects(p: Promise<unknown>): Promise<WaslError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WaslError, `not a WaslError: ${String(err)}`);
    return err;
  }
  assert.fail('did not reject');
}

describe('CAQH sync (SQLite + simulator)', () => {
  let dir: string;
  let knex: Knex;
  let sim: CaqhSimulator;
  let adapter: CaqhAdapter;
  let providers: ProviderStore;
  let now: Date;
  let logLines: string[];
  let documentsSeen: Array<{ version: number; bytes: Buffer }>;

  async function setup(simOpts: CaqhSimulatorOptions = {}, settings: CaqhSyncSettings = {}): Promise<CaqhSync> {
    sim = await startCaqhSimulator({ pollsUntilComplete: 1, ...simOpts });
    adapter = createCaqhAdapter(
      { baseUrl: sim.url, organizationId: sim.organizationId, usernameEnv: 'U', passwordEnv: 'P', timeoutMs: 2_000, retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 }, poll: FAST_POLL },
      { env: { U: sim.credentials.username, P: sim.credentials.password }, logger: capturingLogger().logger },
    );
    const { logger, lines } = capturingLogger();
    logLines = lines;
    documentsSeen = [];
    return new CaqhSync({
      adapter,
      providers,
      knex,
      settings,
      now: () => now,
      logger,
      onDocument: (v, bytes) => {
        documentsSeen.push({ version: v.version, bytes });
      },
    });
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-caqh-'));
    // Only the migrations this feature needs (0005 providers, 0006 CAQH), not the whole list: the
    // spec stays about CAQH, and 0006 is checked to stand on 0005 alone.
    knex = knexFactory({ client: 'better-sqlite3', connection: { filename: path.join(dir, 'wasl.db') }, useNullAsDefault: true });
    await m0005.up(knex);
    await m0006.up(knex);
    now = new Date('2025-02-01T09:00:00Z');
    providers = openProviderStore(knex, { clock: () => now });
  });

  afterEach(async () => {
    // Sync logs name NPIs and CAQH ids, never names, SSNs or birth dates.
    const log = (logLines ?? []).join('');
    for (const phi of ['Test', 'Provider ', '000000000', '19700101', '1 Main St']) assert.ok(!log.includes(phi), `log holds ${phi}`);
    await adapter?.close();
    await sim?.close();
    await m0006.down(knex);
    assert.equal(await knex.schema.hasTable('caqh_roster'), false);
    await knex.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds to the roster, polls the batch to completion and imports the provider record', async () => {
    const sync = await setup({ pollsUntilComplete: 1 });
    const batch = await sync.addToRoster([{ npi: NPI, entry: INITIAL_ADD }]);
    assert.equal(batch.status, 'pending');
    assert.ok(batch.batchId);
    assert.equal((await sync.rosterRow(NPI))?.state, 'pending_batch');

    const first = await sync.runOnce();
    assert.equal(first.batchesPolled, 1);
    assert.equal(first.batchesCompleted, 0);
    assert.equal((await sync.batch(batch.id))?.batchStatus, 'In Process');

    now = new Date('2025-02-02T09:00:00Z');
    sim.setAttestation('10000001', '2025-01-20');
    const second = await sync.runOnce();
    assert.equal(second.batchesCompleted, 1);
    assert.deepEqual(second.errors, []);
    const stored = await sync.batch(batch.id);
    assert.equal(stored?.status, 'complete');
    assert.equal(stored?.polls, 2);
    assert.equal(stored?.lines?.[0].outcome, 'accepted');

    const row = await sync.rosterRow(NPI);
    assert.equal(row?.state, 'rostered');
    assert.equal(row?.caqhProviderId, '10000001');
    assert.equal(row?.poProviderId, 'P-1');
    assert.equal(row?.providerStatus, 'Re-attestation');
    assert.equal(row?.attestedOn, '2025-01-20');
    assert.equal(row?.authorized, true);
    assert.equal(second.providersImported, 1);

    const record = await providers.get(NPI);
    assert.ok(record, 'imported into the provider records');
    assert.equal(record.source, 'caqh');
    assert.equal(record.caqhProviderId, '10000001');
    assert.equal(record.attestedOn, '2025-01-20');
    assert.equal(record.name, 'Test Provider');
    assert.equal(record.kind, 'individual');
    assert.deepEqual(record.addresses, [{ purpose: 'MAILING', line: ['1 Main St'], city: 'Denver', state: 'CO', postalCode: '80202', country: 'US' }]);
    // The roster row keeps directory fields only.
    const raw = await knex('caqh_roster').where({ npi: NPI }).first();
    assert.doesNotMatch(String(raw.profile), /000000000|19700101/);
  });

  it('imports into an existing (NPPES) record without overwriting its name or taxonomies', async () => {
    const sync = await setup();
    await providers.upsert({ npi: NPI, kind: 'individual', name: 'TEST PROVIDER, MD', taxonomies: ['207Q00000X'], addresses: [], status: 'active', source: 'nppes', updatedAt: now.toISOString() });
    sim.setProvider('10000007', { practiceState: 'CO' });
    sim.setAttestation('10000007', '2025-01-10');
    await sync.linkProvider(NPI, '10000007');
    const res = await sync.importProvider(NPI);
    assert.equal(res?.status.providerStatus, 'Re-attestation');
    const record = await providers.get(NPI);
    assert.equal(record?.name, 'TEST PROVIDER, MD');
    assert.deepEqual(record?.taxonomies, ['207Q00000X']);
    assert.equal(record?.caqhProviderId, '10000007');
    assert.equal(record?.attestedOn, '2025-01-10');
    assert.equal(record?.source, 'caqh');

    // A later in-progress status says nothing about attestation: the known date stays.
    sim.setProvider('10000007', { providerStatus: 'Re-attestation In Progress', providerStatusDate: '2025-05-01' });
    await sync.importProvider(NPI);
    assert.equal((await sync.rosterRow(NPI))?.attestedOn, '2025-01-10');
    assert.equal((await providers.get(NPI))?.attestedOn, '2025-01-10');
  });

  it('refuses to import a provider with no record and no directory fields', async () => {
    const sync = await setup();
    sim.setProvider('10000008');
    await sync.linkProvider(NPI_2, '10000008');
    const err = await rejects(sync.importProvider(NPI_2));
    assert.equal(err.code, 'VALIDATION_CAQH_IMPORT_PROFILE');
    await sync.importProvider(NPI_2, { profile: { firstName: 'Second', lastName: 'Person', taxonomies: ['363L00000X'] } });
    const record = await providers.get(NPI_2);
    assert.equal(record?.name, 'Second Person');
    assert.deepEqual(record?.taxonomies, ['363L00000X']);
  });

  it('records per-provider roster exceptions', async () => {
    const sync = await setup({ pollsUntilComplete: 0 });
    const batch = await sync.addToRoster([{ npi: NPI_2, entry: { caqh_provider_id: '99999999' } }]);
    const settled = await sync.settleBatch(batch.id, FAST_POLL);
    assert.equal(settled.status, 'complete');
    const row = await sync.rosterRow(NPI_2);
    assert.equal(row?.state, 'exception');
    assert.equal(row?.exceptionDescription, 'Quick Add: CAQH Provider ID not found');
    assert.equal(row?.poProviderId, NPI_2, 'po_provider_id defaults to the NPI');
  });

  it('never re-submits the same roster payload; a lost answer blocks it until forced', async () => {
    const sync = await setup({ pollsUntilComplete: 0 });
    const a = await sync.addToRoster([{ npi: NPI, entry: INITIAL_ADD }]);
    const b = await sync.addToRoster([{ npi: NPI, entry: INITIAL_ADD }]);
    assert.equal(b.id, a.id);
    assert.equal(sim.stats.batches, 1);

    // The answer is lost (socket dropped after the request left): CAQH may have the batch.
    const entry = { ...INITIAL_ADD, po_provider_id: 'P-X', provider: { ...INITIAL_ADD.provider, npi: NPI_2 } };
    sim.inject({ type: 'drop' });
    const lost = await rejects(sync.addToRoster([{ npi: NPI_2, entry }]));
    assert.equal(lost.kind, 'transient');
    assert.equal((await sync.batches({ status: 'uncertain' })).length, 1);
    const blocked = await rejects(sync.addToRoster([{ npi: NPI_2, entry }]));
    assert.equal(blocked.code, 'INTEGRATION_CAQH_SUBMISSION_UNCERTAIN');
    const forced = await sync.addToRoster([{ npi: NPI_2, entry }], { force: true });
    assert.equal(forced.status, 'pending');

    // CAQH answered (401): nothing was created, so the same payload may go again later.
    const refusedSync = new CaqhSync({ adapter: createCaqhAdapter({ baseUrl: sim.url, organizationId: '1234' }, { env: { CAQH_USERNAME: 'x', CAQH_PASSWORD: 'y' }, logger: capturingLogger().logger }), providers, knex, now: () => now, logger: capturingLogger().logger });
    const third = { ...entry, po_provider_id: 'P-Y', provider: { ...entry.provider, npi: NPI_3 } };
    assert.equal((await rejects(refusedSync.addToRoster([{ npi: NPI_3, entry: third }]))).code, 'INTEGRATION_CAQH_UNAUTHORIZED');
    assert.equal((await sync.batches({ status: 'refused' })).length, 1);
    assert.equal((await sync.addToRoster([{ npi: NPI_3, entry: third }])).status, 'pending');

    // Rostered (or being added): another add is refused unless forced.
    await sync.pollBatches();
    assert.equal((await sync.rosterRow(NPI))?.state, 'rostered');
    const again = await rejects(sync.addToRoster([{ npi: NPI, entry: { ...INITIAL_ADD, po_provider_id: 'P-1b' } }]));
    assert.equal(again.code, 'VALIDATION_CAQH_ALREADY_ROSTERED');
    const batches = sim.stats.batches;
    await sync.addToRoster([{ npi: NPI, entry: INITIAL_ADD }], { force: true });
    assert.equal(sim.stats.batches, batches + 1, 'the same payload again, after its batch finished, with force');
  });

  it('a submission that never left (connection refused) is not uncertain', async () => {
    const sync = await setup();
    await sim.close();
    const err = await rejects(sync.addToRoster([{ npi: NPI, entry: INITIAL_ADD }]));
    assert.equal(err.code, 'TRANSIENT_ADAPTER_UNAVAILABLE');
    const [refused] = await sync.batches();
    assert.equal(refused.status, 'refused');
    assert.equal(refused.errorCode, 'TRANSIENT_ADAPTER_UNAVAILABLE');
    assert.equal((await sync.batches({ status: 'uncertain' })).length, 0);
  });

  it('exports a roster change back to CAQH (update batch) and applies it when accepted', async () => {
    const sync = await setup({ pollsUntilComplete: 1 });
    sim.setProvider('10000003', { poProviderId: NPI });
    await sync.linkProvider(NPI, '10000003');
    const batch = await sync.exportRosterChanges(NPI, { next_recredential_date: '2026-03-01', last_recredential_date: '20230301' });
    assert.ok(batch);
    assert.equal(batch.action, 'update');
    const put = sim.requests.find((r) => r.method === 'PUT');
    assert.deepEqual(put?.body, [{ organization_id: '1234', caqh_provider_id: '10000003', last_recredential_date: '20230301', next_recredential_date: '20260301' }]);
    const settled = await sync.settleBatch(batch.id, FAST_POLL);
    assert.equal(settled.status, 'complete');
    const row = await sync.rosterRow(NPI);
    assert.equal(row?.nextRecredentialDate, '2026-03-01');
    assert.equal(row?.lastRecredentialDate, '2023-03-01');
    assert.equal(sim.providers.get('10000003')?.attributes.next_recredential_date, '20260301');

    assert.equal(await sync.exportRosterChanges(NPI, { next_recredential_date: '2026-03-01' }), undefined, 'nothing changed: nothing sent');
    const requests = sim.stats.requests;
    const moved = await sync.exportRosterChanges(NPI, { next_recredential_date: '2026-04-01', last_recredential_date: '2023-03-01' });
    assert.deepEqual((sim.requests.at(-1)?.body as unknown[])[0], { organization_id: '1234', caqh_provider_id: '10000003', next_recredential_date: '20260401' });
    assert.ok(moved && sim.stats.requests === requests + 1);
    const same = await sync.exportRosterChanges(NPI, { next_recredential_date: '2026-04-01' });
    assert.equal(same?.id, moved.id, 'still in flight: the same batch, not a second request');
    assert.equal(sim.stats.requests, requests + 1);
    await sync.settleBatch(moved.id, FAST_POLL);
    // Back to the first date: the same payload as the first batch, which has finished: sent again.
    const back = await sync.exportRosterChanges(NPI, { next_recredential_date: '2026-03-01' });
    assert.ok(back && back.id !== batch.id);
    await sync.settleBatch(back.id, FAST_POLL);
    assert.equal(sim.providers.get('10000003')?.attributes.next_recredential_date, '20260301');
    assert.equal((await rejects(sync.exportRosterChanges(NPI_2, { delegation_flag: 'Y' }))).code, 'VALIDATION_CAQH_NOT_ROSTERED');
  });

  it('de-rosters a provider', async () => {
    const sync = await setup({ pollsUntilComplete: 0 });
    sim.setProvider('10000004');
    await sync.linkProvider(NPI, '10000004');
    const batch = await sync.removeFromRoster(NPI);
    await sync.settleBatch(batch.id, FAST_POLL);
    assert.equal((await sync.rosterRow(NPI))?.state, 'derostered');
    assert.equal(sim.providers.get('10000004')?.onRoster, false);
    assert.equal((await rejects(sync.removeFromRoster(NPI))).code, 'VALIDATION_CAQH_NOT_ROSTERED');
  });

  it('syncs supporting-document metadata: versions by hash, reasons when withheld', async () => {
    const sync = await setup({}, { documentTypes: ['AAR', 'CV'] });
    sim.setProvider('10000005');
    await sync.linkProvider(NPI, '10000005');
    await sync.importProvider(NPI, { profile: { firstName: 'Doc', lastName: 'Holder' } });
    const v1 = Buffer.from('%PDF-1.4 v1');
    sim.setDocument('10000005', 'AAR', v1);

    const first = await sync.syncDocuments();
    assert.equal(first.checked, 2);
    assert.deepEqual(first.errors, []);
    assert.equal(first.newVersions.length, 1);
    assert.deepEqual(first.newVersions[0], {
      caqhProviderId: '10000005',
      documentType: 'AAR',
      version: 1,
      sha256: crypto.createHash('sha256').update(v1).digest('hex'),
      sizeBytes: v1.length,
      contentType: 'application/pdf',
      fetchedAt: now,
      checkedAt: now,
    });
    const check = await knex('caqh_document_checks').where({ caqh_provider_id: '10000005', document_type: 'CV' }).first();
    assert.equal(check.reason, 'Document not found');
    assert.equal(Number(check.available), 0);

    assert.equal((await sync.syncDocuments()).newVersions.length, 0, 'same bytes: no new version');
    sim.setDocument('10000005', 'AAR', Buffer.from('%PDF-1.4 v2'));
    const third = await sync.syncDocuments();
    assert.equal(third.newVersions[0]?.version, 2);
    assert.deepEqual((await sync.documents('10000005')).map((d) => d.version), [2, 1]);
    assert.deepEqual(documentsSeen.map((d) => d.version), [1, 2]);

    // Not authorized: CAQH would refuse, so Wasl does not ask.
    sim.setProvider('10000005', { authorizationFlag: 'N' });
    await sync.importProvider(NPI);
    const requests = sim.stats.requests;
    assert.equal((await sync.syncDocuments()).checked, 0);
    assert.equal(sim.stats.requests, requests);
  });

  it('raises attestation alerts at 90, 60 and 30 days before the 120-day deadline, each exactly once', async () => {
    const sync = await setup();
    sim.setProvider('10000006', { practiceState: 'CO' });
    sim.setAttestation('10000006', '2025-01-01');
    await sync.linkProvider(NPI, '10000006', { firstName: 'Alert', lastName: 'Case' });
    await sync.importProvider(NPI);
    const deadline = '2025-05-01';
    assert.equal(sync.deadlineFor('2025-01-01', 'CO'), deadline);

    const at = (daysBefore: number) => addDays(deadline, -daysBefore);
    const raised: Record<number, number[]> = {};
    for (const d of [91, 90, 90, 89, 61, 60, 60, 59, 31, 30, 30, 29, 5]) {
      raised[d] = [...(raised[d] ?? []), ...(await sync.checkAttestations(at(d))).map((a) => a.thresholdDays)];
    }
    assert.deepEqual(raised, { 91: [], 90: [90], 89: [], 61: [], 60: [60], 59: [], 31: [], 30: [30], 29: [], 5: [] });

    const alerts = await providers.alerts({ kind: ATTESTATION_ALERT_KIND });
    assert.deepEqual(alerts.map((a) => a.key).sort(), ['10000006:30', '10000006:60', '10000006:90']);
    const ninety = alerts.find((a) => a.key === '10000006:90');
    assert.match(ninety?.message ?? '', /10000006/);
    assert.match(ninety?.message ?? '', /2025-05-01/);
    assert.doesNotMatch(alerts.map((a) => a.message).join(' '), /Alert|Case/);

    // The scheduled run raises through the same path (nothing new here).
    now = new Date(`${at(10)}T08:00:00Z`);
    const summary = await sync.runOnce();
    assert.equal(summary.alertsRaised, 0);
    assert.equal((await providers.alerts({ kind: ATTESTATION_ALERT_KIND })).length, 3);
  });

  it('raises only the tightest threshold when several were crossed, and uses the Illinois cycle and configured thresholds', async () => {
    const sync = await setup({}, { alertThresholdDays: [45, 15], stateCycleDays: { IL: 180 }, alertKey: 'threshold-and-deadline' });
    sim.setProvider('10000010', { practiceState: 'IL' });
    sim.setAttestation('10000010', '2025-01-01');
    await sync.linkProvider(NPI, '10000010', { firstName: 'Illinois', lastName: 'Provider' });
    await sync.importProvider(NPI);
    const deadline = sync.deadlineFor('2025-01-01', 'IL');
    assert.equal(deadline, '2025-06-30');
    assert.deepEqual(await sync.checkAttestations(addDays(deadline, -46)), []);
    const late = await sync.checkAttestations(addDays(deadline, -10));
    assert.deepEqual(late.map((a) => [a.thresholdDays, a.daysLeft, a.key]), [[15, 10, `10000010:15:${deadline}`]]);
    assert.deepEqual(await sync.checkAttestations(addDays(deadline, -1)), []);

    // Re-attested: a new cycle, new alerts (with the per-cycle key).
    sim.setAttestation('10000010', '2025-06-20');
    await sync.importProvider(NPI);
    const next = await sync.checkAttestations(addDays('2025-06-20', 180 - 45));
    assert.deepEqual(next.map((a) => a.key), ['10000010:45:2025-12-17']);
  });

  it('scheduler: runs on its interval, never overlaps, stops cleanly', async () => {
    let runs = 0;
    let release: () => void = () => undefined;
    const fake = {
      runOnce: () =>
        new Promise<CaqhSyncRunSummary>((resolve) => {
          runs += 1;
          release = () => resolve({ batchesPolled: 0, batchesCompleted: 0, providersChecked: 0, providersImported: 0, documentsChecked: 0, documentVersions: 0, alertsRaised: 0, errors: [] });
        }),
    };
    const scheduler = startCaqhScheduler(fake, { intervalMs: 5 });
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(runs, 1, 'a run in progress is not started again');
    const both = Promise.all([scheduler.runNow(), scheduler.runNow()]);
    release();
    const [a, b] = await both;
    assert.equal(a, b);
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(runs >= 2);
    release();
    await scheduler.stop();
    const after = runs;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(runs, after);
  });
});
