/**
 * What the failed-claims workbench accepts from outside: list filters (query string or JSON) and
 * repair patches. Everything is checked here, once, so that a bad filter or patch is a 400 that
 * says what is wrong, where and why, and the SQL and the stored claim only ever see checked values.
 *
 * Error messages name fields and types, never the values sent: a patch may hold a member id or a
 * patient name, and error text reaches logs.
 */
import { ValidationError } from '../../common/errors';
import type { Claim, ClaimLine } from '../../transformers/claims/types';

/** Largest page of the list. */
export const MAX_LIST_LIMIT = 500;
export const DEFAULT_LIST_LIMIT = 50;
/** Most claims one bulk reprocess takes (the rest wait for the next run). */
export const MAX_REPROCESS = 10_000;

export type FailedClaimStatus = 'open' | 'resolved' | 'all';

export interface FailedClaimFilter {
  /** Claims failing this rule id (any of their reasons). */
  rule?: string;
  facilityId?: string;
  payerId?: string;
  /** Earliest date of service, inclusive (`YYYY-MM-DD`). */
  from?: string;
  /** Latest date of service, inclusive. */
  to?: string;
  /** Default `open`. */
  status?: FailedClaimStatus;
}

export interface ListFilter extends FailedClaimFilter {
  /** Default 50, at most 500. */
  limit?: number;
  /** Keyset cursor: rows with an id after this one (the `next` of the previous page). */
  after?: string;
}

const FILTER_KEYS = ['rule', 'facilityId', 'payerId', 'from', 'to', 'status'] as const;
const LIST_KEYS = [...FILTER_KEYS, 'limit', 'after'] as const;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ID = /^[1-9]\d{0,17}$/;

