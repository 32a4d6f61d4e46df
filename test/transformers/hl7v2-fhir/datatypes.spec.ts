import assert from 'node:assert/strict';
import type { Location, Organization, Practitioner } from '@medplum/fhirtypes';
import {
  codeSystemUri, locationReference, organizationReference, practitionerReference, readCodeableConcept, readCx, readDateTime, readEi,
} from '../../../transformers/hl7v2/fhir/datatypes';
import { TransactionBuilder } from '../../../transformers/hl7v2/fhir/transaction';
import type { MappingContext } from '../../../transformers/hl7v2/fhir/types';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { rejection } from './helpers';

/** A context for one test segment `ZZZ|...` (field numbers as written). */
function ctxWith(segment: string, options: MappingContext['options'] = {}): { ctx: MappingContext; seg: ReturnType<MappingContext['msg']['segments']>[number] } {
  const msg = parseHl7(`MSH|^~\\&|APP|FAC|R|RF|20250101120000||ADT^A01|C1|P|2.5.1\r${segment}\r`);
  const ctx: MappingContext = { msg, options, facilitySystem: 'urn:wasl:sending-facility:FAC', bundle: new TransactionBuilder() };
  return { ctx, seg: msg.segment('ZZZ')! };
}

describe('transformers/hl7v2/fhir/datatypes', () => {
  it('CX: authority to system (OID, name, resolver, facility), type, period', () => {
    const { ctx, seg } = ctxWith('ZZZ|1^^^&2.16.840.1&ISO^MR^^20200101^20301231|2^^^HOSP|3|4^^^HOSP');
    assert.deepEqual(readCx(ctx, seg, 1), {
      system: 'urn:oid:2.16.840.1', value: '1', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
      period: { start: '2020-01-01', end: '2030-12-31' },
    });
    assert.equal(readCx(ctx, seg, 2)?.system, 'urn:wasl:assigning-authority:HOSP');
    assert.equal(readCx(ctx, seg, 3)?.system, 'urn:wasl:sending-facility:FAC');
    const resolved = ctxWith('ZZZ|4^^^HOSP', { identifierSystem: (a) => (a === 'HOSP' ? 'https://hosp.example/mrn' : undefined) });
    assert.equal(readCx(resolved.ctx, resolved.seg, 1)?.system, 'https://hosp.example/mrn');
    assert.deepEqual(readEi(ctx, ctxWith('ZZZ|X9^LAB^1.2.3^ISO').seg, 1), { system: 'urn:oid:1.2.3', value: 'X9' });
  });

  it('CWE: code systems by name, alternate coding, original text, table default, free text', () => {
    const { seg } = ctxWith(
      'ZZZ|8867-4^Heart rate^LN^HR^Pulse^99LOCAL^2.70^^Pulse, sitting|R07.9^Chest pain^I10|A^Admit|aortic stenosis|^^^^^^^^only text|C\\T\\D^Caf\u00e9^HL70005',
    );
    assert.deepEqual(readCodeableConcept(seg, 1), {
      coding: [
        { system: 'http://loinc.org', version: '2.70', code: '8867-4', display: 'Heart rate' },
        { system: 'urn:wasl:code-system:99LOCAL', code: 'HR', display: 'Pulse' },
      ],
      text: 'Pulse, sitting',
    });
    assert.equal(readCodeableConcept(seg, 2)?.coding?.[0].system, 'http://hl7.org/fhir/sid/icd-10');
    assert.equal(readCodeableConcept(seg, 3, 1, { table: '0052' })?.coding?.[0].system, 'http://terminology.hl7.org/CodeSystem/v2-0052');
    assert.deepEqual(readCodeableConcept(seg, 4), { text: 'aortic stenosis' });
    assert.deepEqual(readCodeableConcept(seg, 5), { text: 'only text' });
    assert.deepEqual(readCodeableConcept(seg, 6), {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0005', code: 'C&D', display: 'Caf\u00e9' }], text: 'Caf\u00e9',
    });
    assert.deepEqual(
      ['SCT', 'SNM', 'C4', 'CPT', 'CVX', 'NDC', 'UCUM', 'I10', 'ICD10CM', 'HL70203', '2.16.840.1.113883.6.1', 'L'].map(codeSystemUri),
      ['http://snomed.info/sct', 'http://snomed.info/sct', 'http://www.ama-assn.org/go/cpt', 'http://www.ama-assn.org/go/cpt', 'http://hl7.org/fhir/sid/cvx',
        'http://hl7.org/fhir/sid/ndc', 'http://unitsofmeasure.org', 'http://hl7.org/fhir/sid/icd-10', 'http://hl7.org/fhir/sid/icd-10-cm',
        'http://terminology.hl7.org/CodeSystem/v2-0203', 'urn:oid:2.16.840.1.113883.6.1', 'urn:wasl:code-system:L'],
    );
  });

  it('NCIT (NCI Thesaurus) -> http://ncimeta.nci.nih.gov, the URI registered at terminology.hl7.org', () => {
    assert.equal(codeSystemUri('NCIT'), 'http://ncimeta.nci.nih.gov');
    assert.equal(codeSystemUri('ncit'), 'http://ncimeta.nci.nih.gov');
  });

  it('TS: precision and offset kept, default zone applied, bad values are 102 at the field', () => {
    const { ctx, seg } = ctxWith('ZZZ|2025|202501021304-0130|20250102130405.12+0545|202501021304|2025-01-02');
    assert.equal(readDateTime(ctx, seg, 1), '2025');
    assert.equal(readDateTime(ctx, seg, 2), '2025-01-02T13:04:00-01:30');
    assert.equal(readDateTime(ctx, seg, 3), '2025-01-02T13:04:05.12+05:45');
    assert.equal(readDateTime(ctx, seg, 4), '2025-01-02');
    const tz = ctxWith('ZZZ|202501021304', { defaultTimezoneOffset: '+03:00' });
    assert.equal(readDateTime(tz.ctx, tz.seg, 1), '2025-01-02T13:04:00+03:00');
    const err = rejection(() => readDateTime(ctx, seg, 5));
    assert.deepEqual([err.details?.hl7ErrorCode, err.path], [102, 'ZZZ-5']);
  });

  it('XCN, XON, PL: reference data created once (POST ifNoneExist), display-only without an id', () => {
    const { ctx, seg } = ctxWith('ZZZ|123^van Beethoven&van^Ludwig^A^III^Dr^MD^^NPI&2.16.840.1.113883.4.6&ISO~^Nobody^Ann|Good Hospital^^^^^&1.2.3&ISO^XX^^^H1|ICU^201^A^HOSP^^^B1^2|Clinic Only');
    const doc = practitionerReference(ctx, seg, 1)!;
    assert.equal(doc.display, 'Dr Ludwig A van Beethoven');
    assert.deepEqual(practitionerReference(ctx, seg, 1, 2), { display: 'Ann Nobody' });
    const org = organizationReference(ctx, seg, 2)!;
    const loc = locationReference(ctx, seg, 3)!;
    assert.deepEqual(organizationReference(ctx, seg, 4), { display: 'Clinic Only' });
    assert.equal(practitionerReference(ctx, seg, 1)!.reference, doc.reference, 'same XCN, same entry');
    const entries = ctx.bundle.build().entry!;
    assert.deepEqual(entries.map((e) => [e.resource?.resourceType, e.request?.method, e.request?.ifNoneExist]), [
      ['Practitioner', 'POST', 'identifier=urn%3Aoid%3A2.16.840.1.113883.4.6|123'],
      ['Organization', 'POST', 'identifier=urn%3Aoid%3A1.2.3|H1'],
      ['Location', 'POST', 'identifier=urn%3Awasl%3Aassigning-authority%3AHOSP|B1%5E2%5EICU%5E201%5EA'],
    ]);
    const [p, o, l] = entries.map((e) => e.resource) as [Practitioner, Organization, Location];
    assert.deepEqual(p.name, [{ family: 'van Beethoven', given: ['Ludwig', 'A'], prefix: ['Dr'], suffix: ['III', 'MD'] }]);
    assert.equal(o.name, 'Good Hospital');
    assert.equal(l.name, 'ICU 201 A');
    assert.equal(l.physicalType?.coding?.[0].code, 'bd');
    assert.deepEqual([doc.reference, org.reference, loc.reference], entries.map((e) => e.fullUrl));
  });
});
