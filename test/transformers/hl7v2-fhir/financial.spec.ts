import assert from 'node:assert/strict';
import type { Account, ChargeItem, Condition, Coverage, Encounter, Organization, Patient, Procedure, RelatedPerson } from '@medplum/fhirtypes';
import { all, entryOf, mapped, one, rejection, urlOf } from './helpers';

const DFT = (...segments: string[]) =>
  ['MSH|^~\\&|BILL|FAC|R|RF|20250101120000+0300||DFT^P03^DFT_P03|D1|P|2.5.1', 'EVN|P03|20250101120000+0300', 'PID|1||55^^^HOSP||DOE^JANE|||||||||||||AC9^^^HOSP', ...segments].join('\r');

describe('transformers/hl7v2/fhir/financial', () => {
  it('DFT^P03 (mscvt): one ChargeItem per FT1 with code, CPT/NDC systems, price and links', () => {
    const b = mapped('mscvt_DFT-P03-01.hl7');
    const [xray, visit] = all<ChargeItem>(b, 'ChargeItem');
    assert.deepEqual(xray.identifier?.[0], { system: 'urn:wasl:sending-facility:GHHSFacility', value: '12345' });
    assert.deepEqual(xray.code.coding?.[0], { system: 'http://www.ama-assn.org/go/cpt', code: '71045', display: 'Xray exam chest 1 view' });
    assert.equal(xray.status, 'billable');
    assert.equal(xray.occurrenceDateTime, '2019-11-22');
    assert.deepEqual(xray.quantity, { value: 2 });
    assert.deepEqual(xray.priceOverride, { value: 100, currency: 'USD' });
    assert.deepEqual(xray.reason?.map((r) => r.coding?.[0].code), ['29857009', '68235000']);
    assert.deepEqual(xray.productCodeableConcept?.coding?.[0], { system: 'http://hl7.org/fhir/sid/ndc', code: '0182-1061-05', display: 'ASPIRIN EC' });
    assert.equal(xray.performer?.[0].actor.display, 'Adam Smith');
    assert.equal(xray.subject.reference, urlOf(b, one<Patient>(b, 'Patient')));
    assert.equal(xray.context?.reference, urlOf(b, one<Encounter>(b, 'Encounter')));
    assert.equal(xray.account?.[0].reference, urlOf(b, one<Account>(b, 'Account')));
    // FT1-2 empty: keyed by the message control id + FT1-1, so a resend of this message updates it
    assert.equal(visit.identifier?.[0].value, '2');
    assert.match(visit.identifier![0].system!, /^urn:wasl:charge-item:urn%3Awasl%3Ahl7-control-id%3A/);
    assert.deepEqual(visit.code.coding?.map((c) => c.code), ['626.2', '99011']); // FT1-7 plus FT1-25
    assert.deepEqual(visit.priceOverride, { value: 120, currency: 'USD' });
    assert.deepEqual(all<Condition>(b, 'Condition').map((c) => c.code?.coding?.[0].code), ['29857009', '68235000']);
    assert.equal(one<Procedure>(b, 'Procedure').performedDateTime, '2019-11-22');
    const coverage = one<Coverage>(b, 'Coverage');
    assert.equal(coverage.payor[0].reference, urlOf(b, all<Organization>(b, 'Organization').find((o) => o.name === 'Blue Cross Blue Shield of Texas')!));
    assert.deepEqual(coverage.class?.map((c) => [c.type.coding?.[0].code, c.value, c.name]), [
      ['plan', 'BAV', 'Blue Advantage HMO'], ['group', 'Grp-12345', 'BCBS HMO'],
    ]);
  });

  it('DFT^P03 (rethink): unit price, CPT, and a v2.5.1 visit', () => {
    const b = mapped('rethink_dft-p03-charge.hl7');
    const charge = one<ChargeItem>(b, 'ChargeItem');
    assert.deepEqual(charge.code.coding?.[0], { system: 'http://www.ama-assn.org/go/cpt', code: '99213', display: 'Office Visit Level 3' });
    assert.deepEqual(charge.priceOverride, { value: 150 });
    // VISIT001 sits in PV1-18 (patient type), not PV1-19: the visit is keyed by MSH-10
    assert.equal(one<Encounter>(b, 'Encounter').identifier?.[0].value, 'FIN00001');
    assert.equal(one<Patient>(b, 'Patient').name?.[0].family, 'BROWN');
  });

  it('DFT: payments are no charges, a bad amount is 102 and a missing FT1-7 is 101', () => {
    const pay = mapped(DFT('FT1|1|T1||20250101||PY|CASH|||1|10.00'));
    assert.equal(all(pay, 'ChargeItem').length, 0);
    assert.equal(one<Account>(pay, 'Account').identifier?.[0].value, 'AC9');
    const bad = rejection(() => mapped(DFT('FT1|1|T1||20250101||CG|99213^^CPT|||1|abc')));
    assert.deepEqual([bad.details?.hl7ErrorCode, bad.path], [102, 'FT1-11']);
    const missing = rejection(() => mapped(DFT('FT1|1|T1||20250101||CG')));
    assert.deepEqual([missing.details?.hl7ErrorCode, missing.path], [101, 'FT1-7']);
    const none = rejection(() => mapped(DFT()));
    assert.equal(none.path, 'FT1-1');
    const period = one<ChargeItem>(mapped(DFT('FT1|1|T1||20250101080000+0300^20250101093000+0300||CG|99213^^CPT')), 'ChargeItem');
    assert.deepEqual(period.occurrencePeriod, { start: '2025-01-01T08:00:00+03:00', end: '2025-01-01T09:30:00+03:00' });
  });

  it('BAR^P01 with non-default delimiters: Patient, Account, Coverage, next of kin, visit', () => {
    const b = mapped('hapi_msgs_02_bar_p01_brace_delims.hl7');
    const patient = one<Patient>(b, 'Patient');
    assert.deepEqual(patient.name?.[0], { family: 'WASHINGTON-HARPER', given: ['VOLA', 'K'] });
    assert.equal(patient.identifier?.[0].value, '429314294');
    assert.equal(patient.birthDate, '1954-12-18');
    const account = one<Account>(b, 'Account');
    assert.equal(account.identifier?.[0].value, '429314294');
    assert.equal(account.status, 'active');
    assert.equal(account.subject?.[0].reference, urlOf(b, patient));
    const coverage = one<Coverage>(b, 'Coverage');
    assert.equal(coverage.payor[0].display, 'HEALTHLINK, INC');
    assert.equal(account.coverage?.[0].coverage.reference, urlOf(b, coverage));
    assert.equal(one<RelatedPerson>(b, 'RelatedPerson').name?.[0].family, 'WASHINGTON');
    const enc = one<Encounter>(b, 'Encounter');
    assert.equal(enc.class.code, 'AMB');
    assert.deepEqual(enc.account?.map((a) => a.reference), [urlOf(b, account)]);
    // no PV1-19: the visit is keyed by the message control id
    assert.equal(enc.identifier?.[0].value, '589888ADT30502184808');
  });

  it('BAR^P01: HL7 nulls never leak, two IN1 give two Coverages in order', () => {
    const nulls = mapped('hapi_msgs_05_bar_p01_all_nulls.hl7');
    assert.ok(!JSON.stringify(nulls).includes('""'));
    assert.equal(one<Patient>(nulls, 'Patient').birthDate, undefined);
    const two = mapped('hapi_msgs_04_bar_p01_three_enc_chars.hl7');
    const account = one<Account>(two, 'Account');
    assert.deepEqual(account.coverage?.map((c) => c.priority), [1, 2]);
    assert.deepEqual(all<Coverage>(two, 'Coverage').map((c) => c.payor[0].display), ['PARTNERS HMO', 'PATIENT PAY']);
  });

  it('BAR^P06 ends the account; mscvt BAR keys the account by PID-18 with its authority', () => {
    const p06 = mapped('MSH|^~\\&|A|F|R|RF|20250101120000||BAR^P06|B6|P|2.5.1\rEVN|P06|20250101120000\rPID|1||55^^^HOSP|||||||||||||||AC9^^^HOSP');
    assert.equal(one<Account>(p06, 'Account').status, 'inactive');
    const b = mapped('mscvt_BAR-P01-01.hl7');
    assert.equal(entryOf(b, one<Account>(b, 'Account')).request?.url, 'Account?identifier=urn%3Aoid%3A1.3.6.1.4.1.44750.1.2.2|4000776');
    assert.equal(one<Condition>(b, 'Condition').encounter?.reference, urlOf(b, one<Encounter>(b, 'Encounter')));
  });
});
