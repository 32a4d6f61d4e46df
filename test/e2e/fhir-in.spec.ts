/**
 * End to end, embedded mode: the real engine process with a `fhir -> fhir` channel. Clients talk
 * FHIR to `/channels/<id>/fhir` on the engine's port; a destination FHIR server (Medplum) counts
 * what reaches it; an upstream FHIR server (Medplum) is where a Subscription notification's
 * resource is fetched from. Every accepted request must reach the destination exactly once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';
import { startFhirServer, type FhirRequestInfo, type RunningFhirServer } from '../../engine/fhir-server';
import { startEngineProcess, tempDir, type EngineProcess } from '../support/engine-process';
import { fhirSearchAll, waitUntil } from '../support/fhir-counts';

describe('end to end: a FHIR source endpoint relaying to a FHIR destination', function () {
  this.timeout(90_000);
  let destination: RunningFhirServer;
  let upstream: RunningFhirServer;
  let engine: EngineProcess;
  let dataDir: string;
  let channelId: string;
  let base: string;
  const transactions: FhirRequestInfo[] = [];

  before(async () => {
    destination = await startFhirServer(0, '127.0.0.1', {
      onRequest: (info) => {
        if (info.method === 'POST' && (info.path === '/' || info.path === '') && info.status < 300) transactions.push(info);
      },
    });
    upstream = await startFhirServer(0);
    dataDir = tempDir('e2e-fhir-in');
    channelId = `fhir-in-${randomBytes(4).toString('hex')}`;
    const channelsFile = path.join(dataDir, 'channels.yaml');
    fs.writeFileSync(
      channelsFile,
      `channels:
  - id: ${channelId}
    name: FHIR relay
    source:
      type: fhir
      upstream: ${upstream.url}
      fetchRetry: { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 1000 }
    destinations:
      ehr:
        type: fhir
        url: ${destination.url}
        timeoutMs: 5000
        retry: { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 1000 }
`,
    );
    engine = await startEngineProcess({ dataDir, channelsFile });
    base = `${engine.baseUrl}/channels/${channelId}/fhir`;
  });

  after(async () => {
    await engine?.stop();
    await destination?.close();
    await upstream?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const send = (method: string, url: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(url, { method, headers: { 'content-type': 'application/fhir+json', ...headers }, body: JSON.stringify(body) });
  const patientsWith = async (mrn: string) => fhirSearchAll(destination.url, `Patient?identifier=urn:e2e|${mrn}`);
  const sentCount = async () => {
    const res = await engine.api(`/api/v1/channels`);
    const body = (await res.json()) as { channels: Array<{ id: string; sent: number }> };
    return body.channels.find((c) => c.id === channelId)?.sent ?? 0;
  };

  it('describes itself with a CapabilityStatement', async () => {
    const res = await fetch(`${base}/metadata`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { resourceType: string }).resourceType, 'CapabilityStatement');
  });

  it('relays a Patient, a transaction and a notified resource exactly once each; rejects invalid input; ignores a resend', async () => {
    // 1. A created Patient.
    const patient = { resourceType: 'Patient', identifier: [{ system: 'urn:e2e', value: 'P1' }], name: [{ family: 'Relay' }] };
    const created = await send('POST', `${base}/Patient`, patient);
    assert.equal(created.status, 201);
    assert.ok(created.headers.get('location'));
    await waitUntil(async () => (await patientsWith('P1')).length === 1, 'the Patient at the destination', 20_000);

    // 2. A transaction: a Patient and an Encounter that references it by urn:uuid.
    const tx: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:0b5c2f7e-9a36-4c1d-8a57-3c2d1e0f9b11',
          resource: { resourceType: 'Patient', identifier: [{ system: 'urn:e2e', value: 'P2' }] },
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=urn:e2e|P2' },
        },
        {
          resource: { resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' }, identifier: [{ system: 'urn:e2e', value: 'E2' }], subject: { reference: 'urn:uuid:0b5c2f7e-9a36-4c1d-8a57-3c2d1e0f9b11' } },
          request: { method: 'POST', url: 'Encounter', ifNoneExist: 'identifier=urn:e2e|E2' },
        },
      ],
    };
    const txRes = await send('POST', base, tx);
    assert.equal(txRes.status, 200);
    assert.equal(((await txRes.json()) as Bundle).type, 'transaction-response');
    await waitUntil(async () => (await fhirSearchAll(destination.url, 'Encounter?identifier=urn:e2e|E2')).length === 1, 'the Encounter at the destination', 20_000);

    // 3. Invalid input: 400 with an OperationOutcome naming the path; nothing relayed.
    const invalid = await send('POST', `${base}/Patient`, { resourceType: 'Patient', birthDate: 'last tuesday' });
    assert.equal(invalid.status, 400);
    const outcome = (await invalid.json()) as OperationOutcome;
    assert.equal(outcome.resourceType, 'OperationOutcome');
    assert.deepEqual(outcome.issue?.map((i) => i.expression?.[0]), ['Patient.birthDate']);

    // 4. A resend of the first Patient: the same answer, not queued again.
    const resend = await send('POST', `${base}/Patient`, patient);
    assert.equal(resend.status, 201);
    assert.equal(resend.headers.get('x-wasl-message-id'), created.headers.get('x-wasl-message-id'));

    // 5. A Subscription notification (id-only) for a Patient on the upstream server.
    const up = await send('POST', `${upstream.url}/Patient`, { resourceType: 'Patient', identifier: [{ system: 'urn:e2e', value: 'P3' }] });
    assert.equal(up.status, 201);
    const upId = ((await up.json()) as { id: string }).id;
    const notification = {
      resourceType: 'Bundle',
      type: 'history',
      entry: [
        { fullUrl: 'urn:uuid:4a1e7d4c-2b0f-4e8e-a4a5-9d9b7c6e5f01', resource: { resourceType: 'Parameters', parameter: [{ name: 'type', valueCode: 'event-notification' }] } },
        { fullUrl: `${upstream.url}/Patient/${upId}`, request: { method: 'PUT', url: `Patient/${upId}` } },
      ],
    };
    const hook = await send('POST', `${base}/subscription-hook`, notification);
    assert.equal(hook.status, 200);
    await waitUntil(async () => (await fetch(`${destination.url}/Patient/${upId}`)).status === 200, 'the notified Patient at the destination', 20_000);
    // The same notification again (the sender retried): the same version is not relayed twice.
    assert.equal((await send('POST', `${base}/subscription-hook`, notification)).status, 200);

    // Exactly once each: three transactions reached the destination, three messages SENT.
    await waitUntil(async () => (await sentCount()) >= 3, 'three messages sent', 20_000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(transactions.length, 3, `destination transactions: ${JSON.stringify(transactions.map((t) => t.status))}`);
    assert.equal(await sentCount(), 3);
    assert.equal((await patientsWith('P1')).length, 1);
    assert.equal((await patientsWith('P2')).length, 1);
    assert.equal((await patientsWith('P3')).length, 1);
    // The log holds ids and codes, never the resources' content.
    assert.doesNotMatch(engine.output(), /Relay|last tuesday/);
  });
});
