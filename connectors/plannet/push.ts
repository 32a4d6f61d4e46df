/**
 * Pushing our providers' participation to a payer that accepts it, and tracking each submission.
 *
 * Plan-Net is read-only (PLANNET.md §1), so a payer's submission endpoint is outside the IG. What
 * we send is Plan-Net shaped all the same, so the payer can publish it as is:
 * - an individual: a `plannet-PractitionerRole` with `network-reference` → the Network and one
 *   `newpatients` extension (`fromNetwork` = that Network), the Practitioner, the affiliated
 *   organization, locations and NUCC specialties;
 * - an organization: a `plannet-OrganizationAffiliation` with `network`, `participatingOrganization`
 *   (us) and `organization` (the primary organization). The profile has no `newpatients`, so
 *   accepting new patients goes on the organization's own Locations (Location.newpatients), and
 *   only on Locations the payer lists as managed by it.
 *
 * Idempotent: each (provider, network) gets a stable identifier (`identifierSystem` + a hash of
 * kind, NPI and network; PLANNET.md §8), and the write is a conditional update
 * `PUT PractitionerRole?identifier=...` — the first push creates, later ones update the same
 * resource. A role the payer already has for that network without our identifier is updated in
 * place by id (it then carries our identifier), so we never add a duplicate beside it. The
 * Practitioner/Organization is ensured with `If-None-Exist` on the NPI.
 *
 * Every submission is tracked (`plannet_submissions`, migration 0007): `sending` → `accepted`
 * (2xx) → `published` (the directory shows it, set by the sync) or `rejected` (4xx), `failed`
 * (transient, after retries), `not-accepted` (the payer does not take submissions; nothing sent),
 * `invalid` (our resource failed FHIR R4 validation; nothing sent).
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type {
  CodeableConcept, Extension, Identifier, Location, Organization, OrganizationAffiliation, Practitioner, PractitionerRole, Reference, Resource,
} from '@medplum/fhirtypes';
import { ValidationError, WaslError, toWaslError } from '../../common/errors';
import { fromDbTime, toDbTime, type Dialect } from '../../engine/store/rows';
import { validateFhir } from '../../transformers/fhir/validate';
import type { ProviderRecord } from '../../engine/providers/types';
import type { PlanNetAdapter } from './client';
import {
  EXT_NETWORK_REFERENCE, EXT_NEWPATIENTS, NPI_SYSTEM, NUCC_SYSTEM, ORG_AFFILIATION_ROLE_CS, ORG_TYPE_CS, PROFILES, PROVIDER_ROLE_CS, localReference,
  newPatientsExtension, readNewPatients, type AcceptingPatients, type NetworkParticipation,
} from './model';

export type SubmissionStatus = 'sending' | 'accepted' | 'published' | 'rejected' | 'failed' | 'not-accepted' | 'invalid';

export interface SubmissionRecord {
  adapterId: string;
  /** Our identifier value on the pushed resource (the conditional-update key). */
  identifierValue: string;
  npi: string;
  network: string;
  resourceType: string;
  status: SubmissionStatus;
  httpStatus?: number;
  /** The payer's id of the resource. */
  resourceId?: string;
  versionId?: string;
  /** SHA-256 of what we sent last. */
  payloadHash?: string;
  errorCode?: string;
  /** Why, in a few words (codes and paths, no provider data). */
  detail?: string;
  attempts: number;
  createdAt: Date;
  updatedAt: Date;
  submittedAt?: Date;
  publishedAt?: Date;
}

export interface SubmissionStart {
  adapterId: string;
  identifierValue: string;
  npi: string;
  network: string;
  resourceType: string;
}

export interface SubmissionOutcome {
  status: Exclude<SubmissionStatus, 'sending' | 'published'>;
  httpStatus?: number;
  resourceId?: string;
  versionId?: string;
  payloadHash?: string;
  errorCode?: string;
  detail?: string;
}

