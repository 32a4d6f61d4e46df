/**
 * Da Vinci PDex Plan-Net vocabulary shared by the reader (client.ts), the writer (push.ts), the
 * diff (diff.ts), the simulator and the sync: canonical URLs, the required search parameters and
 * `_include`s of the Plan-Net CapabilityStatement (PLANNET.md §5), where each include's reference
 * lives in a resource, and readers for the two participation extensions (`network-reference`,
 * `newpatients`). Pure: no I/O.
 */
import type { Extension, Reference, Resource } from '@medplum/fhirtypes';
import type { ProviderRecord } from '../../engine/providers/types';

export const PLANNET_BASE = 'http://hl7.org/fhir/us/davinci-pdex-plan-net';
/** What a Plan-Net server's CapabilityStatement.instantiates names (PLANNET.md §1). */
export const PLANNET_CAPABILITY = `${PLANNET_BASE}/CapabilityStatement/plan-net`;
export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
export const NUCC_SYSTEM = 'http://nucc.org/provider-taxonomy';

/** `.../StructureDefinition/<id>` of a Plan-Net profile or extension. */
export function plannetSd(id: string): string {
  return `${PLANNET_BASE}/StructureDefinition/${id}`;
}

/** `.../CodeSystem/<id>`; the IG's canonical pattern (PLANNET.md §3 marks the URL [I]). */
export function plannetCs(id: string): string {
  return `${PLANNET_BASE}/CodeSystem/${id}`;
}

export const PROFILES = {
  Practitioner: plannetSd('plannet-Practitioner'),
  PractitionerRole: plannetSd('plannet-PractitionerRole'),
  Organization: plannetSd('plannet-Organization'),
  Network: plannetSd('plannet-Network'),
  OrganizationAffiliation: plannetSd('plannet-OrganizationAffiliation'),
  Location: plannetSd('plannet-Location'),
  HealthcareService: plannetSd('plannet-HealthcareService'),
  InsurancePlan: plannetSd('plannet-InsurancePlan'),
  Endpoint: plannetSd('plannet-Endpoint'),
} as const;

export const EXT_NETWORK_REFERENCE = plannetSd('network-reference');
export const EXT_NEWPATIENTS = plannetSd('newpatients');
export const EXT_LOCATION_REFERENCE = plannetSd('location-reference');
export const ACCEPTING_PATIENTS_CS = plannetCs('AcceptingPatientsCS');
export const ORG_TYPE_CS = plannetCs('OrgTypeCS');
export const PROVIDER_ROLE_CS = plannetCs('ProviderRoleCS');
export const ORG_AFFILIATION_ROLE_CS = plannetCs('OrganizationAffiliationRoleCS');

/** AcceptingPatientsVS (required binding of `newpatients.acceptingPatients`). */
export type AcceptingPatients = 'nopt' | 'newpt' | 'existptonly' | 'existptfam';
export const ACCEPTING_PATIENTS: Record<AcceptingPatients, string> = {
  nopt: 'Not Accepting',
  newpt: 'Accepting',
  existptonly: 'Accepting existing patients',
  existptfam: 'Accepting existing patients and their families',
};

export function isAcceptingPatients(code: unknown): code is AcceptingPatients {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ACCEPTING_PATIENTS, code);
}

/** The resource types of a Plan-Net directory. "Network" is an Organization with type `ntwk`. */
export const DIRECTORY_TYPES = [
  'Practitioner', 'PractitionerRole', 'Organization', 'OrganizationAffiliation', 'Location',
  'HealthcareService', 'InsurancePlan', 'Endpoint',
] as const;
export type DirectoryType = (typeof DIRECTORY_TYPES)[number];

export interface SearchSpec {
  /** SHALL search parameters besides `_id` and `_lastUpdated`. */
  params: readonly string[];
  /** SHALL `_include` values (`Type:param`). */
  include: readonly string[];
  /** SHALL `_revinclude` values. */
  revinclude: readonly string[];
}

