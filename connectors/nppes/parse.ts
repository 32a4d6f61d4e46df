/**
 * Parses NPI Registry API v2.1 responses (NPPES.md §3) into typed records, defensively:
 *
 * - numbers as JSON numbers or strings (`number`, epochs, postal codes, phones, licences): all
 *   become strings; a postal code sent as a number gets its lost leading zeros back;
 * - missing keys (`basic`, `addresses`, `practiceLocations`, `other_names`, `endpoints`, …) and
 *   empty strings are absent fields, never `""`;
 * - `gender` or `sex`; `primary` as a boolean or `"true"`/`"Y"`;
 * - several practice locations (`practiceLocations`, and `addresses` beyond LOCATION/MAILING);
 * - deactivated and reactivated records (`basic.status` other than `A`, `deactivation_date`,
 *   `reactivation_date`): the later date wins;
 * - `result_count` is never trusted: the records are what `results` holds (it is kept as
 *   `reportedCount` for diagnostics only);
 * - a body with `Errors` (HTTP 200!) is an `IntegrationError` carrying NPPES's field and number,
 *   never "not found".
 *
 * Pure: no I/O, no clock.
 */
import { IntegrationError, ValidationError } from '../../common/errors';

export type EnumerationType = 'NPI-1' | 'NPI-2';

export interface NppesAddress {
  /** `LOCATION` (primary practice), `MAILING`, or `PRACTICE` for an entry of `practiceLocations`. */
  purpose: 'LOCATION' | 'MAILING' | 'PRACTICE' | string;
  /** `DOM` domestic, `FGN` foreign, `MIL` military. */
  type?: string;
  line: string[];
  city?: string;
  state?: string;
  postalCode?: string;
  countryCode?: string;
  countryName?: string;
  phone?: string;
  fax?: string;
  /** `practiceLocations[].update_date`. */
  updatedAt?: string;
}

export interface NppesTaxonomy {
  code: string;
  desc?: string;
  primary: boolean;
  state?: string;
  license?: string;
  /** NPI-2: `taxonomy_group`, e.g. `193400000X SINGLE SPECIALTY  GROUP`. */
  group?: string;
}

export interface NppesOtherIdentifier {
  identifier: string;
  code?: string;
  desc?: string;
  state?: string;
  issuer?: string;
}

export interface NppesOtherName {
  type?: string;
  code?: string;
  organizationName?: string;
  firstName?: string;
  lastName?: string;
  middleName?: string;
  prefix?: string;
  suffix?: string;
  credential?: string;
}

export interface NppesEndpoint {
  endpoint: string;
  endpointType?: string;
  endpointDescription?: string;
  use?: string;
  contentType?: string;
  affiliation?: string;
  affiliationName?: string;
}

export interface NppesPersonName {
  first?: string;
  last?: string;
  middle?: string;
  prefix?: string;
  suffix?: string;
  credential?: string;
}

export interface NppesRecord {
  npi: string;
  enumerationType: EnumerationType;
  kind: 'individual' | 'organization';
  status: 'active' | 'deactivated';
  /** `basic.status` as sent (`A` active). */
  statusCode?: string;
  deactivatedOn?: string;
  deactivationReason?: string;
  reactivatedOn?: string;
  replacementNpi?: string;
  enumerationDate?: string;
  /** `basic.last_updated` (YYYY-MM-DD). */
  lastUpdated?: string;
  /** From `last_updated_epoch` (seconds or ms), ISO 8601. */
  lastUpdatedAt?: string;
  createdAt?: string;
  /** NPI-1 only. */
  individual?: NppesPersonName & { gender?: string; soleProprietor?: boolean };
  /** NPI-2 only. */
  organization?: {
    name: string;
    subpart?: boolean;
    parentName?: string;
    parentTin?: string;
    authorizedOfficial?: NppesPersonName & { title?: string; phone?: string };
  };
  /** `addresses[]` (LOCATION, MAILING). */
  addresses: NppesAddress[];
  /** `practiceLocations[]`, purpose `PRACTICE`. */
  practiceLocations: NppesAddress[];
  /** Primary first, then in NPPES's order. */
  taxonomies: NppesTaxonomy[];
  identifiers: NppesOtherIdentifier[];
  otherNames: NppesOtherName[];
  endpoints: NppesEndpoint[];
}