/** Where submissions are tracked. {@link KnexSubmissionTracker} is the durable one. */
export interface SubmissionTracker {
  get(adapterId: string, identifierValue: string): Promise<SubmissionRecord | undefined>;
  list(opts?: { adapterId?: string; npi?: string; status?: SubmissionStatus }): Promise<SubmissionRecord[]>;
  /** Records an attempt about to be sent (status `sending`, attempts + 1). */
  begin(start: SubmissionStart, payloadHash?: string): Promise<void>;
  /** Records how it ended. */
  finish(start: SubmissionStart, outcome: SubmissionOutcome): Promise<void>;
  /** `accepted` → `published` once the directory shows it; false when it was not `accepted`. */
  markPublished(adapterId: string, identifierValue: string): Promise<boolean>;
}

interface SubmissionRow {
  adapter_id: string;
  identifier_value: string;
  npi: string;
  network: string;
  resource_type: string;
  status: string;
  http_status: number | null;
  resource_id: string | null;
  version_id: string | null;
  payload_hash: string | null;
  error_code: string | null;
  detail: string | null;
  attempts: number | string;
  created_at: Date | number | string;
  updated_at: Date | number | string;
  submitted_at: Date | number | string | null;
  published_at: Date | number | string | null;
}

export const SUBMISSIONS_TABLE = 'plannet_submissions';

export function dialectOf(knex: Knex): Dialect {
  return knex.client.dialect === 'postgresql' ? 'postgres' : 'sqlite';
}

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function fromRow(r: SubmissionRow): SubmissionRecord {
  return {
    adapterId: r.adapter_id,
    identifierValue: r.identifier_value,
    npi: r.npi,
    network: r.network,
    resourceType: r.resource_type,
    status: r.status as SubmissionStatus,
    httpStatus: opt(r.http_status) ?? undefined,
    resourceId: opt(r.resource_id),
    versionId: opt(r.version_id),
    payloadHash: opt(r.payload_hash),
    errorCode: opt(r.error_code),
    detail: opt(r.detail),
    attempts: Number(r.attempts),
    createdAt: fromDbTime(r.created_at),
    updatedAt: fromDbTime(r.updated_at),
    submittedAt: r.submitted_at === null ? undefined : fromDbTime(r.submitted_at),
    publishedAt: r.published_at === null ? undefined : fromDbTime(r.published_at),
  };
}

/** Submissions in `plannet_submissions` (migration 0007), SQLite or PostgreSQL. */
export class KnexSubmissionTracker implements SubmissionTracker {
  private readonly dialect: Dialect;

  constructor(private readonly knex: Knex, private readonly now: () => Date = () => new Date()) {
    this.dialect = dialectOf(knex);
  }

  async get(adapterId: string, identifierValue: string): Promise<SubmissionRecord | undefined> {
    const row = await this.knex<SubmissionRow>(SUBMISSIONS_TABLE).where({ adapter_id: adapterId, identifier_value: identifierValue }).first();
    return row ? fromRow(row) : undefined;
  }

  async list(opts: { adapterId?: string; npi?: string; status?: SubmissionStatus } = {}): Promise<SubmissionRecord[]> {
    const q = this.knex<SubmissionRow>(SUBMISSIONS_TABLE).select('*');
    if (opts.adapterId) q.where('adapter_id', opts.adapterId);
    if (opts.npi) q.where('npi', opts.npi);
    if (opts.status) q.where('status', opts.status);
    const rows = (await q.orderBy([{ column: 'adapter_id' }, { column: 'npi' }, { column: 'network' }])) as SubmissionRow[];
    return rows.map(fromRow);
  }

