/**
 * EncounterSync against the Medplum loopback server through a fault-injecting proxy: 2,000
 * Encounters over 20 pages with notes in every form, incremental reruns, newer versions, 429/503,
 * a broken page, a failing Encounter and a token that expires in the middle of a sync.
 */
import assert from 'node:assert/strict';
import type { Encounter } from '@medplum/fhirtypes';
import { createAuthProvider } from '../../../../connectors/fhir/auth';
import type { FhirConnectionClient } from '../../../../connectors/fhir/fhir-client';
import { EncounterSync } from '../../../../connectors/fhir/sync/encounter-sync';
import type { SyncedEncounter } from '../../../../connectors/fhir/sync/types';
import { startOAuthServer } from '../../../simulators/oauth-server';
import { expectedText, FORMS, openSyncStore, readerFor, seed, startSyncServer, type SyncStoreTarget } from './support';

type Server = Awaited<ReturnType<typeof startSyncServer>>;

const encounterPages = (server: Server) => server.proxy.requests.filter((r) => r.path.endsWith('/Encounter'));

describe('EncounterSync: 2,000 Encounters, every note form', function () {
  this.timeout(120_000);
  let server: Server;
  let target: SyncStoreTarget;
  let reader: FhirConnectionClient;
  let sync: EncounterSync;

  before(async () => {
    // With _include/_revinclude (answered by the proxy): Medplum's own OR-searches scan every
    // resource once per value, minutes at 2,000. The fault tests below take the per-page search path.
    server = await startSyncServer({ includes: true });
    await seed(server.fhir.repo, { encounters: 2000, files: server.proxy.files, baseUrl: server.proxy.url });
    target = await openSyncStore('sqlite');
    reader = readerFor(server.proxy.url);
    sync = new EncounterSync({ connectionId: 'ehr-a', reader, store: target.store, baseUrl: server.proxy.url });
  });

  after(async () => {
    await reader?.close();
    await target?.close();
    await server?.close();
  });

  it('follows 20 next links and stores every Encounter with its Patient and notes', async () => {
    const emitted: SyncedEncounter[] = [];
    const run = await sync.run({ pageSize: 100, status: 'finished' }, { onEncounter: (e) => void emitted.push(e) });
    assert.deepEqual(
      { fetched: run.fetched, created: run.created, updated: run.updated, skipped: run.skipped, failed: run.failed, pages: run.pages, complete: run.complete },
      { fetched: 2000, created: 2000, updated: 0, skipped: 0, failed: 0, pages: 20, complete: true },
      JSON.stringify(run.errors.slice(0, 3)),
    );
    assert.equal(emitted.length, 2000);
    assert.equal(encounterPages(server).length, 20);
    assert.equal(server.proxy.requests.filter((r) => /\/(DocumentReference|Composition|Patient)$/.test(r.path)).length, 0, 'related resources came included');
    assert.equal(await target.store.countEncounters('ehr-a'), 2000);
    assert.ok(run.highWaterMark, 'high-water mark stored');

    const texts: Record<string, string> = {};
    for (let i = 8; i < 16; i++) {
      const stored = await target.store.getEncounter('ehr-a', `e${i}`);
      assert.ok(stored, `e${i} stored`);
      assert.equal((stored.patient as { resourceType: string }).resourceType, 'Patient');
      const joined = stored.notes.map((n) => n.text ?? '').join('\n');
      assert.ok(joined.includes(expectedText(i)), `${FORMS[i % FORMS.length]}: ${joined}`);
      assert.ok(stored.notes.every((n) => n.extraction === 'extracted'), FORMS[i % FORMS.length]);
      texts[FORMS[i % FORMS.length]] = joined;
    }
    assert.match(texts['latin1-text'], /Température élevée/);
    assert.match(texts.html, /Progress note\n\nvisit 9 stable\n\n \* aspirin\n \* rest/);
    assert.match(texts.xhtml, /DISCHARGE\n\nvisit 10 stable/);
    assert.match(texts.pdf, /Summary: visit 11 stable/);
    assert.match(texts.url, /^Letter: visit 12 stable$/);
    assert.match(texts.binary, /^Binary note: visit 13 stable$/);
    assert.match(texts.composition, /visit 14 stable\n\s*\* follow up/);
    assert.match(texts.narrative, /^Narrative: visit 15 stable$/);

    const [stored] = await target.store.listRuns({ connectionId: 'ehr-a' });
    assert.equal(stored.id, run.id);
    assert.equal(stored.created, 2000);
  });

  it('reruns incrementally: unchanged Encounters are not fetched again or are skipped', async () => {
    const before = encounterPages(server).length;
    const run = await sync.run({ pageSize: 100, status: 'finished' });
    assert.equal(run.created + run.updated + run.failed, 0);
    assert.equal(run.skipped, run.fetched);
    assert.ok(run.fetched < 100, `fetched ${run.fetched}`);
    assert.equal(encounterPages(server).length - before, 1, 'one page');
  });

  it('updates an Encounter whose version changed, and replaces its notes', async () => {
    for (const id of ['e3', 'e4']) {
      const enc = (await server.fhir.repo.readResource('Encounter', id)) as Encounter;
      await server.fhir.repo.updateResource({ ...enc, status: 'cancelled' } as Encounter);
    }
    const updated: string[] = [];
    const run = await sync.run({ pageSize: 100 }, { onEncounter: (e, outcome) => void updated.push(`${e.encounterId}:${outcome}`) });
    // A different query (no status filter) has its own high-water mark, so it walks everything once.
    assert.equal(run.created, 0);
    assert.equal(run.updated, 2);
    assert.deepEqual(updated.sort(), ['e3:updated', 'e4:updated']);
    const stored = await target.store.getEncounter('ehr-a', 'e3');
    assert.equal(stored?.status, 'cancelled');
    assert.equal(stored?.notes.length, 1);
    assert.ok(stored?.notes[0].text?.includes('Summary: visit 3 stable'));
  });
});

