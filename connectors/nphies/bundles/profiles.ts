/**
 * The NPHIES names Wasl knows, in one place: profile URLs, event codes, identifier systems and
 * code systems. Source: ../shared/domain/NPHIES.md (§3-§6, §10). Each entry says whether the
 * domain notes mark it confirmed [C] or inferred [I]; the validator turns rules built on [I]
 * entries into warnings, never errors.
 */
import type { NphiesRequestKind } from '../types';

/** Base of every NPHIES profile and extension (NPHIES.md §5) [C]. */
export const NPHIES_SD_BASE = 'http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/';

/**
 * Profile version written after `|`. Production-era (CHI IG v2.7) messages use 1.0.0 [C]; the
 * web IG publishes 0.3.0 / 0.4.0, so it is an option (`opts.profileVersion`), not a constant.
 */
export const DEFAULT_PROFILE_VERSION = '1.0.0';

/** Canonical URL of an NPHIES profile or extension: `<base><id>|<version>` (NPHIES.md §3, §5). */
export function profileUrl(id: string, version = DEFAULT_PROFILE_VERSION): string {
  return `${NPHIES_SD_BASE}${id}|${version}`;
}

/** Extension URL (extensions are referenced without a version in the official examples). */
export function extensionUrl(id: string): string {
  return `${NPHIES_SD_BASE}${id}`;
}

/**
 * Profile ids by the resource type they constrain (NPHIES.md §5). `confirmed: false` marks ids
 * the notes infer ([I]) or do not list at all but Wasl needs (communication-request).
 */
export const PROFILES: Record<string, { resourceType: string; confirmed: boolean }> = {
  bundle: { resourceType: 'Bundle', confirmed: true },
  'message-header': { resourceType: 'MessageHeader', confirmed: true },
  task: { resourceType: 'Task', confirmed: true },
  'poll-request': { resourceType: 'Task', confirmed: true },
  'eligibility-request': { resourceType: 'CoverageEligibilityRequest', confirmed: true },
  'eligibility-response': { resourceType: 'CoverageEligibilityResponse', confirmed: true },
  patient: { resourceType: 'Patient', confirmed: true },
  coverage: { resourceType: 'Coverage', confirmed: true },
  'provider-organization': { resourceType: 'Organization', confirmed: true },
  'insurer-organization': { resourceType: 'Organization', confirmed: true },
  'policyholder-organization': { resourceType: 'Organization', confirmed: true },
  organization: { resourceType: 'Organization', confirmed: true },
  practitioner: { resourceType: 'Practitioner', confirmed: true },
  'practitioner-role': { resourceType: 'PractitionerRole', confirmed: true },
  location: { resourceType: 'Location', confirmed: true },
  'institutional-claim': { resourceType: 'Claim', confirmed: true },
  'professional-claim': { resourceType: 'Claim', confirmed: true },
  'pharmacy-claim': { resourceType: 'Claim', confirmed: true },
  'oral-claim': { resourceType: 'Claim', confirmed: true },
  'vision-claim': { resourceType: 'Claim', confirmed: true },
  'institutional-priorauth': { resourceType: 'Claim', confirmed: true },
  'professional-priorauth': { resourceType: 'Claim', confirmed: true },
  'pharmacy-priorauth': { resourceType: 'Claim', confirmed: true },
  'oral-priorauth': { resourceType: 'Claim', confirmed: true },
  'vision-priorauth': { resourceType: 'Claim', confirmed: true },
  'claim-response': { resourceType: 'ClaimResponse', confirmed: true },
  'advanced-authorization': { resourceType: 'ClaimResponse', confirmed: true },
  communication: { resourceType: 'Communication', confirmed: true },
  // Not in NPHIES.md §5: CommunicationRequest normally comes from the payer (via poll); the id
  // follows the naming pattern and is unconfirmed.
  'communication-request': { resourceType: 'CommunicationRequest', confirmed: false },
  'payment-notice': { resourceType: 'PaymentNotice', confirmed: true },
  'payment-reconciliation': { resourceType: 'PaymentReconciliation', confirmed: false },
  'vision-prescription': { resourceType: 'VisionPrescription', confirmed: true },
  observation: { resourceType: 'Observation', confirmed: true },
  encounter: { resourceType: 'Encounter', confirmed: true },
  // Class-specific encounter ids: names in the web IG TOC [C], exact ids [I].
  'encounter-auth-AMB': { resourceType: 'Encounter', confirmed: false },
  'encounter-auth-EMER': { resourceType: 'Encounter', confirmed: false },
  'encounter-auth-IMP': { resourceType: 'Encounter', confirmed: false },
  'encounter-auth-HH': { resourceType: 'Encounter', confirmed: false },
  'encounter-auth-VR': { resourceType: 'Encounter', confirmed: false },
  'encounter-auth-SS': { resourceType: 'Encounter', confirmed: false }, // seen in the IG example bundle
};

