/**
 * CAQH ProView wire shapes (../shared/domain/CAQH.md §2-§3) and their checks and parsers: pure
 * functions, no I/O. The client (client.ts) builds request bodies with `buildRoster*` and reads
 * answers with `parse*`; both throw classified WaslErrors whose messages name ids and field paths,
 * never provider data (the bodies hold SSN, date of birth, DEA).
 *
 * Tolerance, and why: the public copies of the CAQH docs spell the same keys several ways
 * (`batch_Id` in the schema, `batch_id` in the samples; `Provider_Status` in the schema table,
 * `provider_status` in the example answer) and give ids as integers in one place and strings in
 * another. The parsers therefore read keys case-insensitively and accept numbers or strings. They
 * do not guess values: unknown statuses are kept verbatim and classified by configurable lists.
 */
import { IntegrationError, ValidationError } from '../../common/errors';

/** `PV` = ProView, `DA` = DirectAssure (CAQH.md §1). Wasl speaks the ProView roster. */
export type CaqhProduct = 'PV' | 'DA';

/** The `provider` block of an add object (CAQH.md §2, "Add object"). Every value is a string on the wire. */
export interface CaqhRosterProvider {
  first_name?: string;
  middle_name?: string;
  last_name?: string;
  /** From CAQH's standard suffix list. */
  name_suffix?: string;
  gender?: string;
  address1?: string;
  address2?: string;
  city?: string;
  /** 2-letter state of the correspondence address. */
  state?: string;
  zip?: string;
  zip_extn?: string;
  phone?: string;
  fax?: string;
  email?: string;
  /** Primary practice state; drives state-mandated forms. */
  practice_state?: string;
  /** YYYYMMDD. */
  birthdate?: string;
  /** 9 digits. */
  ssn?: string;
  /** Last 2 of the SSN (Illinois re-credentialing case). */
  short_ssn?: string;
  /** `AA9999999`. */
  dea?: string;
  /** `A99999`. */
  upin?: string;
  /** ProView provider-type code. */
  type?: string;
  tax_id?: string;
  /** Type-1 NPI, 10 digits. */
  npi?: string;
  license_state?: string;
  license_number?: string;
}

/** Roster attributes shared by add and update objects (CAQH.md §2). Code values of the flags are unconfirmed: passed through verbatim. */
export interface CaqhRosterAttributes {
  caqh_provider_id?: string;
  /** The PO's own id for the provider (Wasl defaults it to the NPI). */
  po_provider_id?: string;
  /** YYYYMMDD. */
  last_recredential_date?: string;
  /** YYYYMMDD. */
  next_recredential_date?: string;
  delegation_flag?: string;
  application_type?: string;
  affiliation_flag?: string;
}

/** One add object: Initial Add (full `provider` block, no CAQH id) or Quick Add (`caqh_provider_id` known). */
export interface CaqhRosterAddEntry extends CaqhRosterAttributes {
  provider?: CaqhRosterProvider;
  region_id?: string;
}

/** One update object: the roster attributes of a provider already on the roster. */
export interface CaqhRosterUpdateEntry extends CaqhRosterAttributes {
  caqh_provider_id: string;
}

/** One de-roster object. */
export interface CaqhRosterDeleteEntry {
  caqh_provider_id: string;
}

/** What goes on the wire: the entry plus the PO's organization id. */
export type WireEntry<T> = T & { organization_id: string };

export type CaqhRosterAction = 'add' | 'update' | 'delete';

/** A batch CAQH accepted for processing (the immediate `200 {"batch_Id": …}` answer). */
export interface CaqhBatchSubmission {
  batchId: string;
  action: CaqhRosterAction;
  entries: number;
}

/** Our reading of a batch: still processing, done, or failed as a whole. */
export type CaqhBatchState = 'pending' | 'complete' | 'failed';

/** Per-provider line of a finished batch (`roster_result[]`). */
export interface CaqhRosterResultLine {
  caqhProviderId?: string;
  poProviderId?: string;
  npi?: string;
  /** `exception` when CAQH put an `exception_description` on the line, else `accepted`. */
  outcome: 'accepted' | 'exception';
  exceptionDescription?: string;
}

