/**
 * validateNphiesBundle: the IG examples validate; each broken message gives its issue with the
 * path; rules the domain notes do not confirm give warnings, not errors.
 */
import assert from 'node:assert/strict';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { buildRequest } from '../../../connectors/nphies/bundles';
import { validateNphiesBundle } from '../../../connectors/nphies/validate';
import { validateFhir } from '../../../transformers/fhir/validate';
import { BUNDLE_FIXTURE, CLAIM_FIXTURES, INPUTS, PARTIES, fixedOpts, nphiesFixture } from './inputs';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const errors = (b: unknown): OperationOutcomeIssue[] => validateNphiesBundle(b).outcome.issue.filter((i) => i.severity === 'error');
const warnings = (b: unknown): OperationOutcomeIssue[] => validateNphiesBundle(b).outcome.issue.filter((i) => i.severity === 'warning');

/** Asserts the bundle is invalid with an error at `expression` whose text matches `text`. */
function expectError(bundle: unknown, expression: string, text: RegExp): void {
  const result = validateNphiesBundle(bundle);
  assert.equal(result.valid, false);
  const hit = result.outcome.issue.find((i) => i.severity === 'error' && i.expression?.[0] === expression && text.test(i.diagnostics ?? ''));
  assert.ok(hit, `no error at ${expression} matching ${text}; got ${JSON.stringify(result.outcome.issue, null, 1)}`);
}

function claimBundle(): Json {
  return buildRequest('claim-request', INPUTS['claim-request'], PARTIES, fixedOpts()) as Json;
}

