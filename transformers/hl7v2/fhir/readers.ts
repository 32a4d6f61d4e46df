import type { CodeableConcept, Coding, HumanName, Identifier, Location, Organization, Period, Practitioner, Reference } from '@medplum/fhirtypes';
import { hl7ToFhirDate, hl7ToFhirDateTime } from '../datetime';
import { HL7_ERROR_CODES, hl7ValidationError } from '../errors';
import { identifierSystem, uriPart } from '../fhir-identity';
import type { Hl7Segment } from '../segment';
import type { ValidationError } from '../../../common/errors';
import { leaf, readAddress, readTelecom, repetitionCount } from '../v2-datatypes';
import type { MappingContext } from './types';

/**
 * Readers turning HL7 v2 composite types (CX, EI, CWE/CE/CNE, TS/DTM, XCN, XON, PL) into FHIR R4
 * data types, shared by every message mapper. Values are decoded leaves; an HL7 null (`""`)
 * counts as no value (see v2-datatypes.ts). Readers that name a person, organization or place
 * also add that resource to the Bundle (conditional create on its identifier) and return the
 * Reference; when the v2 value carries no identifier the Reference is a display-only one, because
 * a resource without a business identifier could not be upserted without duplicating on resend.
 */

export { leaf, repetitionCount } from '../v2-datatypes';

/** An Identifier that can key a conditional update: system and value are always set. */
export type KeyedIdentifier = Identifier & { system: string; value: string };

/** What a builder added: the entry's `urn:uuid:` fullUrl, its business identifier, the resource. */
export interface MappedResource<T> {
  fullUrl: string;
  identifier: KeyedIdentifier;
  resource: T;
}