describe('EncounterSync: faults', function () {
  this.timeout(60_000);
  let server: Server;
  let target: SyncStoreTarget;
  let reader: FhirConnectionClient;

  beforeEach(async () => {
    server = await startSyncServer();
    await seed(server.fhir.repo, { encounters: 300, files: server.proxy.files, baseUrl: server.proxy.url });
    target = await openSyncStore('sqlite');
    reader = readerFor(server.proxy.url);
  });

  afterEach(async () => {
    await reader?.close();
    await target?.close();
    await server?.close();
  });

  const offsetOf = (q: URLSearchParams) => q.get('_offset') ?? '0';

  it('fetches Patients and notes with one search per page and type when the server has no _revinclude', async () => {
    const run = await new EncounterSync({ connectionId: 'ehr-f', reader, store: target.store }).run({ pageSize: 100 });
    assert.deepEqual([run.complete, run.created, run.failed], [true, 300, 0]);
    const related = server.proxy.requests.filter((r) => /\/(DocumentReference|Composition|Patient)$/.test(r.path));
    // 3 pages x (1 Patient + 2 DocumentReference + 2 Composition searches of 50 Encounters each).
    assert.equal(related.length, 15);
    const stored = await target.store.getEncounter('ehr-f', 'e14');
    assert.ok(stored?.notes.map((n) => n.text).join('\n').includes('visit 14 stable'));
  });

  it('retries pages answered with 429 (Retry-After) and 503', async () => {
    const served = new Map<string, number>();
    server.proxy.fault = ({ path, query }) => {
      if (!path.endsWith('/Encounter')) return undefined;
      const key = offsetOf(query);
      const n = (served.get(key) ?? 0) + 1;
      served.set(key, n);
      if (key === '100' && n === 1) return { status: 429, headers: { 'retry-after': '1' }, body: '{"resourceType":"OperationOutcome","issue":[]}' };
      if (key === '200' && n <= 2) return { status: 503, body: '' };
      return undefined;
    };
    const started = Date.now();
    const run = await new EncounterSync({ connectionId: 'ehr-b', reader, store: target.store }).run({ pageSize: 100 });
    assert.equal(run.complete, true);
    assert.equal(run.created, 300);
    assert.equal(run.failed, 0);
    assert.ok(Date.now() - started >= 1000, 'waited for Retry-After');
    assert.deepEqual(server.proxy.requests.filter((r) => r.status === 429 || r.status === 503).map((r) => r.status), [429, 503, 503]);
  });

  it('records a page that stays broken (bad JSON), goes on with the next, and keeps the high-water mark', async () => {
    let broken = true;
    server.proxy.fault = ({ path, query }) =>
      broken && path.endsWith('/Encounter') && offsetOf(query) === '100' ? { status: 200, body: '{"resourceType":"Bundle",' } : undefined;
    const sync = new EncounterSync({ connectionId: 'ehr-c', reader, store: target.store });
    const run = await sync.run({ pageSize: 100 });
    assert.equal(run.complete, false);
    assert.equal(run.created, 200);
    assert.equal(run.failed, 0);
    assert.deepEqual(run.errors.map((e) => [e.page, e.code]), [[2, 'TRANSIENT_FHIR_BAD_RESPONSE']]);
    assert.equal(await target.store.getHighWaterMark('ehr-c', ''), undefined);
    const [stored] = await target.store.listRuns({ connectionId: 'ehr-c' });
    assert.equal(stored.complete, false);
    assert.equal(stored.errors.length, 1);

    broken = false;
    const rerun = await sync.run({ pageSize: 100 });
    assert.deepEqual([rerun.complete, rerun.created, rerun.skipped], [true, 100, 200]);
    assert.ok(await target.store.getHighWaterMark('ehr-c', ''));
  });

  it('records one failing Encounter (attachment 404) and syncs the rest; the next run retries it', async () => {
    // e4 is a `url` note (4 % 8): drop its file.
    const file = server.proxy.files.get('note-e4.txt');
    server.proxy.files.delete('note-e4.txt');
    const sync = new EncounterSync({ connectionId: 'ehr-d', reader, store: target.store });
    const run = await sync.run({ pageSize: 100 });
    assert.deepEqual([run.complete, run.created, run.failed], [true, 299, 1]);
    assert.equal(run.errors.length, 1);
    assert.equal(run.errors[0].encounterId, 'e4');
    assert.equal(run.errors[0].code, 'INTEGRATION_FHIR_SYNC_ATTACHMENT');
    assert.doesNotMatch(JSON.stringify(run.errors), /visit|Synthetic|Test\d|files\//, 'no patient data or URLs in errors');
    assert.equal(await target.store.getEncounter('ehr-d', 'e4'), undefined);

    server.proxy.files.set('note-e4.txt', file!);
    const rerun = await sync.run({ pageSize: 100 });
    assert.deepEqual([rerun.created, rerun.failed], [1, 0]);
    assert.ok((await target.store.getEncounter('ehr-d', 'e4'))?.notes[0].text?.includes('visit 4 stable'));
  });

  it('survives an access token that expires in the middle of a sync (one refresh on the 401)', async () => {
    const oauth = await startOAuthServer();
    try {
      oauth.registerClient({ clientId: 'wasl', clientSecret: 's3cret' });
      server.proxy.authorise = (h) => oauth.isValid(h);
      await reader.close();
      reader = readerFor(server.proxy.url, createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 's3cret' }));
      let seen = 0;
      const run = await new EncounterSync({ connectionId: 'ehr-e', reader, store: target.store }).run(
        { pageSize: 50 },
        {
          onEncounter: () => {
            seen += 1;
            if (seen === 120) oauth.expireAll();
          },
        },
      );
      assert.deepEqual([run.complete, run.created, run.failed], [true, 300, 0], JSON.stringify(run.errors.slice(0, 2)));
      assert.ok(server.proxy.requests.some((r) => r.status === 401), 'a request was refused');
      assert.equal(oauth.stats.issued, 2);
    } finally {
      await oauth.close();
    }
  });
});