  async begin(start: SubmissionStart, payloadHash?: string): Promise<void> {
    const at = toDbTime(this.dialect, this.now());
    await this.knex.transaction(async (trx) => {
      const key = { adapter_id: start.adapterId, identifier_value: start.identifierValue };
      const existing = await trx<SubmissionRow>(SUBMISSIONS_TABLE).where(key).first();
      const fields = {
        npi: start.npi, network: start.network, resource_type: start.resourceType, status: 'sending',
        payload_hash: payloadHash ?? null, error_code: null, detail: null, updated_at: at,
      };
      if (existing) {
        await trx(SUBMISSIONS_TABLE).where(key).update({ ...fields, attempts: Number(existing.attempts) + 1 });
      } else {
        await trx(SUBMISSIONS_TABLE).insert({ ...key, ...fields, attempts: 1, created_at: at });
      }
    });
  }

  async finish(start: SubmissionStart, outcome: SubmissionOutcome): Promise<void> {
    const at = toDbTime(this.dialect, this.now());
    const key = { adapter_id: start.adapterId, identifier_value: start.identifierValue };
    const fields: Record<string, unknown> = {
      npi: start.npi, network: start.network, resource_type: start.resourceType,
      status: outcome.status,
      http_status: outcome.httpStatus ?? null,
      error_code: outcome.errorCode ?? null,
      detail: outcome.detail?.slice(0, 500) ?? null,
      updated_at: at,
    };
    if (outcome.payloadHash) fields.payload_hash = outcome.payloadHash;
    if (outcome.status === 'accepted') {
      Object.assign(fields, { resource_id: outcome.resourceId ?? null, version_id: outcome.versionId ?? null, submitted_at: at, published_at: null });
    }
    const updated = await this.knex(SUBMISSIONS_TABLE).where(key).update(fields);
    if (!updated) await this.knex(SUBMISSIONS_TABLE).insert({ ...key, ...fields, attempts: 0, created_at: at });
  }

  async markPublished(adapterId: string, identifierValue: string): Promise<boolean> {
    const at = toDbTime(this.dialect, this.now());
    const n = await this.knex(SUBMISSIONS_TABLE)
      .where({ adapter_id: adapterId, identifier_value: identifierValue, status: 'accepted' })
      .update({ status: 'published', published_at: at, updated_at: at });
    return n > 0;
  }
}

/** What one push did. */
export interface SubmissionResult {
  adapterId: string;
  npi: string;
  network: string;
  resourceType: 'PractitionerRole' | 'OrganizationAffiliation' | 'Location';
  identifierValue: string;
  status: Exclude<SubmissionStatus, 'sending' | 'published'>;
  /** 201 created, 200 updated. */
  httpStatus?: number;
  resourceId?: string;
  /** Set for rejected / failed / invalid. */
  error?: WaslError;
  reason?: string;
}

export interface PushInput {
  record: ProviderRecord;
  participation: NetworkParticipation;
  /**
   * The payer's current PractitionerRole / OrganizationAffiliation for this network, if it has one:
   * updated in place (fields we do not manage are kept) instead of adding a second one.
   */
  existing?: PractitionerRole | OrganizationAffiliation;
  /** Our record of an affiliated organization, to create it at the payer when it is not there. */
  lookupOrganization?: (npi: string) => Promise<ProviderRecord | undefined>;
}

/** The stable identifier value of one provider's participation in one network. */
export function participationIdentifier(kind: ProviderRecord['kind'], npi: string, network: string): string {
  return createHash('sha256').update(`${kind}|${npi}|${network}`).digest('hex').slice(0, 32);
}

/** The tracking key of an organization's Location `newpatients` submission for one network. */
export function locationSubmissionKey(kind: ProviderRecord['kind'], npi: string, network: string, location: string): string {
  return participationIdentifier(kind, npi, `${network}|${location}`);
}

