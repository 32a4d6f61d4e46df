import assert from 'node:assert/strict';
import type { MedicationRequest, NutritionOrder, Observation, ServiceRequest, Specimen } from '@medplum/fhirtypes';
import { all, assertValid, bundleOf, rejection } from './helpers';

const ORDER_FIXTURES = [
  'hapi_msgs_06_orm_o01_v22.hl7', 'hapi_oml_o21_msg1.hl7', 'mscvt_MDHHS-OML-O21-1.hl7', 'mscvt_OML-O21-02.hl7', 'mscvt_ORM-O01-01.hl7',
  'mscvt_ORM-O01-03.hl7', 'rethink_orm-o01-order.hl7', 'mscvt_RDE-O11-01.hl7', 'mscvt_REF-I12-01.hl7', 'hapi_omd_o03.hl7',
];

describe('transformers/hl7v2/fhir/orders', () => {
  describe('every order fixture gives a valid transaction Bundle', () => {
    for (const name of ORDER_FIXTURES) {
      it(name, () => {
        const b = bundleOf(name);
        assertValid(b);
        assert.equal(all(b, 'Patient').length, 1);
        for (const e of b.entry!) assert.ok(e.request?.method === 'PUT' || e.request?.ifNoneExist, `${e.resource!.resourceType} is not conditional`);
      });
    }
  });

  it('ORM^O01: ServiceRequest upserted on the filler number, placer/filler typed, requester, priority', () => {
    const b = bundleOf('mscvt_ORM-O01-03.hl7');
    const srs = all<ServiceRequest>(b, 'ServiceRequest');
    assert.deepEqual(srs.map((s) => s.code?.coding?.[0]), [
      { system: 'http://loinc.org', code: '24725-4', display: 'CT Head' },
      { system: 'http://loinc.org', code: '24590-2', display: 'MR Brain' },
    ]);
    assert.deepEqual(srs[0].identifier?.map((i) => [i.system, i.value, i.type?.coding?.[0].code]), [
      ['urn:wasl:assigning-authority:GHHPlacer', '1101', 'PLAC'],
      ['urn:wasl:assigning-authority:GHHFiller', '1201', 'FILL'],
    ]);
    assert.equal(srs[0].status, 'active'); // ORC-5 SC
    assert.equal(srs[0].intent, 'order');
    assert.equal(srs[0].authoredOn, '2021-10-20T11:26:00+02:15');
    assert.equal(srs[0].requester?.display, 'JONES A ORDPROVIDER');
    const entry = b.entry!.find((e) => e.resource === srs[0])!;
    assert.equal(entry.request?.method, 'PUT');
    assert.equal(entry.request?.url, 'ServiceRequest?identifier=urn%3Awasl%3Aassigning-authority%3AGHHFiller|1201');
    assert.equal(srs[0].reasonCode?.[0].coding?.[0].system, 'http://hl7.org/fhir/sid/icd-10');
  });

  it('OML^O21: specimens (EI written as components), AOE observation as supportingInfo, TQ1 priority', () => {
    const b = bundleOf('hapi_oml_o21_msg1.hl7');
    const specimens = all<Specimen>(b, 'Specimen');
    assert.deepEqual(specimens.map((s) => s.identifier?.[0].value), ['123456781', '123456782', '123456783']);
    assert.equal(specimens[0].identifier?.[0].system, 'urn:wasl:assigning-authority:gastric');
    const [sr] = all<ServiceRequest>(b, 'ServiceRequest');
    assert.equal(sr.specimen?.length, 3);
    assert.equal(sr.supportingInfo?.length, 1);
    assert.equal(sr.priority, 'asap');
    assert.equal(sr.code?.coding?.[0].system, 'http://www.ama-assn.org/go/cpt');
    const [obs] = all<Observation>(b, 'Observation');
    assert.deepEqual(obs.valueQuantity, { value: 75, unit: 'g' });
  });

  it('OML^O21 from a state lab: OID systems, note, ORC glued to GT1 still gives an order from OBR', () => {
    const b = bundleOf('mscvt_MDHHS-OML-O21-1.hl7');
    const [sr] = all<ServiceRequest>(b, 'ServiceRequest');
    assert.equal(sr.identifier?.[0].system, 'urn:oid:2.16.840.1.113883.3.72.5.24');
    assert.equal(sr.note?.[0].text, 'the sky is blue');
    assert.equal(all<Observation>(b, 'Observation')[0].valueDateTime, '2015-08-18T06:06:05-05:00');
  });

  it('RDE^O11: MedicationRequest with NDC code, dose, dispense quantity, refills, route', () => {
    const b = bundleOf('mscvt_RDE-O11-01.hl7');
    const [mr] = all<MedicationRequest>(b, 'MedicationRequest');
    assert.equal(mr.medicationCodeableConcept?.coding?.[0].system, 'http://hl7.org/fhir/sid/ndc');
    assert.equal(mr.medicationCodeableConcept?.coding?.[0].code, '0143963401');
    assert.equal(mr.medicationCodeableConcept?.text, 'niCARdipine (CARDENE) in NaCl IV infusion 40 mg/200 mL (0.2 mg/mL)');
    assert.equal(mr.status, 'active');
    assert.equal(mr.identifier?.[0].value, '1163422591');
    assert.deepEqual(mr.dosageInstruction?.[0].doseAndRate?.[0].doseQuantity, { value: 5, unit: 'mg/hr' });
    assert.equal(mr.dosageInstruction?.[0].route?.coding?.[0].code, 'IV');
    assert.match(mr.dosageInstruction?.[0].text ?? '', /^Titrate to BP less than 180\nStarting dose/);
    assert.deepEqual(mr.dispenseRequest?.quantity, { value: 3, unit: 'Bag' });
    assert.equal(mr.dispenseRequest?.numberOfRepeatsAllowed, 12);
  });

  it('REF^I12: referral ServiceRequest with requester/performer from PRD and the lab report as supportingInfo', () => {
    const b = bundleOf('mscvt_REF-I12-01.hl7');
    const referral = all<ServiceRequest>(b, 'ServiceRequest').find((s) => s.code?.coding?.[0].code === '3457005')!;
    assert.equal(referral.identifier?.[0].value, '226839');
    assert.equal(referral.identifier?.[0].system, 'urn:wasl:assigning-authority:EPIC');
    assert.equal(referral.status, 'active');
    assert.equal(referral.priority, 'routine');
    assert.equal(referral.occurrencePeriod?.start, '2022-01-25');
    assert.equal(referral.requester?.display, 'DR ROBERT POWELL');
    assert.equal(referral.performer?.[0].display, 'DR PAUL McWILLIAMS');
    assert.equal(referral.supportingInfo?.length, 1);
    assert.ok(referral.reasonCode?.some((c) => c.coding?.[0].code === 'K63.3'));
    assert.equal(all<Observation>(b, 'Observation')[0].valueString, 'Positive');
  });

  it('OMD^O03: NutritionOrder with diet type and preferences, dateTime from ORC-9', () => {
    const b = bundleOf('hapi_omd_o03.hl7');
    const [order] = all<NutritionOrder>(b, 'NutritionOrder');
    assert.equal(order.dateTime, '2010-11-17');
    assert.equal(order.oralDiet?.type?.[0].coding?.[0].code, 'PAN4');
    assert.deepEqual(order.foodPreferenceModifier?.map((c) => [c.coding?.[0].code, c.text]), [['EVENTO', 'LACT'], ['CARACTERISTICA', 'SIN SAL'], ['CARACTERISTICA', 'DIABETICO']]);
    assert.equal(order.status, 'active');
  });

  it('rejects orders without their required content', () => {
    const msh = 'MSH|^~\\&|A|F|R|RF|20250101120000+0300||RDE^O11^RDE_O11|C1|P|2.5.1\rPID|1||P1^^^H^MR||DOE^J\r';
    const e1 = rejection(() => bundleOf(`${msh}ORC|NW|1^X\rRXE|1\r`));
    assert.equal(e1.details?.hl7ErrorCode, 101);
    assert.equal(e1.path, 'RXE-2');
    const e2 = rejection(() => bundleOf(msh.replace('RDE^O11^RDE_O11', 'ORM^O01') + 'NTE|1||x\r'));
    assert.equal(e2.details?.hl7ErrorCode, 101);
    const e3 = rejection(() => bundleOf(msh.replace('RDE^O11^RDE_O11', 'ORM^O01').replace(/PID.*\r/, '') + 'ORC|NW|1^X\r'));
    assert.equal(e3.path, 'PID-3');
  });
});