/** HL7 claim-type codes; the "dental" is NPHIES "oral". */
export type NphiesClaimType = 'institutional' | 'professional' | 'pharmacy' | 'oral' | 'vision';

/** The Claim profile for a claim type and use (NPHIES.md §5) [C]. */
export function claimProfileId(type: NphiesClaimType, use: 'claim' | 'preauthorization'): string {
  return `${type}-${use === 'claim' ? 'claim' : 'priorauth'}`;
}

export const EVENT_SYSTEM = 'http://nphies.sa/terminology/CodeSystem/ksa-message-events';

/** The 23 codes of the 2024 ksa-message-events export (NPHIES.md §4) [C]. */
export const EVENT_CODES: readonly string[] = [
  'eligibility-request', 'eligibility-response', 'priorauth-request', 'priorauth-response',
  'claim-request', 'claim-response', 'batch-request', 'batch-response', 'status-check',
  'status-response', 'cancel-request', 'cancel-response', 'communication-request', 'communication',
  'payment-reconciliation', 'payment-notice', 'poll-request', 'poll-response', 'acknowledgement',
  'error-notice', 'advanced-authorization', 'prescriber-request', 'prescriber-response',
];

/** Codes the v2.7 PDF names but the code system export does not list (NPHIES.md §4) [I]. */
export const UNCONFIRMED_EVENT_CODES: readonly string[] = ['fraud-notification'];

/** Resource type of the focal resource for each event (NPHIES.md §4) [C]; absent = not known. */
export const FOCAL_TYPE: Readonly<Record<string, string>> = {
  'eligibility-request': 'CoverageEligibilityRequest',
  'eligibility-response': 'CoverageEligibilityResponse',
  'priorauth-request': 'Claim',
  'priorauth-response': 'ClaimResponse',
  'claim-request': 'Claim',
  'claim-response': 'ClaimResponse',
  'status-check': 'Task',
  'status-response': 'Task',
  'cancel-request': 'Task',
  'cancel-response': 'Task',
  'communication-request': 'CommunicationRequest',
  communication: 'Communication',
  'payment-reconciliation': 'PaymentReconciliation',
  'payment-notice': 'PaymentNotice',
  'poll-request': 'Task',
  'poll-response': 'Task',
  'advanced-authorization': 'ClaimResponse',
  'error-notice': 'OperationOutcome',
};

/** The request kinds of the contract, all of them event codes. */
export const REQUEST_KINDS: readonly NphiesRequestKind[] = [
  'eligibility-request', 'priorauth-request', 'claim-request', 'communication-request', 'communication',
  'poll-request', 'cancel-request', 'status-check', 'payment-notice',
];

/** License identifier systems (NPHIES.md §3, §6). */
export const LICENSE = {
  provider: 'http://nphies.sa/license/provider-license', // [C]
  payer: 'http://nphies.sa/license/payer-license', // [C]
  nphies: 'http://nphies.sa/license/nphies', // [I]
  practitioner: 'http://nphies.sa/license/practitioner-license', // [I]
  location: 'http://nphies.sa/license/location-license', // [I]
} as const;

/** NPHIES' own value in the `nphies` license system [I]. */
export const NPHIES_LICENSE_VALUE = 'NPHIES';

export type PatientIdKind = 'nationalid' | 'iqama' | 'passport' | 'border' | 'displaced';

