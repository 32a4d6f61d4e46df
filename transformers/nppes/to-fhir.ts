/**
 * NPPES record (connectors/nppes/parse.ts) → FHIR R4, US Core based (NPPES.md §6), as a
 * transaction Bundle:
 *
 * - NPI-1 → `Practitioner` (NPI identifier `http://hl7.org/fhir/sid/us-npi`, official name,
 *   gender, mailing address, qualifications: credential and licensed taxonomies) and one
 *   `PractitionerRole` per practice location (specialties: every taxonomy, primary first, NUCC
 *   coded `http://nucc.org/provider-taxonomy`) with its `Location`;
 * - NPI-2 → `Organization` (NPI identifier, legal name, other names as `alias`, taxonomies as
 *   `type`, addresses, phones, the authorized official as an ADMIN `contact`) and one `Location`
 *   per practice location (managed by the Organization).
 *
 * A deactivated record gives `active: false` (and `Location.status: inactive`). Practitioners and
 * Organizations are upserted conditionally on their NPI; roles and locations on Wasl identifiers
 * derived from the NPI (`urn:wasl:nppes:*`), so importing the same NPI again updates the same
 * resources. fullUrls are name-based UUIDs: the same record always gives the same Bundle.
 *
 * Pure: no I/O, no clock, no random ids. NPPES does not link practitioners to organizations
 * (§6), so no PractitionerRole.organization is invented here.
 */
import type {
  Address, Bundle, CodeableConcept, ContactPoint, HumanName, Identifier, Location, Organization, OrganizationContact, Practitioner,
  PractitionerQualification, PractitionerRole, Reference,
} from '@medplum/fhirtypes';
import { ValidationError } from '../../common/errors';
import { displayName, type NppesAddress, type NppesOtherIdentifier, type NppesRecord, type NppesTaxonomy } from '../../connectors/nppes/parse';
import { NUCC_SYSTEM, lookupTaxonomy } from '../../connectors/nppes/taxonomy';
import { TransactionBuilder } from '../hl7v2/fhir/transaction';

export const US_NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';
/** Wasl's identifiers for what NPPES has no id for (keys of the conditional updates). */
export const NPPES_LOCATION_SYSTEM = 'urn:wasl:nppes:location';
export const NPPES_ROLE_SYSTEM = 'urn:wasl:nppes:practitioner-role';
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const CONTACT_ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/contactentity-type';

/** The NPI identifier as US Core's NPI slice wants it. */
export function npiIdentifier(npi: string): Identifier {
  return { use: 'official', type: { coding: [{ system: V2_0203, code: 'NPI', display: 'National provider identifier' }] }, system: US_NPI_SYSTEM, value: npi };
}

/** A NUCC taxonomy as a CodeableConcept (display from the NUCC list, else NPPES's own label). */
export function taxonomyConcept(t: Pick<NppesTaxonomy, 'code' | 'desc'>): CodeableConcept {
  const nucc = lookupTaxonomy(t.code);
  const display = nucc?.display ?? t.desc ?? t.code;
  return { coding: [{ system: NUCC_SYSTEM, code: t.code, display }], text: t.desc ?? display };
}

/** ZIP+4 as `12345-6789`; anything else as NPPES sent it. */
function postalCode(a: NppesAddress): string | undefined {
  const p = a.postalCode;
  if (p && (a.countryCode ?? 'US') === 'US' && /^[0-9]{9}$/.test(p)) return `${p.slice(0, 5)}-${p.slice(5)}`;
  return p;
}

function address(a: NppesAddress, type: Address['type']): Address {
  const out: Address = { use: 'work', type };
  if (a.line.length) out.line = [...a.line];
  if (a.city) out.city = a.city;
  if (a.state) out.state = a.state;
  const pc = postalCode(a);
  if (pc) out.postalCode = pc;
  if (a.countryCode) out.country = a.countryCode;
  return out;
}

function telecom(addresses: NppesAddress[]): ContactPoint[] {
  const out: ContactPoint[] = [];
  const seen = new Set<string>();
  const add = (system: 'phone' | 'fax', value: string | undefined) => {
    if (!value || seen.has(`${system}|${value}`)) return;
    seen.add(`${system}|${value}`);
    out.push({ system, value, use: 'work' });
  };
  for (const a of addresses) {
    add('phone', a.phone);
    add('fax', a.fax);
  }
  return out;
}

