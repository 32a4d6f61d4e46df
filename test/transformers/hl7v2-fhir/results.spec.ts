import assert from 'node:assert/strict';
import type { Bundle, DiagnosticReport, Observation, Resource, ServiceRequest, Specimen } from '@medplum/fhirtypes';
import { InProcessFhir } from '../medplum';
import { all, assertConditionalKeysUnique, assertValid, bundleOf, conditionalKey, rejection } from './helpers';

function byCode(b: Bundle, code: string): Observation {
  const obs = all<Observation>(b, 'Observation').find((o) => o.code.coding?.some((c) => c.code === code));
  assert.ok(obs, `no Observation ${code}`);
  return obs;
}

const RESULT_FIXTURES = [
  'cdc_covid19_elr_01.hl7', 'cdc_covid25_elr_v231.hl7', 'cdc_hepatitis_tc02_hep_b_acute.hl7', 'cdc_mumps_vpd.hl7', 'cdc_vpd_measles.hl7',
  'hapi_msgs_01_oru_r01_v22.hl7', 'hapi_oul_r22_msg4.hl7', 'lfh_oru_multiline_short.hl7', 'mscvt_LAB-ORU-1.hl7',
  'mscvt_LRI_2.0-NG_CBC_Typ_Message.hl7', 'mscvt_ORU-R01-01.hl7', 'mscvt_ORU-R01-RMGEAD.hl7', 'rethink_oru-r01-lab.hl7',
];

const ORU = (obx: string, obr = 'OBR|1|PL1^EHR|FL1^LAB^2.16.840.1.113883.19.1^ISO|24331-1^Lipid panel^LN|||20250101083000+0300||||||||||||||20250101120000+0300||CH|F') =>
  `MSH|^~\\&|LAB|FAC|R|RF|20250101120000+0300||ORU^R01^ORU_R01|C1|P|2.5.1\rPID|1||P1^^^HOSP^MR||D\\E\\ARCY^J\\T\\K||19800101|F\rORC|RE|PL1^EHR|FL1^LAB^2.16.840.1.113883.19.1^ISO\r${obr}\r${obx}\r`;