/** The Plan-Net CapabilityStatement's SHALL search parameters and includes (PLANNET.md §5). */
export const REQUIRED_SEARCH: Record<DirectoryType, SearchSpec> = {
  Endpoint: { params: ['organization'], include: ['Endpoint:organization'], revinclude: [] },
  HealthcareService: {
    params: ['location', 'coverage-area', 'organization', 'endpoint', 'name', 'service-category', 'service-type', 'specialty'],
    include: ['HealthcareService:location', 'HealthcareService:coverage-area', 'HealthcareService:organization', 'HealthcareService:endpoint'],
    revinclude: ['PractitionerRole:service', 'OrganizationAffiliation:service'],
  },
  InsurancePlan: {
    params: ['administered-by', 'owned-by', 'coverage-area', 'name', 'plan-type', 'identifier', 'type'],
    include: ['InsurancePlan:administered-by', 'InsurancePlan:owned-by', 'InsurancePlan:coverage-area'],
    revinclude: [],
  },
  Location: {
    params: ['partof', 'organization', 'endpoint', 'address-city', 'address-state', 'address-postalcode', 'address', 'type'],
    include: ['Location:endpoint', 'Location:organization', 'Location:partof'],
    revinclude: ['HealthcareService:location', 'InsurancePlan:coverage-area', 'OrganizationAffiliation:location', 'PractitionerRole:location'],
  },
  Organization: {
    params: ['partof', 'endpoint', 'address', 'name', 'type', 'coverage-area'],
    include: ['Organization:partof', 'Organization:endpoint', 'Organization:coverage-area'],
    revinclude: [
      'Endpoint:organization', 'HealthcareService:organization', 'InsurancePlan:administered-by', 'InsurancePlan:owned-by',
      'OrganizationAffiliation:primary-organization', 'OrganizationAffiliation:participating-organization',
      'PractitionerRole:organization', 'PractitionerRole:network',
    ],
  },
  OrganizationAffiliation: {
    params: ['primary-organization', 'participating-organization', 'location', 'service', 'network', 'endpoint', 'role', 'specialty'],
    include: [
      'OrganizationAffiliation:primary-organization', 'OrganizationAffiliation:participating-organization', 'OrganizationAffiliation:location',
      'OrganizationAffiliation:service', 'OrganizationAffiliation:endpoint', 'OrganizationAffiliation:network',
    ],
    revinclude: [],
  },
  Practitioner: { params: ['name', 'family', 'given'], include: [], revinclude: ['PractitionerRole:practitioner'] },
  PractitionerRole: {
    params: ['practitioner', 'organization', 'location', 'service', 'network', 'endpoint', 'role', 'specialty'],
    include: [
      'PractitionerRole:practitioner', 'PractitionerRole:organization', 'PractitionerRole:location', 'PractitionerRole:service',
      'PractitionerRole:network', 'PractitionerRole:endpoint',
    ],
    revinclude: [],
  },
};

/** Parameters every Plan-Net resource SHALL support, plus the paging/format controls a client sends. */
export const COMMON_SEARCH_PARAMS = ['_id', '_lastUpdated'] as const;

type AnyResource = Record<string, unknown>;

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function refs(...values: unknown[]): Reference[] {
  return values.flatMap(asArray).filter((r): r is Reference => typeof (r as Reference)?.reference === 'string');
}

function extensionRefs(resource: AnyResource, url: string): Reference[] {
  return refs(...asArray(resource.extension).filter((e) => (e as Extension).url === url).map((e) => (e as Extension).valueReference));
}

/**
 * Where the reference of each Plan-Net `_include` lives (the SearchParameter expressions of the IG,
 * written out). Used to find includes a server did not return, so they can be read one by one.
 */