describe('connectors/nphies/validate', () => {
  describe('the IG examples', () => {
    it(`${BUNDLE_FIXTURE} is a valid message with no errors or warnings`, () => {
      const bundle = nphiesFixture(BUNDLE_FIXTURE);
      assert.equal(validateFhir(bundle).valid, true);
      const result = validateNphiesBundle(bundle);
      assert.equal(result.valid, true, JSON.stringify(result.outcome.issue, null, 1));
      assert.deepEqual(warnings(bundle), []);
    });

    for (const name of CLAIM_FIXTURES) {
      it(`${name} is a valid Claim (resource rules only)`, () => {
        const claim = nphiesFixture(name);
        const result = validateNphiesBundle(claim);
        assert.equal(result.valid, true, JSON.stringify(result.outcome.issue, null, 1));
      });
    }

    it('a fixture Claim with the wrong profile for its type fails with the path', () => {
      const claim = nphiesFixture<Json>(CLAIM_FIXTURES[0]);
      claim.meta.profile = ['http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/vision-claim|1.0.0'];
      expectError(claim, 'Claim.meta.profile', /vision-priorauth/);
    });
  });

  describe('broken messages', () => {
    it('MessageHeader not first', () => {
      const bundle = nphiesFixture<Json>(BUNDLE_FIXTURE);
      bundle.entry.push(bundle.entry.shift());
      expectError(bundle, 'Bundle.entry[0].resource', /MessageHeader must be the first entry, found at entry\[9\]/);
    });

    it('no MessageHeader at all', () => {
      const bundle = claimBundle();
      bundle.entry.shift();
      expectError(bundle, 'Bundle.entry[0].resource', /MessageHeader is missing/);
    });

    it('focus that is not the focal fullUrl character for character', () => {
      const bundle = nphiesFixture<Json>(BUNDLE_FIXTURE);
      bundle.entry[0].resource.focus[0].reference = 'Claim/483069';
      expectError(bundle, 'Bundle.entry[0].resource.focus[0].reference', /character for character/);
    });

    it('focus on a resource of the wrong type for the event', () => {
      const bundle = claimBundle();
      bundle.entry[0].resource.focus[0].reference = bundle.entry[2].fullUrl;
      expectError(bundle, 'Bundle.entry[0].resource.focus[0].reference', /needs a Claim as focal resource/);
    });

    it('claim-request whose Claim has use=preauthorization', () => {
      const bundle = claimBundle();
      bundle.entry[1].resource.use = 'preauthorization';
      expectError(bundle, 'Bundle.entry[1].resource.use', /use 'claim'/);
    });

    it('dangling reference', () => {
      const bundle = nphiesFixture<Json>(BUNDLE_FIXTURE);
      bundle.entry[1].resource.careTeam[0].provider.reference = 'Practitioner/missing';
      expectError(bundle, 'Bundle.entry[1].resource.careTeam[0].provider.reference', /does not resolve/);
    });

    it('dangling reference inside an extension', () => {
      const bundle = claimBundle();
      const ext = bundle.entry[1].resource.extension.find((e: Json) => e.valueReference);
      ext.valueReference.reference = 'Encounter/gone';
      const at = bundle.entry[1].resource.extension.indexOf(ext);
      expectError(bundle, `Bundle.entry[1].resource.extension[${at}].valueReference.reference`, /does not resolve/);
    });

    it('sender without its license identifier', () => {
      const bundle = nphiesFixture<Json>(BUNDLE_FIXTURE);
      delete bundle.entry[0].resource.sender.identifier;
      expectError(bundle, 'Bundle.entry[0].resource.sender.identifier', /license identifier/);
    });

    it('receiver with a non-license identifier system', () => {
      const bundle = claimBundle();
      bundle.entry[0].resource.destination[0].receiver.identifier.system = 'http://payer.example.sa/ids';
      expectError(bundle, 'Bundle.entry[0].resource.destination[0].receiver.identifier.system', /license system/);
    });

    it('provider Organization without its provider-license identifier', () => {
      const bundle = nphiesFixture<Json>(BUNDLE_FIXTURE);
      const i = bundle.entry.findIndex((e: Json) => e.resource.meta?.profile?.[0]?.includes('provider-organization'));
      bundle.entry[i].resource.identifier[0].system = 'http://example.sa/other';
      expectError(bundle, `Bundle.entry[${i}].resource.identifier`, /provider-license/);
    });

    it('insurer Organization without its payer-license identifier', () => {
      const bundle = claimBundle();
      const i = bundle.entry.findIndex((e: Json) => e.resource.meta?.profile?.[0]?.includes('insurer-organization'));
      delete bundle.entry[i].resource.identifier;
      expectError(bundle, `Bundle.entry[${i}].resource.identifier`, /payer-license/);
    });

    it('Patient without a national id, iqama or passport', () => {
      const bundle = claimBundle();
      const i = bundle.entry.findIndex((e: Json) => e.resource.resourceType === 'Patient');
      bundle.entry[i].resource.identifier[0].system = 'http://provider.example.sa/mrn';
      expectError(bundle, `Bundle.entry[${i}].resource.identifier`, /national id, iqama, passport/);
    });

    it('iqama that does not start with 2 (BV-00798)', () => {
      const bundle = claimBundle();
      const i = bundle.entry.findIndex((e: Json) => e.resource.resourceType === 'Patient');
      bundle.entry[i].resource.identifier[0].value = '1000000001';
      expectError(bundle, `Bundle.entry[${i}].resource.identifier[0].value`, /BV-00798/);
    });

    it('wrong profile: another type, no version, claim type mismatch', () => {
      const base = 'http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/';
      let bundle = claimBundle();
      bundle.entry[1].resource.meta.profile = [`${base}patient|1.0.0`];
      expectError(bundle, 'Bundle.entry[1].resource.meta.profile[0]', /is for Patient, not Claim/);
      bundle = claimBundle();
      bundle.entry[1].resource.meta.profile = [`${base}professional-claim`];
      expectError(bundle, 'Bundle.entry[1].resource.meta.profile[0]', /with a version/);
      bundle = claimBundle();
      bundle.entry[1].resource.meta.profile = [`${base}institutional-claim|1.0.0`];
      expectError(bundle, 'Bundle.entry[1].resource.meta.profile', /'professional-claim' profile/);
      bundle = claimBundle();
      delete bundle.entry[1].resource.meta;
      expectError(bundle, 'Bundle.entry[1].resource.meta.profile', /needs its NPHIES profile/);
    });

    it('unknown event code and wrong event system', () => {
      const bundle = claimBundle();
      bundle.entry[0].resource.eventCoding = { system: 'http://nphies.com/fhir/message-events', code: 'claim-submit' };
      expectError(bundle, 'Bundle.entry[0].resource.eventCoding.system', /ksa-message-events/);
      expectError(bundle, 'Bundle.entry[0].resource.eventCoding.code', /unknown event code/);
    });

    it('envelope: not a message, id not a GUID, timestamp without zone, entry without fullUrl', () => {
      const bundle = claimBundle();
      bundle.type = 'collection';
      bundle.id = 'b-1';
      bundle.timestamp = '2025-05-01T10:00:00';
      delete bundle.entry[3].fullUrl;
      expectError(bundle, 'Bundle.type', /message/);
      expectError(bundle, 'Bundle.id', /GUID/);
      expectError(bundle, 'Bundle.timestamp', /time zone/);
      expectError(bundle, 'Bundle.entry[3].fullUrl', /fullUrl/);
    });

    it('empty elements and nulls', () => {
      const bundle = claimBundle();
      bundle.entry[1].resource.insurance[0].preAuthRef = [];
      bundle.entry[1].resource.subType.text = '';
      expectError(bundle, 'Bundle.entry[1].resource.insurance[0].preAuthRef', /empty elements/);
      expectError(bundle, 'Bundle.entry[1].resource.subType.text', /empty elements|FHIR/);
    });

    it('code outside a known value list', () => {
      const bundle = claimBundle();
      bundle.entry[1].resource.subType.coding[0].code = 'xx';
      bundle.entry[1].resource.type.coding[0].code = 'dental';
      expectError(bundle, 'Bundle.entry[1].resource.subType.coding[0].code', /claim-subtype/);
      expectError(bundle, 'Bundle.entry[1].resource.type.coding[0].code', /claim-type/);
    });

    it('line net that is not quantity × unitPrice × factor + tax', () => {
      const bundle = claimBundle();
      bundle.entry[1].resource.item[0].net.value = 1;
      expectError(bundle, 'Bundle.entry[1].resource.item[0].net', /quantity × unitPrice/);
    });

    it('Task rules: cancel without focus.identifier or reason, poll with a bad count', () => {
      const cancel = buildRequest('cancel-request', INPUTS['cancel-request'], PARTIES, fixedOpts()) as Json;
      delete cancel.entry[1].resource.focus;
      delete cancel.entry[1].resource.reasonCode;
      expectError(cancel, 'Bundle.entry[1].resource.focus.identifier', /focus.identifier/);
      expectError(cancel, 'Bundle.entry[1].resource.reasonCode', /task-reason-code/);
      const poll = buildRequest('poll-request', INPUTS['poll-request'], PARTIES, fixedOpts()) as Json;
      const count = poll.entry[1].resource.input.findIndex((i: Json) => i.type.coding[0].code === 'count');
      poll.entry[1].resource.input[count].valuePositiveInt = 500;
      poll.entry[1].resource.code.coding[0].code = 'status';
      expectError(poll, `Bundle.entry[1].resource.input[${count}].valuePositiveInt`, /1 to 100/);
      expectError(poll, 'Bundle.entry[1].resource.code', /needs Task.code poll/);
    });

    it('reports FHIR schema errors too', () => {
      const bundle = claimBundle();
      bundle.entry[1].resource.gender = 'male';
      expectError(bundle, 'Bundle.entry[1].resource.gender', /Unknown element/);
    });

    it('leaves a nested message Bundle to its own validation', () => {
      const bundle = claimBundle();
      bundle.entry.push({ fullUrl: 'urn:uuid:11111111-1111-4111-8111-111111111111', resource: claimBundle() });
      const result = validateNphiesBundle(bundle);
      assert.ok(result.outcome.issue.some((i) => i.severity === 'information' && i.expression?.[0] === `Bundle.entry[${bundle.entry.length - 1}].resource`));
    });

    it('a non-object is invalid', () => {
      assert.equal(validateNphiesBundle('nope').valid, false);
      assert.equal(validateNphiesBundle(null).valid, false);
    });
  });

  describe('unconfirmed rules are warnings', () => {
    it('a national id not starting with 1 is a warning, the message stays valid', () => {
      const bundle = claimBundle();
      const i = bundle.entry.findIndex((e: Json) => e.resource.resourceType === 'Patient');
      bundle.entry[i].resource.identifier[0] = {
        type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'NI' }] },
        system: 'http://nphies.sa/identifier/nationalid',
        value: '3000000000',
      };
      assert.equal(validateNphiesBundle(bundle).valid, true);
      const w = warnings(bundle).find((x) => x.expression?.[0] === `Bundle.entry[${i}].resource.identifier[0].value`);
      assert.ok(w);
      assert.match(w.diagnostics ?? '', /not confirmed/);
    });

    it('a claim without extension-episode, two foci, an unknown-to-the-export event: warnings', () => {
      const bundle = claimBundle();
      bundle.entry[1].resource.extension = bundle.entry[1].resource.extension.filter((e: Json) => !e.url.endsWith('extension-episode'));
      assert.equal(validateNphiesBundle(bundle).valid, true);
      assert.ok(warnings(bundle).some((w) => w.expression?.[0] === 'Bundle.entry[1].resource.extension' && /episode/.test(w.diagnostics ?? '')));
      bundle.entry[0].resource.focus.push({ reference: bundle.entry[1].fullUrl });
      assert.ok(warnings(bundle).some((w) => w.expression?.[0] === 'Bundle.entry[0].resource.focus' && /BV-00221/.test(w.diagnostics ?? '')));
      assert.deepEqual(errors(bundle), []);
    });

    it('a Practitioner without its practitioner-license is a warning', () => {
      const bundle = claimBundle();
      const i = bundle.entry.findIndex((e: Json) => e.resource.resourceType === 'Practitioner');
      bundle.entry[i].resource.identifier[0].system = 'http://provider.example.sa/staff';
      assert.equal(validateNphiesBundle(bundle).valid, true);
      assert.ok(warnings(bundle).some((w) => w.expression?.[0] === `Bundle.entry[${i}].resource.identifier`));
    });
  });
});