export interface NppesResponse {
  records: NppesRecord[];
  /** `result_count` as NPPES sent it: informational only, it does not always match `results`. */
  reportedCount?: number;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A scalar as a trimmed string; numbers and booleans too; blanks and objects are undefined. */
function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim() || undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return String(v);
  return undefined;
}

function arr(v: unknown): Obj[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  const s = str(v)?.toUpperCase();
  if (s === undefined) return undefined;
  if (['TRUE', 'Y', 'YES', '1'].includes(s)) return true;
  if (['FALSE', 'N', 'NO', '0'].includes(s)) return false;
  return undefined;
}

/** Drops undefined properties so records compare and serialise cleanly. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

/**
 * US postal codes are 5 or 9 digits; sent as a JSON number, a leading zero is lost (02134 →
 * 2134), so digits-only values shorter than 5 (or between 6 and 8) are zero-padded.
 */
export function normalisePostalCode(v: unknown, countryCode?: string): string | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if ((countryCode ?? 'US') !== 'US' || !/^[0-9]+$/.test(s)) return s;
  if (s.length < 5) return s.padStart(5, '0');
  if (s.length > 5 && s.length < 9) return s.padStart(9, '0');
  return s;
}

/** Epoch seconds or milliseconds (number or string) → ISO 8601. */
function epoch(v: unknown): string | undefined {
  const s = str(v);
  if (s === undefined || !/^[0-9]+(\.[0-9]+)?$/.test(s)) return undefined;
  const n = Number(s);
  // Seconds until the year 33658; NPPES sends seconds, some mirrors ms.
  const d = new Date(n < 1e12 ? n * 1000 : n);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** YYYY-MM-DD (also accepts MM/DD/YYYY as in the NPPES CSV files). */
function date(v: unknown): string | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  const us = /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(s);
  if (us) return `${us[3]}-${us[1]}-${us[2]}`;
  const iso = /^(\d{4}-\d{2}-\d{2})/.exec(s);
  return iso ? iso[1] : s;
}

function parseAddress(a: Obj, purposeDefault: string): NppesAddress {
  const countryCode = str(a.country_code)?.toUpperCase();
  return compact({
    purpose: str(a.address_purpose)?.toUpperCase() ?? purposeDefault,
    type: str(a.address_type),
    line: [str(a.address_1), str(a.address_2)].filter((l): l is string => l !== undefined),
    city: str(a.city),
    state: str(a.state),
    postalCode: normalisePostalCode(a.postal_code, countryCode),
    countryCode,
    countryName: str(a.country_name),
    phone: str(a.telephone_number),
    fax: str(a.fax_number),
    updatedAt: str(a.update_date),
  });
}

function parseTaxonomy(t: Obj): NppesTaxonomy | undefined {
  const code = str(t.code)?.toUpperCase();
  if (!code) return undefined;
  return compact({ code, desc: str(t.desc), primary: bool(t.primary) ?? false, state: str(t.state), license: str(t.license), group: str(t.taxonomy_group) });
}

function enumerationTypeOf(r: Obj, basic: Obj, npi: string, path: string): EnumerationType {
  const raw = str(r.enumeration_type)?.toUpperCase().replace(/\s+/g, '');
  if (raw === 'NPI-1' || raw === '1' || raw === 'NPI1') return 'NPI-1';
  if (raw === 'NPI-2' || raw === '2' || raw === 'NPI2') return 'NPI-2';
  if (raw !== undefined) throw new IntegrationError('NPPES_BAD_RECORD', `NPPES record ${npi}: unknown enumeration_type`, { path: `${path}.enumeration_type` });
  // Missing key: the basic block tells (an organization has a legal name).
  return str(basic.organization_name) ? 'NPI-2' : 'NPI-1';
}

/**
 * Active unless `basic.status` says otherwise or a deactivation date is not followed by a later
 * reactivation date (NPPES.md §4 sync rule). The API normally lists active NPIs only; mirrors,
 * the simulator and the CSV-derived records carry the dates.
 */