export const INCLUDE_PATHS: Record<string, (r: AnyResource) => Reference[]> = {
  'Endpoint:organization': (r) => refs(r.managingOrganization),
  'HealthcareService:location': (r) => refs(r.location),
  'HealthcareService:coverage-area': (r) => refs(r.coverageArea),
  'HealthcareService:organization': (r) => refs(r.providedBy),
  'HealthcareService:endpoint': (r) => refs(r.endpoint),
  'InsurancePlan:administered-by': (r) => refs(r.administeredBy),
  'InsurancePlan:owned-by': (r) => refs(r.ownedBy),
  'InsurancePlan:coverage-area': (r) => refs(r.coverageArea, ...asArray(r.plan).map((p) => (p as AnyResource).coverageArea)),
  'Location:endpoint': (r) => refs(r.endpoint),
  'Location:organization': (r) => refs(r.managingOrganization),
  'Location:partof': (r) => refs(r.partOf),
  'Organization:partof': (r) => refs(r.partOf),
  'Organization:endpoint': (r) => refs(r.endpoint),
  'Organization:coverage-area': (r) => extensionRefs(r, EXT_LOCATION_REFERENCE),
  'OrganizationAffiliation:primary-organization': (r) => refs(r.organization),
  'OrganizationAffiliation:participating-organization': (r) => refs(r.participatingOrganization),
  'OrganizationAffiliation:location': (r) => refs(r.location),
  'OrganizationAffiliation:service': (r) => refs(r.healthcareService),
  'OrganizationAffiliation:endpoint': (r) => refs(r.endpoint),
  'OrganizationAffiliation:network': (r) => refs(r.network),
  'PractitionerRole:practitioner': (r) => refs(r.practitioner),
  'PractitionerRole:organization': (r) => refs(r.organization),
  'PractitionerRole:location': (r) => refs(r.location),
  'PractitionerRole:service': (r) => refs(r.healthcareService),
  'PractitionerRole:network': (r) => extensionRefs(r, EXT_NETWORK_REFERENCE),
  'PractitionerRole:endpoint': (r) => refs(r.endpoint),
};

/** `Type/id` of a resource. */
export function referenceOf(resource: Resource): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}

/**
 * A reference as `Type/id` relative to `baseUrl`, or undefined for contained (`#x`), logical
 * (identifier-only) and other-server references: those cannot be read from this directory.
 */