export interface CaqhBatchResult {
  batchId: string;
  state: CaqhBatchState;
  /** `batch_status` verbatim (the full list of values is unconfirmed). */
  batchStatus: string;
  batchTime?: string;
  lines: CaqhRosterResultLine[];
}

/** A Status Check answer (CAQH.md §3), typed. */
export interface CaqhProviderStatus {
  found: boolean;
  organizationId?: string;
  caqhProviderId: string;
  poProviderId?: string;
  /** `Roster_Status` verbatim (`ACTIVE` when on this PO's roster). */
  rosterStatus?: string;
  onRoster: boolean;
  /** `Authorization_Flag` = Y: the provider authorized this PO to view the profile. Undefined when absent. */
  authorized?: boolean;
  /** `Provider_Status` verbatim. */
  providerStatus?: string;
  /** `Provider_Status_Date` as YYYY-MM-DD. */
  providerStatusDate?: string;
  practiceState?: string;
  /**
   * The last attestation date (YYYY-MM-DD), when the answer lets us know it: the value of the
   * configured attestation-date field if the answer carries one, else `Provider_Status_Date` when
   * `Provider_Status` is one of the configured attested statuses (see {@link StatusParseOptions}).
   */
  attestedOn?: string;
  /** `Provider_Status` is one of the configured expired statuses. */
  expired: boolean;
}

/**
 * How a Status Check answer is read. Defaults and their footing (CAQH.md §3-§4):
 * - `attestedStatuses` ['Initial Profile Complete', 'Re-attestation']: the status texts named in
 *   the notes for an attested profile. Reading `Provider_Status_Date` of such a status as the
 *   attestation date is OUR INFERENCE (the API has no documented attestation-date field; CAQH
 *   stamps the date on the AAR document). Verify with the onboarding pack.
 * - `attestationDateField` (none): if your onboarding pack shows a field carrying the attestation
 *   date, name it here and it wins.
 * - `expiredStatuses` ['Expired', 'Expired Attestation']: named in the notes [C].
 * Comparisons ignore case and surrounding blanks.
 */
export interface StatusParseOptions {
  attestedStatuses?: readonly string[];
  expiredStatuses?: readonly string[];
  attestationDateField?: string;
}

/**
 * How `batch_status` is classified. The full list of values is NOT public (CAQH.md "Not
 * confirmed"). Defaults: `complete` ['Complete'], borrowed from DirectAssure's confirmed status
 * words (Queued / In_Process / Complete, CAQH.md §5); `failed` [] (no failure value is known).
 * Anything else counts as still processing, so a wrong guess means "poll until the bounded wait
 * ends", never a wrong outcome.
 */
export interface BatchParseOptions {
  completeStatuses?: readonly string[];
  failedStatuses?: readonly string[];
}

export const DEFAULT_ATTESTED_STATUSES = ['Initial Profile Complete', 'Re-attestation'] as const;
export const DEFAULT_EXPIRED_STATUSES = ['Expired', 'Expired Attestation'] as const;
export const DEFAULT_COMPLETE_BATCH_STATUSES = ['Complete'] as const;

// ---------------------------------------------------------------------------------------------
// Small readers

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const norm = (s: string): string => s.trim().toLowerCase();

/** Case-insensitive key lookup (the docs spell keys several ways). */
export function field(obj: Json, name: string): unknown {
  if (name in obj) return obj[name];
  const want = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === want) return obj[k];
  return undefined;
}

/** A string or number as a trimmed string; null, '' and other types as undefined. */
function text(obj: Json, name: string): string | undefined {
  const v = field(obj, name);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

/** `YYYYMMDD` (the wire format) → `YYYY-MM-DD`; also accepts an ISO date or date-time. */
export function caqhDate(value: string, path: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value) ?? /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(value);
  if (m) {
    const iso = `${m[1]}-${m[2]}-${m[3]}`;
    const d = new Date(`${iso}T00:00:00Z`);
    if (!Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === iso) return iso;
  }
  throw new IntegrationError('CAQH_BAD_DATE', `CAQH answered a date that is not YYYYMMDD at ${path}`, { path });
}