function otherIdentifier(i: NppesOtherIdentifier): Identifier {
  const label = [i.desc, i.state].filter(Boolean).join(' ');
  const id: Identifier = { use: 'secondary', value: i.identifier };
  if (label) id.type = { text: label };
  const assigner = i.issuer ?? i.state;
  if (assigner) id.assigner = { display: assigner };
  return id;
}

/** Same street, city, state and postal code: one Location, whatever NPPES calls it. */
const addressKey = (a: NppesAddress) => [a.line.join('|'), a.city, a.state, a.postalCode?.slice(0, 5), a.countryCode].join('~').toUpperCase();

/** The practice locations: the LOCATION address, then `practiceLocations`, without repeats. */
export function practiceLocations(record: NppesRecord): NppesAddress[] {
  const out: NppesAddress[] = [];
  const seen = new Set<string>();
  for (const a of [...record.addresses.filter((x) => x.purpose === 'LOCATION' || x.purpose === 'PRIMARY'), ...record.practiceLocations]) {
    const k = addressKey(a);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(a);
  }
  return out;
}

function personName(p: { first?: string; last?: string; middle?: string; prefix?: string; suffix?: string }, use: HumanName['use']): HumanName | undefined {
  const name: HumanName = { use };
  if (p.last) name.family = p.last;
  const given = [p.first, p.middle].filter((g): g is string => !!g);
  if (given.length) name.given = given;
  if (p.prefix) name.prefix = [p.prefix];
  if (p.suffix) name.suffix = [p.suffix];
  return name.family || name.given ? name : undefined;
}

/** NPPES `other_names[].type` → HumanName.use: a Former Name is `old`, the others (Professional, Other) `usual`. */
function otherNameUse(type: string | undefined): HumanName['use'] {
  return /former/i.test(type ?? '') ? 'old' : 'usual';
}

function requireRecord(record: NppesRecord, path: string): void {
  if (!record || typeof record !== 'object') throw new ValidationError('NPPES_RECORD', `${path} is not an NPPES record`, { path });
  if (!/^[0-9]{10}$/.test(String(record.npi ?? ''))) throw new ValidationError('NPPES_RECORD', `${path}.npi is not a 10-digit NPI`, { path: `${path}.npi` });
  if (record.enumerationType !== 'NPI-1' && record.enumerationType !== 'NPI-2') {
    throw new ValidationError('NPPES_RECORD', `${path}.enumerationType must be NPI-1 or NPI-2`, { path: `${path}.enumerationType` });
  }
}

function meta(record: NppesRecord): { meta?: { lastUpdated: string } } {
  return record.lastUpdatedAt ? { meta: { lastUpdated: record.lastUpdatedAt } } : {};
}

function addLocations(tx: TransactionBuilder, record: NppesRecord, managingOrganization?: Reference<Organization>): { ref: Reference<Location>; address: NppesAddress }[] {
  const active = record.status === 'active';
  const label = displayName(record);
  return practiceLocations(record).map((a, i) => {
    const identifier: Identifier = { system: NPPES_LOCATION_SYSTEM, value: `${record.npi}-${i + 1}` };
    const where = [a.city, a.state].filter(Boolean).join(', ');
    const location: Location = {
      resourceType: 'Location',
      ...meta(record),
      identifier: [identifier],
      status: active ? 'active' : 'inactive',
      name: where ? `${label} (${where})` : label,
      mode: 'instance',
      address: address(a, 'physical'),
    };
    const tel = telecom([a]);
    if (tel.length) location.telecom = tel;
    if (managingOrganization) location.managingOrganization = managingOrganization;
    return { ref: { reference: tx.upsert(location, identifier) }, address: a };
  });
}

