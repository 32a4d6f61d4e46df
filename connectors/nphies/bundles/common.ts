/**
 * What every NPHIES request message shares: ids, clock, the MessageHeader, the party resources
 * (Patient, Coverage, Organizations, Practitioner, Location, Encounter) and the Bundle envelope.
 * Pure: ids and time come from `BuildOptions`, so a retry can rebuild the identical bundle
 * (NPHIES detects duplicates by identifier and body, NPHIES.md §7).
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Coding, Money, Reference, Resource } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import type { NphiesParties, NphiesRequestKind } from '../types';
import {
  CS_BASE, DEFAULT_PROFILE_VERSION, EVENT_SYSTEM, HL7_CS, LICENSE, NPHIES_LICENSE_VALUE, PATIENT_ID,
  extensionUrl, profileUrl, type PatientIdKind,
} from './profiles';

/**
 * A reference to an entry of the bundle being built. `never` makes it assignable to every
 * typed reference (`Reference<Patient>`, `Reference<Organization>`, ...).
 */
export type EntryRef = Reference<never>;

/** ISO 4217 code as the FHIR types spell it. */
export type Currency = NonNullable<Money['currency']>;

/** Ids and clock for deterministic output; all optional. */
export interface BuildOptions {
  /** Returns a fresh GUID (Bundle.id, MessageHeader.id, resources without an id). Default randomUUID. */
  newId?: () => string;
  /** The moment of building. Default `new Date()`. */
  now?: () => Date;
  /**
   * Time zone offset written in timestamps, in minutes east of UTC. Default +180 (Riyadh,
   * no daylight saving): NPHIES wants a zone on every timestamp (NPHIES.md §1).
   */
  utcOffsetMinutes?: number;
  /** Version after `|` in meta.profile (NPHIES.md §5). Default 1.0.0. */
  profileVersion?: string;
  /**
   * MessageHeader.destination.endpoint. Default `http://nphies.sa/license/payer-license/<payer>`
   * (the convention in NPHIES.md §3; the official example uses the NPHIES URL instead).
   */
  destinationEndpoint?: string;
}

export type Gender = 'male' | 'female' | 'other' | 'unknown';

export interface PatientInput {
  id?: string;
  /** The identifier NPHIES matches: national id, iqama, passport, border number, displaced person. */
  identifier: { kind: PatientIdKind; value: string; /** ISO 3166 alpha-3, for passports. */ country?: string };
  family: string;
  given?: string[];
  gender: Gender;
  birthDate: string;
  /** occupation code (http://nphies.sa/terminology/CodeSystem/occupation). */
  occupation?: string;
  phone?: string;
  /** v3-MaritalStatus code. */
  maritalStatus?: string;
}

export interface CoverageInput {
  id?: string;
  memberId: string;
  /** Payer-owned member id system (NPHIES.md §6), e.g. `http://payer.example/identifiers/memberid`. */
  memberIdSystem: string;
  /** coverage-type; default EHCPOL. */
  type?: 'EHCPOL' | 'PUBLICPOL';
  /** subscriber-relationship; default `self`. */
  relationship?: string;
  plan?: { value: string; name?: string };
  network?: string;
  /** The subscriber when not the patient. */
  subscriber?: PatientInput;
  policyHolder?: { id?: string; name: string; identifier?: { system: string; value: string } };
  periodStart?: string;
  periodEnd?: string;
}

export interface ProviderInput {
  id?: string;
  name: string;
  /** provider-type code. */
  providerType?: string;
}

export interface InsurerInput {
  id?: string;
  name: string;
}

export interface PractitionerInput {
  id?: string;
  /** SCFHS registration (practitioner-license). */
  license: string;
  family: string;
  given?: string[];
  /** practice-codes specialty, for Claim.careTeam.qualification. */
  specialty: string;
  /** claimcareteamrole; default `primary`. */
  role?: string;
}

export interface LocationInput {
  id?: string;
  license: string;
  name: string;
}

