import assert from 'node:assert/strict';
import type { Bundle, BundleEntry, Encounter, Patient } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import { validateFhir } from '../../../transformers/fhir/validate';
import { adtToFhirTransaction, type AdtToFhirOptions } from '../../../transformers/hl7v2/adt-to-fhir';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { hl7Fixture } from '../fixtures';
import { InProcessFhir } from '../medplum';

function bundleOf(fixtureOrText: string, options?: AdtToFhirOptions): Bundle {
  const text = fixtureOrText.endsWith('.hl7') ? hl7Fixture(fixtureOrText) : fixtureOrText;
  return adtToFhirTransaction(parseHl7(text), options);
}

/** The Patient and Encounter entries (the Bundle also holds Practitioners, Locations, ... now). */
function entryOf(b: Bundle, type: string): BundleEntry {
  const e = b.entry!.find((x) => x.resource?.resourceType === type);
  assert.ok(e, `no ${type} entry`);
  return e;
}

function resources(b: Bundle): { patient: Patient; encounter?: Encounter } {
  return {
    patient: entryOf(b, 'Patient').resource as Patient,
    encounter: b.entry!.find((x) => x.resource?.resourceType === 'Encounter')?.resource as Encounter | undefined,
  };
}

function mappingError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err;
  }
  assert.fail('expected a ValidationError');
}

const ADT = (pid: string, pv1 = 'PV1|1|I|||||||||||||||||V100^^^HOSP', event = 'A01') =>
  `MSH|^~\\&|APP|FAC|R|RF|20250101120000+0300||ADT^${event}^ADT_${event}|C1|P|2.5.1\rEVN|${event}|20250101115900+0300\r${pid}\r${pv1}\r`;

