/**
 * NPI format and check digit (NPPES.md §2), checked before any call to NPPES: a typo never costs
 * a request (nor a place in the 200-per-5-minutes budget) and never reads as "NPI not found".
 *
 * An NPI is 10 digits, the first 1 or 2; the last is a Luhn (mod 10, "double-add-double") check
 * digit computed as if the card-issuer prefix 80840 (80 health, 840 USA) stood in front. Without
 * the prefix, the prefix's Luhn contribution is the constant 24.
 */
import { ValidationError } from '../../common/errors';

const NPI_FORMAT = /^[12][0-9]{9}$/;

/**
 * Luhn contribution of the implied prefix 80840 in front of the 10 NPI digits: from the right, its
 * digits sit at positions 14..10 (8, 0, 8, 4, 0), so the even positions are added as they are and
 * the odd ones doubled: 8 + 0·2 + 8 + 4·2 + 0 = 24.
 */
const PREFIX_SUM = 24;

/**
 * The check digit for the first nine digits of an NPI. Starting from the rightmost of the nine,
 * every other digit (positions 9, 7, 5, 3, 1) is doubled and its digits summed; add the other
 * digits and 24; the check digit brings the total to the next multiple of ten.
 * Worked example (CMS): `123456789` → 67 → check digit 3 → NPI `1234567893`.
 */
export function npiCheckDigit(firstNine: string): number {
  if (!/^[0-9]{9}$/.test(firstNine)) throw new ValidationError('NPI_FORMAT', 'NPI check digit needs exactly 9 digits');
  let sum = PREFIX_SUM;
  for (let i = 0; i < 9; i++) {
    let d = firstNine.charCodeAt(8 - i) - 48;
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** Full Luhn over `80840` + npi (the cross-check of NPPES.md §2): true when it sums to 0 mod 10. */
export function luhnWithPrefix(npi: string): boolean {
  const digits = `80840${npi}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Why `value` is not a valid NPI, or undefined when it is. The reason names the rule, not the value. */
export function npiProblem(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return 'NPI must be a string of 10 digits';
  const npi = String(value).trim();
  if (!/^[0-9]+$/.test(npi)) return 'NPI must contain digits only';
  if (npi.length !== 10) return `NPI must be 10 digits (got ${npi.length})`;
  if (!NPI_FORMAT.test(npi)) return 'NPI must start with 1 (individual) or 2 (organization)';
  const expected = npiCheckDigit(npi.slice(0, 9));
  if (Number(npi[9]) !== expected) return `NPI check digit is wrong: the Luhn digit (with prefix 80840) for the first nine digits is ${expected}, not ${npi[9]}`;
  return undefined;
}

export function isValidNpi(value: unknown): boolean {
  return npiProblem(value) === undefined;
}

/**
 * Returns the NPI as a trimmed 10-digit string, or throws `ValidationError` (code
 * `VALIDATION_NPI_INVALID`, `path` as given) naming what is wrong. Numbers are accepted because
 * NPPES itself sends NPIs as JSON numbers.
 */
export function requireValidNpi(value: unknown, path = 'npi'): string {
  const problem = npiProblem(value);
  if (problem) throw new ValidationError('NPI_INVALID', problem, { path });
  return String(value).trim();
}

/** Completes nine digits into a valid NPI (tests, the simulator and the bench make NPIs with it). */
export function withCheckDigit(firstNine: string): string {
  return `${firstNine}${npiCheckDigit(firstNine)}`;
}
