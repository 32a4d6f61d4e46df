/**
 * NPHIES request builders: every kind builds a message Bundle that passes the FHIR R4 schema and
 * the NPHIES rules we know, deterministically when given ids and a clock.
 */
import assert from 'node:assert/strict';
import type { Bundle, BundleEntry, Claim, MessageHeader, Resource } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import {
  FOCAL_TYPE, NPHIES_SD_BASE, buildClaimBundle, buildPollBundle, buildRequest, compact,
} from '../../../connectors/nphies/bundles';
import { validateNphiesBundle } from '../../../connectors/nphies/validate';
import { validateFhir } from '../../../transformers/fhir/validate';
import { INPUTS, KINDS, PARTIES, fixedOpts } from './inputs';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function build(kind: (typeof KINDS)[number]): Bundle {
  return buildRequest(kind, INPUTS[kind] as never, PARTIES, fixedOpts());
}

function header(bundle: Bundle): MessageHeader {
  return bundle.entry?.[0]?.resource as MessageHeader;
}

/** Every value in the tree, to look for nulls and empties. */
function values(v: unknown, out: unknown[] = []): unknown[] {
  out.push(v);
  if (Array.isArray(v)) v.forEach((x) => values(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => values(x, out));
  return out;
}

describe('connectors/nphies/bundles', () => {
  for (const kind of KINDS) {
    describe(kind, () => {
      it('passes validateNphiesBundle with no warnings, and validateFhir', () => {
        const bundle = build(kind);
        const fhir = validateFhir(bundle);
        assert.equal(fhir.valid, true, JSON.stringify(fhir.outcome.issue, null, 1));
        const nphies = validateNphiesBundle(bundle);
        assert.equal(nphies.valid, true, JSON.stringify(nphies.outcome.issue, null, 1));
        const notInfo = nphies.outcome.issue.filter((i) => i.severity !== 'information');
        assert.deepEqual(notInfo, []);
      });

      it('is a message: GUID ids, zoned timestamp, MessageHeader first with the event, focus = focal fullUrl', () => {
        const bundle = build(kind);
        assert.equal(bundle.type, 'message');
        assert.match(bundle.id ?? '', GUID);
        assert.equal(bundle.timestamp, '2025-05-01T13:00:00+03:00');
        const mh = header(bundle);
        assert.equal(mh.resourceType, 'MessageHeader');
        assert.match(mh.id ?? '', GUID);
        assert.equal(bundle.entry?.[0].fullUrl, `urn:uuid:${mh.id}`);
        assert.deepEqual(mh.eventCoding, { system: 'http://nphies.sa/terminology/CodeSystem/ksa-message-events', code: kind });
        assert.deepEqual(mh.sender, { type: 'Organization', identifier: { system: 'http://nphies.sa/license/provider-license', value: 'PR-FHIR' } });
        assert.equal(mh.source.endpoint, PARTIES.providerEndpoint);
        const focal = bundle.entry?.find((e) => e.fullUrl === mh.focus?.[0].reference);
        assert.ok(focal, 'focus resolves character for character');
        assert.equal(focal.resource?.resourceType, FOCAL_TYPE[kind]);
      });

      it('gives every resource a versioned NPHIES profile and every entry a fullUrl under the provider endpoint', () => {
        const bundle = build(kind);
        assert.deepEqual(bundle.meta?.profile, [`${NPHIES_SD_BASE}bundle|1.0.0`]);
        for (const e of bundle.entry ?? []) {
          const profile = (e.resource as Resource).meta?.profile?.[0] ?? '';
          assert.match(profile, /^http:\/\/nphies\.sa\/fhir\/ksa\/nphies-fs\/StructureDefinition\/[\w-]+\|1\.0\.0$/);
          if (e.resource?.resourceType !== 'MessageHeader') assert.equal(e.fullUrl, `${PARTIES.providerEndpoint}/${e.resource?.resourceType}/${e.resource?.id}`);
        }
      });

      it('is deterministic given ids and clock, and never emits null or empty elements', () => {
        assert.deepEqual(build(kind), build(kind));
        for (const v of values(build(kind))) {
          assert.notEqual(v, null);
          assert.notEqual(v, '');
          if (Array.isArray(v)) assert.ok(v.length > 0, 'no empty arrays');
          else if (v && typeof v === 'object') assert.ok(Object.keys(v).length > 0, 'no empty objects');
        }
      });
    });
  }

  it('sends eligibility, claims and Tasks to the payer, and poll to NPHIES', () => {
    for (const kind of KINDS) {
      const receiver = header(build(kind)).destination?.[0].receiver?.identifier;
      if (kind === 'poll-request') assert.deepEqual(receiver, { system: 'http://nphies.sa/license/nphies', value: 'NPHIES' });
      else assert.deepEqual(receiver, { system: 'http://nphies.sa/license/payer-license', value: 'INS-FHIR' });
    }
    assert.equal(header(build('claim-request')).destination?.[0].endpoint, 'http://nphies.sa/license/payer-license/INS-FHIR');
  });

  it('carries the identifiers the IG requires: licenses, patient iqama, claim id under the provider system', () => {
    const bundle = build('claim-request');
    const resources = (bundle.entry ?? []).map((e: BundleEntry) => e.resource as Resource & { identifier?: Array<{ system?: string; value?: string }> });
    const ids = resources.flatMap((r) => r.identifier ?? []);
    assert.ok(ids.some((i) => i.system === 'http://nphies.sa/license/provider-license' && i.value === 'PR-FHIR'));
    assert.ok(ids.some((i) => i.system === 'http://nphies.sa/license/payer-license' && i.value === 'INS-FHIR'));
    assert.ok(ids.some((i) => i.system === 'http://nphies.sa/identifier/iqama' && i.value === '2000000002'));
    assert.ok(ids.some((i) => i.system === 'http://nphies.sa/license/practitioner-license'));
    const claim = resources.find((r) => r.resourceType === 'Claim') as Claim;
    assert.deepEqual(claim.identifier, [{ system: 'http://provider.example.sa/identifiers/claim', value: 'CLM-0001' }]);
  });

  it('builds claims: use, profile by type, line nets with factor and tax, total, preAuthRef', () => {
    const claim = build('claim-request').entry?.[1].resource as Claim;
    assert.equal(claim.use, 'claim');
    assert.deepEqual(claim.meta?.profile, [`${NPHIES_SD_BASE}professional-claim|1.0.0`]);
    assert.deepEqual(claim.item?.map((i) => i.net?.value), [345, 400]);
    assert.deepEqual(claim.total, { value: 745, currency: 'SAR' });
    assert.deepEqual(claim.insurance?.[0].preAuthRef, ['PA-REF-1']);
    const pa = build('priorauth-request').entry?.[1].resource as Claim;
    assert.equal(pa.use, 'preauthorization');
    assert.deepEqual(pa.meta?.profile, [`${NPHIES_SD_BASE}institutional-priorauth|1.0.0`]);
    assert.equal(pa.insurance?.[0].preAuthRef, undefined);
  });

  for (const [claimType, profile] of [['institutional', 'institutional-claim'], ['pharmacy', 'pharmacy-claim'], ['dental', 'oral-claim'], ['vision', 'vision-claim']] as const) {
    it(`builds a valid ${claimType} claim with the ${profile} profile`, () => {
      const bundle = buildClaimBundle({ ...INPUTS['claim-request'], claimType }, PARTIES, fixedOpts());
      const claim = bundle.entry?.[1].resource as Claim;
      assert.deepEqual(claim.meta?.profile, [`${NPHIES_SD_BASE}${profile}|1.0.0`]);
      const result = validateNphiesBundle(bundle);
      assert.equal(result.valid, true, JSON.stringify(result.outcome.issue, null, 1));
    });
  }

  it('honours profileVersion, utcOffsetMinutes and destinationEndpoint', () => {
    const bundle = buildRequest('status-check', INPUTS['status-check'], PARTIES, {
      ...fixedOpts(),
      profileVersion: '0.4.0',
      utcOffsetMinutes: 0,
      destinationEndpoint: 'https://hsb.nphies.sa/$process-message',
    });
    assert.equal(bundle.timestamp, '2025-05-01T10:00:00+00:00');
    assert.deepEqual(bundle.meta?.profile, [`${NPHIES_SD_BASE}bundle|0.4.0`]);
    assert.equal(header(bundle).destination?.[0].endpoint, 'https://hsb.nphies.sa/$process-message');
  });

  it('uses random GUIDs and the real clock without opts', () => {
    const a = buildRequest('poll-request', INPUTS['poll-request'], PARTIES);
    const b = buildRequest('poll-request', INPUTS['poll-request'], PARTIES);
    assert.notEqual(a.id, b.id);
    assert.match(a.id ?? '', GUID);
    assert.equal(validateNphiesBundle(a).valid, true);
  });

  it('refuses input that cannot make a valid message, naming the path', () => {
    const expectValidation = (fn: () => unknown, path: string) =>
      assert.throws(fn, (err: unknown) => err instanceof ValidationError && err.path === path);
    expectValidation(() => buildRequest('status-check', INPUTS['status-check'], { ...PARTIES, providerEndpoint: undefined }), 'parties.providerEndpoint');
    expectValidation(() => buildRequest('status-check', INPUTS['status-check'], { ...PARTIES, payerLicense: '' }), 'parties.payerLicense');
    expectValidation(() => buildPollBundle({ ...INPUTS['poll-request'], exclude: ['claim-response'] }, PARTIES), 'include');
    expectValidation(() => buildPollBundle({ ...INPUTS['poll-request'], count: 101 }, PARTIES), 'count');
    expectValidation(() => buildClaimBundle({ ...INPUTS['claim-request'], items: [] }, PARTIES), 'items');
    expectValidation(() => buildRequest('nope' as never, {} as never, PARTIES), 'kind');
  });

  it('compact drops null, undefined, empty strings, arrays and objects, keeping arrays arrays', () => {
    assert.deepEqual(compact({ a: null, b: undefined, c: '', d: [], e: {}, f: [{ g: [] }], h: [0, false, 'x'], i: { j: { k: null } } }), { h: [0, false, 'x'] });
  });
});
