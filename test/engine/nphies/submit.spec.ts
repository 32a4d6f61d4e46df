/**
 * engine/nphies/submit.ts and connectors/nphies/from-fhir.ts without Node-RED or a network: a
 * recording sender stands in for NphiesClient, the lifecycle runs on a real SQLite store.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Bundle, Claim, Resource } from '@medplum/fhirtypes';
import { buildRequest } from '../../../connectors/nphies/bundles';
import { wrapFhirAsMessage } from '../../../connectors/nphies/from-fhir';
import type { NphiesResult } from '../../../connectors/nphies/types';
import { validateNphiesBundle } from '../../../connectors/nphies/validate';
import { claimLifecycleFor, type ClaimLifecycle } from '../../../engine/nphies/lifecycle';
import { errorForResult, requestBundle, seededIds, submitNphies, type NphiesSender } from '../../../engine/nphies/submit';
import { openStore } from '../../../engine/store';
import type { MessageStore } from '../../../engine/store/types';
import { claimInput, PARTIES } from '../../simulators/nphies/requests';
import { tempDir } from '../../support/engine-process';

const CLAIM_SYSTEM = `${PARTIES.providerEndpoint}/identifiers/claim`;

/** Answers every send with `answer(bundle)` and records what was sent. */
function recordingSender(answer: (b: Bundle) => Partial<NphiesResult>): NphiesSender & { sent: Array<{ bundle: Bundle; key: string }> } {
  const sent: Array<{ bundle: Bundle; key: string }> = [];
  return {
    sent,
    async send(bundle, opts) {
      sent.push({ bundle, key: opts.idempotencyKey });
      const requestId = (bundle.entry?.[0]?.resource as { id: string }).id;
      return { requestId, responseCode: 'ok', outcome: 'complete', errors: [], ...answer(bundle) };
    },
    async poll() {
      return { result: { requestId: 'poll', outcome: 'complete', errors: [] }, messages: [] };
    },
  };
}