function statusOf(basic: Obj): Pick<NppesRecord, 'status' | 'statusCode' | 'deactivatedOn' | 'reactivatedOn' | 'deactivationReason' | 'replacementNpi'> {
  const statusCode = str(basic.status)?.toUpperCase();
  const deactivatedOn = date(basic.deactivation_date ?? basic.npi_deactivation_date);
  const reactivatedOn = date(basic.reactivation_date ?? basic.npi_reactivation_date);
  let status: NppesRecord['status'] = statusCode === undefined || statusCode === 'A' ? 'active' : 'deactivated';
  if (deactivatedOn) status = reactivatedOn && reactivatedOn >= deactivatedOn ? 'active' : 'deactivated';
  else if (reactivatedOn) status = 'active';
  return compact({
    status,
    statusCode,
    deactivatedOn: status === 'deactivated' ? deactivatedOn : undefined,
    reactivatedOn,
    deactivationReason: str(basic.deactivation_reason_code ?? basic.deactivation_reason),
    replacementNpi: str(basic.replacement_npi),
  });
}

/**
 * One entry of `results[]`. `path` names it in errors (`results[3]`). Throws IntegrationError for
 * a record without a usable `number` (NPPES sent something we cannot key).
 */
export function parseNppesRecord(raw: unknown, path = 'result'): NppesRecord {
  if (!isObj(raw)) throw new IntegrationError('NPPES_BAD_RECORD', `NPPES ${path} is not an object`, { path });
  const npi = str(raw.number);
  if (!npi || !/^[0-9]{10}$/.test(npi)) throw new IntegrationError('NPPES_BAD_RECORD', `NPPES ${path} has no 10-digit number`, { path: `${path}.number` });
  const basic = isObj(raw.basic) ? raw.basic : {};
  const enumerationType = enumerationTypeOf(raw, basic, npi, path);
  const name = (prefix: string): NppesPersonName =>
    compact({
      first: str(basic[`${prefix}first_name`]),
      last: str(basic[`${prefix}last_name`]),
      middle: str(basic[`${prefix}middle_name`]),
      prefix: str(basic[`${prefix}name_prefix`]),
      suffix: str(basic[`${prefix}name_suffix`]),
      credential: str(basic[`${prefix}credential`]),
    });

  const record: NppesRecord = {
    npi,
    enumerationType,
    kind: enumerationType === 'NPI-1' ? 'individual' : 'organization',
    ...statusOf(basic),
    addresses: arr(raw.addresses).map((a) => parseAddress(a, 'LOCATION')),
    practiceLocations: arr(raw.practiceLocations ?? raw.practice_locations).map((a) => parseAddress({ ...a, address_purpose: 'PRACTICE' }, 'PRACTICE')),
    taxonomies: arr(raw.taxonomies).map(parseTaxonomy).filter((t): t is NppesTaxonomy => t !== undefined),
    identifiers: arr(raw.identifiers)
      .map((i) => compact({ identifier: str(i.identifier) ?? '', code: str(i.code), desc: str(i.desc), state: str(i.state), issuer: str(i.issuer) }))
      .filter((i) => i.identifier !== ''),
    otherNames: arr(raw.other_names).map((o) =>
      compact({
        type: str(o.type),
        code: str(o.code),
        organizationName: str(o.organization_name),
        firstName: str(o.first_name),
        lastName: str(o.last_name),
        middleName: str(o.middle_name),
        prefix: str(o.prefix ?? o.name_prefix),
        suffix: str(o.suffix ?? o.name_suffix),
        credential: str(o.credential),
      }),
    ),
    endpoints: arr(raw.endpoints)
      .map((e) =>
        compact({
          endpoint: str(e.endpoint) ?? '',
          endpointType: str(e.endpointType ?? e.endpoint_type),
          endpointDescription: str(e.endpointDescription ?? e.endpoint_description),
          use: str(e.use),
          contentType: str(e.contentType ?? e.content_type),
          affiliation: str(e.affiliation),
          affiliationName: str(e.affiliationName ?? e.affiliation_name),
        }),
      )
      .filter((e) => e.endpoint !== ''),
    enumerationDate: date(basic.enumeration_date),
    lastUpdated: date(basic.last_updated),
    lastUpdatedAt: epoch(raw.last_updated_epoch),
    createdAt: epoch(raw.created_epoch),
  };
  // Primary taxonomy first; the others keep NPPES's order (Array.prototype.sort is stable).
  record.taxonomies.sort((a, b) => Number(b.primary) - Number(a.primary));

  if (enumerationType === 'NPI-1') {
    const gender = str(basic.gender ?? basic.sex)?.toUpperCase();
    record.individual = compact({ ...name(''), gender, soleProprietor: bool(basic.sole_proprietor) });
  } else {
    const official = compact({
      ...name('authorized_official_'),
      title: str(basic.authorized_official_title_or_position),
      phone: str(basic.authorized_official_telephone_number),
    });
    record.organization = compact({
      name: str(basic.organization_name) ?? str(basic.name) ?? '',
      subpart: bool(basic.organizational_subpart),
      parentName: str(basic.parent_organization_legal_business_name),
      parentTin: str(basic.parent_organization_ein),
      authorizedOfficial: Object.keys(official).length > 0 ? official : undefined,
    });
  }
  return compact(record);
}

