import assert from 'node:assert/strict';
import { parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { loadFhirDefinitions } from '../../../engine/fhir-server/definitions';
import { IdentifierIndex } from '../../../engine/fhir-server/identifier-index';
import { IndexedMemoryRepository } from '../../../engine/fhir-server/repository';

describe('engine/fhir-server identifier index', () => {
  before(() => loadFhirDefinitions());

  /** The indexed answer and Medplum's full scan (a second filter that every resource passes forces it). */
  async function compare(repo: IndexedMemoryRepository, type: string, query: string): Promise<number> {
    const indexed = await repo.search(parseSearchRequest(`${type}?${query}`));
    const scan = await repo.search(parseSearchRequest(`${type}?${query}&_id:missing=false`));
    const ids = (b: typeof indexed) => (b.entry ?? []).map((e) => e.resource?.id).sort();
    assert.deepEqual(ids(indexed), ids(scan), `${type}?${query}`);
    return indexed.total ?? 0;
  }

  it('answers identifier searches exactly as Medplum\'s full scan does', async () => {
    const repo = new IndexedMemoryRepository();
    for (let i = 0; i < 300; i++) {
      await repo.createResource({ resourceType: 'Patient', identifier: [{ system: i % 2 ? 'urn:a' : 'urn:b', value: `V${i}` }] });
      // Encounter's `identifier` parameter is a union expression over thirty types.
      await repo.createResource({ resourceType: 'Encounter', status: 'finished', class: { code: 'IMP' }, identifier: [{ system: 'urn:visit', value: `E${i}` }] });
    }
    await repo.createResource({ resourceType: 'Patient', identifier: [{ system: 'urn:a', value: 'with,comma' }] });
    await repo.createResource({ resourceType: 'Patient', identifier: [{ value: 'NOSYS' }] });
    const cases: Array<[string, string, number]> = [
      ['Patient', 'identifier=urn:a|V1', 1],
      ['Patient', 'identifier=urn:b|V1', 0],
      ['Patient', 'identifier=V2', 1],
      // Medplum compares tokens case-insensitively; the index must find the same resources.
      ['Patient', 'identifier=URN:A|v1', 1],
      ['Patient', 'identifier=urn:a|V1,urn:b|V2', 2],
      ['Patient', 'identifier=urn:a|with\\,comma', 1],
      ['Patient', 'identifier=|NOSYS', 1],
      ['Patient', 'identifier=|V1', 0],
      ['Patient', 'identifier=nope', 0],
      ['Encounter', 'identifier=urn:visit|E7', 1],
      ['Encounter', 'identifier=e8', 1],
      ['Encounter', 'identifier=urn:other|E7', 0],
    ];
    for (const [type, query, expected] of cases) assert.equal(await compare(repo, type, query), expected, `${type}?${query}`);
  });

  it('finds a resource whose identifier is a single Identifier, not an array', async () => {
    const repo = new IndexedMemoryRepository();
    await repo.createResource({ resourceType: 'Bundle', type: 'collection', identifier: { system: 'urn:b', value: 'B1' } } as Resource);
    assert.equal(await compare(repo, 'Bundle', 'identifier=urn:b|B1'), 1);
  });

  it('leaves other search shapes to the scan', () => {
    const index = new IdentifierIndex();
    assert.equal(index.lookup(parseSearchRequest('Patient?name=x')), undefined);
    assert.equal(index.lookup(parseSearchRequest('Patient?identifier=a&name=x')), undefined);
    // `system|` means any value of that system: the index is keyed by value.
    assert.equal(index.lookup(parseSearchRequest('Patient?identifier=urn:a|')), undefined);
    // DocumentReference's identifier parameter also covers masterIdentifier, which is not indexed.
    assert.equal(index.lookup(parseSearchRequest('DocumentReference?identifier=a')), undefined);
    assert.deepEqual(index.lookup(parseSearchRequest('Patient?identifier=a'))?.ids, []);
  });
});
