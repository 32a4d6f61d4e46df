import assert from 'node:assert/strict';
import type { Account, AllergyIntolerance, Condition, Coverage, Encounter, Location, Patient, Practitioner, Procedure, RelatedPerson } from '@medplum/fhirtypes';
import { all, entryOf, mapped, one, rejection, urlOf } from './helpers';

const MSG = (event: string, ...segments: string[]) =>
  [`MSH|^~\\&|APP|FAC|R|RF|20250101120000+0300||ADT^${event}^ADT_${event}|C1|P|2.5.1`, `EVN|${event}|20250101115900+0300`, ...segments].join('\r');
const PV1 = (visit: string, extra: Record<number, string> = {}) => {
  const f: string[] = ['PV1', '1', 'I', 'W1^101^1'];
  f[19] = `${visit}^^^HOSP^VN`;
  for (const [k, v] of Object.entries(extra)) f[Number(k)] = v;
  return Array.from(f, (x) => x ?? '').join('|');
};

describe('transformers/hl7v2/fhir/adt', () => {
  it('A01 (mscvt, v2.8): Patient with decoded names, birth time with offset, every PID-3, and the linked resources', () => {
    const b = mapped('mscvt_ADT-A01-01.hl7');
    const patient = one<Patient>(b, 'Patient');
    assert.deepEqual(patient.identifier?.slice(0, 2).map((i) => [i.system, i.value]), [
      ['urn:oid:2.16.1', 'PATID1234'],
      ['urn:wasl:assigning-authority:USSSA', '123456789'],
    ]);
    assert.equal(patient.name?.[0].family, 'EVERYMAN');
    assert.equal(patient.birthDate, '1988-08-18');
    assert.deepEqual((patient as Patient & { _birthDate?: unknown })._birthDate, {
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime', valueDateTime: '1988-08-18T11:26:00+02:15' }],
    });
    assert.equal(patient.deceasedDateTime, '2008-08-25T11:16:30+01:15');
    assert.deepEqual(patient.maritalStatus?.coding?.map((c) => c.system), [
      'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', 'http://terminology.hl7.org/CodeSystem/v2-0002',
    ]);
    assert.equal(patient.maritalStatus?.text, 'Married');

    const encounter = one<Encounter>(b, 'Encounter');
    assert.equal(encounter.subject?.reference, urlOf(b, patient));
    assert.deepEqual(encounter.participant?.map((p) => p.type?.[0].coding?.[0].code), ['ATND', 'REF', 'CON', 'ADM']);
    const attending = all<Practitioner>(b, 'Practitioner').find((p) => p.identifier?.[0].value === '1122334')!;
    assert.equal(attending.identifier?.[0].system, 'urn:oid:1.23');
    assert.equal(encounter.participant?.[0].individual?.reference, urlOf(b, attending));
    // PV1-6 prior location completed, PV1-3 current location active, PV1-42 pending planned
    assert.deepEqual(encounter.location?.map((l) => l.status), ['completed', 'active', 'planned']); // + PV1-42 pending
    const bed = all<Location>(b, 'Location').find((l) => l.name === 'HUH AE OMU OMU B Bed 03')!;
    assert.equal(bed.physicalType?.coding?.[0].code, 'bd');
    assert.equal(encounter.serviceType?.coding?.[0].code, 'SUR');

    const allergy = one<AllergyIntolerance>(b, 'AllergyIntolerance');
    assert.deepEqual(allergy.code?.coding?.[0], { system: 'urn:wasl:code-system:ICDO', code: 'P', display: 'PENICILLIN' });
    assert.deepEqual(allergy.category, ['environment']);
    assert.equal(allergy.reaction?.[0].severity, 'mild');
    assert.equal(allergy.reaction?.[0].manifestation[0].text, 'CODE16');
    assert.equal(allergy.onsetDateTime, '2021-08-24');

    const condition = one<Condition>(b, 'Condition');
    assert.deepEqual(condition.code?.coding?.[0], { system: 'http://snomed.info/sct', code: '422504002', display: 'Ischemic stroke(disorder)' });
    assert.equal(condition.onsetDateTime, '2004-01-25T11:40:25+04:20');
    assert.equal(condition.encounter?.reference, urlOf(b, encounter));
    assert.equal(encounter.diagnosis?.[0].condition.reference, urlOf(b, condition));
    assert.equal(encounter.diagnosis?.[0].use?.coding?.[0].code, 'A');

    const procedure = one<Procedure>(b, 'Procedure');
    assert.equal(procedure.performedDateTime, '2005-01-25T11:40:00+01:00');
    assert.equal(procedure.code?.coding?.[0].code, '76164006');
    assert.equal(procedure.category?.coding?.[0].system, 'http://terminology.hl7.org/CodeSystem/v2-0230');

    const coverage = one<Coverage>(b, 'Coverage');
    assert.equal(coverage.beneficiary.reference, urlOf(b, patient));
    assert.deepEqual(coverage.period, { start: '1989-10-01', end: '2050-10-01' });
    assert.equal(coverage.relationship?.coding?.[0].code, 'spouse');
    assert.equal(coverage.identifier?.[0].value, 'PN-145');

    const account = one<Account>(b, 'Account');
    assert.equal(account.identifier?.[0].value, '4000776');
    assert.equal(account.identifier?.[0].system, 'urn:oid:1.3.6.1.4.1.44750.1.2.2');
    assert.equal(account.coverage?.[0].coverage.reference, urlOf(b, coverage));
    assert.deepEqual(encounter.account?.map((a) => a.reference), [urlOf(b, account)]);

    const kin = all<RelatedPerson>(b, 'RelatedPerson').find((r) => r.relationship?.[0].coding?.[0].code === 'EMC')!;
    assert.equal(kin.name?.[0].family, 'Evan');
    assert.equal(kin.patient.reference, urlOf(b, patient));
  });

  it('decodes escapes and keeps non-ASCII text and original code text', () => {
    const wiki = mapped('elixir_wikipedia_adt_a01_v25.hl7');
    assert.equal(one<Patient>(wiki, 'Patient').address?.[1].line?.[0], 'NICKELL\u2019S PICKLES');
    assert.deepEqual(one<AllergyIntolerance>(wiki, 'AllergyIntolerance').code, { text: 'ASPIRIN' });
    const a04 = one<Encounter>(mapped('mscvt_ADT-A04-01.hl7'), 'Encounter');
    assert.equal(a04.hospitalization?.admitSource?.coding?.[0].code, 'NHS Provider-General (inc.A&E-this Hosp)'); // PV1-14 A\T\E
    assert.equal(a04.hospitalization?.admitSource?.coding?.[0].system, 'http://terminology.hl7.org/CodeSystem/v2-0023');
  });

  it('A02 transfer keeps the location history; A03 discharge finishes the visit', () => {
    const a02 = mapped(MSG('A02', 'PID|1||55^^^HOSP', PV1('V1', { 3: 'W2^202^1', 6: 'W1^101^1', 44: '20250101100000+0300' })));
    const enc = one<Encounter>(a02, 'Encounter');
    assert.equal(enc.status, 'in-progress');
    assert.deepEqual(enc.location?.map((l) => [l.location.display, l.status]), [['W1 101 1', 'completed'], ['W2 202 1', 'active']]);
    const a03 = one<Encounter>(mapped('mscvt_ADT-A03-02.hl7'), 'Encounter');
    assert.equal(a03.status, 'finished');
    assert.equal(a03.period?.end, '2015-02-09T11:34:19+01:10');
  });

  it('A05 is planned, A11 entered-in-error, A13 back in progress without end', () => {
    assert.equal(one<Encounter>(mapped(MSG('A05', 'PID|1||55^^^HOSP', PV1('V1'))), 'Encounter').status, 'planned');
    const a11 = mapped('mscvt_ADT-A11-02.hl7');
    assert.equal(one<Encounter>(a11, 'Encounter').status, 'entered-in-error');
    assert.equal(one<Encounter>(a11, 'Encounter').identifier?.[0].value, '40007716');
    const a13 = one<Encounter>(mapped(MSG('A13', 'PID|1||55^^^HOSP', PV1('V1', { 44: '20250101100000+0300', 45: '20250102100000+0300' }))), 'Encounter');
    assert.equal(a13.status, 'in-progress');
    assert.deepEqual(a13.period, { start: '2025-01-01T10:00:00+03:00' });
  });

  it('A28 / A31 map the person without an Encounter', () => {
    const a28 = mapped('mscvt_ADT-A28-01.hl7');
    assert.equal(all(a28, 'Encounter').length, 0);
    assert.equal(one<Patient>(a28, 'Patient').identifier?.[0].value, 'PATID1234');
    assert.equal(all(mapped('mscvt_ADT-A31-02.hl7'), 'Encounter').length, 0);
  });

  it('A40 merge: survivor replaces the merged Patient, which is inactive and replaced-by', () => {
    const b = mapped('mscvt_ADT-A40-02.hl7');
    const patients = all<Patient>(b, 'Patient');
    assert.deepEqual(patients.map((p) => [p.identifier?.[0].value, p.active ?? null, p.link?.[0].type]), [
      ['12345', null, 'replaces'],
      ['56789', false, 'replaced-by'],
      ['145', null, 'replaces'],
      ['569', false, 'replaced-by'],
    ]);
    assert.equal(patients[0].link?.[0].other.reference, urlOf(b, patients[1]));
    assert.equal(patients[1].link?.[0].other.reference, urlOf(b, patients[0]));
    assert.equal(entryOf(b, patients[1]).request?.url, 'Patient?identifier=urn%3Awasl%3Aassigning-authority%3ABCBS|56789');
  });

  it('A47 upserts by the old identifier and A45 moves the visit named by MRG-5', () => {
    const a47 = mapped(MSG('A47', 'PID|1||NEW1^^^HOSP^MR', 'MRG|OLD1^^^HOSP^MR'));
    const p = one<Patient>(a47, 'Patient');
    assert.equal(p.identifier?.[0].value, 'NEW1');
    assert.equal(entryOf(a47, p).request?.url, 'Patient?identifier=urn%3Awasl%3Aassigning-authority%3AHOSP|OLD1');
    const a45 = mapped(MSG('A45', 'PID|1||P2^^^HOSP^MR', 'MRG|P1^^^HOSP^MR||||V9^^^HOSP', PV1('V9')));
    const enc = one<Encounter>(a45, 'Encounter');
    assert.equal(enc.subject?.reference, urlOf(a45, one(a45, 'Patient')));
    assert.match(entryOf(a45, enc).request!.url, /^Encounter\?identifier=.*\|V9$/);
    assert.equal(rejection(() => mapped(MSG('A40', 'PID|1||P2^^^HOSP'))).path, 'MRG-1');
  });

  it('A60 maps IAM allergies with their unique id and action', () => {
    const b = mapped(MSG('A60', 'PID|1||55^^^HOSP', 'IAM|1|DA|70618^Penicillin^RXNORM|SV|Hives|A|AL1^^HOSP||||20200101||||||C',
      'IAM|2|FA|256349002^Peanut^SCT|MO||D|AL2^^HOSP'));
    const [pen, peanut] = all<AllergyIntolerance>(b, 'AllergyIntolerance');
    assert.deepEqual(pen.identifier?.[0], { system: 'urn:wasl:assigning-authority:HOSP', value: 'AL1' });
    assert.equal(pen.code?.coding?.[0].system, 'http://www.nlm.nih.gov/research/umls/rxnorm');
    assert.deepEqual(pen.category, ['medication']);
    assert.equal(pen.reaction?.[0].severity, 'severe');
    assert.equal(pen.onsetDateTime, '2020-01-01');
    assert.equal(pen.verificationStatus?.coding?.[0].code, 'confirmed');
    assert.equal(peanut.verificationStatus?.coding?.[0].code, 'entered-in-error');
    assert.equal(peanut.clinicalStatus, undefined);
    assert.equal(peanut.criticality, 'low');
  });

  it('resends upsert the same keys: NK1, AL1, DG1 and IN1 get derived identifiers without "|"', () => {
    const b = mapped('pyhl7_sample_adt_a01_v23_nulls.hl7');
    for (const e of b.entry!) {
      const url = e.request!.method === 'PUT' ? e.request!.url : e.request!.ifNoneExist!;
      assert.equal(url.split('|').length, 2, url);
    }
    assert.deepEqual(all<Coverage>(b, 'Coverage').map((c) => c.payor[0].display), ['HIP COMP MCAID', 'MEDICAID', 'SELF-PAY']);
  });

  it('rejects a missing PV1 on A01 and an invalid PV1-45 with their 0357 code and path', () => {
    assert.deepEqual(
      [rejection(() => mapped(MSG('A01', 'PID|1||55^^^HOSP'))).path, rejection(() => mapped(MSG('A03', 'PID|1||55^^^HOSP', PV1('V1', { 45: '2025-01-01' })))).path],
      ['PV1', 'PV1-45'],
    );
  });
});
