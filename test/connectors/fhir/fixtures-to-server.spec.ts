/**
 * Every HL7 v2 fixture that maps to FHIR is accepted by a real FHIR server (the built-in Medplum
 * one, which validates each resource), twice, without a second copy of anything: the proof that
 * the mappings are usable, not only schema-valid.
 */
import assert from 'node:assert/strict';
import { FhirDestination } from '../../../connectors/fhir/client';
import { startFhirServer, type RunningFhirServer } from '../../../engine/fhir-server';
import { hl7ToFhirTransaction } from '../../../transformers/hl7v2/fhir';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { hl7Fixture, hl7FixtureNames } from '../../transformers/fixtures';

/** Fixtures that do not map (batches, invalid content, non-clinical types): covered elsewhere. */
function bundleOf(name: string) {
  try {
    return hl7ToFhirTransaction(parseHl7(hl7Fixture(name)));
  } catch {
    return undefined;
  }
}

describe('HL7 v2 fixtures -> the built-in FHIR server', function () {
  this.timeout(120_000);
  let server: RunningFhirServer;
  let dest: FhirDestination;
  before(async () => {
    server = await startFhirServer(0, '127.0.0.1');
    dest = new FhirDestination({ baseUrl: server.url, maxTransactionEntries: 8, timeoutMs: 30_000 });
  });
  after(async () => server.close());

  const names = hl7FixtureNames().filter((n) => bundleOf(n) !== undefined);

  it('maps at least 50 fixtures', () => assert.ok(names.length >= 50, `${names.length}`));

  for (const name of names) {
    it(`${name}: accepted, and a resend changes no count`, async () => {
      server.reset();
      await dest.postTransaction(bundleOf(name)!, { correlationId: name });
      const count = () => server.repo.searchResources({ resourceType: 'Patient' } as never).then((r) => r.length);
      const all = async () => {
        const types = [...new Set(bundleOf(name)!.entry!.map((e) => e.resource!.resourceType))];
        const out: Record<string, number> = {};
        for (const t of types) out[t] = (await server.repo.searchResources({ resourceType: t } as never)).length;
        return out;
      };
      const first = await all();
      assert.ok((await count()) >= 1);
      await dest.postTransaction(bundleOf(name)!, { correlationId: `${name}-again` });
      assert.deepEqual(await all(), first);
    });
  }
});
