/**
 * NPI Registry API v2.1 answers → NppesRecord: every NPPES fixture, then each quirk of NPPES.md §3-§4
 * on copies of fixture records: numbers as strings, lost leading zeros, missing keys, gender/sex,
 * several practice locations, deactivated and reactivated records, result_count that does not
 * match `results`, and the Errors answer as an IntegrationError (never "not found").
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { IntegrationError, ValidationError } from '../../../common/errors';
import { displayName, normalisePostalCode, parseNppesRecord, parseNppesResponse, parseSavedNppes } from '../../../connectors/nppes/parse';
import { NPPES_FIXTURES_DIR } from '../../simulators/nppes/server';

type Raw = Record<string, unknown> & { basic: Record<string, unknown> };

const fixture = (name: string) => JSON.parse(fs.readFileSync(path.join(NPPES_FIXTURES_DIR, name), 'utf8')) as { result_count?: number; results?: Raw[]; Errors?: unknown[] };
const apiFixtures = fs.readdirSync(NPPES_FIXTURES_DIR).filter((f) => f.startsWith('nppes_api_') && f.endsWith('.json'));
const NPI1 = () => fixture('nppes_api_npi1_search_10.json').results![0];
const NPI2 = () => fixture('nppes_api_npi2_single.json').results![0];

describe('connectors/nppes parse', () => {
  it('the fixtures include the six API answers of shared/fixtures/INDEX.md', () => {
    assert.deepEqual(apiFixtures.sort(), [
      'nppes_api_empty_result.json', 'nppes_api_error_enumeration_type.json', 'nppes_api_mixed_npi1_npi2.json',
      'nppes_api_npi1_search_10.json', 'nppes_api_npi2_search_10.json', 'nppes_api_npi2_single.json',
    ]);
  });

  for (const file of apiFixtures.filter((f) => f !== 'nppes_api_error_enumeration_type.json')) {
    it(`parses every record of ${file}`, () => {
      const body = fixture(file);
      const parsed = parseNppesResponse(body);
      assert.equal(parsed.records.length, body.results!.length);
      parsed.records.forEach((r, i) => {
        const raw = body.results![i];
        assert.equal(r.npi, String(raw.number));
        assert.equal(r.enumerationType, raw.enumeration_type);
        assert.equal(r.kind, raw.enumeration_type === 'NPI-1' ? 'individual' : 'organization');
        assert.equal(r.status, 'active');
        assert.ok(r.addresses.length >= 1 && r.addresses.every((a) => a.line.length >= 1 && a.city && a.state));
        assert.ok(r.taxonomies.length >= 1);
        if (r.taxonomies.some((t) => t.primary)) assert.equal(r.taxonomies[0].primary, true, `${r.npi}: primary taxonomy first`);
        if (r.kind === 'individual') assert.ok(r.individual?.last && !r.organization);
        else assert.ok(r.organization?.name && !r.individual);
        assert.match(r.lastUpdatedAt ?? '', /^\d{4}-\d{2}-\d{2}T/);
        // No blanks survive: absent, not "".
        assert.ok(!JSON.stringify(r).includes('""'), `${r.npi} has an empty string`);
      });
    });
  }

  it('reads an NPI-1 record field by field', () => {
    const r = parseNppesRecord(NPI1());
    assert.deepEqual(r.individual, { first: 'BOB', last: 'ABERNATHY', middle: 'R', credential: 'DO', gender: 'M', soleProprietor: false });
    assert.deepEqual(r.addresses[0], {
      purpose: 'LOCATION', type: 'DOM', line: ['1200 N GLENN ENGLISH'], city: 'CORDELL', state: 'OK', postalCode: '736322010', countryCode: 'US',
      countryName: 'United States', phone: '580-832-3838', fax: '580-832-5119',
    });
    assert.deepEqual(r.taxonomies, [{ code: '207Q00000X', desc: 'Family Medicine', primary: true, state: 'OK', license: '2075' }]);
    assert.equal(r.identifiers.length, 5);
    assert.deepEqual(r.identifiers[2], { identifier: '100101100A', code: '05', desc: 'MEDICAID', state: 'OK' });
    assert.equal(r.enumerationDate, '2005-05-24');
    assert.equal(r.lastUpdatedAt, new Date(1468867283 * 1000).toISOString());
    assert.equal(displayName(r), 'BOB ABERNATHY, DO');
  });

  it('reads an NPI-2 record: organization, authorized official, practice location, taxonomy group', () => {
    const r = parseNppesRecord(NPI2());
    assert.equal(r.organization?.name, 'CSP ANESTHESIA LLC');
    assert.equal(r.organization?.subpart, false);
    assert.deepEqual(r.organization?.authorizedOfficial, {
      first: 'TIMOTHY', last: 'BARTON', middle: 'GORDON', credential: 'CRNA', title: 'MANAGING MEMBER', phone: '888-408-0200',
    });
    assert.equal(r.practiceLocations.length, 1);
    assert.equal(r.practiceLocations[0].purpose, 'PRACTICE');
    assert.equal(r.practiceLocations[0].city, 'ATLANTA');
    assert.equal(r.practiceLocations[0].updatedAt, '2018-09-22 17:09');
    assert.equal(r.taxonomies[0].group, '193400000X SINGLE SPECIALTY  GROUP');
    assert.equal(displayName(r), 'CSP ANESTHESIA LLC');
  });

  it('numbers as strings or numbers give the same record', () => {
    const raw = NPI1();
    const asStrings = { ...raw, number: String(raw.number), last_updated_epoch: String(raw.last_updated_epoch), created_epoch: String(raw.created_epoch) };
    assert.deepEqual(parseNppesRecord(asStrings), parseNppesRecord(raw));
    const numeric = { ...raw, taxonomies: [{ code: '207Q00000X', primary: 'Y', license: 2075, state: 'OK' }], addresses: [{ address_purpose: 'LOCATION', address_1: '1 A ST', city: 'X', state: 'MA', postal_code: 2134, telephone_number: 5551234567 }] };
    const r = parseNppesRecord(numeric);
    assert.equal(r.taxonomies[0].license, '2075');
    assert.equal(r.taxonomies[0].primary, true);
    assert.equal(r.addresses[0].postalCode, '02134', 'leading zero restored');
    assert.equal(r.addresses[0].phone, '5551234567');
  });

  it('restores leading zeros of US postal codes sent as numbers, leaves foreign ones alone', () => {
    assert.equal(normalisePostalCode(2134), '02134');
    assert.equal(normalisePostalCode(21341234), '021341234');
    assert.equal(normalisePostalCode('736322010'), '736322010');
    assert.equal(normalisePostalCode('123', 'DE'), '123');
    assert.equal(normalisePostalCode(''), undefined);
  });

  it('survives missing keys: no basic, no addresses, no taxonomies, no identifiers', () => {
    const r = parseNppesRecord({ number: 1234567893, enumeration_type: 'NPI-1' });
    assert.deepEqual(r, { npi: '1234567893', enumerationType: 'NPI-1', kind: 'individual', status: 'active', addresses: [], practiceLocations: [], taxonomies: [], identifiers: [], otherNames: [], endpoints: [], individual: {} });
    // enumeration_type missing too: an organization name tells.
    assert.equal(parseNppesRecord({ number: '1568946812', basic: { organization_name: 'ACME' } }).enumerationType, 'NPI-2');
  });

  it('takes `sex` where newer payloads drop `gender`', () => {
    const raw = NPI1();
    delete raw.basic.gender;
    raw.basic.sex = 'F';
    assert.equal(parseNppesRecord(raw).individual?.gender, 'F');
  });

  it('keeps several practice locations (NPI-2) in order', () => {
    const raw = NPI2();
    const base = (raw.practiceLocations as Record<string, unknown>[])[0];
    raw.practiceLocations = [base, { ...base, address_1: '2 SECOND ST', city: 'MACON' }, { ...base, address_1: '3 THIRD ST', city: 'ATHENS', postal_code: 30601 }];
    const r = parseNppesRecord(raw);
    assert.deepEqual(r.practiceLocations.map((a) => a.city), ['ATLANTA', 'MACON', 'ATHENS']);
    assert.equal(r.practiceLocations[2].postalCode, '30601');
  });

  it('reads a deactivated record (status D or a deactivation date) and a reactivated one', () => {
    const d = NPI1();
    d.basic = { ...d.basic, status: 'D', deactivation_date: '2024-03-01', deactivation_reason_code: 'DT' };
    const deactivated = parseNppesRecord(d);
    assert.equal(deactivated.status, 'deactivated');
    assert.equal(deactivated.deactivatedOn, '2024-03-01');
    assert.equal(deactivated.deactivationReason, 'DT');

    const onlyDate = NPI1();
    onlyDate.basic = { ...onlyDate.basic, deactivation_date: '03/01/2024' };
    assert.equal(parseNppesRecord(onlyDate).status, 'deactivated');
    assert.equal(parseNppesRecord(onlyDate).deactivatedOn, '2024-03-01');

    const re = NPI1();
    re.basic = { ...re.basic, status: 'A', deactivation_date: '2024-03-01', reactivation_date: '2024-06-01' };
    const reactivated = parseNppesRecord(re);
    assert.equal(reactivated.status, 'active');
    assert.equal(reactivated.reactivatedOn, '2024-06-01');
    assert.equal(reactivated.deactivatedOn, undefined);

    const again = NPI1();
    again.basic = { ...again.basic, deactivation_date: '2025-01-01', reactivation_date: '2024-06-01' };
    assert.equal(parseNppesRecord(again).status, 'deactivated', 'deactivated again after the reactivation');
  });

  it('never trusts result_count: the records are what `results` holds', () => {
    const body = fixture('nppes_api_npi1_search_10.json');
    assert.equal(parseNppesResponse({ ...body, result_count: 3 }).records.length, 10);
    const two = { result_count: 10, results: body.results!.slice(0, 2) };
    const parsed = parseNppesResponse(two);
    assert.equal(parsed.records.length, 2);
    assert.equal(parsed.reportedCount, 10);
    assert.equal(parseNppesResponse({ result_count: '5', results: [] }).records.length, 0);
    assert.equal(parseNppesResponse({ results: body.results }).records.length, 10, 'no result_count at all');
  });

  it('the empty answer is zero records, not an error', () => {
    assert.deepEqual(parseNppesResponse(fixture('nppes_api_empty_result.json')), { records: [], reportedCount: 0 });
  });

  it('the Errors answer (HTTP 200) is an IntegrationError with NPPES field, number and description', () => {
    assert.throws(
      () => parseNppesResponse(fixture('nppes_api_error_enumeration_type.json')),
      (err: unknown) => {
        assert.ok(err instanceof IntegrationError);
        assert.equal(err.code, 'INTEGRATION_NPPES_QUERY_REJECTED');
        assert.equal(err.path, 'enumeration_type');
        assert.match(err.message, /enumeration_type #09: enumeration_type requires additional search criteria/);
        assert.deepEqual(err.details, { errors: [{ field: 'enumeration_type', number: '09', description: 'enumeration_type requires additional search criteria' }] });
        return true;
      },
    );
    assert.throws(() => parseNppesResponse({ Errors: [{ description: 'No valid search criteria provided' }] }), /No valid search criteria provided/);
  });

  it('anything else is INTEGRATION_NPPES_BAD_RESPONSE / BAD_RECORD, naming the place', () => {
    for (const body of [null, 'oops', [], {}, { results: 'x' }]) {
      assert.throws(() => parseNppesResponse(body), (e: unknown) => e instanceof IntegrationError && e.code === 'INTEGRATION_NPPES_BAD_RESPONSE');
    }
    assert.throws(
      () => parseNppesResponse({ result_count: 1, results: [{ enumeration_type: 'NPI-1' }] }),
      (e: unknown) => e instanceof IntegrationError && e.code === 'INTEGRATION_NPPES_BAD_RECORD' && e.path === 'results[0].number',
    );
    assert.throws(() => parseNppesRecord({ number: 1234567893, enumeration_type: 'NPI-9' }), /unknown enumeration_type/);
  });

  it('parseSavedNppes reads an API answer, one record or an array; not JSON is a ValidationError', () => {
    const body = fixture('nppes_api_mixed_npi1_npi2.json');
    assert.equal(parseSavedNppes(JSON.stringify(body)).records.length, 10);
    assert.equal(parseSavedNppes(JSON.stringify(body.results![0])).records.length, 1);
    assert.equal(parseSavedNppes(JSON.stringify(body.results)).records.length, 10);
    assert.throws(() => parseSavedNppes('{nope'), (e: unknown) => e instanceof ValidationError && e.code === 'VALIDATION_NPPES_NOT_JSON');
  });
});
