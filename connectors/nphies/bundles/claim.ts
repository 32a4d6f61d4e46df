import type { Bundle, Claim, ClaimItem, Extension } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import type { NphiesParties } from '../types';
import {
  BuildContext, money, type BuildOptions, type Currency, type CoverageInput, type EncounterInput, type InsurerInput, type LocationInput, type PatientInput,
  type PractitionerInput, type ProviderInput,
} from './common';
import { CS_BASE, HL7_CS, claimProfileId, extensionUrl, type NphiesClaimType } from './profiles';

export interface ClaimItemInput {
  /** Product or service code. */
  code: string;
  display?: string;
  /** Code system id under http://nphies.sa/terminology/CodeSystem/ (services, procedures, medication-codes, ...). */
  codeSystem: string;
  servicedDate: string;
  quantity: number;
  unitPrice: number;
  /** Default 1. */
  factor?: number;
  /** VAT on the line; default 0. Line net = quantity × unitPrice × factor + tax (NPHIES.md §9). */
  tax?: number;
  patientShare?: number;
  package?: boolean;
  /** Patient invoice number (extension-patientInvoice, mandatory on claim items). Default: the claim identifier. */
  invoice?: string;
  /** 1-based indexes into `diagnoses`; default [1]. */
  diagnosisSequence?: number[];
  /** 1-based indexes into `careTeam`; default [1]. */
  careTeamSequence?: number[];
}

export interface ClaimInput {
  /** Resource id of the Claim; default a new GUID. */
  id?: string;
  /** The provider's claim number, under `<endpoint>/identifiers/claim` (or `/authorization` for prior auth). */
  identifier: string;
  /** HL7 claim-type; `dental` is accepted for NPHIES `oral`. */
  claimType: NphiesClaimType | 'dental';
  subType: 'ip' | 'op' | 'emr';
  /** Default: the build time. */
  created?: string;
  priority?: 'stat' | 'normal' | 'deferred';
  /** Episode number (extension-episode, mandatory on every claim per NPHIES.md §5). */
  episode?: string;
  patient: PatientInput;
  coverage: CoverageInput;
  provider: ProviderInput;
  insurer: InsurerInput;
  careTeam: PractitionerInput[];
  diagnoses: Array<{ code: string; display?: string; /** diagnosis-type; default principal for the first, secondary after. */ type?: string }>;
  encounter?: EncounterInput;
  facility?: LocationInput;
  items: ClaimItemInput[];
  /** Prior authorisation numbers (Claim.insurance.preAuthRef), for use=claim. */
  preAuthRefs?: string[];
  /** Default SAR. */
  currency?: string;
}

/** priorauth-request: Claim use=preauthorization (NPHIES.md §4). */
export function buildPriorAuthBundle(input: ClaimInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  return claimBundle('preauthorization', input, parties, opts);
}

/** claim-request: Claim use=claim (NPHIES.md §4, §9). */
export function buildClaimBundle(input: ClaimInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  return claimBundle('claim', input, parties, opts);
}

