/** Synthetic builder inputs for every NPHIES request kind (masked, made-up data). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildOptions, NphiesRequestInputs } from '../../../connectors/nphies/bundles';
import type { NphiesParties, NphiesRequestKind } from '../../../connectors/nphies/types';
import { FIXTURES_DIR } from '../../transformers/fixtures';

export const PARTIES: NphiesParties = {
  providerLicense: 'PR-FHIR',
  payerLicense: 'INS-FHIR',
  providerEndpoint: 'http://provider.example.sa',
};

/** Deterministic ids (valid GUIDs, numbered) and a fixed clock: 2025-05-01T10:00:00Z. */
export function fixedOpts(): BuildOptions {
  let n = 0;
  return {
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    now: () => new Date('2025-05-01T10:00:00Z'),
  };
}

const patient = {
  identifier: { kind: 'iqama' as const, value: '2000000002' },
  family: 'Example',
  given: ['Test'],
  gender: 'male' as const,
  birthDate: '1990-01-01',
  occupation: 'business',
};
const provider = { name: 'Example Hospital', providerType: '1' };
const insurer = { name: 'Example Insurance' };
const coverage = { memberId: '0000000001', memberIdSystem: 'http://payer.example.sa/identifiers/memberid', plan: { value: 'PLAN-A', name: 'Plan A' } };
const claimInput = {
  identifier: 'CLM-0001',
  claimType: 'professional' as const,
  subType: 'op' as const,
  episode: 'EP-0001',
  patient,
  coverage,
  provider,
  insurer,
  careTeam: [{ license: 'N-P-00001', family: 'Doctor', given: ['Test'], specialty: '08.26' }],
  diagnoses: [{ code: 'K35.2' }],
  encounter: { identifier: 'ENC-1', class: 'AMB', start: '2025-05-01T09:00:00+03:00', end: '2025-05-01T09:30:00+03:00' },
  items: [
    { code: '83600-00-00', codeSystem: 'procedures', servicedDate: '2025-05-01', quantity: 2, unitPrice: 150, tax: 45 },
    { code: 'SRV-1', codeSystem: 'services', servicedDate: '2025-05-01', quantity: 1, unitPrice: 800, factor: 0.5 },
  ],
};

export const INPUTS: NphiesRequestInputs = {
  'eligibility-request': {
    identifier: 'ELG-0001',
    purpose: ['benefits', 'validation'],
    servicedDate: '2025-05-01',
    patient,
    coverage,
    provider,
    insurer,
    facility: { license: 'LOC-1', name: 'Main clinic' },
  },
  'priorauth-request': { ...claimInput, identifier: 'PA-0001', claimType: 'institutional', subType: 'ip' },
  'claim-request': { ...claimInput, preAuthRefs: ['PA-REF-1'] },
  'communication-request': {
    identifier: 'CR-0001',
    about: { system: 'http://provider.example.sa/identifiers/claim', value: 'CLM-0001' },
    payload: [{ text: 'Please send the lab report' }],
    patient,
    provider,
    insurer,
  },
  communication: {
    identifier: 'COM-0001',
    about: { type: 'CommunicationRequest', system: 'http://payer.example.sa/identifiers/communicationrequest', value: 'CR-0001' },
    payload: [{ text: 'Lab report attached' }, { attachment: { contentType: 'application/pdf', data: 'JVBERi0=' } }],
    patient,
    provider,
    insurer,
  },
  'poll-request': { provider, include: ['claim-response', 'communication-request'], count: 50 },
  'cancel-request': {
    identifier: 'CAN-0001',
    focus: { system: 'http://provider.example.sa/identifiers/claim', value: 'CLM-0001' },
    reason: 'WI',
    provider,
    insurer,
  },
  'status-check': {
    identifier: 'STA-0001',
    focus: { system: 'http://provider.example.sa/identifiers/claim', value: 'CLM-0001' },
    provider,
    insurer,
  },
  'payment-notice': {
    identifier: 'PN-0001',
    payment: { system: 'http://payer.example.sa/identifiers/paymentreconciliation', value: 'PR-0001' },
    amount: 1234.5,
    paymentDate: '2025-04-30',
    provider,
    insurer,
  },
};

export const KINDS = Object.keys(INPUTS) as NphiesRequestKind[];

/** Parsed NPHIES fixture; a fresh copy each call, so tests may break it. */
export function nphiesFixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES_DIR, 'nphies', name), 'utf8')) as T;
}

export const BUNDLE_FIXTURE = 'nphies_ig_Bundle-a84aabfa-priorauth-institutional-request.json';
export const CLAIM_FIXTURES = ['nphies_ig_Claim-123073-vision-priorauth.json', 'nphies_ig_Claim-483069-institutional-priorauth.json'];
