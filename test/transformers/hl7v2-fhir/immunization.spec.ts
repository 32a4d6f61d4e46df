import assert from 'node:assert/strict';
import type { Immunization, Observation } from '@medplum/fhirtypes';
import { all, assertValid, bundleOf, rejection } from './helpers';

const VXU = (rxa: string, orc = 'ORC|RE||IZ-1^NDA') =>
  `MSH|^~\\&|EHR|X68||IIS|20120701082200+0300||VXU^V04^VXU_V04|C1|P|2.5.1\rPID|1||252430^^^MAA^MR||Curry^Qiang||20090819|M\r${orc}\r${rxa}\r`;

describe('transformers/hl7v2/fhir/immunization', () => {
  describe('every VXU fixture gives a valid transaction Bundle', () => {
    const expected: Record<string, number> = {
      'elixir_nist_vxu_v04.hl7': 3, 'mscvt_IZ_1_1.1_Admin_Child_Max_Message.hl7': 1, 'mscvt_VXU-V04-01.hl7': 1, 'mscvt_VXU.hl7': 3,
    };
    for (const [name, count] of Object.entries(expected)) {
      it(`${name}: ${count} Immunization`, () => {
        const b = bundleOf(name);
        assertValid(b);
        assert.equal(all<Immunization>(b, 'Immunization').length, count);
      });
    }
  });

  it('NIST VXU: CVX code, filler id, dose in UCUM, lot, MVX manufacturer, route/site, VFC eligibility, VIS education', () => {
    const b = bundleOf('elixir_nist_vxu_v04.hl7');
    const [flu, pcv, combo] = all<Immunization>(b, 'Immunization');
    assert.deepEqual(flu.vaccineCode.coding?.[0], { system: 'http://hl7.org/fhir/sid/cvx', code: '140', display: 'Influenza' });
    assert.deepEqual(flu.identifier, [{
      system: 'urn:wasl:assigning-authority:NDA', value: 'IZ-783278',
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'FILL', display: 'Filler Identifier' }] },
    }]);
    assert.equal(flu.status, 'completed');
    assert.equal(flu.occurrenceDateTime, '2012-08-14');
    assert.equal(flu.primarySource, true);
    assert.deepEqual(flu.doseQuantity, { value: 0.5, unit: 'MilliLiter [SI Volume Units]', system: 'http://unitsofmeasure.org', code: 'mL' });
    assert.equal(flu.lotNumber, 'W1356FE');
    assert.equal(flu.expirationDate, '2012-12-14');
    assert.equal(flu.manufacturer?.display, 'GlaxoSmithKline');
    const mvx = b.entry!.find((e) => e.fullUrl === flu.manufacturer?.reference)!;
    assert.equal(mvx.request?.ifNoneExist, 'identifier=http%3A%2F%2Fterminology.hl7.org%2FCodeSystem%2FMVX|SKB');
    assert.equal(flu.site?.coding?.[0].code, 'RA');
    assert.equal(flu.route?.coding?.[0].code, 'C28161');
    assert.equal(flu.programEligibility?.[0].coding?.[0].code, 'V03');
    assert.deepEqual(flu.education, [{ documentType: 'Influenza, unspecified formulation', publicationDate: '2012-07-02', presentationDate: '2012-08-14' }]);
    assert.equal(combo.education?.length, 3);
    assert.equal(pcv.primarySource, false);
    assert.equal(pcv.reportOrigin?.coding?.[0].code, '01');
    assert.equal(pcv.doseQuantity, undefined); // 999 = unknown amount
  });

  it('VXU with NDC code, funding source, administering provider; patient-level OBX stays an Observation', () => {
    const b = bundleOf('mscvt_VXU.hl7');
    const [first] = all<Immunization>(b, 'Immunization');
    assert.equal(first.vaccineCode.coding?.[0].system, 'http://hl7.org/fhir/sid/ndc');
    assert.equal(first.fundingSource?.coding?.[0].code, 'PHC70');
    assert.equal(first.performer?.find((p) => p.function?.coding?.[0].code === 'AP')?.actor.display, 'Lily Suzanne Jackson');
    assert.equal(first.education?.[0].presentationDate, '2015-06-24');
    const max = bundleOf('mscvt_VXU-V04-01.hl7');
    assert.equal(all<Observation>(max, 'Observation')[0].code.coding?.[0].code, '8867-4');
  });

  it('RXA-20 / RXA-21 give the status; refusal reason; derived key without ORC numbers', () => {
    const imm = (rxa: string, orc?: string) => all<Immunization>(bundleOf(VXU(rxa, orc)), 'Immunization')[0];
    assert.equal(imm('RXA|0|1|20120814||140^Flu^CVX|999||||||||||||00^Parental decision^NIP002||RE').status, 'not-done');
    assert.equal(imm('RXA|0|1|20120814||140^Flu^CVX|999||||||||||||00^Parental decision^NIP002||RE').statusReason?.coding?.[0].code, '00');
    assert.equal(imm('RXA|0|1|20120814||140^Flu^CVX|999||||||||||||||CP|D').status, 'entered-in-error');
    const partial = imm('RXA|0|1|20120814||140^Flu^CVX|999||||||||||||||PA|A');
    assert.equal(partial.status, 'completed');
    assert.equal(partial.isSubpotent, true);
    const derived = imm('RXA|0|1|201208141030+0300||140^Flu^CVX|999', 'ORC|RE');
    assert.equal(derived.occurrenceDateTime, '2012-08-14T10:30:00+03:00');
    assert.equal(derived.identifier?.[0].value, '201208141030+0300/140');
    assert.match(derived.identifier![0].system!, /^urn:wasl:immunization:/);
  });

  it('101 for a missing RXA-3 or RXA-5', () => {
    const e1 = rejection(() => bundleOf(VXU('RXA|0|1|||140^Flu^CVX')));
    assert.equal(e1.path, 'RXA-3');
    assert.equal(e1.details?.hl7ErrorCode, 101);
    const e2 = rejection(() => bundleOf(VXU('RXA|0|1|20120814||')));
    assert.equal(e2.path, 'RXA-5');
  });
});