describe('transformers/hl7v2/adt-to-fhir', () => {
  describe('mapping', () => {
    it('maps PID of a full A01 to a Patient', () => {
      const { patient } = resources(bundleOf('rethink_adt-a01-full.hl7'));
      assert.deepEqual(patient.identifier?.map((i) => [i.system, i.value, i.type?.coding?.[0].code]), [
        ['urn:wasl:assigning-authority:MRN', '98765', 'MR'],
        ['urn:wasl:assigning-authority:SSN', '555-12-3456', 'SS'],
        ['http://hl7.org/fhir/sid/us-ssn', '123-45-6789', 'SS'], // PID-19, as the v2-to-FHIR IG maps it
      ]);
      assert.deepEqual(patient.name, [{ family: 'SMITH', given: ['ALICE', 'M'], prefix: ['Dr'], suffix: ['JR'] }]);
      assert.equal(patient.gender, 'female');
      assert.equal(patient.birthDate, '1975-03-15');
      assert.deepEqual(patient.address, [
        { line: ['456 OAK AVE'], city: 'METROPOLIS', state: 'IL', postalCode: '62960', country: 'USA', use: 'home' },
      ]);
      assert.deepEqual(patient.telecom, [
        { system: 'phone', value: '217-555-9876', use: 'home' },
        { system: 'phone', value: '217-555-4321', use: 'work' },
        { system: 'phone', value: '217-555-0000', use: 'work' },
      ]);
      assert.equal(patient.maritalStatus?.coding?.[0].code, 'M');
    });

    it('uses urn:oid for OID authorities, decodes escapes and keeps non-ASCII text', () => {
      const { patient } = resources(bundleOf('mscvt_ADT-A01-01.hl7'));
      assert.equal(patient.identifier?.[0].system, 'urn:oid:2.16.1');
      assert.equal(patient.identifier?.[0].value, 'PATID1234');
      assert.equal(patient.birthDate, '1988-08-18'); // PID-7 sent as a TS with time and zone
      assert.equal(patient.name?.[0].use, 'usual');
      const wiki = resources(bundleOf('elixir_wikipedia_adt_a01_v25.hl7')).patient;
      assert.equal(wiki.address?.[1].line?.[0], 'NICKELL\u2019S PICKLES');
    });

    it('scopes identifiers without authority by the sending facility and skips empty repetitions', () => {
      const { patient, encounter } = resources(bundleOf('elixir_nist_syndromic_adt_a03.hl7'));
      assert.deepEqual(patient.identifier?.map((i) => i.system), ['urn:wasl:sending-facility:LakeMichMC']);
      assert.equal(patient.name, undefined); // PID-5 holds only empty repetitions
      assert.equal(encounter?.identifier?.[0].value, '33333_001');
      const hapi = resources(bundleOf('hapi_adt_a03.hl7')).patient;
      assert.equal(hapi.identifier?.length, 3); // the 4th repetition has no value
    });

    it('treats HL7 null "" as no value', () => {
      const { patient, encounter } = resources(bundleOf('pyhl7_sample_adt_a01_v23_nulls.hl7'));
      assert.ok(!JSON.stringify(patient).includes('""'));
      assert.ok(!JSON.stringify(encounter).includes('""'));
      const b = bundleOf(ADT('PID|1||55^^^HOSP||""||""|""'));
      assert.equal(resources(b).patient.birthDate, undefined);
      assert.equal(resources(b).patient.gender, undefined);
    });

    it('maps PV1 to an Encounter per event', () => {
      const a01 = resources(bundleOf('mscvt_ADT-A01-01.hl7')).encounter!;
      assert.equal(a01.status, 'in-progress');
      assert.deepEqual(a01.class, { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'PRENC', display: 'pre-admission' });
      assert.deepEqual(a01.identifier?.[0], {
        system: 'urn:oid:1.2', value: '40007716', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'AM' }] },
      });
      assert.equal(a01.period?.start, '2015-02-08T11:34:19+01:10');
      const a03 = resources(bundleOf('mscvt_ADT-A03-02.hl7')).encounter!;
      assert.equal(a03.status, 'finished');
      assert.equal(a03.period?.end, '2015-02-09T11:34:19+01:10');
      assert.equal(resources(bundleOf('mscvt_ADT-A08-02.hl7')).encounter!.status, 'in-progress'); // no PV1-45
      const a08done = bundleOf(ADT('PID|1||55^^^HOSP', 'PV1|1|O|||||||||||||||||V1^^^HOSP' + '|'.repeat(26) + '20250102', 'A08'));
      assert.equal(resources(a08done).encounter!.status, 'finished');
      assert.equal(resources(bundleOf('hapi_adt_a03.hl7')).encounter!.class.code, 'IMP');
    });

    it('falls back to the control id without PV1-19, and to EVN-2 for the start of an admission', () => {
      const { encounter } = resources(bundleOf('elixir_wikipedia_adt_a01_v25.hl7'));
      assert.deepEqual(encounter?.identifier, [{ system: 'urn:wasl:hl7-control-id:XYZHospC', value: '01052901' }]);
      const b = resources(bundleOf(ADT('PID|1||55^^^HOSP', 'PV1|1|E'))).encounter!;
      assert.equal(b.period?.start, '2025-01-01T11:59:00+03:00');
      assert.equal(b.class.code, 'EMER');
      // A03 without PV1-44: EVN-2 is the discharge time, not the start
      assert.equal(resources(bundleOf('hapi_adt_a03.hl7')).encounter!.period?.start, undefined);
    });

    it('keeps unknown patient classes visible and honours a default time zone', () => {
      const enc = resources(bundleOf(ADT('PID|1||55^^^HOSP', 'PV1|1|X' + '|'.repeat(42) + '202501020304'))).encounter!;
      assert.deepEqual(enc.class, { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory (HL7 patient class X)' });
      assert.equal(enc.period?.start, '2025-01-02'); // no zone in PV1-44: date only
      const withTz = resources(bundleOf(ADT('PID|1||55^^^HOSP', 'PV1|1|X' + '|'.repeat(42) + '202501020304'), { defaultTimezoneOffset: '+03:00' }));
      assert.equal(withTz.encounter!.period?.start, '2025-01-02T03:04:00+03:00');
    });

    it('lets the caller choose identifier systems', () => {
      const b = bundleOf('rethink_adt-a01-full.hl7', {
        patientIdentifierSystem: (aa) => (aa === 'MRN' ? 'https://hospital.example/mrn' : undefined),
      });
      const { patient } = resources(b);
      assert.equal(patient.identifier?.[0].system, 'https://hospital.example/mrn');
      assert.equal(patient.identifier?.[1].system, 'urn:wasl:assigning-authority:SSN');
      assert.equal(entryOf(b, 'Patient').request?.url, 'Patient?identifier=https%3A%2F%2Fhospital.example%2Fmrn|98765');
    });

    it('is deterministic: same message, same bundle; subject points at the Patient entry', () => {
      const a = bundleOf('mscvt_ADT-A04-01.hl7');
      const b = bundleOf('mscvt_ADT-A04-01.hl7');
      assert.deepEqual(a, b);
      const patientUrl = entryOf(a, 'Patient').fullUrl!;
      assert.match(patientUrl, /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(resources(a).encounter!.subject?.reference, patientUrl);
      assert.notEqual(patientUrl, entryOf(bundleOf('rethink_adt-a01-full.hl7'), 'Patient').fullUrl);
      assert.equal(entryOf(a, 'Patient').request?.method, 'PUT');
      assert.equal(entryOf(a, 'Encounter').request?.method, 'PUT');
      // reference data named in passing is created once and never overwritten
      assert.equal(entryOf(a, 'Practitioner').request?.method, 'POST');
      assert.match(entryOf(a, 'Practitioner').request!.ifNoneExist!, /^identifier=/);
    });

    it('produces schema-valid FHIR for every ADT fixture it accepts', () => {
      for (const f of ['mscvt_ADT-A01-01.hl7', 'mscvt_ADT-A03-02.hl7', 'mscvt_ADT-A04-01.hl7', 'mscvt_ADT-A08-02.hl7', 'mscvt_ADT01-23.hl7',
        'mscvt_ADT01-28.hl7', 'elixir_wikipedia_adt_a01_v25.hl7', 'elixir_nist_syndromic_adt_a03.hl7', 'hapi_adt_a03.hl7',
        'rethink_adt-a01-full.hl7', 'pyhl7_sample_adt_a01_v23_nulls.hl7']) {
        const result = validateFhir(bundleOf(f));
        assert.equal(result.valid, true, `${f}: ${JSON.stringify(result.outcome.issue)}`);
      }
    });
  });

  describe('rejections', () => {
    const cases: [string, string, string, number, string][] = [
      ['a non-ADT message', 'rethink_oru-r01-lab.hl7', 'VALIDATION_HL7_UNSUPPORTED', 200, 'MSH-9.1'],
      ['an unmapped ADT event', ADT('PID|1||55^^^HOSP', 'PV1|1|I', 'A17'), 'VALIDATION_HL7_UNSUPPORTED', 201, 'MSH-9.2'],
      ['a missing PID', ADT('NTE|1').replace('\rNTE|1', ''), 'VALIDATION_HL7_CONTENT', 101, 'PID-3'],
      ['a PID-3 without value', ADT('PID|1||^^^HOSP~""'), 'VALIDATION_HL7_CONTENT', 101, 'PID-3'],
      ['a missing PV1 on A01', ADT('PID|1||55^^^HOSP', 'NTE|1'), 'VALIDATION_HL7_CONTENT', 101, 'PV1'],
      ['an invalid birth date', ADT('PID|1||55^^^HOSP||DOE||19741345'), 'VALIDATION_HL7_CONTENT', 102, 'PID-7'],
      ['an invalid admit time', ADT('PID|1||55^^^HOSP', 'PV1|1|I' + '|'.repeat(42) + '2025133'), 'VALIDATION_HL7_CONTENT', 102, 'PV1-44'],
    ];
    for (const [name, input, code, hl7ErrorCode, path] of cases) {
      it(`rejects ${name} (${hl7ErrorCode} at ${path})`, () => {
        const err = mappingError(() => bundleOf(input));
        assert.equal(err.code, code);
        assert.equal(err.details?.hl7ErrorCode, hl7ErrorCode);
        assert.equal(err.path, path);
        assert.doesNotMatch(err.message, /19741345|DOE/);
      });
    }

    it('maps an A08 without PV1 to a Patient-only bundle', () => {
      const b = bundleOf(ADT('PID|1||55^^^HOSP', 'NTE|1', 'A08'));
      assert.deepEqual(b.entry!.map((e) => e.resource?.resourceType), ['Patient']);
    });
  });

  describe('against an in-process Medplum FHIR engine', function () {
    this.timeout(60_000); // definitions indexing takes about a second, more on a busy machine
    let fhir: InProcessFhir;
    before(() => {
      fhir = new InProcessFhir();
    });

    // Medplum 4.5.2 refuses a transaction that has conditional entries and more than 8 entries
    // ("requires strict isolation but has too many entries"), so only fixtures whose Bundle fits
    // are sent here; the full fixtures are checked against the FHIR schema above.
    for (const f of ['hapi_adt_a03.hl7', 'mscvt_ADT01-28.hl7', 'elixir_nist_syndromic_adt_a03.hl7']) {
      it(`${f}: accepted, linked, and idempotent`, async () => {
        fhir.repo.clear();
        const bundle = bundleOf(f);
        assert.ok(bundle.entry!.length <= 8, `${bundle.entry!.length} entries`);
        const patientAt = bundle.entry!.indexOf(entryOf(bundle, 'Patient'));
        const encounterAt = bundle.entry!.indexOf(entryOf(bundle, 'Encounter'));
        const first = await fhir.transaction(bundle);
        assert.equal(first.status, 200);
        assert.deepEqual(first.response.entry!.map((e) => e.response?.status), bundle.entry!.map(() => '201'));
        const patientRef = first.response.entry![patientAt].response!.location!;
        const encounterRef = first.response.entry![encounterAt].response!.location!;
        assert.match(patientRef, /^Patient\/[0-9a-f-]{36}$/);

        const second = await fhir.transaction(bundle);
        assert.equal(second.status, 200);
        assert.deepEqual(second.response.entry!.map((e) => e.response?.status), bundle.entry!.map(() => '200'));
        assert.equal(second.response.entry![patientAt].response!.location, patientRef);
        assert.equal(second.response.entry![encounterAt].response!.location, encounterRef);

        // search with the very URLs the bundle used for its conditional updates
        const patients = await fhir.search<Patient>(bundle.entry![patientAt].request!.url);
        const encounters = await fhir.search<Encounter>(bundle.entry![encounterAt].request!.url);
        assert.equal(patients.length, 1);
        assert.equal(encounters.length, 1);
        assert.equal(`Patient/${patients[0].id}`, patientRef);
        assert.equal(encounters[0].subject?.reference, patientRef);
        assert.equal((await fhir.search<Patient>('Patient')).length, 1);
        assert.equal((await fhir.search<Encounter>('Encounter')).length, 1);
      });
    }

    it('A01 then A03 for the same visit updates one Encounter to finished', async () => {
      fhir.repo.clear();
      const pv1 = (end: string) => 'PV1|1|I|W1^101^1|||||||MED|||||||||V77^^^HOSP' + '|'.repeat(25) + '20250101100000+0300|' + end;
      await fhir.transaction(bundleOf(ADT('PID|1||55^^^HOSP||DOE^JANE', pv1(''))));
      const a03 = await fhir.transaction(bundleOf(ADT('PID|1||55^^^HOSP||DOE^JANE', pv1('20250103090000+0300'), 'A03')));
      assert.deepEqual(a03.response.entry!.map((e) => e.response?.status), ['200', '200', '200']);
      const encounters = await fhir.search<Encounter>('Encounter');
      assert.equal(encounters.length, 1);
      assert.equal(encounters[0].status, 'finished');
      assert.equal(encounters[0].period?.start, '2025-01-01T10:00:00+03:00');
      assert.equal(encounters[0].period?.end, '2025-01-03T09:00:00+03:00');
      assert.equal(encounters[0].location?.[0].status, 'completed');
      assert.equal((await fhir.search<Patient>('Patient')).length, 1);
    });

    // FHIR-escaped `,` and `\` match in Medplum 4.5.2; an escaped `|` inside a value does not
    // (Medplum splits the token on it), so ids containing `|` (HL7 \F\) would not upsert.
    it('identifier values with reserved URL and search characters still upsert one Patient', async () => {
      fhir.repo.clear();
      const b = bundleOf(ADT('PID|1||A 1/2?x#y+z,q\\E\\r\\T\\w^^^MY HOSP'));
      assert.equal(resources(b).patient.identifier?.[0].value, 'A 1/2?x#y+z,q\\r&w');
      await fhir.transaction(b);
      const again = await fhir.transaction(b);
      assert.equal(again.response.entry![0].response?.status, '200');
      const patients = await fhir.search<Patient>('Patient');
      assert.equal(patients.length, 1);
      assert.equal(patients[0].identifier?.[0].system, 'urn:wasl:assigning-authority:MY%20HOSP');
    });
  });
});
