/**
 * Sample NPHIES request messages for tests and the simulator's users, built with the connector's
 * own builders (connectors/nphies/bundles). Masked dummy data only.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { buildRequest, type ClaimInput } from '../../../connectors/nphies/bundles';
import type { NphiesParties } from '../../../connectors/nphies/types';

export const PARTIES: NphiesParties = { providerLicense: 'PR-FHIR', payerLicense: 'INS-FHIR', providerEndpoint: 'http://provider.example' };
const provider = { id: 'prov-1', name: 'Test Hospital' };
const insurer = { id: 'ins-1', name: 'Test Insurer' };
const patient = { id: 'pat-1', identifier: { kind: 'iqama' as const, value: '2234567890' }, family: 'Masked', given: ['Test'], gender: 'male' as const, birthDate: '1980-01-01', occupation: 'business' };
const coverage = { id: 'cov-1', memberId: 'M-0001', memberIdSystem: 'http://payer.example/identifiers/memberid', plan: { value: 'PLAN-A' } };

export function claimInput(identifier: string, items = 2): ClaimInput {
  return {
    identifier,
    claimType: 'professional',
    subType: 'op',
    episode: `EP-${identifier}`,
    patient,
    coverage,
    provider,
    insurer,
    careTeam: [{ id: 'dr-1', license: 'PRAC-0001', family: 'Doctor', specialty: '08.00' }],
    diagnoses: [{ code: 'J06.9' }],
    encounter: { id: 'enc-1', identifier: `ENC-${identifier}`, class: 'AMB', start: '2025-05-01T10:00:00+03:00', status: 'finished' },
    items: Array.from({ length: items }, (_, i) => ({ code: `SVC-${i + 1}`, codeSystem: 'services', servicedDate: '2025-05-01', quantity: 1, unitPrice: 100 })),
  };
}

export const requests = {
  eligibility: (identifier: string): Bundle =>
    buildRequest('eligibility-request', { identifier, purpose: ['benefits', 'validation'], servicedDate: '2025-05-01', patient, coverage, provider, insurer }, PARTIES),
  claim: (identifier: string, items = 2): Bundle => buildRequest('claim-request', claimInput(identifier, items), PARTIES),
  priorAuth: (identifier: string): Bundle => buildRequest('priorauth-request', claimInput(identifier, 1), PARTIES),
  poll: (count?: number): Bundle => buildRequest('poll-request', { provider, ...(count ? { count } : {}) }, PARTIES),
  cancel: (claimIdentifier: string): Bundle =>
    buildRequest('cancel-request', { identifier: `CX-${claimIdentifier}`, focus: { system: `${PARTIES.providerEndpoint}/identifiers/claim`, value: claimIdentifier }, reason: 'WI', provider, insurer }, PARTIES),
  statusCheck: (claimIdentifier: string): Bundle =>
    buildRequest('status-check', { identifier: `ST-${claimIdentifier}`, focus: { system: `${PARTIES.providerEndpoint}/identifiers/claim`, value: claimIdentifier }, provider, insurer }, PARTIES),
  communication: (claimIdentifier: string): Bundle =>
    buildRequest(
      'communication',
      { identifier: `COM-${claimIdentifier}`, about: { type: 'Claim', system: `${PARTIES.providerEndpoint}/identifiers/claim`, value: claimIdentifier }, payload: [{ text: 'Attached' }], patient, provider, insurer },
      PARTIES,
    ),
  communicationRequest: (claimIdentifier: string): Bundle =>
    buildRequest(
      'communication-request',
      { identifier: `CR-${claimIdentifier}`, about: { system: `${PARTIES.providerEndpoint}/identifiers/claim`, value: claimIdentifier }, payload: [{ text: 'Please confirm' }], patient, provider, insurer },
      PARTIES,
    ),
  paymentNotice: (paymentId: string, amount: number): Bundle =>
    buildRequest('payment-notice', { identifier: `PN-${paymentId}`, payment: { system: 'http://nphies.sa/paymentreconciliation/INS-FHIR', value: paymentId }, amount, provider, insurer }, PARTIES),
};