export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** A v2 table's FHIR code system (`0203` -> `http://terminology.hl7.org/CodeSystem/v2-0203`). */
export function v2TableSystem(table: string): string {
  return `http://terminology.hl7.org/CodeSystem/v2-${table.padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** 101 "required field missing" at `segmentId-field`; the message names the place, never a value. */
export function requiredMissing(segmentId: string, field: number | undefined, message: string, component?: number): ValidationError {
  return hl7ValidationError(HL7_ERROR_CODES.CONTENT, 101, message, { segmentId, field, component });
}

/** 102 "data type error" at `segmentId-field`. */
export function badValue(segmentId: string, field: number, message: string, component?: number): ValidationError {
  return hl7ValidationError(HL7_ERROR_CODES.CONTENT, 102, message, { segmentId, field, component });
}

// ---------------------------------------------------------------------------------------------
// Repetitions

/** Calls `read` for each repetition of `field` and keeps the defined results. */
export function collect<T>(seg: Hl7Segment, field: number, read: (rep: number) => T | undefined): T[] {
  const out: T[] = [];
  for (let rep = 1; rep <= repetitionCount(seg, field); rep++) {
    const v = read(rep);
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** Assigns `value` to `target[key]` only when it is defined and not an empty array. */
export function setIf<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) return;
  if (Array.isArray(value) && value.length === 0) return;
  target[key] = value;
}

// ---------------------------------------------------------------------------------------------
// Identifiers

/**
 * CX at `field`/`rep`: CX-1 value, CX-4 assigning authority (HD namespace&universal id) -> system
 * (options.identifierSystem, `urn:oid:`, `urn:wasl:assigning-authority:`, else the sending
 * facility), CX-5 identifier type (table 0203) -> type, CX-7/CX-8 effective/expiration -> period.
 */
export function readCx(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): KeyedIdentifier | undefined {
  const value = leaf(seg, field, rep, 1, 1);
  if (!value) return undefined;
  const system = identifierSystem(leaf(seg, field, rep, 4, 1), leaf(seg, field, rep, 4, 2), ctx.facilitySystem, ctx.options.identifierSystem);
  const id: KeyedIdentifier = { system, value };
  const type = leaf(seg, field, rep, 5, 1);
  if (type) id.type = { coding: [{ system: V2_0203, code: type }] };
  const start = leaf(seg, field, rep, 7, 1);
  const end = leaf(seg, field, rep, 8, 1);
  const period: Period = {};
  const s = start && hl7ToFhirDateTime(start, ctx.options.defaultTimezoneOffset);
  const e = end && hl7ToFhirDateTime(end, ctx.options.defaultTimezoneOffset);
  if (s) period.start = s;
  if (e) period.end = e;
  if (period.start || period.end) id.period = period;
  return id;
}

/** Every repetition of a CX field that has a value. */
export function readCxList(ctx: MappingContext, seg: Hl7Segment, field: number): KeyedIdentifier[] {
  return collect(seg, field, (rep) => readCx(ctx, seg, field, rep));
}

/**
 * EI (entity identifier) at `field`/`rep`: EI-1 value, EI-2 namespace / EI-3 universal id ->
 * system (same rule as CX-4). `type` (a table 0203 code such as `PLAC`/`FILL`) is added if given.
 */
export function readEi(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1, type?: string): KeyedIdentifier | undefined {
  const value = leaf(seg, field, rep, 1);
  if (!value) return undefined;
  const system = identifierSystem(leaf(seg, field, rep, 2), leaf(seg, field, rep, 3), ctx.facilitySystem, ctx.options.identifierSystem);
  const id: KeyedIdentifier = { system, value };
  if (type) id.type = { coding: [{ system: V2_0203, code: type }] };
  return id;
}

/**
 * An identifier Wasl derives for a resource that v2 gives no business identifier (a next of kin,
 * an allergy, a diagnosis): scoped to its owner (usually the Patient's identifier) and keyed by
 * what makes it unique within that owner, so a resend of the same message upserts the same
 * resource. `kind` names what it is (`related-person`, `allergy`, ...). `key` must not contain `|`
 * (Medplum cannot match an escaped `|` in a token search).
 */
export function derivedIdentifier(kind: string, owner: KeyedIdentifier, key: string): KeyedIdentifier {
  return { system: `urn:wasl:${kind}:${uriPart(`${owner.system}|${owner.value}`)}`, value: key };
}

/**
 * The message itself as an identifier: MSH-10 control id scoped by the sender
 * (`urn:wasl:hl7-control-id:<facility>`). Stable across resends of the same message, so it can
 * key resources that v2 gives no business identifier when nothing better exists.
 */
export function messageIdentifier(ctx: MappingContext): KeyedIdentifier {
  return {
    system: ctx.facilitySystem.replace('urn:wasl:sending-facility:', 'urn:wasl:hl7-control-id:'),
    value: ctx.msg.get('MSH-10.1') ?? ctx.msg.header.controlId,
  };
}

// ---------------------------------------------------------------------------------------------
// Codes

/** HL7 table 0396 coding-system names (and common variants) -> FHIR code system URIs. */
const CODE_SYSTEMS: Record<string, string> = {
  LN: 'http://loinc.org',
  LOINC: 'http://loinc.org',
  I10: 'http://hl7.org/fhir/sid/icd-10',
  ICD10: 'http://hl7.org/fhir/sid/icd-10',
  'ICD-10': 'http://hl7.org/fhir/sid/icd-10',
  I10C: 'http://hl7.org/fhir/sid/icd-10-cm',
  'I10-CM': 'http://hl7.org/fhir/sid/icd-10-cm',
  ICD10CM: 'http://hl7.org/fhir/sid/icd-10-cm',
  'ICD-10-CM': 'http://hl7.org/fhir/sid/icd-10-cm',
  I10P: 'http://www.cms.gov/Medicare/Coding/ICD10',
  ICD10PCS: 'http://www.cms.gov/Medicare/Coding/ICD10',
  I9: 'http://hl7.org/fhir/sid/icd-9-cm',
  I9C: 'http://hl7.org/fhir/sid/icd-9-cm',
  I9CDX: 'http://hl7.org/fhir/sid/icd-9-cm',
  I9CP: 'http://hl7.org/fhir/sid/icd-9-cm',
  ICD9: 'http://hl7.org/fhir/sid/icd-9-cm',
  ICD9CM: 'http://hl7.org/fhir/sid/icd-9-cm',
  SCT: 'http://snomed.info/sct',
  SNM: 'http://snomed.info/sct',
  SNM3: 'http://snomed.info/sct',
  SNOMED: 'http://snomed.info/sct',
  SNOMEDCT: 'http://snomed.info/sct',
  'SNOMED-CT': 'http://snomed.info/sct',
  CPT: 'http://www.ama-assn.org/go/cpt',
  CPT4: 'http://www.ama-assn.org/go/cpt',
  C4: 'http://www.ama-assn.org/go/cpt',
  C5: 'http://www.ama-assn.org/go/cpt',
  HCPCS: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  HPC: 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  CVX: 'http://hl7.org/fhir/sid/cvx',
  MVX: 'http://terminology.hl7.org/CodeSystem/MVX',
  NDC: 'http://hl7.org/fhir/sid/ndc',
  RXNORM: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  RXN: 'http://www.nlm.nih.gov/research/umls/rxnorm',
  UCUM: 'http://unitsofmeasure.org',
  NUCC: 'http://nucc.org/provider-taxonomy',
  CDCREC: 'urn:oid:2.16.840.1.113883.6.238',
  ISO3166_1: 'urn:iso:std:iso:3166',
  'ISO3166-1': 'urn:iso:std:iso:3166',
  ISO639: 'urn:ietf:bcp:47',
  NPI: 'http://hl7.org/fhir/sid/us-npi',
  // NCI Thesaurus: the URI registered at terminology.hl7.org (NamingSystem NCI Thesaurus).
  NCIT: 'http://ncimeta.nci.nih.gov',
};

const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;

/**
 * The FHIR code system for an HL7 coding-system name (CWE-3/6/12): table 0396 names from the list
 * above, `HL7nnnn`/`HL7-nnnn` -> `v2-nnnn`, an OID -> `urn:oid:`, a URI as is, and any other
 * (local `99zzz`, `L`, vendor names) -> `urn:wasl:code-system:<name>`, so the name is never lost.
 */
export function codeSystemUri(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const known = CODE_SYSTEMS[name.toUpperCase()];
  if (known) return known;
  const table = /^HL7-?(\d{4})$/i.exec(name);
  if (table) return v2TableSystem(table[1]);
  if (OID_RE.test(name)) return `urn:oid:${name}`;
  if (/^(https?:|urn:)/i.test(name)) return name;
  return `urn:wasl:code-system:${uriPart(name)}`;
}

/**
 * One coding of a CWE triplet at components `code`, `code+1` (text), `code+2` (system);
 * `defaultSystem` is used when the triplet names none (a field bound to an HL7 table).
 */
function tripletCoding(seg: Hl7Segment, field: number, rep: number, code: number, version: number, defaultSystem?: string): Coding | undefined {
  const id = leaf(seg, field, rep, code);
  const display = leaf(seg, field, rep, code + 1);
  if (!id) return undefined;
  const coding: Coding = {};
  const system = codeSystemUri(leaf(seg, field, rep, code + 2)) ?? defaultSystem;
  if (system) coding.system = system;
  const v = leaf(seg, field, rep, version);
  if (v) coding.version = v;
  coding.code = id;
  if (display) coding.display = display;
  return coding;
}

export interface CodeOptions {
  /** HL7 table number (`0004`) whose code system applies when CWE-3 is empty. */
  table?: string;
  /** Code system URI that applies when CWE-3 is empty (wins over `table`). */
  defaultSystem?: string;
}

/**
 * CWE / CE / CNE at `field`/`rep` -> CodeableConcept: CWE-1..3 (+7 version) the first coding,
 * CWE-4..6 (+8) the alternate, CWE-10..12 (+13) the second alternate; CWE-14 (coding system OID)
 * is the system when CWE-3 is empty; CWE-9 original text, else CWE-2, is `.text`. A value with no
 * code system, no text and a space in it (`|aortic stenosis|`) is free text, not a code.
 */
export function readCodeableConcept(seg: Hl7Segment, field: number, rep = 1, opts: CodeOptions = {}): CodeableConcept | undefined {
  const fallback = opts.defaultSystem ?? (opts.table ? v2TableSystem(opts.table) : undefined);
  const oid = leaf(seg, field, rep, 14);
  const primarySystem = oid && OID_RE.test(oid) ? `urn:oid:${oid}` : fallback;
  const id = leaf(seg, field, rep, 1);
  const originalText = leaf(seg, field, rep, 9);
  if (id && /\s/.test(id) && !leaf(seg, field, rep, 2) && !leaf(seg, field, rep, 3) && !leaf(seg, field, rep, 4) && !fallback) {
    return { text: originalText ?? id };
  }
  const coding = [
    tripletCoding(seg, field, rep, 1, 7, primarySystem),
    tripletCoding(seg, field, rep, 4, 8),
    tripletCoding(seg, field, rep, 10, 13),
  ].filter((c): c is Coding => c !== undefined);
  const text = originalText ?? leaf(seg, field, rep, 2) ?? (coding.length === 0 ? leaf(seg, field, rep, 5) : undefined);
  if (coding.length === 0 && !text) return undefined;
  const cc: CodeableConcept = {};
  if (coding.length) cc.coding = coding;
  if (text) cc.text = text;
  return cc;
}

/** Every repetition of a CWE field that has a code or a text. */
export function readCodeableConcepts(seg: Hl7Segment, field: number, opts: CodeOptions = {}): CodeableConcept[] {
  return collect(seg, field, (rep) => readCodeableConcept(seg, field, rep, opts));
}

/**
 * An ID / IS (single code) value bound to an HL7 table -> CodeableConcept with the v2 table's
 * system; also reads the first component of a CWE sent where an ID was expected.
 */
export function readTableCode(seg: Hl7Segment, field: number, table: string, rep = 1): CodeableConcept | undefined {
  return readCodeableConcept(seg, field, rep, { table });
}

// ---------------------------------------------------------------------------------------------
// Dates

/**
 * TS / DTM at `field`/`rep`/`comp` -> FHIR dateTime keeping the sent precision and offset (a TS
 * with a time but no offset takes options.defaultTimezoneOffset, else keeps only its date).
 * @throws ValidationError 102 naming `SEG-field` when the value is not a valid timestamp.
 */
export function readDateTime(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1, comp = 1): string | undefined {
  const raw = leaf(seg, field, rep, comp);
  if (!raw) return undefined;
  const value = hl7ToFhirDateTime(raw, ctx.options.defaultTimezoneOffset);
  if (!value) throw badValue(seg.id, field, `${seg.id}-${field} is not a valid HL7 timestamp`);
  return value;
}

/**
 * DT (or a TS whose time is not wanted) at `field`/`rep`/`comp` -> FHIR date.
 * @throws ValidationError 102 when the value is not a valid date.
 */
export function readDate(seg: Hl7Segment, field: number, rep = 1, comp = 1): string | undefined {
  const raw = leaf(seg, field, rep, comp);
  if (!raw) return undefined;
  const value = hl7ToFhirDate(raw);
  if (!value) throw badValue(seg.id, field, `${seg.id}-${field} is not a valid HL7 date`);
  return value;
}

/**
 * Like readDate, but an invalid value is dropped instead of rejected. For optional fields of
 * supplementary segments (IN1, GT1, NK1): the message's subject (an admission, a charge) must
 * not be refused because a sender misaligned its insurance or next-of-kin fields, and a pure
 * mapper has no channel to warn on, so the value is left out.
 */
export function readDateLenient(seg: Hl7Segment, field: number, rep = 1, comp = 1): string | undefined {
  const raw = leaf(seg, field, rep, comp);
  return raw ? hl7ToFhirDate(raw) : undefined;
}

/** DR (date range: 1 start TS, 2 end TS) or a plain TS -> Period. */
export function readPeriod(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): Period | undefined {
  const start = readDateTime(ctx, seg, field, rep, 1);
  const end = readDateTime(ctx, seg, field, rep, 2);
  if (!start && !end) return undefined;
  const p: Period = {};
  if (start) p.start = start;
  if (end) p.end = end;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Practitioner (XCN), Organization (XON), Location (PL)

/**
 * XCN name: 2 family (FN.1 surname), 3 given, 4 middle, 5 suffix, 6 prefix, 7 degree.
 * (XCN is XPN shifted by one component because XCN-1 is the id.)
 */
export function readXcnName(seg: Hl7Segment, field: number, rep = 1): HumanName | undefined {
  const family = leaf(seg, field, rep, 2, 1);
  const given = [leaf(seg, field, rep, 3), leaf(seg, field, rep, 4)].filter((v): v is string => !!v);
  const suffix = [leaf(seg, field, rep, 5), leaf(seg, field, rep, 7)].filter((v): v is string => !!v);
  const prefix = leaf(seg, field, rep, 6);
  if (!family && given.length === 0) return undefined;
  const name: HumanName = {};
  if (family) name.family = family;
  if (given.length) name.given = given;
  if (prefix) name.prefix = [prefix];
  if (suffix.length) name.suffix = suffix;
  return name;
}

/** XCN identifier: XCN-1, system from XCN-9 (HD), type XCN-13 (table 0203). */
export function readXcnIdentifier(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): KeyedIdentifier | undefined {
  const value = leaf(seg, field, rep, 1, 1);
  if (!value) return undefined;
  const system = identifierSystem(leaf(seg, field, rep, 9, 1), leaf(seg, field, rep, 9, 2), ctx.facilitySystem, ctx.options.identifierSystem);
  const id: KeyedIdentifier = { system, value };
  const type = leaf(seg, field, rep, 13);
  if (type) id.type = { coding: [{ system: V2_0203, code: type }] };
  return id;
}

function nameDisplay(name: HumanName | undefined): string | undefined {
  if (!name) return undefined;
  const s = [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean).join(' ');
  return s || undefined;
}

/**
 * XCN at `field`/`rep` -> Practitioner (conditional create on XCN-1; reference data is never
 * overwritten by a passing mention) and a Reference to it. Without XCN-1 only a display
 * Reference is returned; undefined when the XCN is empty.
 */
export function practitionerReference(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): Reference<Practitioner> | undefined {
  const name = readXcnName(seg, field, rep);
  const identifier = readXcnIdentifier(ctx, seg, field, rep);
  const display = nameDisplay(name);
  if (!identifier) return display ? { display } : undefined;
  const resource: Practitioner = { resourceType: 'Practitioner', identifier: [identifier] };
  if (name) resource.name = [name];
  const ref: Reference<Practitioner> = { reference: ctx.bundle.createIfNoneExist(resource, identifier) };
  if (display) ref.display = display;
  return ref;
}

/** Every repetition of an XCN field as a Practitioner Reference. */
export function practitionerReferences(ctx: MappingContext, seg: Hl7Segment, field: number): Reference<Practitioner>[] {
  return collect(seg, field, (rep) => practitionerReference(ctx, seg, field, rep));
}

/**
 * XON at `field`/`rep` -> Organization (conditional create) and a Reference: XON-1 name,
 * XON-10 organization identifier (else XON-3 id number), XON-6 assigning authority -> system,
 * XON-7 identifier type. Without an identifier: a display Reference.
 */
export function organizationReference(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): Reference<Organization> | undefined {
  const name = leaf(seg, field, rep, 1);
  const value = leaf(seg, field, rep, 10) ?? leaf(seg, field, rep, 3);
  if (!value) return name ? { display: name } : undefined;
  const system = identifierSystem(leaf(seg, field, rep, 6, 1), leaf(seg, field, rep, 6, 2), ctx.facilitySystem, ctx.options.identifierSystem);
  const identifier: KeyedIdentifier = { system, value };
  const type = leaf(seg, field, rep, 7);
  if (type) identifier.type = { coding: [{ system: V2_0203, code: type }] };
  const resource: Organization = { resourceType: 'Organization', identifier: [identifier] };
  if (name) resource.name = name;
  const ref: Reference<Organization> = { reference: ctx.bundle.createIfNoneExist(resource, identifier) };
  if (name) ref.display = name;
  return ref;
}

/**
 * An Organization known by an identifier and/or a name (IN1-3/IN1-4 insurer, GT1 employer):
 * conditional create when there is an identifier, else a display Reference.
 */
export function organizationFrom(
  ctx: MappingContext,
  identifier: KeyedIdentifier | undefined,
  name: string | undefined,
  extra: Partial<Organization> = {},
): Reference<Organization> | undefined {
  if (!identifier) return name ? { display: name } : undefined;
  const resource: Organization = { resourceType: 'Organization', identifier: [identifier], ...extra };
  if (name) resource.name = name;
  const ref: Reference<Organization> = { reference: ctx.bundle.createIfNoneExist(resource, identifier) };
  if (name) ref.display = name;
  return ref;
}

const LOCATION_TYPE = 'http://terminology.hl7.org/CodeSystem/location-physical-type';

/**
 * PL (person location) at `field`/`rep` -> one Location (conditional create) and a Reference.
 * PL-1 point of care, PL-2 room, PL-3 bed, PL-4 facility (HD), PL-7 building, PL-8 floor,
 * PL-9 description. Deviation from the v2-to-FHIR IG, which builds one Location per level linked
 * by partOf: v2 never identifies a room or bed on its own, so Wasl creates one Location for the
 * most specific level, identified by facility + building^floor^point of care^room^bed; its
 * physicalType says which level that is.
 */
export function locationReference(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): Reference<Location> | undefined {
  const poc = leaf(seg, field, rep, 1, 1);
  const room = leaf(seg, field, rep, 2, 1);
  const bed = leaf(seg, field, rep, 3, 1);
  const building = leaf(seg, field, rep, 7, 1);
  const floor = leaf(seg, field, rep, 8, 1);
  const description = leaf(seg, field, rep, 9);
  const facility = leaf(seg, field, rep, 4, 1) ?? leaf(seg, field, rep, 4, 2);
  const parts = [building, floor, poc, room, bed];
  if (parts.every((p) => !p)) return description ? { display: description } : undefined;
  const value = parts.map((p) => p ?? '').join('^').replace(/\^+$/, '');
  const system = facility
    ? identifierSystem(leaf(seg, field, rep, 4, 1), leaf(seg, field, rep, 4, 2), ctx.facilitySystem, ctx.options.identifierSystem)
    : ctx.facilitySystem;
  const identifier: KeyedIdentifier = { system, value };
  const name = [poc, room, bed].filter(Boolean).join(' ') || [building, floor].filter(Boolean).join(' ');
  const [code, display] = bed ? ['bd', 'Bed'] : room ? ['ro', 'Room'] : poc ? ['wa', 'Ward'] : floor ? ['lvl', 'Level'] : ['bu', 'Building'];
  const resource: Location = {
    resourceType: 'Location',
    identifier: [identifier],
    status: 'active',
    name,
    mode: 'instance',
    physicalType: { coding: [{ system: LOCATION_TYPE, code, display }] },
  };
  if (description) resource.description = description;
  return { reference: ctx.bundle.createIfNoneExist(resource, identifier), display: name };
}

// ---------------------------------------------------------------------------------------------
// Person details shared by PID, NK1, GT1, IN1

/** XAD repetitions of `field`. */
export function readAddresses(seg: Hl7Segment, field: number): NonNullable<ReturnType<typeof readAddress>>[] {
  return collect(seg, field, (rep) => readAddress(seg, field, rep));
}

/** XTN repetitions of `field` with `use` as the default use. */
export function readTelecoms(seg: Hl7Segment, field: number, use: 'home' | 'work'): NonNullable<ReturnType<typeof readTelecom>>[] {
  return collect(seg, field, (rep) => readTelecom(seg, field, rep, use));
}

const ADMIN_GENDER: Record<string, 'male' | 'female' | 'other' | 'unknown'> = { M: 'male', F: 'female', O: 'other', U: 'unknown', A: 'other', N: 'unknown' };

/** Table 0001 administrative sex -> FHIR gender (A ambiguous -> other, N not applicable -> unknown). */
export function readGender(seg: Hl7Segment, field: number): 'male' | 'female' | 'other' | 'unknown' | undefined {
  return ADMIN_GENDER[(leaf(seg, field, 1, 1) ?? '').toUpperCase()];
}