function addPractitioner(tx: TransactionBuilder, record: NppesRecord): void {
  const p = record.individual ?? {};
  const active = record.status === 'active';
  const names: HumanName[] = [];
  const official = personName(p, 'official');
  if (official) names.push(official);
  for (const o of record.otherNames) {
    const n = personName({ first: o.firstName, last: o.lastName, middle: o.middleName, prefix: o.prefix, suffix: o.suffix }, otherNameUse(o.type));
    if (n) names.push(n);
  }
  const qualification: PractitionerQualification[] = [];
  if (p.credential) qualification.push({ code: { text: p.credential } });
  for (const t of record.taxonomies) {
    if (!t.license) continue;
    const q: PractitionerQualification = { identifier: [{ value: t.license }], code: taxonomyConcept(t) };
    if (t.state) q.issuer = { display: `${t.state} state licensing board` };
    qualification.push(q);
  }
  const practitioner: Practitioner = {
    resourceType: 'Practitioner',
    ...meta(record),
    identifier: [npiIdentifier(record.npi), ...record.identifiers.map(otherIdentifier)],
    active,
  };
  if (names.length) practitioner.name = names;
  const gender = p.gender === 'M' ? 'male' : p.gender === 'F' ? 'female' : p.gender ? 'unknown' : undefined;
  if (gender) practitioner.gender = gender;
  const mailing = record.addresses.filter((a) => a.purpose === 'MAILING');
  if (mailing.length) practitioner.address = mailing.map((a) => address(a, 'postal'));
  const mailTel = telecom(mailing);
  if (mailTel.length) practitioner.telecom = mailTel;
  if (qualification.length) practitioner.qualification = qualification;
  const practitionerRef = tx.upsert(practitioner, npiIdentifier(record.npi));

  const specialty = record.taxonomies.map(taxonomyConcept);
  const locations = addLocations(tx, record);
  const roles = locations.length ? locations : [undefined];
  roles.forEach((loc, i) => {
    const identifier: Identifier = { system: NPPES_ROLE_SYSTEM, value: `${record.npi}-${i + 1}` };
    const role: PractitionerRole = {
      resourceType: 'PractitionerRole',
      ...meta(record),
      identifier: [identifier],
      active,
      practitioner: { reference: practitionerRef, display: displayName(record) },
    };
    if (specialty.length) role.specialty = specialty;
    if (loc) {
      role.location = [loc.ref];
      const tel = telecom([loc.address]);
      if (tel.length) role.telecom = tel;
    }
    tx.upsert(role, identifier);
  });
}

function addOrganization(tx: TransactionBuilder, record: NppesRecord): void {
  const org = record.organization ?? { name: '' };
  if (!org.name) throw new ValidationError('NPPES_RECORD', `NPPES record ${record.npi}: an organization without a name`, { path: 'organization.name' });
  const organization: Organization = {
    resourceType: 'Organization',
    ...meta(record),
    identifier: [npiIdentifier(record.npi), ...record.identifiers.map(otherIdentifier)],
    active: record.status === 'active',
    name: org.name,
  };
  if (record.taxonomies.length) organization.type = record.taxonomies.map(taxonomyConcept);
  const alias = [...new Set(record.otherNames.map((o) => o.organizationName).filter((n): n is string => !!n && n !== org.name))];
  if (alias.length) organization.alias = alias;
  const tel = telecom([...record.addresses.filter((a) => a.purpose !== 'MAILING'), ...record.addresses.filter((a) => a.purpose === 'MAILING')]);
  if (tel.length) organization.telecom = tel;
  if (record.addresses.length) organization.address = record.addresses.map((a) => address(a, a.purpose === 'MAILING' ? 'postal' : 'physical'));
  const ao = org.authorizedOfficial;
  if (ao) {
    const contact: OrganizationContact = { purpose: { coding: [{ system: CONTACT_ENTITY_TYPE, code: 'ADMIN', display: 'Administrative' }], ...(ao.title ? { text: ao.title } : {}) } };
    const name = personName(ao, 'official');
    if (name) contact.name = name;
    if (ao.phone) contact.telecom = [{ system: 'phone', value: ao.phone, use: 'work' }];
    organization.contact = [contact];
  }
  if (org.subpart && org.parentName) organization.partOf = { display: org.parentName };
  const ref = tx.upsert(organization, npiIdentifier(record.npi));
  addLocations(tx, record, { reference: ref, display: org.name });
}

/**
 * One or several NPPES records as one FHIR R4 transaction Bundle. Throws ValidationError (with
 * the path of the bad field) for something that is not a parsed NPPES record.
 */
export function nppesToFhirBundle(records: NppesRecord | NppesRecord[]): Bundle {
  const list = Array.isArray(records) ? records : [records];
  const tx = new TransactionBuilder();
  list.forEach((record, i) => {
    requireRecord(record, Array.isArray(records) ? `records[${i}]` : 'record');
    if (record.enumerationType === 'NPI-1') addPractitioner(tx, record);
    else addOrganization(tx, record);
  });
  const bundle = tx.build();
  // FHIR JSON has no empty arrays: an empty search gives a Bundle without entries.
  if (bundle.entry?.length === 0) delete bundle.entry;
  return bundle;
}
