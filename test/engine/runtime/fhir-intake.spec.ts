/**
 * FhirIntake and its HTTP layer without Node-RED: a real SQLite store, the `/channels` router on
 * a loopback express server, and a flow stub that settles (or fails) the receipt. Asserts what
 * the client hears, what is stored, and that a resend is never queued twice.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Bundle, CapabilityStatement, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { IntegrationError, TransientError } from '../../../common/errors';
import { logger } from '../../../common/logger';
import { channelEndpointsOf } from '../../../engine/runtime/channel-endpoints';
import { FhirIntake, referencesIn, type FhirIntakeOptions, type FhirUpstreamReader } from '../../../engine/runtime/fhir-intake';
import { fhirIntakeRouter } from '../../../engine/runtime/fhir-intake-http';
import { EngineMetrics } from '../../../engine/runtime/metrics';
import { Receipts } from '../../../engine/runtime/receipts';
import type { WaslRuntime } from '../../../engine/runtime/types';
import type { WaslMsg } from '../../../engine/runtime/wasl-msg';
import { openStore } from '../../../engine/store';
import type { MessageStore } from '../../../engine/store/types';
import { validateFhir } from '../../../transformers/fhir/validate';
import { tempDir } from '../../support/engine-process';
import { waitUntil } from '../../support/fhir-counts';

const FHIR_JSON = 'application/fhir+json';
const patient = (mrn: string, extra: Record<string, unknown> = {}) => ({
  resourceType: 'Patient',
  identifier: [{ system: 'urn:oid:1.2.3', value: mrn }],
  name: [{ family: 'Test', given: ['Unit'] }],
  ...extra,
});

describe('engine/runtime/fhir-intake', () => {
  let dir: string;
  let store: MessageStore;
  let runtime: WaslRuntime;
  let server: http.Server;
  let base: string;
  let submitted: WaslMsg[];
  /** What the flow does with a message: settle its receipt (queued) by default. */
  let flow: (msg: WaslMsg) => void;
  let intake: FhirIntake;

  async function start(extra: Partial<FhirIntakeOptions> = {}, maxBodyBytes?: number): Promise<void> {
    intake = new FhirIntake(runtime, {
      channel: 'ch',
      logger: logger({ stage: 'test' }),
      queueTimeoutMs: 2000,
      fetchInitialDelayMs: 10,
      fetchMaxDelayMs: 50,
      submit: (msg) => {
        submitted.push(msg);
        flow(msg);
      },
      ...extra,
    });
    channelEndpointsOf(runtime).register('ch', 'fhir', fhirIntakeRouter(intake, { maxBodyBytes }));
  }

  beforeEach(async () => {
    dir = tempDir('fhir-intake');
    store = await openStore({ dataDir: dir });
    runtime = {
      role: 'all',
      store,
      transport: undefined as never,
      receipts: new Receipts(),
      metrics: new EngineMetrics({ defaultMetrics: false }),
      builtinFhirUrl: '',
      channelHealth: new Map(),
    };
    submitted = [];
    flow = (msg) => setImmediate(() => runtime.receipts.complete(msg.wasl.receipt));
    const app = express();
    app.use('/channels', channelEndpointsOf(runtime).router());
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/channels/ch/fhir`;
  });
  afterEach(async () => {
    await intake?.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': FHIR_JSON } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Resource) : undefined };
  }
  const expressions = (body: unknown) => ((body as OperationOutcome).issue ?? []).flatMap((i) => i.expression ?? []);

  it('creates: 201 with Location and the stored id, the row accepted, a one-entry transaction queued', async () => {
    await start();
    const res = await call('POST', '/Patient', patient('MRN-1'));
    assert.equal(res.status, 201);
    const id = res.headers.get('x-wasl-message-id')!;
    assert.match(res.headers.get('location')!, new RegExp(`/channels/ch/fhir/Patient/${id}/_history/${id}$`));
    assert.equal(res.body?.resourceType, 'Patient');
    assert.equal(res.body?.id, id);
    const row = await store.get(id);
    assert.equal(row?.accepted, true);
    assert.equal(row?.messageType, 'Patient');
    assert.deepEqual(JSON.parse(row!.raw), patient('MRN-1'), 'the store keeps the body as received');
    assert.equal(submitted.length, 1);
    const payload = submitted[0].payload as Bundle;
    assert.equal(payload.type, 'transaction');
    assert.deepEqual(payload.entry?.[0].request, { method: 'POST', url: 'Patient' });
    assert.deepEqual(submitted[0].fhirRequest, { interaction: 'create', resourceType: 'Patient' });
    assert.equal(submitted[0].wasl.messageId, id);
  });

  it('answers a resend (same content, any key order) with the same id and does not queue it again', async () => {
    await start();
    const first = await call('POST', '/Patient', patient('MRN-2'));
    const reordered = JSON.stringify({ name: [{ given: ['Unit'], family: 'Test' }], identifier: [{ value: 'MRN-2', system: 'urn:oid:1.2.3' }], resourceType: 'Patient' });
    const again = await call('POST', '/Patient', reordered);
    assert.equal(again.status, 201);
    assert.equal(again.headers.get('x-wasl-message-id'), first.headers.get('x-wasl-message-id'));
    assert.equal(again.headers.get('x-wasl-duplicate'), 'true');
    assert.equal(submitted.length, 1);
    assert.equal((await store.list({ channel: 'ch' })).length, 1);
  });

  it('dedupes concurrent identical requests into one queued message', async () => {
    await start();
    const answers = await Promise.all([1, 2, 3].map(() => call('POST', '/Patient', patient('MRN-C'))));
    assert.deepEqual(answers.map((a) => a.status), [201, 201, 201]);
    assert.equal(new Set(answers.map((a) => a.headers.get('x-wasl-message-id'))).size, 1);
    assert.equal(submitted.length, 1);
  });

  it('treats If-None-Exist as the key: a second create with the criteria is 200 and not queued', async () => {
    await start();
    const headers = { 'if-none-exist': 'identifier=urn:oid:1.2.3|MRN-3' };
    const first = await call('POST', '/Patient', patient('MRN-3'), headers);
    assert.equal(first.status, 201);
    assert.equal((submitted[0].payload as Bundle).entry?.[0].request?.ifNoneExist, 'identifier=urn:oid:1.2.3|MRN-3');
    const second = await call('POST', '/Patient', patient('MRN-3', { gender: 'female' }), headers);
    assert.equal(second.status, 200);
    assert.equal(second.headers.get('x-wasl-message-id'), first.headers.get('x-wasl-message-id'));
    assert.equal(submitted.length, 1);
  });

  it('keys on Idempotency-Key, and on id + meta.versionId, before content', async () => {
    await start();
    await call('POST', '/Patient', patient('MRN-4'), { 'idempotency-key': 'k-1' });
    await call('POST', '/Patient', patient('MRN-4', { gender: 'male' }), { 'idempotency-key': 'k-1' });
    assert.equal(submitted.length, 1);
    const v1 = patient('MRN-5', { id: 'p5', meta: { versionId: '1' } });
    await call('POST', '/Patient', v1);
    await call('POST', '/Patient', { ...v1, meta: { versionId: '1', lastUpdated: '2024-01-01T00:00:00Z' } });
    assert.equal(submitted.length, 2);
    await call('POST', '/Patient', { ...v1, meta: { versionId: '2' } });
    assert.equal(submitted.length, 3);
  });

  it('honours Prefer: return=minimal and return=OperationOutcome', async () => {
    await start();
    const minimal = await call('POST', '/Patient', patient('MRN-6'), { prefer: 'return=minimal' });
    assert.equal(minimal.status, 201);
    assert.equal(minimal.body, undefined);
    assert.ok(minimal.headers.get('location'));
    const oo = await call('POST', '/Patient', patient('MRN-7'), { prefer: 'return=OperationOutcome' });
    assert.equal(oo.body?.resourceType, 'OperationOutcome');
    assert.equal((oo.body as OperationOutcome).issue?.[0].severity, 'information');
  });

  it('updates with PUT [type]/[id] and requires the body id to match the URL', async () => {
    await start();
    const ok = await call('PUT', '/Patient/p9', patient('MRN-9', { id: 'p9' }));
    assert.equal(ok.status, 201);
    assert.match(ok.headers.get('location')!, /\/Patient\/p9\/_history\//);
    assert.deepEqual((submitted[0].payload as Bundle).entry?.[0].request, { method: 'PUT', url: 'Patient/p9' });
    const mismatch = await call('PUT', '/Patient/p9', patient('MRN-9', { id: 'other' }));
    assert.equal(mismatch.status, 400);
    assert.deepEqual(expressions(mismatch.body), ['Patient.id']);
  });

  it('rejects an invalid resource with 400 naming each problem by path, and stores it as ERROR', async () => {
    await start();
    const res = await call('POST', '/Patient', patient('MRN-8', { birthDate: 'yesterday', colour: 'blue' }));
    assert.equal(res.status, 400);
    assert.equal(res.body?.resourceType, 'OperationOutcome');
    assert.deepEqual(expressions(res.body).sort(), ['Patient.birthDate', 'Patient.colour']);
    assert.equal(submitted.length, 0);
    const [row] = await store.list({ channel: 'ch' });
    assert.equal(row.status, 'ERROR');
    assert.equal((row.error as { code: string }).code, 'VALIDATION_FHIR_INVALID');
    assert.equal(validateFhir(res.body).valid, true, 'the OperationOutcome is valid FHIR');
  });

  it('rejects a resourceType that does not match the URL, a non-JSON body, and other content types', async () => {
    await start();
    const mismatch = await call('POST', '/Observation', patient('MRN-10'));
    assert.equal(mismatch.status, 400);
    assert.deepEqual(expressions(mismatch.body), ['Observation.resourceType']);
    const notJson = await call('POST', '/Patient', '{"resourceType": "Patient", "name": [{"family": "Secret"');
    assert.equal(notJson.status, 400);
    assert.doesNotMatch(JSON.stringify(notJson.body), /Secret/, 'the parser message (which quotes the body) is not echoed');
    const xml = await fetch(`${base}/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+xml' }, body: '<Patient/>' });
    assert.equal(xml.status, 415);
    assert.equal(((await xml.json()) as OperationOutcome).resourceType, 'OperationOutcome');
    const plainJson = await fetch(`${base}/Patient`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(patient('MRN-11')) });
    assert.equal(plainJson.status, 201);
  });

  it('answers 413 for a body over the limit, without storing it', async () => {
    await start({}, 2048);
    const res = await call('POST', '/Patient', patient('MRN-12', { text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${'x'.repeat(4000)}</div>` } }));
    assert.equal(res.status, 413);
    assert.equal(res.body?.resourceType, 'OperationOutcome');
    assert.equal((await store.list({ channel: 'ch' })).length, 0);
  });

  it('takes a transaction (200, response Bundle of 202 entries) and relays a batch as a transaction', async () => {
    await start();
    const tx: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:5d0b1c52-1a3c-4a44-9f5b-2f6a2d1b7c01', resource: patient('MRN-13') as Resource, request: { method: 'POST', url: 'Patient' } },
        { resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, subject: { reference: 'urn:uuid:5d0b1c52-1a3c-4a44-9f5b-2f6a2d1b7c01' } }, request: { method: 'POST', url: 'Encounter' } },
      ],
    };
    const res = await call('POST', '', tx);
    assert.equal(res.status, 200);
    const response = res.body as Bundle;
    assert.equal(response.type, 'transaction-response');
    assert.deepEqual(response.entry?.map((e) => e.response?.status), ['202 Accepted', '202 Accepted']);
    assert.equal(response.id, res.headers.get('x-wasl-message-id'));
    assert.deepEqual(submitted[0].payload, tx);
    const batch = await call('POST', '', { ...tx, type: 'batch', entry: [tx.entry![0]] });
    assert.equal((batch.body as Bundle).type, 'batch-response');
    assert.equal((submitted[1].payload as Bundle).type, 'transaction');
    const searchset = await call('POST', '', { resourceType: 'Bundle', type: 'searchset' });
    assert.equal(searchset.status, 400);
    assert.deepEqual(expressions(searchset.body), ['Bundle.type']);
    const invalidEntry = await call('POST', '', { ...tx, entry: [{ ...tx.entry![0], resource: patient('X', { birthDate: 'soon' }) }] });
    assert.equal(invalidEntry.status, 400);
    assert.deepEqual(expressions(invalidEntry.body), ['Bundle.entry[0].resource.birthDate']);
  });

  it('answers 503 with Retry-After when the flow cannot queue, and the retry is then queued once', async () => {
    await start();
    flow = (msg) => setImmediate(() => runtime.receipts.fail(msg.wasl.receipt, new TransientError('AMQP_DOWN', 'broker down')));
    const failed = await call('POST', '/Patient', patient('MRN-14'));
    assert.equal(failed.status, 503);
    assert.equal(failed.headers.get('retry-after'), '5');
    assert.equal(failed.body?.resourceType, 'OperationOutcome');
    const row = (await store.list({ channel: 'ch' }))[0];
    assert.equal(row.accepted, false);
    flow = (msg) => setImmediate(() => runtime.receipts.complete(msg.wasl.receipt));
    const retried = await call('POST', '/Patient', patient('MRN-14'));
    assert.equal(retried.status, 201);
    assert.equal(retried.headers.get('x-wasl-message-id'), row.id);
    await call('POST', '/Patient', patient('MRN-14'));
    assert.equal(submitted.length, 2, 'the failed attempt and the retry; not the third');
    assert.equal((await store.get(row.id))?.accepted, true);
  });

  it('answers 503 when the store fails', async () => {
    await start();
    const receive = store.receive.bind(store);
    store.receive = async () => {
      throw new Error('disk full');
    };
    try {
      const res = await call('POST', '/Patient', patient('MRN-15'));
      assert.equal(res.status, 503);
      assert.ok(res.headers.get('retry-after'));
      assert.equal(submitted.length, 0);
    } finally {
      store.receive = receive;
    }
  });

  it('serves a valid CapabilityStatement and refuses types outside resourceTypes with 422', async () => {
    await start({ resourceTypes: ['Patient', 'Encounter'] });
    const res = await call('GET', '/metadata');
    assert.equal(res.status, 200);
    const cs = res.body as CapabilityStatement;
    assert.equal(validateFhir(cs).valid, true, JSON.stringify(validateFhir(cs).outcome));
    assert.deepEqual(cs.rest?.[0].resource?.map((r) => r.type), ['Patient', 'Encounter']);
    const refused = await call('POST', '/Observation', { resourceType: 'Observation', status: 'final', code: { text: 'x' } });
    assert.equal(refused.status, 422);
    assert.equal((await store.list({ channel: 'ch', status: 'ERROR' })).length, 1, 'the refused request is stored with its reason');
    const unknown = await call('DELETE', '/Patient/1');
    assert.equal(unknown.status, 405);
  });

  it('lists every R4 resource type when the channel takes any', async () => {
    await start();
    const cs = (await call('GET', '/metadata')).body as CapabilityStatement;
    assert.equal(validateFhir(cs).valid, true);
    const types = cs.rest?.[0].resource?.map((r) => r.type) ?? [];
    assert.ok(types.includes('Patient') && types.includes('Encounter') && types.length > 140, `${types.length} types`);
    assert.ok(!types.includes('Bot' as never), 'no Medplum-only types');
  });

  it('answers 404 with an OperationOutcome for a channel nobody serves', async () => {
    await start();
    const res = await fetch(base.replace('/ch/', '/other/') + '/metadata');
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as OperationOutcome).resourceType, 'OperationOutcome');
  });

  describe('Subscription notifications', () => {
    const upstreamPatient = { ...patient('MRN-U'), id: 'u1', meta: { versionId: '3' } } as Resource;
    function reader(answers: Array<Resource | Error>): FhirUpstreamReader & { reads: string[] } {
      const reads: string[] = [];
      return {
        reads,
        read: async (type, id) => {
          reads.push(`${type}/${id}`);
          const next = answers.length > 1 ? answers.shift()! : answers[0];
          if (next instanceof Error) throw next;
          return next;
        },
        close: () => undefined,
      };
    }
    const idOnly = (ref: string) => ({
      resourceType: 'Bundle',
      type: 'history',
      entry: [
        { fullUrl: 'urn:uuid:7c0b6f4e-3f8e-4b5e-9a57-1d0d1d2e3f40', resource: { resourceType: 'Parameters', parameter: [{ name: 'type', valueCode: 'event-notification' }] } },
        { fullUrl: `https://ehr.example/fhir/R4/${ref}`, request: { method: 'PUT', url: ref } },
      ],
    });

    it('reads references from every notification shape', () => {
      assert.deepEqual(referencesIn(undefined), []);
      assert.deepEqual(referencesIn(upstreamPatient), [{ resourceType: 'Patient', id: 'u1' }]);
      assert.deepEqual(referencesIn(idOnly('Patient/u1/_history/3')), [{ resourceType: 'Patient', id: 'u1' }]);
      const focusOnly = {
        resourceType: 'Bundle',
        type: 'history',
        entry: [{ resource: { resourceType: 'SubscriptionStatus', notificationEvent: [{ eventNumber: '1', focus: { reference: 'Encounter/e1' } }] } }],
      };
      assert.deepEqual(referencesIn(focusOnly), [{ resourceType: 'Encounter', id: 'e1' }]);
      assert.equal(referencesIn({ resourceType: 'Bundle', type: 'searchset' }), undefined);
    });

    it('answers 200 at once, fetches the resource with retries, and queues it once per version', async () => {
      const upstream = reader([new TransientError('FHIR_UNAVAILABLE', 'down'), upstreamPatient]);
      await start({ upstream });
      const res = await call('POST', '/subscription-hook', idOnly('Patient/u1'));
      assert.equal(res.status, 200);
      await waitUntil(async () => submitted.length === 1, 'the fetched resource queued', 5000);
      assert.deepEqual(upstream.reads, ['Patient/u1', 'Patient/u1']);
      assert.deepEqual((submitted[0].payload as Bundle).entry?.[0].request, { method: 'PUT', url: 'Patient/u1' });
      assert.equal(submitted[0].fhirRequest && (submitted[0].fhirRequest as { interaction: string }).interaction, 'notification');
      // The same version notified again (and an empty heartbeat): nothing new is queued.
      await call('POST', '/subscription-hook', upstreamPatient);
      const heartbeat = await fetch(`${base}/subscription-hook`, { method: 'POST' });
      assert.equal(heartbeat.status, 200);
      await waitUntil(async () => upstream.reads.length === 3, 'the second fetch', 5000);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(submitted.length, 1);
    });

    it('records a fetch that fails for good as ERROR with its reason', async () => {
      await start({ upstream: reader([new IntegrationError('FHIR_REJECTED', 'FHIR server answered 404', { details: { status: 404 } })]) });
      assert.equal((await call('POST', '/subscription-hook', idOnly('Patient/gone'))).status, 200);
      await waitUntil(async () => (await store.list({ channel: 'ch', status: 'ERROR' })).length === 1, 'the ERROR row', 5000);
      const [row] = await store.list({ channel: 'ch', status: 'ERROR' });
      assert.equal((row.error as { code: string }).code, 'INTEGRATION_FHIR_REJECTED');
      assert.match(row.controlId, /^fetch-failed:/);
      assert.equal(submitted.length, 0);
    });

    it('answers 404 when the channel has no upstream', async () => {
      await start();
      assert.equal((await call('POST', '/subscription-hook', idOnly('Patient/u1'))).status, 404);
    });
  });
});