describe('transformers/hl7v2/fhir/results', () => {
  describe('every ORU/OUL fixture gives a valid transaction Bundle', () => {
    for (const name of RESULT_FIXTURES) {
      it(name, () => {
        const b = bundleOf(name);
        assertValid(b);
        assert.equal(b.type, 'transaction');
        assert.ok(all(b, 'Patient').length === 1);
        for (const e of b.entry!) {
          assert.match(e.fullUrl!, /^urn:uuid:[0-9a-f-]{36}$/);
          assert.ok(e.request?.method === 'PUT' || e.request?.ifNoneExist, `${e.resource!.resourceType} is not conditional`);
        }
      });
    }
    it('pyhl7_sample_oru_r01_v24.hl7: rejected with 102 at PID-7 (birth date 196203520)', () => {
      const err = rejection(() => bundleOf('pyhl7_sample_oru_r01_v24.hl7'));
      assert.equal(err.details?.hl7ErrorCode, 102);
      assert.equal(err.path, 'PID-7');
    });
    it('elixir_elr_oru_r01_truncation_char.hl7: rejected with 102 (masked ***** timestamps)', () => {
      const err = rejection(() => bundleOf('elixir_elr_oru_r01_truncation_char.hl7'));
      assert.equal(err.details?.hl7ErrorCode, 102);
      assert.equal(err.path, 'TQ1-7');
    });
  });

  describe('key values', () => {
    it('rethink ORU: five NM results with units, ranges, interpretation, identifiers from the filler number', () => {
      const b = bundleOf('rethink_oru-r01-lab.hl7');
      const wbc = byCode(b, 'WBC');
      assert.deepEqual(wbc.valueQuantity, { value: 7.5, unit: '10*3/uL' });
      assert.deepEqual(wbc.referenceRange?.[0], { text: '4.5-11.0', low: { value: 4.5, unit: '10*3/uL' }, high: { value: 11, unit: '10*3/uL' } });
      assert.equal(wbc.interpretation?.[0].coding?.[0].system, 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation');
      assert.equal(wbc.status, 'final');
      assert.equal(wbc.code.coding?.[0].system, 'http://loinc.org');
      assert.deepEqual(wbc.identifier, [{ system: 'urn:wasl:sending-facility:FACILITY_B', value: 'LAB001/WBC//1' }]);
      const [report] = all<DiagnosticReport>(b, 'DiagnosticReport');
      assert.equal(report.result?.length, 5);
      assert.deepEqual(report.identifier?.map((i) => [i.value, i.type?.coding?.[0].code]), [['ORD001', 'PLAC'], ['LAB001', 'FILL']]);
      assert.equal(report.effectiveDateTime, '2026-03-09'); // no offset, no default: date only
      const sr = b.entry!.find((e) => e.resource!.resourceType === 'ServiceRequest')!;
      assert.equal(sr.request?.method, 'POST');
      assert.equal(sr.request?.ifNoneExist, 'identifier=urn%3Awasl%3Asending-facility%3AFACILITY_B|LAB001');
    });

    it('LRI CBC: UCUM units, offsets kept, HH interpretation, SNOMED coded values with original text', () => {
      const b = bundleOf('mscvt_LRI_2.0-NG_CBC_Typ_Message.hl7');
      const hgb = byCode(b, '718-7');
      assert.deepEqual(hgb.valueQuantity, { value: 12.5, unit: 'grams per milliliter', system: 'http://unitsofmeasure.org', code: 'g/mL' });
      assert.equal(hgb.effectiveDateTime, '2011-01-03T14:34:28-08:00');
      assert.equal(hgb.interpretation?.[0].coding?.[0].code, 'L');
      assert.deepEqual(hgb.referenceRange?.[0].low, { value: 13, unit: 'grams per milliliter', system: 'http://unitsofmeasure.org', code: 'g/mL' });
      assert.equal(byCode(b, '26464-8').interpretation?.[0].coding?.[0].code, 'HH');
      const aniso = byCode(b, '38892-6').valueCodeableConcept!;
      assert.deepEqual(aniso.coding?.[0], { system: 'http://snomed.info/sct', code: '260348001', display: 'Present ++ out of ++++' });
      assert.equal(aniso.text, 'Moderate Anisocytosis');
      assert.equal(byCode(b, '6742-1').valueString, 'Many spherocytes present.');
      const [report] = all<DiagnosticReport>(b, 'DiagnosticReport');
      assert.equal(report.issued, '2011-01-04T17:00:28-08:00');
      assert.equal(report.identifier?.find((i) => i.type?.coding?.[0].code === 'FILL')?.system, 'urn:wasl:assigning-authority:NIST%20Lab%20Filler');
      assert.equal(report.specimen?.length, 1);
      const [specimen] = all<Specimen>(b, 'Specimen');
      assert.equal(specimen.type?.coding?.[0].code, '119297000');
      assert.equal(specimen.collection?.collectedDateTime, '2011-01-03T14:34:28-08:00');
    });

    it('SN values: plain number, comparator, range, ratio; ELR OIDs become urn:oid systems', () => {
      const covid = bundleOf('cdc_covid19_elr_01.hl7');
      assert.deepEqual(byCode(covid, '30525-0').valueQuantity, { value: 33, unit: 'year', system: 'http://unitsofmeasure.org', code: 'a' });
      const report = all<DiagnosticReport>(covid, 'DiagnosticReport')[0];
      assert.equal(report.identifier?.[0].system, 'urn:oid:2.16.840.1.113883.3.8589.4.2.7.2');
      assert.equal(report.identifier?.[0].value, '2gcxDYvIHHLr+e6hO9Lxrg');
      assert.equal(byCode(covid, '95209-3').note?.[0].text, 'Ellume COVID-19 Home Test_Ellume Limited_EUA');
      const sn = (v: string) => byCode(bundleOf(ORU(`OBX|1|SN|2345-7^Glucose^LN||${v}|mg/dL^^UCUM|||||F`)), '2345-7');
      assert.deepEqual(sn('<^7').valueQuantity, { value: 7, comparator: '<', unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
      assert.deepEqual(sn('^10^-^20').valueRange?.high?.value, 20);
      assert.deepEqual(sn('^1^:^128').valueRatio, { numerator: { value: 1 }, denominator: { value: 128 } });
      assert.equal(sn('^2^+').valueString, '2+');
    });

    it('FT line breaks, escapes and non-ASCII text, dates, CWE and status mapping', () => {
      const ft = byCode(bundleOf(ORU('OBX|1|FT|11526-1^Path report^LN||Line one\\.br\\Line two \\T\\ more: café – ok||||||C')), '11526-1');
      assert.equal(ft.valueString, 'Line one\nLine two & more: café – ok');
      assert.equal(ft.status, 'corrected');
      const dt = byCode(bundleOf(ORU('OBX|1|DT|11368-8^Onset^LN||20240105||||||P')), '11368-8');
      assert.equal(dt.valueDateTime, '2024-01-05');
      assert.equal(dt.status, 'preliminary');
      assert.equal(byCode(bundleOf(ORU('OBX|1|NM|1-8^X^LN||||||||X')), '1-8').status, 'cancelled');
      const b = bundleOf(ORU('OBX|1|TS|2-6^X^LN||202401051230+0300||||||F'));
      assert.equal(byCode(b, '2-6').valueDateTime, '2024-01-05T12:30:00+03:00');
      const patient = all<{ resourceType: 'Patient'; name?: { family?: string; given?: string[] }[] } & Resource>(b, 'Patient')[0];
      assert.equal(patient.name?.[0].family, 'D\\ARCY');
      assert.deepEqual(patient.name?.[0].given, ['J&K']);
      const withTz = byCode(bundleOf(ORU('OBX|1|TS|2-6^X^LN||202401051230||||||F'), { defaultTimezoneOffset: '+03:00' }), '2-6');
      assert.equal(withTz.valueDateTime, '2024-01-05T12:30:00+03:00');
    });

    it('OBX-4 groups: the first OBX of a sub-id links the others with hasMember', () => {
      const b = bundleOf(ORU('OBX|1|CWE|600-7^Organism^LN|1|3092008^Staph aureus^SCT||||||F\rOBX|2|SN|18906-8^Ciprofloxacin^LN|1|<=^0.5|ug/mL^^UCUM|||||F\rOBX|3|NM|2-6^X^LN|2|1||||||F'));
      const organism = byCode(b, '600-7');
      const cipro = b.entry!.find((e) => (e.resource as Observation).code?.coding?.[0].code === '18906-8')!;
      assert.deepEqual(organism.hasMember, [{ reference: cipro.fullUrl }]);
      assert.equal(byCode(b, '2-6').hasMember, undefined);
      assert.deepEqual(byCode(b, '18906-8').valueQuantity?.comparator, '<=');
    });

    it('OUL^R22: three specimens, cancelled result, reference range "<7800"', () => {
      const b = bundleOf('hapi_oul_r22_msg4.hl7');
      assert.equal(all<Specimen>(b, 'Specimen').length, 3);
      assert.equal(byCode(b, '30264-6').status, 'cancelled');
      assert.deepEqual(byCode(b, '30263-8').referenceRange?.[0].high, { value: 7800, unit: 'umol/l' });
      const rejected = all<Specimen>(b, 'Specimen').find((s) => s.identifier?.[0].value === '123456783');
      assert.equal(rejected?.status, 'unsatisfactory');
      assert.equal(all<DiagnosticReport>(b, 'DiagnosticReport')[0].status, 'preliminary');
    });

    it('ELR with two OBR sharing an order number keeps both reports', () => {
      const b = bundleOf('cdc_mumps_vpd.hl7');
      const reports = all<DiagnosticReport>(b, 'DiagnosticReport');
      assert.equal(reports.length, 2);
      assert.equal(byCode(b, '11368-8').valueDateTime, '2017-02-13');
      assert.equal(all<ServiceRequest>(b, 'ServiceRequest').length, 2);
    });

    it('ED results become DiagnosticReport.presentedForm', () => {
      const b = bundleOf(ORU('OBX|1|ED|PDF^Report^L||LAB^application^pdf^Base64^JVBERi0xLjQK||||||F'));
      const [report] = all<DiagnosticReport>(b, 'DiagnosticReport');
      assert.deepEqual(report.presentedForm, [{ contentType: 'application/pdf', data: 'JVBERi0xLjQK', title: 'Report' }]);
      assert.equal(all(b, 'Observation').length, 0);
    });

    it('rejects a missing OBR-4 (101) and a non-numeric NM value (102)', () => {
      const e1 = rejection(() => bundleOf(ORU('OBX|1|NM|1-8^X^LN||5||||||F', 'OBR|1|PL1|FL1')));
      assert.equal(e1.details?.hl7ErrorCode, 101);
      assert.equal(e1.path, 'OBR-4');
      const e2 = rejection(() => bundleOf(ORU('OBX|1|NM|1-8^X^LN||five||||||F')));
      assert.equal(e2.details?.hl7ErrorCode, 102);
      assert.equal(e2.path, 'OBX-5');
    });

    it('two OBR with one placer and filler number (ELR): each resource keeps its own key, a resend matches one', async () => {
      // cdc_mumps_vpd.hl7: the second OBR was keyed on `<filler>/<OBR-4>` but still carried the
      // shared FILL/PLAC, so after one post `DiagnosticReport?identifier=<filler>` matched both.
      const mumps = bundleOf('cdc_mumps_vpd.hl7');
      assertConditionalKeysUnique(mumps);
      const reports = mumps.entry!.filter((e) => e.resource!.resourceType === 'DiagnosticReport');
      assert.deepEqual(reports.map(conditionalKey), [
        'DiagnosticReport|urn:oid:2.16.840.1.114222.4.3.3.2.3.2|Starlims Lab',
        'DiagnosticReport|urn:oid:2.16.840.1.114222.4.3.3.2.3.2|Starlims Lab/47532-7',
      ]);
      assert.equal((reports[0].resource as DiagnosticReport).identifier?.find((i) => i.type?.coding?.[0].code === 'FILL')?.value, 'Starlims Lab');
      assert.deepEqual((reports[1].resource as DiagnosticReport).identifier, [{ system: 'urn:oid:2.16.840.1.114222.4.3.3.2.3.2', value: 'Starlims Lab/47532-7' }]);

      const obr2 = 'OBR|2|PL1^EHR|FL1^LAB^2.16.840.1.113883.19.1^ISO|2093-3^Cholesterol^LN|||20250101083000+0300||||||||||||||20250101120000+0300||CH|F';
      const twoObr = bundleOf(ORU(`OBX|1|NM|2345-7^Glucose^LN||5.1|mmol/L^^UCUM|||||F\r${obr2}\rOBX|1|NM|2093-3^Chol^LN||4|mmol/L^^UCUM|||||F`));
      assertConditionalKeysUnique(twoObr);
      assert.ok(twoObr.entry!.length <= 8, `${twoObr.entry!.length} entries`);
      const fhir = new InProcessFhir();
      for (let i = 0; i < 3; i++) assert.equal((await fhir.transaction(twoObr)).status, 200);
      assert.equal((await fhir.search('DiagnosticReport')).length, 2);
      assert.equal((await fhir.search('ServiceRequest')).length, 2);
      assert.equal((await fhir.search('Observation')).length, 2);
      assert.equal((await fhir.search('DiagnosticReport?identifier=urn:oid:2.16.840.1.113883.19.1|FL1')).length, 1);
    });

    it('is deterministic, and a resend or a correction never duplicates on a FHIR server', async () => {
      assert.deepEqual(bundleOf('mscvt_LRI_2.0-NG_CBC_Typ_Message.hl7'), bundleOf('mscvt_LRI_2.0-NG_CBC_Typ_Message.hl7'));
      // Medplum 4.5.2 runs a transaction with conditional entries only up to 8 entries, so the
      // round trip uses a small message (see the report: larger ORU bundles need splitting there).
      const original = bundleOf(ORU('OBX|1|NM|2345-7^Glucose^LN||5.1|mmol/L^^UCUM|||||P\rOBX|2|NM|2339-0^Glucose^LN||6|mmol/L^^UCUM|||||P'));
      const corrected = bundleOf(ORU('OBX|1|NM|2339-0^Glucose^LN||6|mmol/L^^UCUM|||||F\rOBX|2|NM|2345-7^Glucose^LN||5.4|mmol/L^^UCUM|||||C'));
      const fhir = new InProcessFhir();
      for (const b of [original, original, corrected]) {
        const { status } = await fhir.transaction(b);
        assert.equal(status, 200);
      }
      const observations = await fhir.search<Observation>('Observation');
      assert.equal(observations.length, 2);
      const glucose = observations.find((o) => o.code.coding?.[0].code === '2345-7');
      assert.equal(glucose?.valueQuantity?.value, 5.4);
      assert.equal(glucose?.status, 'corrected');
      assert.equal((await fhir.search('DiagnosticReport')).length, 1);
      assert.equal((await fhir.search('ServiceRequest')).length, 1);
      const [report] = await fhir.search<DiagnosticReport>('DiagnosticReport');
      assert.match(report.result![0].reference!, /^Observation\/[0-9a-f-]+$/);
      assert.match(report.subject!.reference!, /^Patient\/[0-9a-f-]+$/);
    });
  });
});