/** The `Errors` NPPES answers bad criteria with (HTTP 200, no `results`). */
export interface NppesApiError {
  description: string;
  field?: string;
  number?: string;
}

/** NPPES's `Errors` list when the body is an error answer, else undefined. */
export function nppesErrors(body: unknown): NppesApiError[] | undefined {
  if (!isObj(body)) return undefined;
  const errors = body.Errors ?? body.errors;
  if (!Array.isArray(errors)) return undefined;
  return errors.map((e) => (isObj(e) ? compact({ description: str(e.description) ?? 'unspecified error', field: str(e.field), number: str(e.number) }) : { description: str(e) ?? 'unspecified error' }));
}

/**
 * A whole API answer. Throws:
 * - `IntegrationError` `NPPES_QUERY_REJECTED` for an `Errors` body (details.errors: field, number,
 *   description; path: the first field), so a caller fixes the criteria instead of concluding
 *   "no such NPI";
 * - `IntegrationError` `NPPES_BAD_RESPONSE` for a body that is neither (no `results` array);
 * - `IntegrationError` `NPPES_BAD_RECORD` for a result without a usable NPI.
 */
export function parseNppesResponse(body: unknown): NppesResponse {
  const errors = nppesErrors(body);
  if (errors) {
    const summary = errors.map((e) => [e.field, e.number].filter(Boolean).join(' #') + (e.field || e.number ? ': ' : '') + e.description).join('; ');
    throw new IntegrationError('NPPES_QUERY_REJECTED', `NPPES rejected the search criteria: ${summary}`, { path: errors[0]?.field, details: { errors } });
  }
  if (!isObj(body) || (body.results !== undefined && !Array.isArray(body.results))) {
    throw new IntegrationError('NPPES_BAD_RESPONSE', 'NPPES answer is neither results nor Errors');
  }
  if (body.results === undefined && body.result_count === undefined) {
    throw new IntegrationError('NPPES_BAD_RESPONSE', 'NPPES answer has no results');
  }
  const results = Array.isArray(body.results) ? body.results : [];
  const reported = str(body.result_count);
  return compact({
    records: results.map((r, i) => parseNppesRecord(r, `results[${i}]`)),
    reportedCount: reported !== undefined && /^[0-9]+$/.test(reported) ? Number(reported) : undefined,
  });
}

/**
 * Reads a saved API answer (the CLI's FILE): an API response body, one `results[]` entry, or an
 * array of them. Not JSON → ValidationError.
 */
export function parseSavedNppes(text: string): NppesResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('NPPES_NOT_JSON', `not JSON: ${(err as Error).message}`);
  }
  if (Array.isArray(body)) return { records: body.map((r, i) => parseNppesRecord(r, `[${i}]`)) };
  if (isObj(body) && body.number !== undefined && body.results === undefined) return { records: [parseNppesRecord(body)] };
  return parseNppesResponse(body);
}

/** "Given Family, CRED" for an individual, the legal name for an organization (ProviderRecord.name). */
export function displayName(record: NppesRecord): string {
  if (record.organization) return record.organization.name;
  const p = record.individual ?? {};
  const name = [p.first, p.last].filter(Boolean).join(' ');
  return p.credential ? `${name}, ${p.credential}` : name;
}
