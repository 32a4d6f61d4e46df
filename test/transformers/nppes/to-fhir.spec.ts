/**
 * NPPES records → FHIR R4 (US Core based): every record of every NPPES fixture maps to a
 * transaction Bundle that validates against the R4 schema, as does each resource in it; then the
 * mapping field by field for an NPI-1 and an NPI-2, deactivation, determinism, bad input.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, Location, Organization, Practitioner, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import { parseNppesRecord, parseNppesResponse, type NppesRecord } from '../../../connectors/nppes/parse';
import { validateFhir } from '../../../transformers/fhir/validate';
import { NPPES_LOCATION_SYSTEM, US_NPI_SYSTEM, nppesToFhirBundle, practiceLocations } from '../../../transformers/nppes/to-fhir';
import { NPPES_FIXTURES_DIR } from '../../simulators/nppes/server';

const NUCC = 'http://nucc.org/provider-taxonomy';
const files = fs.readdirSync(NPPES_FIXTURES_DIR).filter((f) => f.startsWith('nppes_api_') && f.endsWith('.json') && !f.includes('error'));
const load = (file: string) => JSON.parse(fs.readFileSync(path.join(NPPES_FIXTURES_DIR, file), 'utf8')) as { results: Record<string, unknown>[] };
const records = (file: string) => parseNppesResponse(load(file)).records;
const byNpi = (npi: string): NppesRecord => files.flatMap(records).find((r) => r.npi === npi)!;

function resources<T extends Resource>(bundle: Bundle, type: T['resourceType']): T[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
}

function assertValid(resource: unknown, what: string): void {
  const { valid, outcome } = validateFhir(resource);
  assert.ok(valid, `${what}: ${JSON.stringify(outcome.issue)}`);
}

/** Every reference inside the Bundle points at an entry's fullUrl. */
function assertReferencesResolve(bundle: Bundle): void {
  const fullUrls = new Set((bundle.entry ?? []).map((e) => e.fullUrl));
  const refs = JSON.stringify(bundle).match(/"reference":"[^"]+"/g) ?? [];
  for (const r of refs) assert.ok(fullUrls.has(r.slice(13, -1)), `dangling ${r}`);
}

