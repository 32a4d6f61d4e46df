/** The sync's pure helpers: search parameters, include support, high-water keys, paging skips. */
import assert from 'node:assert/strict';
import {
  connectionIdForUrl, encounterSearchParams, includeSupportOf, instantBefore, pageAfter, queryKeyOf,
} from '../../../../connectors/fhir/sync/encounter-sync';
import { binaryIdOf } from '../../../../connectors/fhir/sync/notes';

describe('EncounterSync helpers', () => {
  it('builds the Encounter search from the query, the mark and the include support', () => {
    assert.deepEqual(
      encounterSearchParams({ since: '2026-01-01', until: '2026-02-01', status: 'finished', patient: '123', pageSize: 50 }, '2026-01-05T00:00:00Z', {
        patient: 'Encounter:patient', documentReference: true, composition: false,
      }),
      {
        _count: '50', date: ['ge2026-01-01', 'le2026-02-01'], status: 'finished', patient: 'Patient/123',
        _lastUpdated: 'ge2026-01-05T00:00:00Z', _include: 'Encounter:patient', _revinclude: ['DocumentReference:encounter'],
      },
    );
    assert.deepEqual(encounterSearchParams({}, undefined, { documentReference: false, composition: false }), { _count: '100' });
  });

  it('reads _include/_revinclude support from the CapabilityStatement', () => {
    const caps = (inc: string[], rev: string[]) => ({
      resourceType: 'CapabilityStatement' as const, status: 'active' as const, date: '2026', kind: 'instance' as const, fhirVersion: '4.0.1' as const, format: ['json'],
      rest: [{ mode: 'server' as const, resource: [{ type: 'Encounter' as const, searchInclude: inc, searchRevInclude: rev }] }],
    });
    assert.deepEqual(includeSupportOf(caps(['Encounter:subject'], ['Composition:encounter'])), { patient: 'Encounter:subject', documentReference: false, composition: true });
    assert.deepEqual(includeSupportOf(undefined), { patient: undefined, documentReference: false, composition: false });
  });

  it('keys high-water marks by filter, hashing patient ids', () => {
    assert.equal(queryKeyOf({}), '');
    assert.equal(queryKeyOf({ status: 'finished', since: '2026-01-01', pageSize: 10 }), 'since=2026-01-01&status=finished');
    assert.match(queryKeyOf({ patient: 'Patient/123' }), /^sha256:[0-9a-f]{64}$/);
  });

  it('finds the page after a broken one for offset paging only', () => {
    assert.equal(pageAfter('http://h/fhir/Encounter?_count=100&_offset=200'), 'http://h/fhir/Encounter?_count=100&_offset=300');
    assert.equal(pageAfter('http://h/fhir?_getpages=abc&_getpagesoffset=20&_count=10'), 'http://h/fhir?_getpages=abc&_getpagesoffset=30&_count=10');
    assert.equal(pageAfter('http://h/fhir/Encounter?_cursor=xyz'), undefined);
  });

  it('compares instants by time, not text; names connections by URL without credentials', () => {
    assert.equal(instantBefore('2026-01-01T10:00:00+03:00', '2026-01-01T08:00:00Z'), true);
    assert.equal(instantBefore('2026-01-01T08:00:00Z', '2026-01-01T10:00:00+03:00'), false);
    assert.equal(instantBefore('nope', '2026-01-01T08:00:00Z'), false);
    assert.equal(connectionIdForUrl('https://u:p@ehr.example/fhir/R4/?x=1'), 'https://ehr.example/fhir/R4');
  });

  it('recognises Binary references, relative or on the base', () => {
    assert.equal(binaryIdOf('Binary/abc-1'), 'abc-1');
    assert.equal(binaryIdOf('Binary/abc/_history/2'), 'abc');
    assert.equal(binaryIdOf('http://h/fhir/R4/Binary/x9', 'http://h/fhir/R4/'), 'x9');
    assert.equal(binaryIdOf('http://other/Binary/x9', 'http://h/fhir/R4'), undefined);
  });
});
