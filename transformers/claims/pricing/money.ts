/**
 * Exact decimal arithmetic for fee-schedule pricing: values are scaled integers (an RVU of 1.23 at
 * scale 2 is 123), never binary floats, so "0.1 + 0.2" style drift cannot reach a claim's cents.
 *
 * Products are computed with JavaScript numbers while they stay below 2^53 (where integer
 * arithmetic on doubles is exact) and fall back to BigInt when they would not, so a large value
 * is slower but never wrong.
 */

const DECIMAL = /^(\d*)(?:\.(\d*))?$/;

/**
 * Parses a non-negative decimal string into an integer scaled by 10^scale ("1.5" at scale 3 is
 * 1500). Blank text is `undefined`. Throws when the text is not a plain decimal or has non-zero
 * digits beyond `scale` (rounding a reference value at load time would hide a data problem).
 */
export function parseScaled(text: string, scale: number): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const m = DECIMAL.exec(trimmed);
  if (!m || (m[1] === '' && (m[2] === undefined || m[2] === ''))) {
    throw new RangeError(`not a non-negative decimal: "${trimmed}"`);
  }
  const whole = m[1] === '' ? '0' : m[1];
  let frac = m[2] ?? '';
  if (frac.length > scale) {
    if (/[^0]/.test(frac.slice(scale))) throw new RangeError(`"${trimmed}" has more than ${scale} decimals`);
    frac = frac.slice(0, scale);
  }
  const value = Number(whole + frac.padEnd(scale, '0'));
  if (!Number.isSafeInteger(value)) throw new RangeError(`"${trimmed}" is too large`);
  return value;
}

/** Formats a scaled integer back to a decimal string with exactly `scale` decimals (1500, 3 → "1.500"). */
export function formatScaled(value: number, scale: number): string {
  if (scale === 0) return String(value);
  const negative = value < 0;
  const digits = String(Math.abs(value)).padStart(scale + 1, '0');
  const text = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Formats a scaled integer without trailing zeros after the point (360400 at scale 4 → "36.04"; 1000 at scale 3 → "1"). */
export function formatScaledShort(value: number, scale: number): string {
  const full = formatScaled(value, scale);
  return scale === 0 ? full : full.replace(/\.?0+$/, '');
}

/** Integer division of non-negative safe integers, rounding half up (2.5 → 3). Exact. */
export function divideHalfUp(numerator: number, divisor: number): number {
  // `numerator - rest` is a multiple of `divisor`, so the division below is exact in doubles.
  const rest = numerator % divisor;
  const quotient = (numerator - rest) / divisor;
  return rest * 2 >= divisor ? quotient + 1 : quotient;
}

/**
 * round_half_up(a × b × c / divisor) for non-negative safe integers, exactly: numbers while
 * every intermediate product is a safe integer, BigInt otherwise. Throws if the result itself is
 * not a safe integer.
 */
export function mulDivHalfUp(a: number, b: number, c: number, divisor: number): number {
  const ab = a * b;
  if (Number.isSafeInteger(ab)) {
    const abc = ab * c;
    // A product above 2^53 - 1 rounds to at least 2^53, so isSafeInteger rejects every inexact one.
    if (Number.isSafeInteger(abc)) return divideHalfUp(abc, divisor);
  }
  const n = BigInt(a) * BigInt(b) * BigInt(c);
  const d = BigInt(divisor);
  let q = n / d;
  if ((n % d) * 2n >= d) q += 1n;
  const result = Number(q);
  if (!Number.isSafeInteger(result)) throw new RangeError('amount out of range');
  return result;
}

/** Scale of each quantity in the PFS formula (RVU file: 999.99; GPCI file: 9.999; CF: 99.9999). */
export const RVU_SCALE = 2;
export const GPCI_SCALE = 3;
export const CF_SCALE = 4;
/** (RVU × GPCI) is at scale 5, × CF at scale 9; cents are scale 2, so one cent is 10^7 units. */
const UNITS_PER_CENT = 10 ** (RVU_SCALE + GPCI_SCALE + CF_SCALE - 2);

/** RVUs (scale 2) and GPCIs (scale 3) of one line, as scaled integers. */
export interface ScaledRvus {
  work: number;
  pe: number;
  mp: number;
}

/** Σ RVU × GPCI at scale 5: the bracket of CMS's formula. Always a safe integer for file values. */
export function gpciWeightedRvus(rvu: ScaledRvus, gpci: ScaledRvus): number {
  return rvu.work * gpci.work + rvu.pe * gpci.pe + rvu.mp * gpci.mp;
}

/**
 * Cents for `weighted` (scale 5) × `cf` (scale 4) × `factor` / `factorDivisor`, rounded half up
 * once. This is the only rounding point of line pricing: units, bilateral and multiple-procedure
 * percentages all go into `factor` / `factorDivisor` first, so no intermediate amount is rounded.
 */
export function centsHalfUp(weighted: number, cf: number, factor: number, factorDivisor = 1): number {
  return mulDivHalfUp(weighted, cf, factor, UNITS_PER_CENT * factorDivisor);
}

/** Plain inputs of the PFS formula as decimal strings, as CLAIMS.md §5 writes them. */
export interface PfsAmountInput {
  workRvu: string;
  peRvu: string;
  mpRvu: string;
  /** GPCIs default to "1" (national). */
  workGpci?: string;
  peGpci?: string;
  mpGpci?: string;
  conversionFactor: string;
  /** Whole units, default 1. */
  units?: number;
}

function required(text: string, scale: number, name: string): number {
  const value = parseScaled(text, scale);
  if (value === undefined) throw new RangeError(`${name} is blank`);
  return value;
}

/**
 * The CMS PFS amount in cents: [(work RVU × work GPCI) + (PE RVU × PE GPCI) + (MP RVU × MP GPCI)]
 * × CF × units, computed exactly and rounded half up to the cent once, at the end. CLAIMS.md §5's
 * worked example (1.50/1.20/0.10, GPCIs 1.02/1.10/0.90, CF 32.3465) gives 9510; with 2 units 19020.
 */
export function pfsAmountCents(input: PfsAmountInput): number {
  const units = input.units ?? 1;
  if (!Number.isSafeInteger(units) || units < 0) throw new RangeError('units must be a whole number');
  const rvu = {
    work: required(input.workRvu, RVU_SCALE, 'workRvu'),
    pe: required(input.peRvu, RVU_SCALE, 'peRvu'),
    mp: required(input.mpRvu, RVU_SCALE, 'mpRvu'),
  };
  const gpci = {
    work: required(input.workGpci ?? '1', GPCI_SCALE, 'workGpci'),
    pe: required(input.peGpci ?? '1', GPCI_SCALE, 'peGpci'),
    mp: required(input.mpGpci ?? '1', GPCI_SCALE, 'mpGpci'),
  };
  return centsHalfUp(gpciWeightedRvus(rvu, gpci), required(input.conversionFactor, CF_SCALE, 'conversionFactor'), units);
}