export function localReference(reference: string | undefined, baseUrl?: string): string | undefined {
  if (!reference || reference.startsWith('#')) return undefined;
  let ref = reference;
  if (/^https?:\/\//.test(ref)) {
    if (!baseUrl) return undefined;
    const base = baseUrl.replace(/\/+$/, '');
    if (!ref.startsWith(`${base}/`)) return undefined;
    ref = ref.slice(base.length + 1);
  }
  // Drop a version (`Type/id/_history/n`): the directory answers the current version.
  const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** The network of a PractitionerRole (`network-reference`, 0..1 in the profile). */
export function roleNetwork(role: AnyResource): string | undefined {
  return extensionRefs(role, EXT_NETWORK_REFERENCE)[0]?.reference;
}

export interface NewPatients {
  acceptingPatients?: AcceptingPatients;
  /** `Organization/<id>` of the network, when the extension names one. */
  fromNetwork?: string;
  characteristics: string[];
}

/** Every `newpatients` extension of a PractitionerRole, HealthcareService or Location. */
export function readNewPatients(resource: AnyResource): NewPatients[] {
  return asArray(resource.extension)
    .filter((e) => (e as Extension).url === EXT_NEWPATIENTS)
    .map((e) => {
      const parts = (e as Extension).extension ?? [];
      const code = parts.find((p) => p.url === 'acceptingPatients')?.valueCodeableConcept?.coding
        ?.find((c) => !c.system || c.system === ACCEPTING_PATIENTS_CS)?.code;
      return {
        acceptingPatients: isAcceptingPatients(code) ? code : undefined,
        fromNetwork: parts.find((p) => p.url === 'fromNetwork')?.valueReference?.reference,
        characteristics: parts.filter((p) => p.url === 'characteristics' && typeof p.valueString === 'string').map((p) => p.valueString as string),
      };
    });
}

/**
 * Accepting-new-patients for one network: the extension whose `fromNetwork` names it, else one
 * without `fromNetwork` (it then applies to every network of the resource).
 */
export function acceptingFor(resource: AnyResource, network: string | undefined): AcceptingPatients | undefined {
  const all = readNewPatients(resource);
  const exact = network ? all.find((n) => n.fromNetwork === network) : undefined;
  return (exact ?? all.find((n) => !n.fromNetwork))?.acceptingPatients;
}

/** Builds a `newpatients` extension (complex: no value[x]). */
export function newPatientsExtension(code: AcceptingPatients, fromNetwork?: string, characteristics: string[] = []): Extension {
  const extension: Extension[] = [
    { url: 'acceptingPatients', valueCodeableConcept: { coding: [{ system: ACCEPTING_PATIENTS_CS, code, display: ACCEPTING_PATIENTS[code] }] } },
  ];
  if (fromNetwork) extension.push({ url: 'fromNetwork', valueReference: { reference: fromNetwork } });
  for (const c of characteristics) extension.push({ url: 'characteristics', valueString: c });
  return { url: EXT_NEWPATIENTS, extension };
}

/** The NPI of a Practitioner or Organization (US Core NPI slice), if any. */
export function npiOf(resource: AnyResource | undefined): string | undefined {
  const identifiers = asArray(resource?.identifier) as Array<{ system?: string; value?: string }>;
  return identifiers.find((i) => i.system === NPI_SYSTEM && typeof i.value === 'string')?.value;
}

/** True for an Organization whose type is Plan-Net `ntwk` (the Network profile). */
export function isNetwork(resource: AnyResource): boolean {
  if (resource.resourceType !== 'Organization') return false;
  return asArray(resource.type).some((t) => (t as { coding?: Array<{ code?: string }> }).coding?.some((c) => c.code === 'ntwk'));
}

/** NUCC codes of a CodeableConcept list. */
export function nuccCodes(concepts: unknown): string[] {
  return asArray(concepts).flatMap((c) => ((c as { coding?: Array<{ system?: string; code?: string }> }).coding ?? []))
    .filter((c) => c.system === NUCC_SYSTEM && typeof c.code === 'string')
    .map((c) => c.code as string);
}

/**
 * A PractitionerRole / OrganizationAffiliation is current when it has no `period.end` or the end is
 * today or later (PLANNET.md §1: active filtering is `date=ge<today>`), and `active` is not false.
 */
export function isCurrent(resource: AnyResource, today: string): boolean {
  if (resource.active === false) return false;
  const end = (resource.period as { end?: string } | undefined)?.end;
  return !end || end.slice(0, 10) >= today;
}

/**
 * Our side of one provider's participation in one payer network (the payer's `Organization/<id>`
 * of type `ntwk`). One per provider and network: Plan-Net models one network per PractitionerRole.
 */
export interface NetworkParticipation {
  /** The payer's Network, `Organization/<id>`. */
  network: string;
  acceptingPatients: AcceptingPatients;
  /**
   * The affiliation: for an individual, the NPI of the group/facility it practises for in this
   * network (PractitionerRole.organization); for an organization, of the primary organization
   * (OrganizationAffiliation.organization).
   */
  organizationNpi?: string;
  /** Or the payer's own reference to that organization (`Organization/<id>`), e.g. the payer itself. */
  organization?: string;
  /** The payer's Locations (`Location/<id>`) where the provider sees this network's members. */
  locations?: string[];
  /** NUCC codes; default: the record's primary taxonomy. */
  specialties?: string[];
  /** ProviderRoleCS code for individuals (default `ph`), OrganizationAffiliationRoleCS for organizations (default `outpatient`). */
  role?: string;
  /** `newpatients.characteristics`, e.g. "Medicaid only". */
  characteristics?: string[];
  /** YYYY-MM-DD. */
  start?: string;
  /** YYYY-MM-DD: the participation ended (pushed as `period.end`; Plan-Net roles stay `active`). */
  end?: string;
}

/** One of our providers with its participation in one payer's networks. */
export interface OurParticipation {
  record: ProviderRecord;
  networks: NetworkParticipation[];
}
