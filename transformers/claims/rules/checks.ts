/**
 * The check vocabulary of the rule language. A rule names one check and gives its parameters;
 * adding a rule that uses an existing check is a change to rules.yaml only.
 *
 * Each check declares its parameters (validated when the rule file is loaded) and builds, once, a
 * test over one value of the rule's field. Except `required`, `required-if` and the count checks,
 * a check passes a missing value: absence is the `required` rule's business, so one missing field
 * gives one failure.
 */
import { codeSetHas } from './codesets';
import { makeGetter, makeWalker, parentPath, parsePath, type FieldPath } from './paths';
import { isIsoDate, isMissing, isoMinusDays, isValidNpi, sameCode, valueText } from './primitives';
import type { CodeNormalization, CodeSet, Frame, RunContext } from './types';

type ParamType = 'string' | 'number' | 'integer' | 'strings' | 'path' | 'regex' | 'codeset' | 'normalize';

interface ParamSpec {
  readonly type: ParamType;
  readonly required?: boolean;
  readonly doc: string;
}

/** What a check builds: a test of one value (false = the rule fails for it). */
export interface BuiltCheck {
  test(value: unknown, idx: number[], frame: Frame): boolean;
  /** A missing value passes without calling `test` (the engine checks it inline). */
  skipMissing?: boolean;
  /** The value the failure shows, when it is not the field's value itself. */
  show?(value: unknown, idx: number[], frame: Frame): string;
  /** Per-call preparation (batch state, date cut-offs). */
  begin?(rc: RunContext): void;
}

export interface BuildEnv {
  readonly field: FieldPath;
  readonly params: Readonly<Record<string, unknown>>;
  readonly codesets: Readonly<Record<string, CodeSet>>;
}

export interface CheckSpec {
  readonly doc: string;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** Throws Error with a plain message when the rule cannot work (the loader adds where). */
  build(env: BuildEnv): BuiltCheck;
}

const NORMALIZATIONS: readonly CodeNormalization[] = ['none', 'upper', 'icd'];

