/**
 * KnexFhirSyncStore on SQLite and PostgreSQL: dedupe by connection + Encounter id + version,
 * notes replaced on a newer version, bytes kept for not-extracted notes, runs and high-water
 * marks; then a small sync end to end on each dialect.
 */
import assert from 'node:assert/strict';
import type { Encounter } from '@medplum/fhirtypes';
import { EncounterSync } from '../../../../connectors/fhir/sync/encounter-sync';
import type { SyncedEncounter, SyncRun } from '../../../../connectors/fhir/sync/types';
import { requireService } from '../../../support/services';
import { openSyncStore, readerFor, seed, startSyncServer, type SyncStoreTarget } from './support';

function encounter(id: string, versionId: string, lastUpdated: string, notes: SyncedEncounter['notes'] = []): SyncedEncounter {
  const enc: Encounter = { resourceType: 'Encounter', id, status: 'finished', class: { code: 'AMB' }, meta: { versionId, lastUpdated } };
  return { connectionId: 'c1', encounterId: id, versionId, lastUpdated, status: 'finished', patientRef: 'Patient/p1', encounter: enc, notes };
}

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`KnexFhirSyncStore on ${dialect}`, function () {
    this.timeout(60_000);
    let target: SyncStoreTarget;

    before(async function () {
      if (dialect === 'postgres') await requireService(this, 'PostgreSQL');
    });

    beforeEach(async () => {
      target = await openSyncStore(dialect);
    });

    afterEach(async () => {
      await target?.close();
    });

    it('creates, skips the same version, updates a newer one and ignores an older one', async () => {
      const { store } = target;
      const pdfBytes = Buffer.from([0x25, 0x50, 0x44, 0x46, 0x00, 0xff]);
      const notes: SyncedEncounter['notes'] = [
        { source: 'DocumentReference/d1#content[0]', resourceType: 'DocumentReference', resourceId: 'd1', contentType: 'application/pdf', extraction: 'not-extracted', reason: 'no-text-layer', bytes: pdfBytes },
        { source: 'Composition/c1#section[0]', resourceType: 'Composition', resourceId: 'c1', contentType: 'application/xhtml+xml', text: 'one', extraction: 'extracted', title: 'History' },
      ];
      assert.equal(await store.saveEncounter(encounter('e1', 'v1', '2026-01-01T00:00:00.000Z', notes)), 'created');
      assert.equal(await store.saveEncounter(encounter('e1', 'v1', '2026-01-01T00:00:00.000Z', notes)), 'skipped');
      const first = await store.getEncounter('c1', 'e1');
      assert.deepEqual(first?.notes.map((n) => [n.extraction, n.text, n.bytes?.toString('hex')]), [
        ['not-extracted', undefined, pdfBytes.toString('hex')],
        ['extracted', 'one', undefined],
      ]);

      assert.equal(await store.saveEncounter(encounter('e1', 'v2', '2026-01-02T00:00:00.000Z', [notes[1]])), 'updated');
      assert.equal(await store.saveEncounter(encounter('e1', 'v0', '2025-12-31T00:00:00.000Z')), 'skipped', 'older version');
      const second = await store.getEncounter('c1', 'e1');
      assert.equal(second?.versionId, 'v2');
      assert.equal(second?.notes.length, 1);

      // Same Encounter id on another connection is another row.
      assert.equal(await store.saveEncounter({ ...encounter('e1', 'v1', '2026-01-01T00:00:00.000Z'), connectionId: 'c2' }), 'created');
      assert.deepEqual([...(await store.versionsOf('c1', ['e1', 'nope'])).entries()], [['e1', { versionId: 'v2', lastUpdated: '2026-01-02T00:00:00.000Z' }]]);
    });

    it('keeps high-water marks per connection and query, and lists runs newest first', async () => {
      const { store } = target;
      await store.setHighWaterMark('c1', '', '2026-01-01T00:00:00.000Z');
      await store.setHighWaterMark('c1', '', '2026-01-02T00:00:00.000Z');
      await store.setHighWaterMark('c1', 'status=finished', '2026-01-03T00:00:00.000Z');
      assert.equal(await store.getHighWaterMark('c1', ''), '2026-01-02T00:00:00.000Z');
      assert.equal(await store.getHighWaterMark('c1', 'status=finished'), '2026-01-03T00:00:00.000Z');
      assert.equal(await store.getHighWaterMark('c2', ''), undefined);

      const run = (id: string, at: number): SyncRun => ({
        id, connectionId: 'c1', startedAt: new Date(at), finishedAt: new Date(at + 5), pages: 1, complete: id !== 'r2',
        fetched: 3, created: 1, updated: 1, skipped: 0, failed: 1, durationMs: 5, highWaterMark: '2026-01-01T00:00:00.000Z',
        errors: [{ encounterId: 'e9', code: 'INTEGRATION_FHIR_SYNC_ATTACHMENT', message: 'DocumentReference/d9#content[0]: attachment could not be fetched' }],
      });
      await store.recordRun(run('r1', 1_800_000_000_000));
      await store.recordRun(run('r2', 1_800_000_001_000));
      const runs = await store.listRuns({ connectionId: 'c1' });
      assert.deepEqual(runs.map((r) => [r.id, r.complete, r.startedAt.getTime()]), [['r2', false, 1_800_000_001_000], ['r1', true, 1_800_000_000_000]]);
      assert.equal(runs[0].errors[0].encounterId, 'e9');
    });

    it('syncs from the FHIR server and reruns incrementally', async () => {
      const server = await startSyncServer();
      const reader = readerFor(server.proxy.url);
      try {
        await seed(server.fhir.repo, { encounters: 40, files: server.proxy.files, baseUrl: server.proxy.url });
        const sync = new EncounterSync({ connectionId: 'c3', reader, store: target.store });
        const run = await sync.run({ pageSize: 15 });
        assert.deepEqual([run.pages, run.created, run.failed, run.complete], [3, 40, 0, true]);
        const pdf = await target.store.getEncounter('c3', 'e3');
        assert.match(pdf?.notes[0].text ?? '', /visit 3 stable/);
        const rerun = await sync.run({ pageSize: 15 });
        assert.equal(rerun.created + rerun.updated, 0);
        assert.equal(rerun.skipped, rerun.fetched);
        assert.equal((await target.store.listRuns({ connectionId: 'c3' })).length, 2);
      } finally {
        await reader.close();
        await server.close();
      }
    });
  });
}