export interface EncounterInput {
  id?: string;
  identifier: string;
  /** v3-ActCode class: AMB, EMER, IMP, SS, HH, VR. */
  class: string;
  status?: 'planned' | 'arrived' | 'in-progress' | 'finished';
  start: string;
  end?: string;
  /** service-type code. */
  serviceType?: string;
}

/** Builds one request: ids, clock, base URL and the entries collected so far. */
export class BuildContext {
  readonly base: string;
  readonly version: string;
  private readonly newIdFn: () => string;
  private readonly at: Date;
  private readonly offset: number;
  readonly entries: BundleEntry[] = [];

  constructor(
    readonly parties: NphiesParties,
    readonly opts: BuildOptions = {},
  ) {
    if (!parties.providerLicense) throw new ValidationError('NPHIES_PARTIES', 'parties.providerLicense is required', { path: 'parties.providerLicense' });
    if (!parties.payerLicense) throw new ValidationError('NPHIES_PARTIES', 'parties.payerLicense is required', { path: 'parties.payerLicense' });
    if (!parties.providerEndpoint) {
      // fullUrls and the provider-owned identifier systems hang off the provider's own URI
      // (NPHIES.md §6, §9); there is no safe default to invent.
      throw new ValidationError('NPHIES_PARTIES', 'parties.providerEndpoint is required (fullUrls and identifier systems)', {
        path: 'parties.providerEndpoint',
      });
    }
    this.base = parties.providerEndpoint.replace(/\/+$/, '');
    this.version = opts.profileVersion ?? DEFAULT_PROFILE_VERSION;
    this.newIdFn = opts.newId ?? randomUUID;
    this.at = (opts.now ?? (() => new Date()))();
    this.offset = opts.utcOffsetMinutes ?? 180;
  }

  newId(): string {
    return this.newIdFn();
  }

  /** The build moment as `YYYY-MM-DDThh:mm:ss+hh:mm`. */
  dateTime(): string {
    const local = new Date(this.at.getTime() + this.offset * 60_000).toISOString().slice(0, 19);
    const sign = this.offset < 0 ? '-' : '+';
    const abs = Math.abs(this.offset);
    return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  }

  date(): string {
    return this.dateTime().slice(0, 10);
  }

  meta(profileId: string): { profile: string[] } {
    return { profile: [profileUrl(profileId, this.version)] };
  }

  /** Provider-owned business identifier system, e.g. `<base>/identifiers/claim` (NPHIES.md §6). */
  system(name: string): string {
    return `${this.base}/identifiers/${name}`;
  }

  /** Adds a resource under `<base>/<Type>/<id>` and returns its relative reference. */
  add<T extends Resource & { id?: string }>(resource: T): EntryRef {
    const id = resource.id as string;
    const clean = compact(resource) as T;
    this.entries.push({ fullUrl: this.fullUrl(resource.resourceType, id), resource: clean });
    return { reference: `${resource.resourceType}/${id}` } as EntryRef;
  }

  fullUrl(type: string, id: string): string {
    return `${this.base}/${type}/${id}`;
  }

  providerOrg(input: ProviderInput): EntryRef {
    return this.add({
      resourceType: 'Organization',
      id: input.id ?? this.newId(),
      meta: this.meta('provider-organization'),
      extension: input.providerType
        ? [{ url: extensionUrl('extension-provider-type'), valueCodeableConcept: { coding: [{ system: `${CS_BASE}provider-type`, code: input.providerType }] } }]
        : undefined,
      identifier: [{ system: LICENSE.provider, value: this.parties.providerLicense }],
      active: true,
      type: [{ coding: [{ system: `${CS_BASE}organization-type`, code: 'prov' }] }],
      name: input.name,
    });
  }