/** Checks a parameter's type; returns a message or undefined. */
export function paramProblem(name: string, spec: ParamSpec, value: unknown, codesets: Readonly<Record<string, CodeSet>>): string | undefined {
  switch (spec.type) {
    case 'string':
    case 'path':
    case 'regex':
      if (typeof value !== 'string' || value === '') return `'${name}' must be a non-empty string`;
      if (spec.type === 'path') {
        try {
          parsePath(value);
        } catch (err) {
          return `'${name}': ${(err as Error).message}`;
        }
      }
      if (spec.type === 'regex') {
        try {
          new RegExp(value);
        } catch (err) {
          return `'${name}' is not a valid regular expression: ${(err as Error).message}`;
        }
      }
      return undefined;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `'${name}' must be a number`;
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? undefined : `'${name}' must be a whole number >= 0`;
    case 'strings':
      return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' || typeof v === 'number')
        ? undefined
        : `'${name}' must be a non-empty list of strings`;
    case 'codeset':
      if (typeof value !== 'string') return `'${name}' must name a code set`;
      return Object.hasOwn(codesets, value)
        ? undefined
        : `'${name}' names code set '${value}', which the rule set does not define (defined: ${Object.keys(codesets).join(', ') || 'none'})`;
    case 'normalize':
      return NORMALIZATIONS.includes(value as CodeNormalization) ? undefined : `'${name}' must be one of ${NORMALIZATIONS.join(', ')}`;
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** A test of present values: a missing value passes. */
function present(test: (v: unknown, idx: number[], frame: Frame) => boolean): BuiltCheck {
  return { test, skipMissing: true };
}

/** Elements of a list; anything else counts 0 (a list field holding text is as good as no list). */
function count(v: unknown): number {
  return Array.isArray(v) ? v.length : 0;
}

/** What a count failure shows: the count, or the stray non-list value itself. */
function showCount(v: unknown): string {
  return Array.isArray(v) || isMissing(v) ? String(count(v)) : valueText(v);
}

const CLAIM_FREQUENCY_CORRECTIONS = ['7', '8'];

/** Corrections (CLAIMS.md §6): a 7/8 that names the claim it replaces is not a duplicate. */
function exemptFrom(params: Readonly<Record<string, unknown>>): (claim: Frame['claim']) => boolean {
  const freqs = new Set(((params.exemptFrequencies as unknown[] | undefined) ?? CLAIM_FREQUENCY_CORRECTIONS).map(String));
  return (claim) => freqs.has(claim.frequency ?? '1') && !isMissing(claim.originalReference);
}

/** The duplicate key of CLAIMS.md §6, as production keys are built (see claimKey in validate.ts). */
export function claimKey(facilityId: string, claimId: string): string {
  return `${facilityId}\u0000${claimId}`;
}

export const CHECKS: Readonly<Record<string, CheckSpec>> = {
  required: {
    doc: 'The value is present: not absent, null, blank text or NaN.',
    params: {},
    build: () => ({ test: (v) => !isMissing(v) }),
  },

  'required-if': {
    doc: 'The value is present when the field `when` (same indexes) has one of the values `in`.',
    params: {
      when: { type: 'path', required: true, doc: 'the field deciding whether this one is required' },
      in: { type: 'strings', required: true, doc: 'values of `when` that make this field required' },
    },
    build({ field, params }) {
      const when = makeGetter(parsePath(params.when), field.wildcards);
      const values = new Set((params.in as unknown[]).map(String));
      return {
        test: (v, idx, frame) => {
          const w = when(frame.claim, idx);
          return isMissing(w) || !values.has(String(w)) || !isMissing(v);
        },
      };
    },
  },

  pattern: {
    doc: 'Text matching the regular expression `pattern` (anchor it with ^ and $).',
    params: {
      pattern: { type: 'regex', required: true, doc: 'JavaScript regular expression' },
      flags: { type: 'string', doc: "regular expression flags, e.g. 'i'" },
    },
    build({ params }) {
      const flags = params.flags === undefined ? '' : String(params.flags);
      if (/[gy]/.test(flags)) throw new Error("'flags' may not contain g or y (stateful matching)");
      const re = new RegExp(String(params.pattern), flags);
      return present((v) => typeof v === 'string' && re.test(v));
    },
  },

  'in-list': {
    doc: 'One of the listed `values` (compared as text).',
    params: { values: { type: 'strings', required: true, doc: 'allowed values' } },
    build({ params }) {
      const values = new Set((params.values as unknown[]).map(String));
      return present((v) => values.has(typeof v === 'string' ? v : String(v)));
    },
  },

  'in-codeset': {
    doc: 'A member of the named code set (see `codesets:`), compared as the set normalizes codes.',
    params: { codeset: { type: 'codeset', required: true, doc: 'name of a code set of this rule set' } },
    build({ params, codesets }) {
      const set = codesets[String(params.codeset)];
      return present((v) => typeof v === 'string' && codeSetHas(set, v));
    },
  },

  date: {
    doc: 'A real calendar date written YYYY-MM-DD.',
    params: {},
    build: () => present((v) => isIsoDate(v)),
  },

  'date-not-future': {
    doc: 'A date on or before `today` (a malformed date passes: the `date` check reports it).',
    params: {},
    build: () => present((v, _idx, frame) => !isIsoDate(v) || v <= frame.rc.today),
  },

  'date-not-before': {
    doc: 'A date on or after the date in field `other` (whose [*] bind to this field\'s indexes).',
    params: { other: { type: 'path', required: true, doc: 'the earlier date, e.g. birthDate or lines[*].serviceFrom' } },
    build({ field, params }) {
      const other = makeGetter(parsePath(params.other), field.wildcards);
      return present((v, idx, frame) => {
        const o = other(frame.claim, idx);
        return !isIsoDate(v) || !isIsoDate(o) || v >= o;
      });
    },
  },

  'date-not-older-than': {
    doc: 'A date no more than `days` days before `today` (timely filing, plausible age).',
    params: { days: { type: 'integer', required: true, doc: 'calendar days' } },
    build({ params }) {
      const days = Number(params.days);
      let cutoff = '';
      return {
        begin: (rc) => {
          cutoff = isoMinusDays(rc.today, days);
        },
        test: (v) => !isIsoDate(v) || v >= cutoff,
        skipMissing: true,
      };
    },
  },

  positive: {
    doc: 'A number greater than 0.',
    params: {},
    build: () => present((v) => isNumber(v) && v > 0),
  },

  integer: {
    doc: 'A whole number.',
    params: {},
    build: () => present((v) => isNumber(v) && Number.isInteger(v)),
  },

  min: {
    doc: 'A number >= `min`.',
    params: { min: { type: 'number', required: true, doc: 'smallest allowed value' } },
    build({ params }) {
      const min = Number(params.min);
      return present((v) => isNumber(v) && v >= min);
    },
  },

  max: {
    doc: 'A number <= `max`.',
    params: { max: { type: 'number', required: true, doc: 'largest allowed value' } },
    build({ params }) {
      const max = Number(params.max);
      return present((v) => isNumber(v) && v <= max);
    },
  },

  'min-count': {
    doc: 'A list with at least `min` elements (a missing list counts 0). The failure shows the count.',
    params: { min: { type: 'integer', required: true, doc: 'fewest elements' } },
    build({ params }) {
      const min = Number(params.min);
      return { test: (v) => count(v) >= min, show: showCount };
    },
  },

  'max-count': {
    doc: 'A list with at most `max` elements. The failure shows the count.',
    params: { max: { type: 'integer', required: true, doc: 'most elements' } },
    build({ params }) {
      const max = Number(params.max);
      return { test: (v) => count(v) <= max, show: showCount };
    },
  },

  unique: {
    doc: 'No earlier element of the same list is equal (field ends with [*]); later copies fail.',
    params: { normalize: { type: 'normalize', doc: "compare as 'none' (default), 'upper' or 'icd' (dot and case ignored)" } },
    build({ field, params }) {
      const mode = (params.normalize as CodeNormalization | undefined) ?? 'none';
      const list = makeGetter(parentPath(field), field.wildcards - 1);
      const last = field.wildcards - 1;
      return present((v, idx, frame) => {
        const arr = list(frame.claim, idx);
        if (!Array.isArray(arr) || typeof v !== 'string') return true;
        for (let k = 0; k < idx[last]; k++) {
          const other = arr[k];
          if (typeof other === 'string' && sameCode(other, v, mode)) return false;
        }
        return true;
      });
    },
  },

  'npi-luhn': {
    doc: 'A 10-digit NPI whose check digit is right (Luhn over 80840 + NPI, CMS NPI standard).',
    params: {},
    build: () => present((v) => isValidNpi(v)),
  },

  'pointers-valid': {
    doc: 'A whole number from 1 to the length of the list `target` (a 1-based pointer into it).',
    params: { target: { type: 'path', required: true, doc: 'the list pointed into, e.g. diagnoses' } },
    build({ field, params }) {
      const target = makeGetter(parsePath(params.target), field.wildcards);
      return present((v, idx, frame) => {
        const list = target(frame.claim, idx);
        const n = Array.isArray(list) ? list.length : 0;
        return isNumber(v) && Number.isInteger(v) && v >= 1 && v <= n;
      });
    },
  },

  'sum-equals': {
    doc: 'A number equal to the sum of the numbers at `of` (exact: use integer cents). Skipped while any addend is not a number.',
    params: { of: { type: 'path', required: true, doc: 'the addends, e.g. lines[*].chargeCents' } },
    build({ params }) {
      const of = parsePath(params.of);
      let sum = 0;
      let ok = true;
      const walk = makeWalker(of, (v) => {
        if (isNumber(v)) sum += v;
        else ok = false;
      });
      const idx = new Array<number>(of.wildcards).fill(0);
      return present((v, _i, frame) => {
        sum = 0;
        ok = true;
        walk(frame.claim, idx, frame);
        return !ok || !isNumber(v) || v === sum;
      });
    },
  },

  'unique-in-batch': {
    doc: 'The (facilityId, claimId) key appears once in the batch: second and later claims fail (put it on field claimId). Corrections (frequency in `exemptFrequencies`, default 7 and 8, with originalReference) are exempt.',
    params: { exemptFrequencies: { type: 'strings', doc: 'frequencies exempt when originalReference is present' } },
    build({ params }) {
      const exempt = exemptFrom(params);
      const seen = new Set<string>();
      return {
        begin: () => seen.clear(),
        skipMissing: true,
        test: (_v, _idx, frame) => {
          const c = frame.claim;
          if (isMissing(c.facilityId) || isMissing(c.claimId) || exempt(c)) return true;
          const key = claimKey(c.facilityId, c.claimId);
          if (seen.has(key)) return false;
          seen.add(key);
          return true;
        },
      };
    },
  },

  'not-in-production': {
    doc: 'The (facilityId, claimId) key is not in ValidationContext.productionKeys. Corrections are exempt as for unique-in-batch.',
    params: { exemptFrequencies: { type: 'strings', doc: 'frequencies exempt when originalReference is present' } },
    build({ params }) {
      const exempt = exemptFrom(params);
      return {
        skipMissing: true,
        test: (_v, _idx, frame) => {
          const c = frame.claim;
          if (frame.rc.productionKeys.size === 0 || isMissing(c.facilityId) || isMissing(c.claimId) || exempt(c)) return true;
          return !frame.rc.productionKeys.has(claimKey(c.facilityId, c.claimId));
        },
      };
    },
  },
};

/** The names a rule's `check` may take. */
export const CHECK_NAMES: readonly string[] = Object.keys(CHECKS);

/** Extra structural requirements of some checks on the rule's field. */
export function fieldProblem(check: string, field: FieldPath): string | undefined {
  if (check === 'unique' && !field.segments[field.segments.length - 1].each) return `check 'unique' needs a field ending with [*], e.g. diagnoses[*]`;
  return undefined;
}
