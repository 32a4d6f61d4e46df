/**
 * connectors/nphies/from-dft.ts: an HL7 v2 DFT^P03 as claim-request builder input, built into a
 * Bundle that passes validateNphiesBundle, and sent through engine/nphies/submit.ts to the simulator.
 *
 * The shared fixtures are US messages: the tests add what a Saudi DFT carries and they lack
 * (a national id in PID-3, an ICD-10 DG1, SAR amounts, an IN1 and attending doctor where absent),
 * each edit named where it is made.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Claim } from '@medplum/fhirtypes';
import { NphiesClient } from '../../../connectors/nphies/client';
import { buildRequest } from '../../../connectors/nphies/bundles';
import { claimInputFromDft, type DftClaimDefaults } from '../../../connectors/nphies/from-dft';
import { validateNphiesBundle } from '../../../connectors/nphies/validate';
import { claimLifecycleFor } from '../../../engine/nphies/lifecycle';
import { submitNphies } from '../../../engine/nphies/submit';
import { openStore } from '../../../engine/store';
import type { MessageStore } from '../../../engine/store/types';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { startNphiesSimulator, type NphiesSimulator } from '../../simulators/nphies';
import { PARTIES } from '../../simulators/nphies/requests';
import { tempDir } from '../../support/engine-process';
import { hl7Fixture } from '../../transformers/fixtures';

const DEFAULTS: DftClaimDefaults = {
  claimType: 'institutional',
  subType: 'ip',
  provider: { name: 'Test Hospital' },
  memberIdSystem: 'http://payer.example/identifiers/memberid',
  specialty: '08.00',
};

const segs = (text: string): string[] => text.split(/\r\n|\r|\n/).filter((s) => s.trim() !== '');

/** mscvt_DFT-P03-01 with a Saudi national id added to PID-3, SAR for USD, an ICD-10 DG1 appended. */
function mscvt(): string {
  return segs(hl7Fixture('mscvt_DFT-P03-01.hl7'))
    .map((s) => (s.startsWith('PID|') ? s.replace('^SS|', '^SS~1023456789^^^SAU^NI|') : s))
    .map((s) => (s.startsWith('FT1|') ? s.replace(/&USD/g, '&SAR') : s))
    .concat('DG1|3||R07.4^Chest pain, unspecified^I10|||F')
    .join('\r');
}

/** rethink_dft-p03-charge with an iqama in PID-3, an attending doctor in PV1-7, a DG1 and an IN1 appended. */
function rethink(): string {
  return segs(hl7Fixture('rethink_dft-p03-charge.hl7'))
    .map((s) => (s.startsWith('PID|') ? s.replace('77889^^^MRN', '77889^^^MRN~2234567890^^^SAU^PRC') : s))
    .map((s) => (s.startsWith('PV1|') ? s.replace('PV1|1|I|SURG^601^A||||', 'PV1|1|I|SURG^601^A||||PRAC-0001^Doctor^Test') : s))
    .concat('DG1|1||J06.9^Acute upper respiratory infection^I10|||F', 'IN1|1|PLAN-A^Plan A|INS-FHIR|Test Insurer|||||||||||||SEL^Self|||||||||||||||||||M-0001')
    .join('\r');
}

function claimOf(bundle: ReturnType<typeof buildRequest>): Claim {
  return bundle.entry?.find((e) => e.resource?.resourceType === 'Claim')?.resource as Claim;
}