describe('transformers/nppes to-fhir', function () {
  this.timeout(30_000);
  before(() => validateFhir({ resourceType: 'Patient' })); // compiles the schema once

  for (const file of files) {
    it(`maps every record of ${file} to valid FHIR R4 (Bundle and each resource)`, () => {
      const list = records(file);
      for (const record of list) {
        const bundle = nppesToFhirBundle(record);
        assert.equal(bundle.type, 'transaction');
        assertValid(bundle, `${record.npi} bundle`);
        for (const e of bundle.entry ?? []) {
          assertValid(e.resource, `${record.npi} ${e.resource?.resourceType}`);
          assert.match(e.fullUrl ?? '', /^urn:uuid:[0-9a-f-]{36}$/);
          assert.equal(e.request?.method, 'PUT');
        }
        assertReferencesResolve(bundle);
        const main = record.kind === 'individual' ? resources<Practitioner>(bundle, 'Practitioner') : resources<Organization>(bundle, 'Organization');
        assert.equal(main.length, 1);
        assert.deepEqual(main[0].identifier?.[0].system, US_NPI_SYSTEM);
        assert.equal(main[0].identifier?.[0].value, record.npi);
        assert.equal(main[0].active, true);
        assert.equal(resources<Location>(bundle, 'Location').length, practiceLocations(record).length);
      }
      // And all of them in one Bundle.
      const all = nppesToFhirBundle(list);
      assertValid(all, `${file} as one bundle`);
      assertReferencesResolve(all);
    });
  }

  it('NPI-1: Practitioner with NPI, official name, gender, mailing address, licensed qualification; a role per location', () => {
    const bundle = nppesToFhirBundle(byNpi('1114920071'));
    const [p] = resources<Practitioner>(bundle, 'Practitioner');
    assert.deepEqual(p.identifier?.[0], {
      use: 'official', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NPI', display: 'National provider identifier' }] }, system: US_NPI_SYSTEM, value: '1114920071',
    });
    assert.deepEqual(p.identifier?.[3], { use: 'secondary', value: '100101100A', type: { text: 'MEDICAID OK' }, assigner: { display: 'OK' } });
    assert.deepEqual(p.name, [{ use: 'official', family: 'ABERNATHY', given: ['BOB', 'R'] }]);
    assert.equal(p.gender, 'male');
    assert.deepEqual(p.address, [{ use: 'work', type: 'postal', line: ['1220 N GLENN L ENGLISH ST'], city: 'CORDELL', state: 'OK', postalCode: '73632-2010', country: 'US' }]);
    assert.deepEqual(p.qualification, [
      { code: { text: 'DO' } },
      { identifier: [{ value: '2075' }], code: { coding: [{ system: NUCC, code: '207Q00000X', display: 'Family Medicine Physician' }], text: 'Family Medicine' }, issuer: { display: 'OK state licensing board' } },
    ]);
    assert.equal(bundle.entry?.[0].request?.url, 'Practitioner?identifier=http%3A%2F%2Fhl7.org%2Ffhir%2Fsid%2Fus-npi|1114920071');
    const [role] = resources<PractitionerRole>(bundle, 'PractitionerRole');
    const [loc] = resources<Location>(bundle, 'Location');
    assert.equal(role.practitioner?.reference, bundle.entry?.[0].fullUrl);
    assert.equal(role.location?.[0].reference, bundle.entry?.find((e) => e.resource === loc)?.fullUrl);
    assert.deepEqual(role.specialty, [{ coding: [{ system: NUCC, code: '207Q00000X', display: 'Family Medicine Physician' }], text: 'Family Medicine' }]);
    assert.deepEqual(role.telecom, [{ system: 'phone', value: '580-832-3838', use: 'work' }, { system: 'fax', value: '580-832-5119', use: 'work' }]);
    assert.deepEqual(loc.address, { use: 'work', type: 'physical', line: ['1200 N GLENN ENGLISH'], city: 'CORDELL', state: 'OK', postalCode: '73632-2010', country: 'US' });
    assert.deepEqual(loc.identifier, [{ system: NPPES_LOCATION_SYSTEM, value: '1114920071-1' }]);
    assert.equal(loc.status, 'active');
    assert.equal(p.meta?.lastUpdated, new Date(1468867283 * 1000).toISOString());
  });

  it('the primary taxonomy is the first specialty even when NPPES lists it second', () => {
    const bundle = nppesToFhirBundle(byNpi('1225035769'));
    const [role] = resources<PractitionerRole>(bundle, 'PractitionerRole');
    assert.deepEqual(role.specialty?.map((s) => s.coding?.[0].code), ['213E00000X', '213EP1101X']);
    const [p] = resources<Practitioner>(bundle, 'Practitioner');
    assert.deepEqual(p.name?.[0].prefix, ['DR.']);
  });

  it('NPI-2: Organization with NPI, name, taxonomy type, addresses, phones, authorized official; Locations it manages', () => {
    const bundle = nppesToFhirBundle(byNpi('1568946812'));
    const [o] = resources<Organization>(bundle, 'Organization');
    assert.equal(o.name, 'CSP ANESTHESIA LLC');
    assert.equal(o.active, true);
    assert.deepEqual(o.type, [{ coding: [{ system: NUCC, code: '207L00000X', display: 'Anesthesiology Physician' }], text: 'Anesthesiology' }]);
    assert.deepEqual(o.address?.map((a) => [a.type, a.city]), [['physical', 'VILLA RICA'], ['postal', 'MABLETON']]);
    assert.deepEqual(o.telecom, [{ system: 'phone', value: '888-408-0200', use: 'work' }]);
    assert.deepEqual(o.contact?.[0].purpose?.coding?.[0].code, 'ADMIN');
    assert.deepEqual(o.contact?.[0].name, { use: 'official', family: 'BARTON', given: ['TIMOTHY', 'GORDON'] });
    const locations = resources<Location>(bundle, 'Location');
    assert.deepEqual(locations.map((l) => l.address?.city), ['VILLA RICA', 'ATLANTA'], 'the location address, then the practice location');
    const orgUrl = bundle.entry?.find((e) => e.resource === o)?.fullUrl;
    assert.ok(locations.every((l) => l.managingOrganization?.reference === orgUrl));
    assert.equal(resources(bundle, 'PractitionerRole').length, 0);
  });

  it('an individual\'s other (professional) name becomes a second, usual name', () => {
    const [p] = resources<Practitioner>(nppesToFhirBundle(byNpi('1649270190')), 'Practitioner');
    assert.equal(p.name?.length, 2);
    assert.deepEqual(p.name?.[1], { use: 'usual', family: 'WODECKI', given: ['BOB', 'I'] });
  });

  it('an empty search is a Bundle without entries (FHIR has no empty arrays)', () => {
    const bundle = nppesToFhirBundle([]);
    assert.deepEqual(bundle, { resourceType: 'Bundle', type: 'transaction' });
    assertValid(bundle, 'empty');
  });

  it('other organization names become aliases', () => {
    const [o] = resources<Organization>(nppesToFhirBundle(byNpi('1467486373')), 'Organization');
    assert.deepEqual(o.alias, ['EMORY SPINE PHYSIATRY OUTPATIENT CENTER']);
  });

  it('a deactivated NPI gives active false and inactive Locations, still valid', () => {
    for (const npi of ['1114920071', '1568946812']) {
      const record = { ...byNpi(npi), status: 'deactivated' as const, deactivatedOn: '2024-05-01' };
      const bundle = nppesToFhirBundle(record);
      assertValid(bundle, npi);
      for (const e of bundle.entry ?? []) {
        const r = e.resource as { resourceType: string; active?: boolean; status?: string };
        if (r.resourceType === 'Location') assert.equal(r.status, 'inactive');
        else assert.equal(r.active, false, `${npi} ${r.resourceType}`);
      }
    }
  });

  it('a practitioner with no location still gets one role; several practice locations give one role and Location each', () => {
    const bare = parseNppesRecord({ number: '1234567893', enumeration_type: 'NPI-1', basic: { first_name: 'A', last_name: 'B' }, taxonomies: [{ code: '207R00000X', primary: true }] });
    const b1 = nppesToFhirBundle(bare);
    assertValid(b1, 'bare');
    assert.equal(resources(b1, 'PractitionerRole').length, 1);
    assert.equal(resources(b1, 'Location').length, 0);

    const raw = load('nppes_api_npi1_search_10.json').results[0];
    const loc = (raw.addresses as Record<string, unknown>[])[0];
    const multi = parseNppesRecord({ ...raw, practiceLocations: [{ ...loc, address_1: '2 SECOND ST' }, { ...loc, address_1: '3 THIRD ST' }, { ...loc }] });
    const b2 = nppesToFhirBundle(multi);
    assertValid(b2, 'multi');
    assert.equal(resources(b2, 'Location').length, 3, 'the repeated LOCATION address is one Location');
    assert.equal(resources(b2, 'PractitionerRole').length, 3);
    assertReferencesResolve(b2);
  });

  it('is deterministic: the same record gives the same Bundle', () => {
    const r = byNpi('1639225402');
    assert.deepEqual(nppesToFhirBundle(r), nppesToFhirBundle(structuredClone(r)));
    assert.notEqual(nppesToFhirBundle(byNpi('1114920071')).entry?.[0].fullUrl, nppesToFhirBundle(byNpi('1780689109')).entry?.[0].fullUrl);
  });

  it('refuses what is not an NPPES record, naming the field', () => {
    assert.throws(() => nppesToFhirBundle({ npi: '12' } as NppesRecord), (e: unknown) => e instanceof ValidationError && e.path === 'record.npi');
    assert.throws(() => nppesToFhirBundle([byNpi('1114920071'), { npi: '1234567893', enumerationType: 'X' } as never]), (e: unknown) => e instanceof ValidationError && e.path === 'records[1].enumerationType');
    assert.throws(() => nppesToFhirBundle({ ...byNpi('1568946812'), organization: { name: '' } }), (e: unknown) => e instanceof ValidationError && e.path === 'organization.name');
  });
});
