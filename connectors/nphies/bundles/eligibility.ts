import type { Bundle } from '@medplum/fhirtypes';
import type { NphiesParties } from '../types';
import {
  BuildContext, type BuildOptions, type CoverageInput, type InsurerInput, type LocationInput, type PatientInput, type ProviderInput,
} from './common';
import { HL7_CS } from './profiles';

export interface EligibilityInput {
  /** Resource id of the CoverageEligibilityRequest; default a new GUID. */
  id?: string;
  /** The provider's request number (identifier value under `<endpoint>/identifiers/coverageeligibilityrequest`). */
  identifier: string;
  purpose: Array<'auth-requirements' | 'benefits' | 'discovery' | 'validation'>;
  servicedDate?: string;
  servicedPeriod?: { start: string; end?: string };
  /** Default: the build date. */
  created?: string;
  priority?: 'stat' | 'normal' | 'deferred';
  patient: PatientInput;
  /** Omitted for discovery. */
  coverage?: CoverageInput;
  provider: ProviderInput;
  insurer: InsurerInput;
  facility?: LocationInput;
}

/** eligibility-request: CoverageEligibilityRequest + Patient, Organizations, [Coverage], [Location] (NPHIES.md §4, §9). */
export function buildEligibilityBundle(input: EligibilityInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  const ctx = new BuildContext(parties, opts);
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const insurer = ctx.insurerOrg(input.insurer);
  const patient = ctx.patient(input.patient);
  const coverage = input.coverage ? ctx.coverage(input.coverage, patient, insurer) : undefined;
  const facility = input.facility ? ctx.location(input.facility) : undefined;
  const focal = ctx.add({
    resourceType: 'CoverageEligibilityRequest',
    id,
    meta: ctx.meta('eligibility-request'),
    identifier: [{ system: ctx.system('coverageeligibilityrequest'), value: input.identifier }],
    status: 'active',
    priority: { coding: [{ system: HL7_CS.processPriority, code: input.priority ?? 'normal' }] },
    purpose: input.purpose,
    patient,
    servicedDate: input.servicedDate,
    servicedPeriod: input.servicedPeriod,
    created: input.created ?? ctx.date(),
    provider,
    insurer,
    facility,
    insurance: coverage ? [{ coverage }] : undefined,
  });
  return ctx.bundle('eligibility-request', focal);
}