describe('engine/nphies/submit', function () {
  this.timeout(30_000);
  let dir: string;
  let store: MessageStore;
  let lifecycle: ClaimLifecycle;

  beforeEach(async () => {
    dir = tempDir('nphies-submit');
    store = await openStore({ dataDir: dir });
    lifecycle = claimLifecycleFor(store);
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('rebuilds the identical Bundle for the same seed and time: same idempotency key on a redelivery', () => {
    const at = new Date('2026-11-23T10:00:00Z');
    const a = requestBundle('claim', { payload: claimInput('C-1'), seed: 'row-1', at }, PARTIES);
    const b = requestBundle('claim', { payload: claimInput('C-1'), seed: 'row-1', at }, PARTIES);
    assert.deepEqual(a, b);
    assert.notEqual(requestBundle('claim', { payload: claimInput('C-1'), seed: 'row-2', at }, PARTIES).id, a.id);
    assert.match(seededIds('x')(), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('approved: draft -> submitted -> approved, sent once under the claim identifier + Bundle id', async () => {
    const sender = recordingSender(() => ({ adjudication: { outcome: 'approved' } }));
    const out = await submitNphies('claim', { payload: claimInput('C-2'), seed: 's2' }, { sender, lifecycle, parties: PARTIES, actor: 'test' });
    assert.equal(out.claim?.state, 'approved');
    assert.equal(out.error, undefined);
    assert.equal(sender.sent.length, 1);
    assert.equal(sender.sent[0].key, `${CLAIM_SYSTEM}|C-2#${out.request.id}`);
    assert.deepEqual((await lifecycle.history(out.claim!.id)).map((t) => t.to), ['draft', 'submitted', 'approved']);
  });

  it('a redelivery of an answered claim does not move it again (the same state is not a transition)', async () => {
    const sender = recordingSender(() => ({ adjudication: { outcome: 'approved' } }));
    const deps = { sender, lifecycle, parties: PARTIES, actor: 'test' };
    const at = new Date();
    await submitNphies('claim', { payload: claimInput('C-3'), seed: 's3', at }, deps);
    const again = await submitNphies('claim', { payload: claimInput('C-3'), seed: 's3', at }, deps);
    assert.equal(again.claim?.state, 'approved');
    assert.equal(sender.sent[0].key, sender.sent[1].key, 'the client gets the same key and answers from its ledger');
  });

  it('rejected: recorded in the lifecycle, returned as an integration error', async () => {
    const sender = recordingSender(() => ({ outcome: 'complete', adjudication: { outcome: 'rejected' }, errors: [{ code: 'BV-00731' }] }));
    const out = await submitNphies('claim', { payload: claimInput('C-4'), seed: 's4' }, { sender, lifecycle, parties: PARTIES, actor: 'test' });
    assert.equal(out.claim?.state, 'rejected');
    assert.equal(out.error?.code, 'INTEGRATION_NPHIES_REJECTED');
    assert.match(out.error?.message ?? '', /BV-00731/);
  });

  it('classifies answers: transient-error is transient, fatal-error an integration error, queued none', () => {
    const base = { requestId: 'r', errors: [] };
    assert.equal(errorForResult({ ...base, outcome: 'error', responseCode: 'transient-error' }, 'claim')?.kind, 'transient');
    assert.equal(errorForResult({ ...base, outcome: 'error', responseCode: 'fatal-error' }, 'claim')?.kind, 'integration');
    assert.equal(errorForResult({ ...base, outcome: 'error' }, 'eligibility')?.code, 'INTEGRATION_NPHIES_ELIGIBILITY_ERROR');
    assert.equal(errorForResult({ ...base, outcome: 'queued' }, 'claim'), undefined);
  });

  it('refuses a payload that is not an object, and an invalid Bundle, before sending', async () => {
    const sender = recordingSender(() => ({}));
    const deps = { sender, lifecycle, parties: PARTIES, actor: 'test' };
    await assert.rejects(submitNphies('claim', { payload: 'MSH|...', seed: 's' }, deps), { code: 'VALIDATION_NPHIES_PAYLOAD' });
    await assert.rejects(submitNphies('claim', { payload: { resourceType: 'Claim', identifier: [{ system: CLAIM_SYSTEM, value: 'V' }] }, seed: 's' }, deps), { code: 'VALIDATION_NPHIES_INVALID' });
    assert.equal(sender.sent.length, 0);
  });
});

describe('connectors/nphies/from-fhir', () => {
  it('wraps an EHR Bundle (urn:uuid references) as a valid claim-request message', () => {
    const built = buildRequest('claim-request', claimInput('F-1'), PARTIES);
    // As an EHR would post it: a transaction with urn:uuid fullUrls and references to them.
    const urn = new Map<string, string>();
    const entries = (built.entry ?? []).slice(1).map((e, i) => {
      const r = e.resource as Resource & { id: string };
      urn.set(`${r.resourceType}/${r.id}`, `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      return r;
    });
    const text = JSON.stringify(entries).replace(/"reference":"([A-Za-z]+\/[^"]+)"/g, (m, ref: string) => (urn.has(ref) ? `"reference":"${urn.get(ref)}"` : m));
    const tx: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: (JSON.parse(text) as Resource[]).map((resource) => ({ fullUrl: urn.get(`${resource.resourceType}/${resource.id}`), resource, request: { method: 'POST', url: resource.resourceType } })),
    };
    const message = wrapFhirAsMessage('claim-request', tx, PARTIES);
    const { valid, outcome } = validateNphiesBundle(message);
    assert.ok(valid, JSON.stringify(outcome.issue.filter((i) => i.severity === 'error')));
    const claim = message.entry?.find((e) => e.resource?.resourceType === 'Claim')?.resource as Claim;
    assert.match(claim.patient.reference ?? '', /^Patient\//);
    assert.ok(!JSON.stringify(message).includes('urn:uuid:00000000'), 'no EHR fullUrl left');
  });

  it('needs exactly one focal resource', () => {
    assert.throws(() => wrapFhirAsMessage('claim-request', { resourceType: 'Patient' } as Resource, PARTIES), { code: 'VALIDATION_NPHIES_PAYLOAD' });
  });
});
