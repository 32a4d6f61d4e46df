import assert from 'node:assert/strict';
import { parseSearchRequest } from '@medplum/core';
import { IdentifierIndex } from '../../../engine/fhir-server/identifier-index';
import { IndexedMemoryRepository } from '../../../engine/fhir-server/repository';

describe('engine/fhir-server identifier index', () => {
  it('answers exact identifier searches like a full scan does', async () => {
    const repo = new IndexedMemoryRepository();
    for (let i = 0; i < 500; i++) {
      await repo.createResource({ resourceType: 'Patient', identifier: [{ system: i % 2 ? 'urn:a' : 'urn:b', value: `V${i}` }] });
    }
    await repo.createResource({ resourceType: 'Patient', identifier: [{ system: 'urn:a', value: 'with,comma' }] });
    const cases = ['identifier=urn:a|V1', 'identifier=urn:b|V1', 'identifier=V2', 'identifier=urn:a|V1,urn:b|V2', 'identifier=urn:a|with\\,comma', 'identifier=nope'];
    for (const q of cases) {
      const indexed = await repo.search(parseSearchRequest(`Patient?${q}`));
      const scanned = await repo.search(parseSearchRequest(`Patient?${q}&_count=1000`));
      // `_count` alone keeps the index; a second filter forces Medplum's scan for comparison.
      const scan = await repo.search(parseSearchRequest(`Patient?${q}&gender:missing=true`));
      assert.equal(indexed.total, scan.total, q);
      assert.equal(scanned.total, scan.total, q);
    }
  });

  it('leaves other search shapes to the scan', () => {
    const index = new IdentifierIndex();
    assert.equal(index.candidates(parseSearchRequest('Patient?name=x')), undefined);
    assert.equal(index.candidates(parseSearchRequest('Patient?identifier=a&name=x')), undefined);
    assert.deepEqual(index.candidates(parseSearchRequest('Patient?identifier=a')), []);
  });
});