function hashOf(resource: Resource): string {
  const { meta: _meta, id: _id, ...rest } = resource as Resource & { meta?: unknown };
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

function nucc(code: string): CodeableConcept {
  return { coding: [{ system: NUCC_SYSTEM, code }] };
}

function specialtiesOf(record: ProviderRecord, p: NetworkParticipation): string[] {
  return p.specialties?.length ? p.specialties : record.taxonomies.slice(0, 1);
}

function periodOf(p: NetworkParticipation): { start?: string; end?: string } | undefined {
  return p.start || p.end ? { ...(p.start ? { start: p.start } : {}), ...(p.end ? { end: p.end } : {}) } : undefined;
}

/** `Given Middle Family, CRED` → HumanName (text kept whole; the split is a best effort). */
export function humanNameOf(display: string): { text: string; family?: string; given?: string[]; suffix?: string[] } {
  const [main, ...suffixes] = display.split(',').map((s) => s.trim());
  const words = main.split(/\s+/).filter(Boolean);
  const family = words.pop();
  return {
    text: display.trim(),
    ...(family ? { family } : {}),
    ...(words.length ? { given: words } : {}),
    ...(suffixes.filter(Boolean).length ? { suffix: suffixes.filter(Boolean) } : {}),
  };
}

/** A plannet-Practitioner for one of our individual providers (NPI slice, name). */
export function buildPractitioner(record: ProviderRecord): Practitioner {
  return {
    resourceType: 'Practitioner',
    meta: { profile: [PROFILES.Practitioner] },
    active: true,
    identifier: [{ system: NPI_SYSTEM, value: record.npi }],
    name: [humanNameOf(record.name)],
    qualification: record.taxonomies.slice(0, 1).map((code) => ({ code: nucc(code) })),
  };
}

/** A plannet-Organization for one of our organizations (`prvgrp` unless told). */
export function buildOrganization(record: ProviderRecord, type: 'prvgrp' | 'fac' | 'atyprv' = 'prvgrp'): Organization {
  const addresses = record.addresses.filter((a) => a.purpose === 'LOCATION');
  return {
    resourceType: 'Organization',
    meta: { profile: [PROFILES.Organization] },
    active: true,
    identifier: [{ system: NPI_SYSTEM, value: record.npi }],
    type: [{ coding: [{ system: ORG_TYPE_CS, code: type }] }],
    name: record.name,
    address: (addresses.length ? addresses : record.addresses).map((a) => ({
      line: a.line, city: a.city, state: a.state, postalCode: a.postalCode, country: a.country ?? 'US',
    })),
  };
}

/**
 * Our PractitionerRole for one network. `base` (the payer's current one) keeps what we do not
 * manage (telecom, availableTime, healthcareService, other networks' newpatients, ...).
 */
export function buildPractitionerRole(
  record: ProviderRecord, p: NetworkParticipation, refs: { practitioner: string; organization?: Reference<Organization> }, identifier: Identifier, base?: PractitionerRole,
): PractitionerRole {
  const keep = (base?.extension ?? []).filter((e) => e.url !== EXT_NETWORK_REFERENCE && !(e.url === EXT_NEWPATIENTS && isForNetwork(e, p.network)));
  const role: PractitionerRole = {
    ...(base ?? {}),
    resourceType: 'PractitionerRole',
    meta: { profile: [PROFILES.PractitionerRole] },
    identifier: mergeIdentifier(base?.identifier, identifier),
    // Fixed true in the profile; an ended participation is expressed by period.end (PLANNET.md §1).
    active: true,
    extension: [
      { url: EXT_NETWORK_REFERENCE, valueReference: { reference: p.network } },
      newPatientsExtension(p.acceptingPatients, p.network, p.characteristics),
      ...keep,
    ],
    practitioner: { reference: refs.practitioner },
    code: [{ coding: [{ system: PROVIDER_ROLE_CS, code: p.role ?? 'ph' }] }],
    specialty: specialtiesOf(record, p).map(nucc),
  };
  // Without an affiliation of ours, the payer's (if any) stays: we do not know better.
  return withParticipationFields(role, p, refs.organization, base?.id);
}

/** Our OrganizationAffiliation for one network (`base` as for {@link buildPractitionerRole}). */
export function buildOrganizationAffiliation(
  record: ProviderRecord, p: NetworkParticipation, refs: { participatingOrganization: string; organization?: Reference<Organization> }, identifier: Identifier, base?: OrganizationAffiliation,
): OrganizationAffiliation {
  const aff: OrganizationAffiliation = {
    ...(base ?? {}),
    resourceType: 'OrganizationAffiliation',
    meta: { profile: [PROFILES.OrganizationAffiliation] },
    identifier: mergeIdentifier(base?.identifier, identifier),
    active: true,
    participatingOrganization: { reference: refs.participatingOrganization },
    network: [{ reference: p.network }],
    code: [{ coding: [{ system: ORG_AFFILIATION_ROLE_CS, code: p.role ?? 'outpatient' }] }],
    specialty: specialtiesOf(record, p).map(nucc),
  };
  return withParticipationFields(aff, p, refs.organization, base?.id);
}

/**
 * What a PractitionerRole and an OrganizationAffiliation share: our organization (when we have
 * one), the locations and period of the participation, and the payer's own id when updating theirs.
 */
function withParticipationFields<T extends PractitionerRole | OrganizationAffiliation>(resource: T, p: NetworkParticipation, organization: Reference<Organization> | undefined, baseId: string | undefined): T {
  if (organization) resource.organization = organization;
  if (p.locations) resource.location = p.locations.map((reference) => ({ reference }));
  const period = periodOf(p);
  if (period) resource.period = period;
  if (baseId) resource.id = baseId;
  else delete resource.id;
  return resource;
}

/** The Location with its `newpatients` for `network` set to `code` (other networks' kept). */
export function withLocationAccepting(location: Location, network: string, code: AcceptingPatients): Location {
  const keep = (location.extension ?? []).filter((e) => !(e.url === EXT_NEWPATIENTS && isForNetwork(e, network)));
  return { ...location, extension: [newPatientsExtension(code, network), ...keep] };
}

function isForNetwork(e: Extension, network: string): boolean {
  return readNewPatients({ extension: [e] })[0]?.fromNetwork === network;
}

function mergeIdentifier(existing: Identifier[] | undefined, ours: Identifier): Identifier[] {
  return [ours, ...(existing ?? []).filter((i) => i.system !== ours.system)];
}

function hasIdentifier(resource: { identifier?: Identifier[] } | undefined, identifier: Identifier): boolean {
  return Boolean(resource?.identifier?.some((i) => i.system === identifier.system && i.value === identifier.value));
}

/**
 * Validates a resource we are about to send as FHIR R4 (transformers/fhir/validate.ts).
 * @throws ValidationError `PLANNET_INVALID_RESOURCE` naming the first failing paths
 */
export function assertValidR4(resource: Resource): void {
  const result = validateFhir(resource);
  if (result.valid) return;
  const paths = result.outcome.issue.map((i) => i.expression?.[0]).filter(Boolean).slice(0, 3).join(', ');
  throw new ValidationError('PLANNET_INVALID_RESOURCE', `${resource.resourceType} to push is not valid FHIR R4: ${paths}`, {
    path: result.outcome.issue[0]?.expression?.[0],
    details: { outcome: result.outcome },
  });
}

function outcomeOf(err: WaslError): SubmissionOutcome['status'] {
  if (err.kind === 'validation') return 'invalid';
  return err.kind === 'integration' ? 'rejected' : 'failed';
}

/**
 * Pushes one provider's participation in one network, and tracks it. Never throws for an
 * outside failure: the result says what happened (and `error` carries the classified error).
 */
export async function pushParticipation(adapter: PlanNetAdapter, tracker: SubmissionTracker, input: PushInput): Promise<SubmissionResult> {
  const { record, participation: p } = input;
  const individual = record.kind === 'individual';
  const resourceType = individual ? 'PractitionerRole' : 'OrganizationAffiliation';
  const identifier: Identifier = { system: adapter.pushSettings.identifierSystem, value: participationIdentifier(record.kind, record.npi, p.network) };
  const start: SubmissionStart = { adapterId: adapter.id, identifierValue: identifier.value as string, npi: record.npi, network: p.network, resourceType };
  const result = (status: SubmissionResult['status'], extra: Partial<SubmissionResult> = {}): SubmissionResult => ({
    adapterId: adapter.id, npi: record.npi, network: p.network, resourceType, identifierValue: start.identifierValue, status, ...extra,
  });

  let acceptance: { accepted: boolean; reason?: string };
  try {
    acceptance = await adapter.acceptsSubmissions(resourceType);
    // Our Practitioner/Organization is ensured with If-None-Exist before the role refers to it.
    if (acceptance.accepted) acceptance = await adapter.acceptsSubmissions(individual ? 'Practitioner' : 'Organization', ['create']);
  } catch (err) {
    const e = toWaslError(err);
    await tracker.finish(start, { status: outcomeOf(e), errorCode: e.code, detail: 'capability check failed' });
    return result(outcomeOf(e), { error: e });
  }
  if (!acceptance.accepted) {
    await tracker.finish(start, { status: 'not-accepted', detail: acceptance.reason });
    return result('not-accepted', { reason: acceptance.reason });
  }

  let resource: PractitionerRole | OrganizationAffiliation;
  let payloadHash: string | undefined;
  try {
    const self = await ensureProvider(adapter, record);
    const organization = await organizationReference(adapter, p, input.lookupOrganization);
    resource = individual
      ? buildPractitionerRole(record, p, { practitioner: self, organization }, identifier, input.existing as PractitionerRole | undefined)
      : buildOrganizationAffiliation(record, p, { participatingOrganization: self, organization }, identifier, input.existing as OrganizationAffiliation | undefined);
    assertValidR4(resource);
    payloadHash = hashOf(resource);
  } catch (err) {
    const e = toWaslError(err);
    await tracker.finish(start, { status: outcomeOf(e), errorCode: e.code, detail: e.kind === 'validation' ? e.path : undefined });
    return result(outcomeOf(e), { error: e });
  }

  await tracker.begin(start, payloadHash);
  try {
    // The payer's own role for this network, without our identifier: update it by id so it gains
    // ours; a conditional update would add a second role beside it.
    const byId = input.existing?.id && !hasIdentifier(input.existing, identifier);
    const written = byId ? await adapter.updateById(resource) : await adapter.updateByIdentifier(resource, { system: identifier.system as string, value: identifier.value as string });
    await tracker.finish(start, {
      status: 'accepted', httpStatus: written.status, resourceId: written.resource.id, versionId: written.resource.meta?.versionId, payloadHash,
    });
    return result('accepted', { httpStatus: written.status, resourceId: written.resource.id });
  } catch (err) {
    const e = toWaslError(err);
    const status = typeof e.details?.status === 'number' ? e.details.status : undefined;
    await tracker.finish(start, { status: outcomeOf(e), httpStatus: status, errorCode: e.code });
    return result(outcomeOf(e), { httpStatus: status, error: e });
  }
}

/**
 * Sets accepting-new-patients for `network` on an organization's own Location at the payer
 * (OrganizationAffiliation has no `newpatients`). Refuses a Location the payer does not list as
 * managed by that organization. Tracked like the other submissions (resource type `Location`).
 */
export async function pushLocationAccepting(
  adapter: PlanNetAdapter, tracker: SubmissionTracker,
  input: { record: ProviderRecord; network: string; location: Location; organizationRef: string; acceptingPatients: AcceptingPatients },
): Promise<SubmissionResult> {
  const { record, network, location } = input;
  const identifierValue = locationSubmissionKey(record.kind, record.npi, network, `Location/${location.id ?? ''}`);
  const start: SubmissionStart = { adapterId: adapter.id, identifierValue, npi: record.npi, network, resourceType: 'Location' };
  const result = (status: SubmissionResult['status'], extra: Partial<SubmissionResult> = {}): SubmissionResult => ({
    adapterId: adapter.id, npi: record.npi, network, resourceType: 'Location', identifierValue, status, ...extra,
  });
  const managedBy = localReference(location.managingOrganization?.reference, adapter.baseUrl);
  if (!location.id || managedBy !== input.organizationRef) {
    const reason = 'location is not managed by this organization at the payer';
    await tracker.finish(start, { status: 'not-accepted', detail: reason });
    return result('not-accepted', { reason });
  }
  const acceptance = await adapter.acceptsSubmissions('Location').catch((err: unknown) => ({ accepted: false, reason: toWaslError(err).code }));
  if (!acceptance.accepted) {
    await tracker.finish(start, { status: 'not-accepted', detail: acceptance.reason });
    return result('not-accepted', { reason: acceptance.reason });
  }
  const updated = withLocationAccepting(location, network, input.acceptingPatients);
  try {
    assertValidR4(updated);
  } catch (err) {
    const e = toWaslError(err);
    await tracker.finish(start, { status: 'invalid', errorCode: e.code, detail: e.path });
    return result('invalid', { error: e });
  }
  const payloadHash = hashOf(updated);
  await tracker.begin(start, payloadHash);
  try {
    const written = await adapter.updateById(updated);
    await tracker.finish(start, { status: 'accepted', httpStatus: written.status, resourceId: written.resource.id, versionId: written.resource.meta?.versionId, payloadHash });
    return result('accepted', { httpStatus: written.status, resourceId: written.resource.id });
  } catch (err) {
    const e = toWaslError(err);
    await tracker.finish(start, { status: outcomeOf(e), httpStatus: typeof e.details?.status === 'number' ? e.details.status : undefined, errorCode: e.code });
    return result(outcomeOf(e), { error: e });
  }
}

/** Our Practitioner/Organization at the payer (created once, by NPI): `Type/id`. */
async function ensureProvider(adapter: PlanNetAdapter, record: ProviderRecord): Promise<string> {
  const resource = record.kind === 'individual' ? buildPractitioner(record) : buildOrganization(record);
  assertValidR4(resource);
  const written = await adapter.createIfNoneExist<Practitioner | Organization>(resource, { system: NPI_SYSTEM, value: record.npi });
  if (!written.resource.id) throw new ValidationError('PLANNET_NO_ID', `Payer answered the ${resource.resourceType} create without an id`);
  return `${resource.resourceType}/${written.resource.id}`;
}

/**
 * The affiliated organization as the payer knows it: its own reference when given; else found by
 * NPI; else created from our record of it; else a logical reference (identifier only).
 */
async function organizationReference(
  adapter: PlanNetAdapter, p: NetworkParticipation, lookup?: (npi: string) => Promise<ProviderRecord | undefined>,
): Promise<Reference<Organization> | undefined> {
  if (p.organization) return { reference: p.organization };
  if (!p.organizationNpi) return undefined;
  const found = await adapter.searchWritable<Organization>('Organization', { identifier: `${NPI_SYSTEM}|${p.organizationNpi}` });
  if (found[0]?.id) return { reference: `Organization/${found[0].id}` };
  const ours = await lookup?.(p.organizationNpi);
  if (ours?.kind === 'organization' && (await adapter.acceptsSubmissions('Organization', ['create'])).accepted) {
    const org = buildOrganization(ours);
    assertValidR4(org);
    const written = await adapter.createIfNoneExist(org, { system: NPI_SYSTEM, value: ours.npi });
    if (written.resource.id) return { reference: `Organization/${written.resource.id}` };
  }
  return { identifier: { system: NPI_SYSTEM, value: p.organizationNpi } };
}