/** `YYYY-MM-DD` (or a Date) → the wire's `YYYYMMDD`. */
export function toCaqhDate(value: string | Date, path = 'date'): string {
  const iso = value instanceof Date ? value.toISOString().slice(0, 10) : value;
  if (/^\d{8}$/.test(iso)) return iso;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) throw new ValidationError('CAQH_DATE', `${path} must be YYYY-MM-DD or YYYYMMDD`, { path });
  return iso.replace(/-/g, '');
}

/** NPI check digit: Luhn over `80840` + the first 9 digits (CMS NPI standard, see NPPES.md). */
export function isValidNpi(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi.slice(0, 9)}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10 === Number(npi[9]);
}

// ---------------------------------------------------------------------------------------------
// Request checks (before anything leaves: a 400 from CAQH costs a round trip and a person's time)

const US_STATE = /^[A-Z]{2}$/;
const YYYYMMDD = /^\d{8}$/;

function fail(path: string, message: string): never {
  throw new ValidationError('CAQH_FIELD', `${path}: ${message}`, { path });
}

function checkDate(v: string | undefined, path: string): void {
  if (v === undefined || v === '') return;
  if (!YYYYMMDD.test(v)) fail(path, 'must be YYYYMMDD');
  caqhDateOrFail(v, path);
}

function caqhDateOrFail(v: string, path: string): void {
  try {
    caqhDate(v, path);
  } catch {
    fail(path, 'is not a calendar date');
  }
}

/** CAQH provider ids are integers (Status Check: Integer, up to 10 digits). */
export function checkCaqhProviderId(v: string | undefined, path: string): string {
  if (v === undefined || !/^\d{1,10}$/.test(v)) fail(path, 'must be 1-10 digits');
  return v;
}

/** `organization_id`: up to 5 digits (CAQH.md §1). */
export function checkOrganizationId(v: string | undefined, path = 'organizationId'): string {
  if (v === undefined || !/^\d{1,5}$/.test(v)) throw new ValidationError('CAQH_CONFIG', `${path} must be 1-5 digits`, { path });
  return v;
}

function checkAttributes(e: CaqhRosterAttributes, at: string): void {
  checkDate(e.last_recredential_date, `${at}.last_recredential_date`);
  checkDate(e.next_recredential_date, `${at}.next_recredential_date`);
  if (e.caqh_provider_id !== undefined) checkCaqhProviderId(e.caqh_provider_id, `${at}.caqh_provider_id`);
}

/** Fields the v2.1 docs mark required for an Initial Add (CAQH.md §2, `*`). */
export const INITIAL_ADD_REQUIRED = ['first_name', 'last_name', 'address1', 'city', 'state', 'zip', 'practice_state', 'birthdate', 'type', 'npi'] as const;

/**
 * Checks an add object as CAQH.md §2 describes. Initial Add: the required fields and formats of
 * the provider block. Quick Add (a CAQH id is known): the demographic block may be minimal, so
 * only the formats of what is present are checked.
 */
export function checkAddEntry(e: CaqhRosterAddEntry, at: string): void {
  if (!isObject(e as unknown)) fail(at, 'must be an object');
  checkAttributes(e, at);
  const p: CaqhRosterProvider = e.provider ?? {};
  const quick = e.caqh_provider_id !== undefined;
  if (!quick) {
    if (!e.provider) fail(`${at}.provider`, 'is required for an Initial Add (no caqh_provider_id)');
    for (const k of INITIAL_ADD_REQUIRED) {
      const v = p[k];
      if (typeof v !== 'string' || v.trim() === '') fail(`${at}.provider.${k}`, 'is required for an Initial Add');
    }
  }
  const pp = `${at}.provider`;
  for (const [k, v] of Object.entries(p)) if (v !== undefined && typeof v !== 'string') fail(`${pp}.${k}`, 'must be a string');
  if (p.state && !US_STATE.test(p.state)) fail(`${pp}.state`, 'must be a 2-letter state code');
  if (p.practice_state && !US_STATE.test(p.practice_state)) fail(`${pp}.practice_state`, 'must be a 2-letter state code');
  if (p.license_state && !US_STATE.test(p.license_state)) fail(`${pp}.license_state`, 'must be a 2-letter state code');
  checkDate(p.birthdate, `${pp}.birthdate`);
  if (p.ssn && !/^\d{9}$/.test(p.ssn)) fail(`${pp}.ssn`, 'must be 9 digits');
  if (p.short_ssn && !/^\d{2}$/.test(p.short_ssn)) fail(`${pp}.short_ssn`, 'must be the last 2 digits');
  if (p.dea && !/^[A-Z]{2}\d{7}$/.test(p.dea)) fail(`${pp}.dea`, 'must look like AA9999999');
  if (p.upin && !/^[A-Z]\d{5}$/.test(p.upin)) fail(`${pp}.upin`, 'must look like A99999');
  if (p.npi && !isValidNpi(p.npi)) fail(`${pp}.npi`, 'must be a 10-digit NPI with a valid check digit');
  if (!!p.license_state !== !!p.license_number) fail(`${pp}.license_number`, 'license_state and license_number go together: both or neither');
}