/** Patient identifier systems and their identifier types (NPHIES.md §6). */
export const PATIENT_ID: Record<PatientIdKind, { system: string; type: string; typeSystem: string; confirmed: boolean }> = {
  nationalid: { system: 'http://nphies.sa/identifier/nationalid', type: 'NI', typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', confirmed: false },
  iqama: { system: 'http://nphies.sa/identifier/iqama', type: 'PRC', typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', confirmed: true },
  passport: { system: 'http://nphies.sa/identifier/passportnumber', type: 'PPN', typeSystem: 'http://terminology.hl7.org/CodeSystem/v2-0203', confirmed: true },
  border: { system: 'http://nphies.sa/identifier/bordernumber', type: 'BN', typeSystem: 'http://nphies.sa/terminology/CodeSystem/patient-identifier-type', confirmed: false },
  displaced: { system: 'http://nphies.sa/identifier/displacedperson', type: 'DP', typeSystem: 'http://nphies.sa/terminology/CodeSystem/patient-identifier-type', confirmed: false },
};

/** Every identifier system under nphies.sa that the notes name. */
export const KNOWN_NPHIES_IDENTIFIER_SYSTEMS: ReadonlySet<string> = new Set([
  ...Object.values(LICENSE),
  ...Object.values(PATIENT_ID).map((p) => p.system),
]);

export const CS_BASE = 'http://nphies.sa/terminology/CodeSystem/';

export const HL7_CS = {
  claimType: 'http://terminology.hl7.org/CodeSystem/claim-type',
  processPriority: 'http://terminology.hl7.org/CodeSystem/processpriority',
  payeeType: 'http://terminology.hl7.org/CodeSystem/payeetype',
  careTeamRole: 'http://terminology.hl7.org/CodeSystem/claimcareteamrole',
  subscriberRelationship: 'http://terminology.hl7.org/CodeSystem/subscriber-relationship',
  coverageClass: 'http://terminology.hl7.org/CodeSystem/coverage-class',
  v20203: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  actCode: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
  paymentStatus: 'http://terminology.hl7.org/CodeSystem/paymentstatus',
  icd10am: 'http://hl7.org/fhir/sid/icd-10-am',
} as const;

/**
 * NPHIES code systems named in NPHIES.md §10. A value list is given only where the notes give a
 * complete one; `null` = known system, values on the portal only (not checked).
 */
export const NPHIES_CODE_SYSTEMS: Readonly<Record<string, readonly string[] | null>> = {
  'ksa-message-events': EVENT_CODES,
  'task-code': ['cancel', 'nullify', 'poll', 'release', 'reprocess', 'status'],
  'task-input-type': null,
  'task-output-type': ['error', 'response', 'status'],
  'task-reason-code': ['WI', 'NP', 'TAS'],
  'meta-tags': null,
  'adjudication-outcome': null,
  'adjudication-error': null,
  siteEligibility: null, // the notes end the list with "..."
  'organization-type': ['prov', 'ins', 'pay', 'dept', 'other'],
  'provider-type': null,
  'claim-subtype': ['ip', 'op', 'emr'],
  'coverage-type': ['EHCPOL', 'PUBLICPOL'],
  'diagnosis-type': null,
  'claim-information-category': null,
  'practice-codes': null,
  occupation: null,
  'ksa-administrative-gender': null,
  'patient-identifier-type': ['BN', 'DP'],
  services: null,
  procedures: null,
  'medication-codes': null,
  laboratory: null,
  imaging: null,
  'medical-devices': null,
  'oral-health-op': null,
  'oral-health-ip': null,
};

/** HL7 code systems with the value lists FHIR R4 defines (NPHIES.md §10 names them). */
export const HL7_CODE_VALUES: Readonly<Record<string, readonly string[]>> = {
  [HL7_CS.claimType]: ['institutional', 'oral', 'pharmacy', 'professional', 'vision'],
  [HL7_CS.processPriority]: ['stat', 'normal', 'deferred'],
  [HL7_CS.payeeType]: ['subscriber', 'provider', 'other'],
};
