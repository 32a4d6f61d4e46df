/**
 * Small allocation-free predicates the checks are built from. They run for every field of every
 * claim, so they work on char codes instead of building regexes, Dates or substrings.
 */

/** Absent for rule purposes: undefined, null, or a string of only whitespace. */
export function isMissing(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') {
    for (let i = 0; i < v.length; i++) if (v.charCodeAt(i) > 32) return false;
    return true;
  }
  if (typeof v === 'number') return Number.isNaN(v);
  return false;
}

/** The value as a RuleFailure shows it ('' when missing). */
export function valueText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(valueText).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function digitAt(s: string, i: number): number {
  const c = s.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** A real calendar date written `YYYY-MM-DD` (so that string order is date order). */
export function isIsoDate(s: unknown): s is string {
  if (typeof s !== 'string' || s.length !== 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return false;
  let year = 0;
  for (let i = 0; i < 4; i++) {
    const d = digitAt(s, i);
    if (d < 0) return false;
    year = year * 10 + d;
  }
  const m1 = digitAt(s, 5);
  const m2 = digitAt(s, 6);
  const d1 = digitAt(s, 8);
  const d2 = digitAt(s, 9);
  if (m1 < 0 || m2 < 0 || d1 < 0 || d2 < 0) return false;
  const month = m1 * 10 + m2;
  const day = d1 * 10 + d2;
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const max = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  return day <= max;
}

/** `YYYY-MM-DD` minus `days` calendar days (UTC arithmetic; called once per batch, not per claim). */
export function isoMinusDays(iso: string, days: number): string {
  const t = Date.parse(`${iso}T00:00:00Z`) - days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

/**
 * NPI check digit (CMS NPI standard; CLAIMS.md §7): Luhn over the 15 digits "80840" + NPI. The
 * prefix's contribution is the constant 24, so only the 10 digits of the NPI are walked.
 */
export function isValidNpi(v: unknown): boolean {
  if (typeof v !== 'string' || v.length !== 10) return false;
  let sum = 24;
  for (let i = 0; i < 10; i++) {
    let d = digitAt(v, i);
    if (d < 0) return false;
    // From the right, the check digit (i = 9) is not doubled; i = 8, 6, 4, 2, 0 are.
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** ASCII upper-casing of one char code. */
function upper(c: number): number {
  return c >= 97 && c <= 122 ? c - 32 : c;
}

/** Equal codes under a normalization, without building normalized strings. */
export function sameCode(a: string, b: string, mode: 'none' | 'upper' | 'icd'): boolean {
  if (mode === 'none') return a === b;
  if (a === b) return true;
  let i = 0;
  let j = 0;
  for (;;) {
    if (mode === 'icd') {
      while (i < a.length && a.charCodeAt(i) === 46) i++;
      while (j < b.length && b.charCodeAt(j) === 46) j++;
    }
    if (i >= a.length || j >= b.length) return i >= a.length && j >= b.length;
    if (upper(a.charCodeAt(i)) !== upper(b.charCodeAt(j))) return false;
    i++;
    j++;
  }
}

/** The normalized form of a code (used on the slow path only, when the raw value misses). */
export function normalizeCode(code: string, mode: 'none' | 'upper' | 'icd'): string {
  if (mode === 'none') return code;
  const up = code.trim().toUpperCase();
  return mode === 'icd' ? up.replace(/\./g, '') : up;
}
