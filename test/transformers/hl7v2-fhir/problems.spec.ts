import assert from 'node:assert/strict';
import type { Condition, Encounter, Patient } from '@medplum/fhirtypes';
import { all, entryOf, mapped, one, rejection, urlOf } from './helpers';

const PPR = (event: string, ...segments: string[]) =>
  [`MSH|^~\\&|EMR|FAC|R|RF|20250101120000+0300||PPR^${event}^PPR_PC1|P1|P|2.5.1`, 'PID|1||55^^^HOSP||DOE^JANE', ...segments].join('\r');

describe('transformers/hl7v2/fhir/problems', () => {
  it('PPR^PC1 (mscvt, v2.3.1, BOM): a problem-list Condition keyed by PRB-4', () => {
    const b = mapped('mscvt_PC1-Problem-Add-v2.3.1.hl7');
    const patient = one<Patient>(b, 'Patient');
    assert.deepEqual(patient.identifier?.[0], { system: 'urn:wasl:assigning-authority:WEST', value: '10290', type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] } });
    assert.deepEqual(patient.name?.[0], { family: 'KARLS', given: ['TOM', 'ANDREW'], prefix: ['MR.'] });
    const c = one<Condition>(b, 'Condition');
    assert.deepEqual(c.code?.coding?.[0], { system: 'http://hl7.org/fhir/sid/icd-9-cm', code: '596.5', display: 'BLADDER DYSFUNCTION' });
    assert.equal(c.category?.[0].coding?.[0].code, 'problem-list-item');
    assert.equal(c.identifier?.[0].value, '26744');
    // `ACTIVE` is sent in PRB-13 (confirmation status, no such code there), PRB-14 is empty
    assert.equal(c.clinicalStatus, undefined);
    assert.equal(c.verificationStatus, undefined);
    assert.equal(c.recordedDate, '2004-06-29');
    assert.equal(c.onsetDateTime, '2004-06-29');
    assert.equal(c.subject?.reference, urlOf(b, patient));
    assert.equal(all(b, 'Encounter').length, 0);
  });

  it('PC2 updates the same Condition, PC3 marks it entered-in-error; the visit is linked when PV1-19 names it', () => {
    const prb = 'PRB|UP|20250101|I10^Essential hypertension^I10|PR7^^HOSP||||||||||R^Resolved||20240101120000+0300';
    const pc2 = mapped(PPR('PC2', 'PV1|1|O|||||||||||||||||V5^^^HOSP', prb));
    const updated = one<Condition>(pc2, 'Condition');
    assert.equal(updated.clinicalStatus?.coding?.[0].code, 'resolved');
    assert.equal(updated.onsetDateTime, '2024-01-01T12:00:00+03:00');
    assert.equal(updated.encounter?.reference, urlOf(pc2, one<Encounter>(pc2, 'Encounter')));
    const pc3 = mapped(PPR('PC3', prb));
    const deleted = one<Condition>(pc3, 'Condition');
    assert.equal(deleted.verificationStatus?.coding?.[0].code, 'entered-in-error');
    assert.equal(deleted.clinicalStatus, undefined);
    assert.equal(entryOf(pc3, deleted).request?.url, entryOf(pc2, updated).request?.url);
  });

  it('rejects a PPR without PRB or without PRB-3', () => {
    assert.deepEqual([rejection(() => mapped(PPR('PC1'))).path, rejection(() => mapped(PPR('PC1', 'PRB|AD|20250101'))).path], ['PRB-3', 'PRB-3']);
  });
});