export function checkUpdateEntry(e: CaqhRosterUpdateEntry, at: string): void {
  if (!isObject(e as unknown)) fail(at, 'must be an object');
  checkCaqhProviderId(e.caqh_provider_id, `${at}.caqh_provider_id`);
  checkAttributes(e, at);
}

export function checkDeleteEntry(e: CaqhRosterDeleteEntry, at: string): void {
  if (!isObject(e as unknown)) fail(at, 'must be an object');
  checkCaqhProviderId(e.caqh_provider_id, `${at}.caqh_provider_id`);
}

function nonEmpty<T>(entries: readonly T[], what: string): void {
  if (!Array.isArray(entries) || entries.length === 0) throw new ValidationError('CAQH_EMPTY', `${what}: at least one entry`, { path: 'entries' });
}

/** The Add body: a JSON array even for one provider (CAQH.md §2), each with the PO's organization id. */
export function buildRosterAdd(entries: readonly CaqhRosterAddEntry[], organizationId: string): Array<WireEntry<CaqhRosterAddEntry>> {
  nonEmpty(entries, 'roster add');
  entries.forEach((e, i) => checkAddEntry(e, `entries[${i}]`));
  return entries.map((e) => ({ ...e, organization_id: organizationId }));
}

/** The Update body: an array of update objects (organization_id, caqh_provider_id, attributes). */
export function buildRosterUpdate(entries: readonly CaqhRosterUpdateEntry[], organizationId: string): Array<WireEntry<CaqhRosterUpdateEntry>> {
  nonEmpty(entries, 'roster update');
  entries.forEach((e, i) => checkUpdateEntry(e, `entries[${i}]`));
  return entries.map((e) => ({
    organization_id: organizationId,
    caqh_provider_id: e.caqh_provider_id,
    ...pick(e, ['po_provider_id', 'last_recredential_date', 'next_recredential_date', 'delegation_flag', 'application_type', 'affiliation_flag']),
  }));
}

/** The De-roster body: an array of `{organization_id, caqh_provider_id}`. */
export function buildRosterDelete(entries: readonly CaqhRosterDeleteEntry[], organizationId: string): Array<WireEntry<CaqhRosterDeleteEntry>> {
  nonEmpty(entries, 'de-roster');
  entries.forEach((e, i) => checkDeleteEntry(e, `entries[${i}]`));
  return entries.map((e) => ({ organization_id: organizationId, caqh_provider_id: e.caqh_provider_id }));
}

function pick<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Answer parsers

function object(body: unknown, what: string): Json {
  if (!isObject(body)) throw new IntegrationError('CAQH_BAD_RESPONSE', `CAQH ${what} answer is not a JSON object`);
  return body;
}

/** The immediate answer to add/update/delete: `{"batch_Id": "<id>"}` (also `batch_id`, `BatchId`). */
export function parseBatchAccepted(body: unknown, action: CaqhRosterAction, entries: number): CaqhBatchSubmission {
  const o = object(body, `roster ${action}`);
  const batchId = text(o, 'batch_Id') ?? text(o, 'batchId');
  if (!batchId) throw new IntegrationError('CAQH_BAD_RESPONSE', `CAQH accepted a roster ${action} without a batch_Id`, { path: 'batch_Id' });
  return { batchId, action, entries };
}

const inList = (v: string, list: readonly string[]): boolean => list.some((s) => norm(s) === norm(v));