function claimBundle(use: 'claim' | 'preauthorization', input: ClaimInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  const type: NphiesClaimType = input.claimType === 'dental' ? 'oral' : input.claimType;
  if (!['institutional', 'professional', 'pharmacy', 'oral', 'vision'].includes(type)) {
    throw new ValidationError('NPHIES_CLAIM_TYPE', `unknown claim type '${String(input.claimType)}'`, { path: 'claimType' });
  }
  if (input.items.length === 0) throw new ValidationError('NPHIES_CLAIM_ITEMS', 'a claim needs at least one item', { path: 'items' });
  if (input.careTeam.length === 0) throw new ValidationError('NPHIES_CLAIM_CARETEAM', 'a claim needs at least one care team member', { path: 'careTeam' });
  if (input.diagnoses.length === 0) throw new ValidationError('NPHIES_CLAIM_DIAGNOSIS', 'a claim needs at least one diagnosis', { path: 'diagnoses' });
  const ctx = new BuildContext(parties, opts);
  const currency = (input.currency ?? 'SAR') as Currency;
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const insurer = ctx.insurerOrg(input.insurer);
  const patient = ctx.patient(input.patient);
  const coverage = ctx.coverage(input.coverage, patient, insurer);
  const team = input.careTeam.map((p) => ({ input: p, ref: ctx.practitioner(p) }));
  const encounter = input.encounter ? ctx.encounter(input.encounter, patient, provider) : undefined;
  const facility = input.facility ? ctx.location(input.facility) : undefined;

  const extension: Extension[] = [];
  if (input.episode) {
    extension.push({ url: extensionUrl('extension-episode'), valueIdentifier: { system: `${ctx.base}/extension-episode`, value: input.episode } });
  }
  if (encounter) extension.push({ url: extensionUrl('extension-encounter'), valueReference: encounter });

  const items: ClaimItem[] = input.items.map((item, i) => claimItem(ctx, input, item, i, use, currency));
  const total = money(items.reduce((sum, it) => sum + (it.net?.value ?? 0), 0));

  const claim: Claim = {
    resourceType: 'Claim',
    id,
    meta: ctx.meta(claimProfileId(type, use)),
    extension,
    identifier: [{ system: ctx.system(use === 'claim' ? 'claim' : 'authorization'), value: input.identifier }],
    status: 'active',
    type: { coding: [{ system: HL7_CS.claimType, code: type }] },
    subType: { coding: [{ system: `${CS_BASE}claim-subtype`, code: input.subType }] },
    use,
    patient,
    created: input.created ?? ctx.dateTime(),
    insurer,
    provider,
    facility,
    priority: { coding: [{ system: HL7_CS.processPriority, code: input.priority ?? 'normal' }] },
    payee: { type: { coding: [{ system: HL7_CS.payeeType, code: 'provider' }] } },
    careTeam: team.map((t, i) => ({
      sequence: i + 1,
      provider: t.ref ,
      role: { coding: [{ system: HL7_CS.careTeamRole, code: t.input.role ?? 'primary' }] },
      qualification: { coding: [{ system: `${CS_BASE}practice-codes`, code: t.input.specialty }] },
    })),
    diagnosis: input.diagnoses.map((d, i) => ({
      sequence: i + 1,
      diagnosisCodeableConcept: { coding: [{ system: HL7_CS.icd10am, code: d.code, display: d.display }] },
      type: [{ coding: [{ system: `${CS_BASE}diagnosis-type`, code: d.type ?? (i === 0 ? 'principal' : 'secondary') }] }],
    })),
    insurance: [{ sequence: 1, focal: true, coverage: coverage , preAuthRef: use === 'claim' ? input.preAuthRefs : undefined }],
    item: items,
    total: { value: total, currency },
  };
  const focal = ctx.add(claim);
  return ctx.bundle(use === 'claim' ? 'claim-request' : 'priorauth-request', focal);
}

function claimItem(
  ctx: BuildContext,
  claim: ClaimInput,
  item: ClaimItemInput,
  i: number,
  use: 'claim' | 'preauthorization',
  currency: Currency,
): ClaimItem {
  const factor = item.factor ?? 1;
  const tax = item.tax ?? 0;
  const net = money(item.quantity * item.unitPrice * factor + tax);
  const extension: Extension[] = [];
  if (use === 'claim') {
    extension.push({
      url: extensionUrl('extension-patientInvoice'),
      valueIdentifier: { system: `${ctx.base}/patientInvoice`, value: item.invoice ?? claim.identifier },
    });
  }
  extension.push(
    { url: extensionUrl('extension-tax'), valueMoney: { value: tax, currency } },
    { url: extensionUrl('extension-patient-share'), valueMoney: { value: item.patientShare ?? 0, currency } },
    { url: extensionUrl('extension-package'), valueBoolean: item.package ?? false },
  );
  return {
    extension,
    sequence: i + 1,
    careTeamSequence: item.careTeamSequence ?? [1],
    diagnosisSequence: item.diagnosisSequence ?? [1],
    productOrService: { coding: [{ system: `${CS_BASE}${item.codeSystem}`, code: item.code, display: item.display }] },
    servicedDate: item.servicedDate,
    quantity: { value: item.quantity },
    unitPrice: { value: item.unitPrice, currency },
    factor: item.factor,
    net: { value: net, currency },
  };
}