function bad(code: string, path: string, message: string): ValidationError {
  return new ValidationError(code, `${path}: ${message}`, { path });
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function isIsoDate(s: string): boolean {
  if (!ISO_DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** A failed_claims id as the API takes it (a positive bigint in decimal). */
export function parseFailedClaimId(value: unknown, where: string): string {
  if (typeof value !== 'string' || !ID.test(value)) throw bad('WORKBENCH_ID', where, `must be a failed-claim id (a positive whole number), got ${typeof value === 'string' ? 'text that is not one' : typeName(value)}`);
  return value;
}

/**
 * Checks a filter. `where` names the source in messages (`query`, `body.filter`); `list` also
 * accepts `limit` and `after`. Query strings arrive as text, JSON bodies typed: both are accepted
 * for `limit`.
 */
export function parseFilter(input: Record<string, unknown>, where: string, list: true): ListFilter;
export function parseFilter(input: Record<string, unknown>, where: string, list: false): FailedClaimFilter;
export function parseFilter(input: Record<string, unknown>, where: string, list: boolean): ListFilter {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('WORKBENCH_FILTER', where, `must be an object of filters, got ${typeName(input)}`);
  const allowed: readonly string[] = list ? LIST_KEYS : FILTER_KEYS;
  const out: ListFilter = {};
  for (const [key, raw] of Object.entries(input)) {
    const path = `${where}.${key}`;
    if (!allowed.includes(key)) {
      const hint = !list && (key === 'limit' || key === 'after') ? ' (reprocess takes every matching claim, up to 10,000: limit and after only page the list)' : '';
      throw bad('WORKBENCH_FILTER', path, `unknown filter${hint}; use ${allowed.join(', ')}`);
    }
    if (raw === undefined || raw === '') continue;
    if (Array.isArray(raw)) throw bad('WORKBENCH_FILTER', path, 'given more than once; give it once');
    if (key === 'limit') {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > MAX_LIST_LIMIT) throw bad('WORKBENCH_FILTER', path, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
      out.limit = n;
      continue;
    }
    if (typeof raw !== 'string') throw bad('WORKBENCH_FILTER', path, `must be text, got ${typeName(raw)}`);
    const v = raw.trim();
    switch (key) {
      case 'rule':
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(v)) throw bad('WORKBENCH_FILTER', path, 'must be a rule id (letters, digits, _ . -; at most 64), e.g. ICD10_FORMAT');
        out.rule = v;
        break;
      case 'facilityId':
      case 'payerId':
        if (v.length > 32) throw bad('WORKBENCH_FILTER', path, 'is longer than 32 characters (the column width)');
        out[key] = v;
        break;
      case 'from':
      case 'to':
        if (!isIsoDate(v)) throw bad('WORKBENCH_FILTER', path, 'must be a date of service as YYYY-MM-DD');
        out[key] = v;
        break;
      case 'status':
        if (v !== 'open' && v !== 'resolved' && v !== 'all') throw bad('WORKBENCH_FILTER', path, 'must be open, resolved or all');
        out.status = v;
        break;
      case 'after':
        out.after = parseFailedClaimId(v, path);
        break;
    }
  }
  if (out.from && out.to && out.from > out.to) throw bad('WORKBENCH_FILTER', `${where}.from`, 'is after `to`: the date range is empty');
  return out;
}

/** Ids for a reprocess: a non-empty list of failed-claim ids, at most MAX_REPROCESS. */
export function parseIds(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw bad('WORKBENCH_IDS', where, `must be an array of failed-claim ids, got ${typeName(value)}`);
  if (value.length === 0) throw bad('WORKBENCH_IDS', where, 'is empty: name at least one failed claim');
  if (value.length > MAX_REPROCESS) throw bad('WORKBENCH_IDS', where, `names ${value.length} claims; at most ${MAX_REPROCESS} at a time`);
  const ids = value.map((v, i) => parseFailedClaimId(typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v, `${where}[${i}]`));
  return [...new Set(ids)];
}

// ---------------------------------------------------------------- patches

/**
 * A repair: top-level claim fields, and line fields by line position. `lines` is either an object
 * keyed by 0-based position (`{ "1": { "units": 1 } }`) or an array aligned with the claim's lines
 * where `null` (or `{}`) leaves a line alone. `null` removes an optional field. Lines cannot be
 * added or removed here, and `stagingId` (the row's identity) and `line` (the line number) are not
 * editable.
 */
export interface ClaimPatch {
  fields: Partial<Record<TopField, unknown>>;
  lines: Map<number, Partial<Record<LineField, unknown>>>;
}

type Kind = 'string' | 'optionalString' | 'stringArray' | 'integer' | 'optionalInteger' | 'number' | 'integerArray' | 'locality';

/** Editable top-level fields with their type and, for text, the widest value the tables take. */
const TOP_FIELDS = {
  claimId: ['string', 38],
  facilityId: ['string', 32],
  frequency: ['optionalString', 1],
  originalReference: ['optionalString', 50],
  payerId: ['string', 32],
  memberId: ['string', 80],
  patientFamily: ['string', 100],
  patientGiven: ['string', 100],
  birthDate: ['string', 10],
  sex: ['string', 1],
  billingNpi: ['string', 10],
  renderingNpi: ['optionalString', 10],
  placeOfService: ['string', 2],
  diagnoses: ['stringArray', 12],
  totalChargeCents: ['integer', 0],
  locality: ['locality', 0],
} as const satisfies Record<string, readonly [Kind, number]>;

const LINE_FIELDS = {
  serviceFrom: ['string', 10],
  serviceTo: ['optionalString', 10],
  procedureCode: ['string', 12],
  modifiers: ['stringArray', 8],
  units: ['number', 0],
  chargeCents: ['integer', 0],
  placeOfService: ['optionalString', 2],
  diagnosisPointers: ['integerArray', 12],
  renderingNpi: ['optionalString', 10],
} as const satisfies Record<string, readonly [Kind, number]>;

type TopField = keyof typeof TOP_FIELDS;
type LineField = keyof typeof LINE_FIELDS;

export const EDITABLE_CLAIM_FIELDS: readonly string[] = [...Object.keys(TOP_FIELDS), 'lines'];
export const EDITABLE_LINE_FIELDS: readonly string[] = Object.keys(LINE_FIELDS);

/** Longest text any array element may hold (codes, modifiers). */
const ELEMENT_WIDTH = 16;

function checkValue(kind: Kind, width: number, v: unknown, path: string): unknown {
  const mustBe = (what: string) => bad('WORKBENCH_PATCH', path, `must be ${what}, got ${typeName(v)}`);
  switch (kind) {
    case 'string':
    case 'optionalString':
      if (v === null && kind === 'optionalString') return null;
      if (typeof v !== 'string') throw mustBe(kind === 'optionalString' ? 'text or null (to remove it)' : 'text');
      if (v.length > width) throw bad('WORKBENCH_PATCH', path, `is ${v.length} characters; at most ${width} fit`);
      return v;
    case 'stringArray':
      if (!Array.isArray(v)) throw mustBe('an array of text');
      if (v.length > width) throw bad('WORKBENCH_PATCH', path, `has ${v.length} entries; at most ${width}`);
      v.forEach((e, i) => {
        if (typeof e !== 'string') throw bad('WORKBENCH_PATCH', `${path}[${i}]`, `must be text, got ${typeName(e)}`);
        if (e.length > ELEMENT_WIDTH) throw bad('WORKBENCH_PATCH', `${path}[${i}]`, `is ${e.length} characters; at most ${ELEMENT_WIDTH}`);
      });
      return [...v];
    case 'integer':
    case 'optionalInteger':
      if (v === null && kind === 'optionalInteger') return null;
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw mustBe('a whole number (cents)');
      return v;
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw mustBe('a number');
      return v;
    case 'integerArray':
      if (!Array.isArray(v)) throw mustBe('an array of whole numbers');
      if (v.length > width) throw bad('WORKBENCH_PATCH', path, `has ${v.length} entries; at most ${width}`);
      v.forEach((e, i) => {
        if (typeof e !== 'number' || !Number.isSafeInteger(e)) throw bad('WORKBENCH_PATCH', `${path}[${i}]`, `must be a whole number, got ${typeName(e)}`);
      });
      return [...v];
    case 'locality': {
      if (v === null) return null;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw mustBe('an object { mac, locality } or null');
      const o = v as Record<string, unknown>;
      for (const k of Object.keys(o)) if (k !== 'mac' && k !== 'locality') throw bad('WORKBENCH_PATCH', `${path}.${k}`, 'unknown field; a locality has mac and locality');
      const mac = checkValue('string', 10, o.mac, `${path}.mac`) as string;
      const locality = checkValue('string', 4, o.locality, `${path}.locality`) as string;
      return { mac, locality };
    }
  }
}

function checkLinePatch(v: unknown, path: string): Partial<Record<LineField, unknown>> | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('WORKBENCH_PATCH', path, `must be an object of line fields, got ${typeName(v)}`);
  const out: Partial<Record<LineField, unknown>> = {};
  for (const [k, fv] of Object.entries(v as Record<string, unknown>)) {
    const spec = (LINE_FIELDS as Record<string, readonly [Kind, number]>)[k];
    if (!spec) {
      const why = k === 'line' ? 'the line number is not editable' : `unknown line field; editable: ${EDITABLE_LINE_FIELDS.join(', ')}`;
      throw bad('WORKBENCH_PATCH', `${path}.${k}`, why);
    }
    out[k as LineField] = checkValue(spec[0], spec[1], fv, `${path}.${k}`);
  }
  return Object.keys(out).length ? out : undefined;
}

/** Checks a repair patch against the claim's shape (not its business rules: reprocess does that). */
export function parseClaimPatch(input: unknown, lineCount: number, where = 'body'): ClaimPatch {
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('WORKBENCH_PATCH', where, `must be a JSON object of claim fields, got ${typeName(input)}`);
  const patch: ClaimPatch = { fields: {}, lines: new Map() };
  for (const [key, v] of Object.entries(input as Record<string, unknown>)) {
    const path = `${where}.${key}`;
    if (key === 'lines') {
      const entries: Array<[string, unknown]> = Array.isArray(v)
        ? v.map((e, i) => [String(i), e])
        : v && typeof v === 'object'
          ? Object.entries(v as Record<string, unknown>)
          : (() => {
              throw bad('WORKBENCH_PATCH', path, `must be an object keyed by line position ({"0": {...}}) or an array aligned with the lines, got ${typeName(v)}`);
            })();
      if (Array.isArray(v) && v.length > lineCount) throw bad('WORKBENCH_PATCH', path, `has ${v.length} entries but the claim has ${lineCount} lines; adding lines is not supported`);
      for (const [pos, lv] of entries) {
        const linePath = `${path}[${pos}]`;
        if (!/^\d+$/.test(pos) || Number(pos) >= lineCount) {
          throw bad('WORKBENCH_PATCH', linePath, `no such line: the claim has ${lineCount} line${lineCount === 1 ? '' : 's'} (positions 0 to ${lineCount - 1}); adding lines is not supported`);
        }
        const lp = checkLinePatch(lv, linePath);
        if (lp) patch.lines.set(Number(pos), lp);
      }
      continue;
    }
    const spec = (TOP_FIELDS as Record<string, readonly [Kind, number]>)[key];
    if (!spec) {
      const why = key === 'stagingId' ? 'the staging id identifies the claim and is not editable' : `unknown claim field; editable: ${EDITABLE_CLAIM_FIELDS.join(', ')}`;
      throw bad('WORKBENCH_PATCH', path, why);
    }
    patch.fields[key as TopField] = checkValue(spec[0], spec[1], v, path);
  }
  if (Object.keys(patch.fields).length === 0 && patch.lines.size === 0) throw bad('WORKBENCH_PATCH', where, 'changes no field');
  return patch;
}

/** The claim with the patch applied (a copy) and the paths whose value changed. */
export function applyClaimPatch(claim: Claim, patch: ClaimPatch): { claim: Claim; changed: string[] } {
  const next = structuredClone(claim) as Claim;
  const changed: string[] = [];
  const target = next as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch.fields)) {
    if (JSON.stringify(target[k] ?? null) === JSON.stringify(v ?? null)) continue;
    if (v === null) delete target[k];
    else target[k] = v;
    changed.push(k);
  }
  for (const [i, lp] of patch.lines) {
    const line = next.lines[i] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(lp)) {
      if (JSON.stringify(line[k] ?? null) === JSON.stringify(v ?? null)) continue;
      if (v === null) delete line[k];
      else line[k] = v;
      changed.push(`lines[${i}].${k}`);
    }
  }
  return { claim: next, changed };
}

/** Field path → value of every leaf field (arrays whole), for audit diffs. */
export function flattenClaim(claim: Partial<Claim>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(claim)) {
    if (k === 'lines' && Array.isArray(v)) {
      (v as ClaimLine[]).forEach((l, i) => {
        for (const [lk, lv] of Object.entries(l)) out.set(`lines[${i}].${lk}`, lv);
      });
    } else out.set(k, v);
  }
  return out;
}

/** What differs between two versions of a claim, path by path. */
export function claimChanges(before: Partial<Claim>, after: Partial<Claim>): Array<{ field: string; before: unknown; after: unknown }> {
  const a = flattenClaim(before);
  const b = flattenClaim(after);
  const fields = [...new Set([...a.keys(), ...b.keys()])];
  return fields.filter((f) => JSON.stringify(a.get(f) ?? null) !== JSON.stringify(b.get(f) ?? null)).map((f) => ({ field: f, before: a.get(f) ?? null, after: b.get(f) ?? null }));
}
