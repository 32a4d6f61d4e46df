import assert from 'node:assert/strict';
import type { Bundle, CapabilityStatement, Encounter, OperationOutcome, Patient } from '@medplum/fhirtypes';
import { startFhirServer, type FhirRequestInfo, type RunningFhirServer } from '../../../engine/fhir-server';
import { admitBundle, MRN_SYSTEM, VISIT_SYSTEM } from './fixtures';

const FHIR_JSON = 'application/fhir+json';

describe('engine/fhir-server (Medplum FhirRouter over HTTP)', () => {
  let server: RunningFhirServer;
  const seen: FhirRequestInfo[] = [];

  before(async () => {
    server = await startFhirServer(0, '127.0.0.1', { onRequest: (info) => seen.push(info) });
  });

  after(async () => {
    await server.close();
  });

  beforeEach(() => {
    server.reset();
    seen.length = 0;
  });

  async function call<T = unknown>(method: string, path: string, body?: unknown, contentType = FHIR_JSON) {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as T };
  }

  async function searchIds(path: string): Promise<string[]> {
    const { status, body } = await call<Bundle>('GET', path);
    assert.equal(status, 200);
    return (body.entry ?? []).map((e) => e.resource?.id ?? '');
  }

  describe('metadata', () => {
    it('serves a CapabilityStatement for FHIR 4.0.1 with what the server supports', async () => {
      const { status, headers, body } = await call<CapabilityStatement>('GET', '/metadata');
      assert.equal(status, 200);
      assert.match(headers.get('content-type') ?? '', /^application\/fhir\+json/);
      assert.equal(body.resourceType, 'CapabilityStatement');
      assert.equal(body.fhirVersion, '4.0.1');
      assert.equal(body.implementation?.url, server.url);
      const rest = body.rest?.[0];
      assert.equal(rest?.mode, 'server');
      assert.deepEqual(rest?.interaction?.map((i) => i.code).sort(), ['batch', 'transaction']);
      const patient = rest?.resource?.find((r) => r.type === 'Patient');
      for (const code of ['read', 'create', 'update', 'search-type', 'delete']) {
        assert.ok(patient?.interaction?.some((i) => i.code === code), code);
      }
      assert.equal(patient?.conditionalUpdate, true);
      assert.ok(patient?.searchParam?.some((p) => p.name === 'identifier' && p.type === 'token'));
      assert.ok(rest?.resource?.some((r) => r.type === 'Encounter'));
    });
  });

  describe('CRUD', () => {
    it('creates with Location and ETag, reads, updates, deletes', async () => {
      const created = await call<Patient>('POST', '/Patient', { resourceType: 'Patient', gender: 'male' });
      assert.equal(created.status, 201);
      const id = created.body.id;
      assert.ok(id);
      const v1 = created.body.meta?.versionId;
      assert.equal(created.headers.get('location'), `${server.url}/Patient/${id}/_history/${v1}`);
      assert.equal(created.headers.get('etag'), `W/"${v1}"`);

      const read = await call<Patient>('GET', `/Patient/${id}`);
      assert.equal(read.status, 200);
      assert.equal(read.body.gender, 'male');

      const updated = await call<Patient>('PUT', `/Patient/${id}`, { resourceType: 'Patient', id, gender: 'female' });
      assert.equal(updated.status, 200);
      assert.equal(updated.body.gender, 'female');
      assert.notEqual(updated.body.meta?.versionId, v1);

      const history = await call<Bundle>('GET', `/Patient/${id}/_history`);
      assert.equal(history.body.entry?.length, 2);

      const deleted = await call('DELETE', `/Patient/${id}`);
      assert.equal(deleted.status, 200);
      const gone = await call<OperationOutcome>('GET', `/Patient/${id}`);
      assert.equal(gone.status, 404);
      assert.equal(gone.body.resourceType, 'OperationOutcome');
    });

    it('accepts application/json bodies as well as application/fhir+json', async () => {
      const created = await call<Patient>('POST', '/Patient', { resourceType: 'Patient' }, 'application/json');
      assert.equal(created.status, 201);
    });

    it('rejects an invalid resource with 400 and an OperationOutcome naming the path', async () => {
      const res = await call<OperationOutcome>('POST', '/Patient', { resourceType: 'Patient', birthDate: 'not-a-date' });
      assert.equal(res.status, 400);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.deepEqual(res.body.issue?.[0].expression, ['Patient.birthDate']);
      assert.deepEqual(await searchIds('/Patient'), []);
    });

    it('answers malformed JSON with a 400 OperationOutcome that does not echo the body', async () => {
      const res = await call<OperationOutcome>('POST', '/Patient', '{"resourceType":"Patient", "name": SECRET');
      assert.equal(res.status, 400);
      assert.equal(res.body.resourceType, 'OperationOutcome');
      assert.doesNotMatch(JSON.stringify(res.body), /SECRET/);
    });

    it('accepts a transaction of several MB (express\'s default limit is 100 kB)', async () => {
      // FHIR strings max out at 1 MB (Medplum enforces it), so three large entries make ~2.7 MB.
      const entry = () => ({
        resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueString: 'a'.repeat(900_000) },
        request: { method: 'POST', url: 'Observation' },
      });
      const res = await call<Bundle>('POST', '', { resourceType: 'Bundle', type: 'transaction', entry: [entry(), entry(), entry()] });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.entry?.map((e) => e.response?.status), ['201', '201', '201']);
    });

    it('answers a body over 20 MB with 413 and an OperationOutcome', async () => {
      const res = await call<OperationOutcome>('POST', '/Observation', `{"resourceType":"Observation","valueString":"${'a'.repeat(21_000_000)}"}`);
      assert.equal(res.status, 413);
      assert.equal(res.body.resourceType, 'OperationOutcome');
    });
  });

  describe('search', () => {
    it('finds by identifier with system|value and with value only', async () => {
      const a = await call<Patient>('POST', '/Patient', { resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: 'A1' }] });
      await call('POST', '/Patient', { resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: 'B2' }] });
      assert.deepEqual(await searchIds(`/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|A1`)}`), [a.body.id]);
      assert.deepEqual(await searchIds('/Patient?identifier=A1'), [a.body.id]);
      assert.deepEqual(await searchIds(`/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|nope`)}`), []);
    });

    it('pages with _count through next links until the last page, and gives fullUrls', async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const r = await call<Patient>('POST', '/Patient', { resourceType: 'Patient', name: [{ family: 'Pager' }] });
        ids.add(r.body.id ?? '');
      }
      const pages: Bundle[] = [];
      let url: string | undefined = `${server.url}/Patient?family=Pager&_count=2`;
      while (url) {
        const res = await fetch(url);
        const page = (await res.json()) as Bundle;
        pages.push(page);
        url = page.link?.find((l) => l.relation === 'next')?.url;
      }
      assert.deepEqual(pages.map((p) => p.entry?.length), [2, 2, 1]);
      assert.equal(pages[0].total, 5);
      assert.equal(pages[0].link?.find((l) => l.relation === 'self')?.url, `${server.url}/Patient?family=Pager&_count=2`);
      assert.equal(pages[0].link?.some((l) => l.relation === 'previous'), false);
      assert.equal(pages[1].link?.find((l) => l.relation === 'next')?.url, `${server.url}/Patient?family=Pager&_count=2&_offset=4`);
      assert.equal(pages[2].link?.find((l) => l.relation === 'previous')?.url, `${server.url}/Patient?family=Pager&_count=2&_offset=2`);
      const found = pages.flatMap((p) => p.entry ?? []);
      assert.deepEqual(new Set(found.map((e) => e.resource?.id)), ids);
      for (const e of found) assert.equal(e.fullUrl, `${server.url}/Patient/${e.resource?.id}`);
    });

    it('gives no next link when everything fits on one page', async () => {
      await call('POST', '/Patient', { resourceType: 'Patient', name: [{ family: 'Single' }] });
      const { body } = await call<Bundle>('GET', '/Patient?family=Single');
      assert.deepEqual(body.link?.map((l) => l.relation), ['self']);
    });
  });

  describe('transactions', () => {
    async function transact(bundle: Bundle) {
      return call<Bundle>('POST', '', bundle);
    }

    it('resolves a urn:uuid reference to a conditional-PUT Patient entry', async () => {
      const { status, body } = await transact(admitBundle('MRN-1', 'V-1'));
      assert.equal(status, 200);
      assert.equal(body.type, 'transaction-response');
      assert.deepEqual(body.entry?.map((e) => e.response?.status), ['201', '201']);
      const patientLocation = body.entry?.[0].response?.location ?? '';
      assert.match(patientLocation, /^Patient\/[\w-]+$/);
      const encounter = body.entry?.[1].resource as Encounter;
      assert.equal(encounter.subject?.reference, patientLocation);

      const stored = await searchIds(`/Encounter?identifier=${encodeURIComponent(`${VISIT_SYSTEM}|V-1`)}`);
      const read = await call<Encounter>('GET', `/Encounter/${stored[0]}`);
      assert.equal(read.body.subject?.reference, patientLocation);
    });

    for (const mode of ['put', 'ifNoneExist'] as const) {
      it(`is idempotent when sent twice (${mode}): one Patient, one Encounter`, async () => {
        const first = await transact(admitBundle('MRN-2', 'V-2', mode));
        const second = await transact(admitBundle('MRN-2', 'V-2', mode));
        assert.deepEqual(first.body.entry?.map((e) => e.response?.status), ['201', '201']);
        assert.deepEqual(second.body.entry?.map((e) => e.response?.status), ['200', '200']);
        assert.equal(second.body.entry?.[0].response?.location, first.body.entry?.[0].response?.location);
        assert.equal((await searchIds(`/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|MRN-2`)}`)).length, 1);
        assert.equal((await searchIds(`/Encounter?identifier=${encodeURIComponent(`${VISIT_SYSTEM}|V-2`)}`)).length, 1);
      });

      it(`gives one Patient and one Encounter for 20 concurrent identical transactions (${mode})`, async () => {
        const statuses = await Promise.all(Array.from({ length: 20 }, () => transact(admitBundle('MRN-3', 'V-3', mode)).then((r) => r.status)));
        assert.deepEqual([...new Set(statuses)], [200]);
        assert.equal((await searchIds(`/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|MRN-3`)}`)).length, 1);
        assert.equal((await searchIds(`/Encounter?identifier=${encodeURIComponent(`${VISIT_SYSTEM}|V-3`)}`)).length, 1);
      });
    }

    it('is NOT atomic (Medplum 4.5.2): a failing entry gives 400 but earlier entries stay written', async () => {
      const bundle = admitBundle('MRN-4', 'V-4');
      (bundle.entry?.[1].resource as Encounter).status = 'no-such-status' as Encounter['status'];
      (bundle.entry?.[1].resource as Encounter).period = { start: 'yesterday' };
      const { status, body } = await transact(bundle);
      assert.equal(status, 400);
      assert.equal(body.resourceType, 'OperationOutcome');
      // This is why the client must treat every resend as normal: the Patient is already there.
      assert.equal((await searchIds(`/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|MRN-4`)}`)).length, 1);
      assert.equal((await searchIds('/Encounter')).length, 0);
    });

    it('reports each request to onRequest with ids and status only', async () => {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': FHIR_JSON, 'x-correlation-id': 'corr-1', 'x-request-id': 'req-1' },
        body: JSON.stringify(admitBundle('MRN-5', 'V-5')),
      });
      await res.arrayBuffer();
      const info = seen.find((s) => s.correlationId === 'corr-1');
      assert.equal(info?.requestId, 'req-1');
      assert.equal(info?.method, 'POST');
      assert.equal(info?.status, 200);
    });
  });

  describe('standalone lifecycle', () => {
    it('restarts on the same port with the same repository, and close() is idempotent', async () => {
      const first = await startFhirServer(0);
      const created = await fetch(`${first.url}/Patient`, {
        method: 'POST', headers: { 'content-type': FHIR_JSON }, body: JSON.stringify({ resourceType: 'Patient' }),
      });
      const { id } = (await created.json()) as Patient;
      await first.close();
      await first.close();
      await assert.rejects(fetch(`${first.url}/Patient/${id}`));

      const second = await startFhirServer(first.port, '127.0.0.1', { repo: first.repo });
      try {
        assert.equal(second.url, first.url);
        const read = await fetch(`${second.url}/Patient/${id}`);
        assert.equal(read.status, 200);
      } finally {
        await second.close();
      }
    });
  });
});
