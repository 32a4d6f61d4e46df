/**
 * Large transactions against a server that caps them: the built-in Medplum server refuses a
 * conditional transaction of more than 8 entries, and real HL7 messages map to 10-25.
 */
import assert from 'node:assert/strict';
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { FhirDestination } from '../../../connectors/fhir/client';
import { canSplit, planChunks, resolveReferences } from '../../../connectors/fhir/split-transaction';
import { startFhirServer, type RunningFhirServer } from '../../../engine/fhir-server';
import { hl7ToFhirTransaction } from '../../../transformers/hl7v2/fhir';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { fhirSearchAll } from '../../support/fhir-counts';
import { hl7Fixture } from '../../transformers/fixtures';

const entry = (n: string, refs: string[] = []): BundleEntry => ({
  fullUrl: `urn:uuid:${n}`,
  resource: { resourceType: 'Basic', code: { text: n }, extension: refs.map((r) => ({ url: 'x', valueReference: { reference: `urn:uuid:${r}` } })) } as never,
  request: { method: 'PUT', url: `Basic?identifier=s|${n}` },
});

describe('connectors/fhir/split-transaction', () => {
  it('puts every entry after what it references, in chunks of at most max', () => {
    const entries = [entry('enc', ['pat', 'loc']), entry('pat', ['org']), entry('obs', ['enc', 'pat']), entry('org'), entry('loc', ['org'])];
    const chunks = planChunks(entries, 2);
    assert.ok(chunks.every((c) => c.length <= 2));
    const position = new Map(chunks.flat().map((e, i) => [e.fullUrl, i]));
    assert.equal(position.size, 5);
    for (const e of entries) {
      for (const ext of (e.resource as { extension: Array<{ valueReference: { reference: string } }> }).extension) {
        assert.ok(position.get(ext.valueReference.reference)! < position.get(e.fullUrl)!, `${e.fullUrl} after ${ext.valueReference.reference}`);
      }
    }
  });

  it('keeps entries that reference each other in one chunk', () => {
    const chunks = planChunks([entry('a', ['b']), entry('b', ['a']), entry('c')], 1);
    assert.ok(chunks.some((c) => c.map((e) => e.fullUrl).sort().join() === 'urn:uuid:a,urn:uuid:b'));
  });

  it('replaces resolved urn:uuid references and leaves the rest', () => {
    const out = resolveReferences({ a: { reference: 'urn:uuid:x' }, b: ['urn:uuid:y'] }, new Map([['urn:uuid:x', 'Patient/1']]));
    assert.deepEqual(out, { a: { reference: 'Patient/1' }, b: ['urn:uuid:y'] });
  });

  it('never splits a Bundle with an unconditional create (a retry would duplicate it)', () => {
    assert.equal(canSplit({ resourceType: 'Bundle', type: 'transaction', entry: [entry('a'), { request: { method: 'POST', url: 'Patient' } }] }), false);
    assert.equal(canSplit({ resourceType: 'Bundle', type: 'transaction', entry: [entry('a'), { request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=s|1' } }] }), true);
  });

  describe('against the built-in Medplum server', () => {
    let server: RunningFhirServer;
    before(async () => {
      server = await startFhirServer(0, '127.0.0.1');
    });
    after(async () => server.close());

    const big = (): Bundle => hl7ToFhirTransaction(parseHl7(hl7Fixture('mscvt_ADT-A01-01.hl7')));

    it('is refused whole by Medplum, so the limit is real', async () => {
      assert.ok((big().entry?.length ?? 0) > 8, 'the fixture maps to more than 8 entries');
      const whole = new FhirDestination({ baseUrl: server.url });
      await assert.rejects(whole.postTransaction(big(), { correlationId: 'c0' }), /INTEGRATION_FHIR_REJECTED|too many entries/);
    });

    it('is written in chunks with references resolved, and a resend adds no copies', async () => {
      const dest = new FhirDestination({ baseUrl: server.url, maxTransactionEntries: 8 });
      const bundle = big();
      const first = await dest.postTransaction(bundle, { correlationId: 'c1' });
      assert.equal(first.bundle.entry?.length, bundle.entry?.length);
      assert.ok(first.bundle.entry?.every((e) => /^20[01]/.test(e.response?.status ?? '')), 'every entry 200/201');
      const counts = async () => {
        const out: Record<string, number> = {};
        for (const type of ['Patient', 'Encounter', 'Practitioner', 'Location', 'Organization']) out[type] = (await fhirSearchAll(server.url, type)).length;
        return out;
      };
      const before = await counts();
      assert.equal(before.Patient, 1);
      const [encounter] = await fhirSearchAll(server.url, 'Encounter');
      assert.match(String((encounter.subject as { reference: string }).reference), /^Patient\/[^/]+$/, 'the urn:uuid became the server id');
      await dest.postTransaction(big(), { correlationId: 'c2' });
      assert.deepEqual(await counts(), before);
    });
  });
});