describe('connectors/nphies/from-dft', () => {
  it('mscvt DFT^P03: two FT1 items, amounts, patient national id; the Bundle validates', () => {
    const input = claimInputFromDft(parseHl7(mscvt()), DEFAULTS);
    assert.equal(input.identifier, 'MSG00001');
    assert.equal(input.episode, '40007716');
    assert.deepEqual(input.patient.identifier, { kind: 'nationalid', value: '1023456789' });
    assert.equal(input.items.length, 2);
    assert.deepEqual(
      input.items.map((i) => [i.code, i.codeSystem, i.quantity, i.unitPrice, i.servicedDate]),
      [['71045', 'procedures', 2, 50, '2019-11-22'], ['99011', 'services', 1, 120, '2019-11-22']],
    );
    assert.deepEqual(input.diagnoses.map((d) => d.code), ['R07.4'], 'SNOMED codes are not passed off as ICD-10');
    assert.equal(input.coverage.memberId, '548851236L');
    assert.equal(input.insurer.name, 'Blue Cross Blue Shield of Texas');
    assert.equal(input.encounter?.class, 'IMP');

    const bundle = buildRequest('claim-request', input, PARTIES);
    const { valid, outcome } = validateNphiesBundle(bundle);
    assert.ok(valid, JSON.stringify(outcome.issue.filter((i) => i.severity === 'error')));
    const claim = claimOf(bundle);
    assert.equal(claim.total?.value, 220);
    assert.equal(claim.total?.currency, 'SAR');
    assert.deepEqual(claim.item?.map((i) => i.net?.value), [100, 120]);
    const patient = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient')?.resource as { identifier: Array<{ system: string; value: string }> };
    assert.deepEqual([patient.identifier[0].system, patient.identifier[0].value], ['http://nphies.sa/identifier/nationalid', '1023456789']);
  });

  it('rethink DFT^P03: one FT1 item with its CPT code and unit amount; the Bundle validates', () => {
    const input = claimInputFromDft(parseHl7(rethink()), DEFAULTS);
    assert.deepEqual(input.patient.identifier, { kind: 'iqama', value: '2234567890' });
    assert.deepEqual(input.items.map((i) => [i.code, i.codeSystem, i.quantity, i.unitPrice]), [['99213', 'procedures', 1, 150]]);
    const bundle = buildRequest('claim-request', input, PARTIES);
    const { valid, outcome } = validateNphiesBundle(bundle);
    assert.ok(valid, JSON.stringify(outcome.issue.filter((i) => i.severity === 'error')));
    assert.equal(claimOf(bundle).total?.value, 150);
  });

  it('refuses a DFT without FT1: HL7 error 101 at FT1', () => {
    const text = segs(rethink()).filter((s) => !s.startsWith('FT1|')).join('\r');
    assert.throws(() => claimInputFromDft(parseHl7(text), DEFAULTS), (err: { code: string; details: { hl7ErrorCode: number; segmentId: string } }) => {
      assert.equal(err.code, 'VALIDATION_HL7_CONTENT');
      assert.equal(err.details.hl7ErrorCode, 101);
      assert.equal(err.details.segmentId, 'FT1');
      return true;
    });
  });

  it('refuses FT1 amounts in a currency other than the claim currency', () => {
    const text = segs(mscvt()).map((s) => (s.startsWith('FT1|1|') ? s.replace('50&SAR', '50&USD') : s)).join('\r');
    assert.throws(() => claimInputFromDft(parseHl7(text), DEFAULTS), { code: 'VALIDATION_HL7_CONTENT', path: 'FT1-12' });
  });
});

describe('DFT^P03 through the claim path (engine/nphies/submit.ts, simulator)', function () {
  this.timeout(30_000);
  let sim: NphiesSimulator;
  let client: NphiesClient;
  let dir: string;
  let store: MessageStore;

  before(async () => {
    sim = await startNphiesSimulator();
    dir = tempDir('nphies-dft');
    store = await openStore({ dataDir: dir });
  });
  after(async () => {
    await client?.close();
    await sim?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a DFT^P03 text becomes an adjudicated claim', async () => {
    const lifecycle = claimLifecycleFor(store);
    client = new NphiesClient({ endpoint: { url: sim.processUrl }, ledger: lifecycle.ledger, retry: { maxAttempts: 1 } });
    const deps = { sender: client, lifecycle, parties: PARTIES, actor: 'test', dft: DEFAULTS };
    const out = await submitNphies('claim', { payload: rethink(), seed: 'dft-1', at: new Date('2026-04-01T12:00:00Z') }, deps);
    assert.equal(out.error, undefined, out.error?.message);
    assert.equal(out.result.event, 'claim-response');
    assert.equal(out.result.adjudication?.outcome, 'approved');
    assert.equal(out.claim?.state, 'approved');
    assert.equal(sim.claimState('FIN00001') !== undefined, true);

    // Without DFT defaults the text stays a refused payload.
    await assert.rejects(submitNphies('claim', { payload: rethink(), seed: 'dft-2' }, { ...deps, dft: undefined }), { code: 'VALIDATION_NPHIES_PAYLOAD' });
  });
});