/** One `roster_result` line. Its shape is the add object echoed back with an `exception_description`. */
function parseResultLine(line: unknown, i: number): CaqhRosterResultLine {
  if (!isObject(line)) throw new IntegrationError('CAQH_BAD_RESPONSE', `roster_result[${i}] is not an object`, { path: `roster_result[${i}]` });
  const provider = field(line, 'provider');
  const exceptionDescription = text(line, 'exception_description');
  return {
    caqhProviderId: text(line, 'caqh_provider_id'),
    poProviderId: text(line, 'po_provider_id'),
    npi: text(line, 'npi') ?? (isObject(provider) ? text(provider, 'npi') : undefined),
    outcome: exceptionDescription ? 'exception' : 'accepted',
    exceptionDescription,
  };
}

/** The Get-result answer `{batch_status, batch_time, roster_result: [...]}` (CAQH.md §2). */
export function parseBatchResult(body: unknown, batchId: string, opts: BatchParseOptions = {}): CaqhBatchResult {
  const o = object(body, 'roster result');
  const batchStatus = text(o, 'batch_status');
  if (!batchStatus) throw new IntegrationError('CAQH_BAD_RESPONSE', `CAQH roster result for batch ${batchId} has no batch_status`, { path: 'batch_status' });
  const complete = opts.completeStatuses ?? DEFAULT_COMPLETE_BATCH_STATUSES;
  const failed = opts.failedStatuses ?? [];
  const state: CaqhBatchState = inList(batchStatus, complete) ? 'complete' : inList(batchStatus, failed) ? 'failed' : 'pending';
  const raw = field(o, 'roster_result');
  const rawLines = raw === null || raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return { batchId, state, batchStatus, batchTime: text(o, 'batch_time'), lines: state === 'pending' ? [] : rawLines.map(parseResultLine) };
}

const yn = (v: string | undefined): boolean | undefined => (v === undefined ? undefined : norm(v) === 'y');

/** A Status Check answer (CAQH.md §3). `caqhProviderId` is the id asked about, used when the answer does not echo it. */
export function parseProviderStatus(body: unknown, caqhProviderId: string, opts: StatusParseOptions = {}): CaqhProviderStatus {
  const o = object(body, 'status check');
  const dateText = text(o, 'Provider_Status_Date');
  const providerStatusDate = dateText ? caqhDate(dateText, 'Provider_Status_Date') : undefined;
  const providerStatus = text(o, 'Provider_Status');
  const rosterStatus = text(o, 'Roster_Status');
  const attested = opts.attestedStatuses ?? DEFAULT_ATTESTED_STATUSES;
  const expiredList = opts.expiredStatuses ?? DEFAULT_EXPIRED_STATUSES;
  let attestedOn: string | undefined;
  if (opts.attestationDateField) {
    const v = text(o, opts.attestationDateField);
    if (v) attestedOn = caqhDate(v, opts.attestationDateField);
  }
  if (!attestedOn && providerStatus && providerStatusDate && inList(providerStatus, attested)) attestedOn = providerStatusDate;
  const foundFlag = yn(text(o, 'Provider_Found_Flag'));
  return {
    // Absent flag: treat an answer that names a status as found (the flag is optional in the schema).
    found: foundFlag ?? providerStatus !== undefined,
    organizationId: text(o, 'Organization_ID'),
    caqhProviderId: text(o, 'CAQH_Provider_ID') ?? caqhProviderId,
    poProviderId: text(o, 'PO_Provider_ID'),
    rosterStatus,
    onRoster: rosterStatus !== undefined && norm(rosterStatus) === 'active',
    authorized: yn(text(o, 'Authorization_Flag')),
    providerStatus,
    providerStatusDate,
    practiceState: text(o, 'Provider_Practice_State'),
    attestedOn,
    expired: providerStatus !== undefined && inList(providerStatus, expiredList),
  };
}

/** `{"Message": "…"}` of a 400/401 (CAQH.md §2), or undefined. Cut to keep logs small. */
export function errorMessageOf(body: unknown): string | undefined {
  let o = body;
  if (typeof body === 'string') {
    try {
      o = JSON.parse(body);
    } catch {
      return body.trim() ? body.trim().slice(0, 300) : undefined;
    }
  }
  if (!isObject(o)) return undefined;
  const m = text(o, 'Message') ?? text(o, 'error');
  return m?.slice(0, 300);
}