  insurerOrg(input: InsurerInput): EntryRef {
    return this.add({
      resourceType: 'Organization',
      id: input.id ?? this.newId(),
      meta: this.meta('insurer-organization'),
      identifier: [{ use: 'official', type: { coding: [{ system: HL7_CS.v20203, code: 'NII' }] }, system: LICENSE.payer, value: this.parties.payerLicense }],
      active: true,
      type: [{ coding: [{ system: `${CS_BASE}organization-type`, code: 'ins' }] }],
      name: input.name,
    });
  }

  /** NPHIES itself, as the owner of poll Tasks (NPHIES.md §8) [I: identifier system]. */
  nphiesOrg(): EntryRef {
    return this.add({
      resourceType: 'Organization',
      id: this.newId(),
      meta: this.meta('organization'),
      identifier: [{ system: LICENSE.nphies, value: NPHIES_LICENSE_VALUE }],
      active: true,
      name: 'NPHIES',
    });
  }

  patient(input: PatientInput): EntryRef {
    const idDef = PATIENT_ID[input.identifier.kind];
    if (!idDef) throw new ValidationError('NPHIES_PATIENT_ID', `unknown patient identifier kind '${input.identifier.kind}'`, { path: 'patient.identifier.kind' });
    return this.add({
      resourceType: 'Patient',
      id: input.id ?? this.newId(),
      meta: this.meta('patient'),
      extension: input.occupation
        ? [{ url: extensionUrl('extension-occupation'), valueCodeableConcept: { coding: [{ system: `${CS_BASE}occupation`, code: input.occupation }] } }]
        : undefined,
      identifier: [
        {
          extension: input.identifier.country
            ? [{ url: extensionUrl('extension-identifier-country'), valueCodeableConcept: { coding: [{ system: 'urn:iso:std:iso:3166', code: input.identifier.country }] } }]
            : undefined,
          type: { coding: [{ system: idDef.typeSystem, code: idDef.type }] },
          system: idDef.system,
          value: input.identifier.value,
        },
      ],
      active: true,
      name: [{ use: 'official', family: input.family, given: input.given }],
      telecom: input.phone ? [{ system: 'phone', value: input.phone }] : undefined,
      gender: input.gender,
      _gender: {
        extension: [
          {
            url: extensionUrl('extension-ksa-administrative-gender'),
            valueCodeableConcept: { coding: [{ system: `${CS_BASE}ksa-administrative-gender`, code: input.gender }] },
          },
        ],
      },
      birthDate: input.birthDate,
      maritalStatus: input.maritalStatus ? { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: input.maritalStatus }] } : undefined,
    } as Resource & { id: string });
  }

  coverage(input: CoverageInput, patient: EntryRef, insurer: EntryRef): EntryRef {
    const subscriber = input.subscriber ? this.patient(input.subscriber) : patient;
    const policyHolder = input.policyHolder
      ? this.add({
          resourceType: 'Organization',
          id: input.policyHolder.id ?? this.newId(),
          meta: this.meta('policyholder-organization'),
          identifier: input.policyHolder.identifier ? [input.policyHolder.identifier] : undefined,
          active: true,
          name: input.policyHolder.name,
        })
      : undefined;
    return this.add({
      resourceType: 'Coverage',
      id: input.id ?? this.newId(),
      meta: this.meta('coverage'),
      identifier: [{ system: input.memberIdSystem, value: input.memberId }],
      status: 'active',
      type: { coding: [{ system: `${CS_BASE}coverage-type`, code: input.type ?? 'EHCPOL' }] },
      policyHolder,
      subscriber,
      beneficiary: patient,
      relationship: { coding: [{ system: HL7_CS.subscriberRelationship, code: input.relationship ?? 'self' }] },
      period: input.periodStart ? { start: input.periodStart, end: input.periodEnd } : undefined,
      payor: [insurer],
      class: input.plan ? [{ type: { coding: [{ system: HL7_CS.coverageClass, code: 'plan' }] }, value: input.plan.value, name: input.plan.name }] : undefined,
      network: input.network,
    });
  }

  practitioner(input: PractitionerInput): EntryRef {
    return this.add({
      resourceType: 'Practitioner',
      id: input.id ?? this.newId(),
      meta: this.meta('practitioner'),
      identifier: [{ type: { coding: [{ system: HL7_CS.v20203, code: 'PRN' }] }, system: LICENSE.practitioner, value: input.license }],
      active: true,
      name: [{ use: 'official', family: input.family, given: input.given }],
    });
  }

  location(input: LocationInput): EntryRef {
    return this.add({
      resourceType: 'Location',
      id: input.id ?? this.newId(),
      meta: this.meta('location'),
      identifier: [{ system: LICENSE.location, value: input.license }],
      status: 'active',
      name: input.name,
    });
  }

  encounter(input: EncounterInput, patient: EntryRef, provider: EntryRef): EntryRef {
    return this.add({
      resourceType: 'Encounter',
      id: input.id ?? this.newId(),
      // Class-specific encounter profile ids are inferred (NPHIES.md §5 [I]); the generic one is listed.
      meta: this.meta('encounter'),
      identifier: [{ system: this.system('encounter'), value: input.identifier }],
      status: input.status ?? 'finished',
      class: { system: HL7_CS.actCode, code: input.class },
      serviceType: input.serviceType ? { coding: [{ system: `${CS_BASE}service-type`, code: input.serviceType }] } : undefined,
      subject: patient,
      period: { start: input.start, end: input.end },
      serviceProvider: provider,
    });
  }

  /**
   * Wraps the collected entries in a message Bundle: MessageHeader first, focus = the focal
   * entry's fullUrl exactly (NPHIES.md §3).
   */
  bundle(kind: NphiesRequestKind, focal: EntryRef, receiver: 'payer' | 'nphies' = 'payer'): Bundle {
    const focalEntry = this.entries.find((e) => `${e.resource?.resourceType}/${e.resource?.id}` === focal.reference);
    if (!focalEntry?.fullUrl) throw new Error(`focal resource ${focal.reference} was not added`);
    const headerId = this.newId();
    const receiverIdentifier =
      receiver === 'payer'
        ? { system: LICENSE.payer, value: this.parties.payerLicense }
        : { system: LICENSE.nphies, value: NPHIES_LICENSE_VALUE };
    const endpoint = this.opts.destinationEndpoint ?? `${receiverIdentifier.system}/${receiverIdentifier.value}`;
    const header = compact({
      resourceType: 'MessageHeader',
      id: headerId,
      meta: this.meta('message-header'),
      eventCoding: { system: EVENT_SYSTEM, code: kind } as Coding,
      destination: [{ endpoint, receiver: { type: 'Organization', identifier: receiverIdentifier } }],
      sender: { type: 'Organization', identifier: { system: LICENSE.provider, value: this.parties.providerLicense } },
      source: { endpoint: this.base },
      focus: [{ reference: focalEntry.fullUrl }],
    }) as Resource;
    return {
      resourceType: 'Bundle',
      id: this.newId(),
      meta: this.meta('bundle'),
      type: 'message',
      timestamp: this.dateTime(),
      // Focal resource right after the header, as in the IG examples (NPHIES.md §4).
      entry: [{ fullUrl: `urn:uuid:${headerId}`, resource: header }, focalEntry, ...this.entries.filter((e) => e !== focalEntry)],
    };
  }
}

/**
 * Drops undefined, null, empty strings, empty arrays and empty objects, deeply: NPHIES rejects
 * empty elements and nulls (NPHIES.md §1). Arrays stay arrays.
 */
export function compact<T>(value: T): T {
  if (Array.isArray(value)) {
    return value.map((v) => compact(v)).filter((v) => !isEmpty(v)) as unknown as T;
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const c = compact(v);
      if (!isEmpty(c)) out[k] = c;
    }
    return out as T;
  }
  return value;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

/** Rounds money to halalas (2 decimals) without float noise. */
export function money(value: number): number {
  return Math.round(value * 100) / 100;
}
