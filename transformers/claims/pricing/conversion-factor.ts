/**
 * The PFS conversion factor (CF): a fixed decimal given by the caller, or CMS's CF for the date of
 * service (CLAIMS.md §5's table, non-anesthesia, non-qualifying APM participant for 2026+).
 *
 * Sources (as listed in CLAIMS.md §5): 2024 $32.7442 for DOS 2024-01-01..03-08 and $33.2875 from
 * 2024-03-09 (Consolidated Appropriations Act 2024, not retroactive); 2025 $32.3465 (CY 2025 final
 * rule); 2026 $33.4009 non-QP / $33.5675 QP (CY 2026 final rule). Pick by date of service, not by
 * claim date. Only the non-QP 2026 CF is used here: a claim does not say whether the clinician is a
 * qualifying APM participant.
 */
import { CF_SCALE, formatScaledShort, parseScaled } from './money';

export interface CfPeriod {
  /** First and last date of service (inclusive, ISO YYYY-MM-DD). */
  from: string;
  to: string;
  /** CF as written, 4 decimals. */
  value: string;
  note: string;
}

export const CMS_CONVERSION_FACTORS: readonly CfPeriod[] = [
  { from: '2024-01-01', to: '2024-03-08', value: '32.7442', note: 'CY 2024 before CAA 2024' },
  { from: '2024-03-09', to: '2024-12-31', value: '33.2875', note: 'CY 2024 from 2024-03-09 (CAA 2024 +1.68 %)' },
  { from: '2025-01-01', to: '2025-12-31', value: '32.3465', note: 'CY 2025' },
  { from: '2026-01-01', to: '2026-12-31', value: '33.4009', note: 'CY 2026 non-qualifying APM participant' },
];

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** The CMS CF period containing a date of service, or undefined (date outside the table or not ISO). */
export function cmsConversionFactor(dateOfService: string): CfPeriod | undefined {
  if (!ISO_DATE.test(dateOfService)) return undefined;
  for (const p of CMS_CONVERSION_FACTORS) {
    if (dateOfService >= p.from && dateOfService <= p.to) return p;
  }
  return undefined;
}

/** A CF as an integer at scale 4 and as shown in `basis` ("36.0400" → 360400, "36.04"). */
export interface ScaledCf {
  value: number;
  text: string;
}

const parsed = new Map<string, ScaledCf>();

/**
 * A CF decimal string as an integer at scale 4 ("36.04" → 360400). Cached, since callers pass the
 * same few strings for every claim. Throws a RangeError for anything but a positive decimal with
 * at most 4 decimals.
 */
export function scaledConversionFactor(text: string): ScaledCf {
  let cf = parsed.get(text);
  if (cf === undefined) {
    const value = parseScaled(text, CF_SCALE);
    if (value === undefined || value <= 0) throw new RangeError(`conversion factor "${text}" is not a positive decimal`);
    cf = { value, text: formatScaledShort(value, CF_SCALE) };
    if (parsed.size < 64) parsed.set(text, cf);
  }
  return cf;
}

const CMS_SCALED: readonly ScaledCf[] = CMS_CONVERSION_FACTORS.map((p) => scaledConversionFactor(p.value));

/** `cmsConversionFactor` as a scaled CF (the same object for every date of a period). */
export function cmsScaledConversionFactor(dateOfService: string): ScaledCf | undefined {
  if (!ISO_DATE.test(dateOfService)) return undefined;
  for (let i = 0; i < CMS_CONVERSION_FACTORS.length; i++) {
    const p = CMS_CONVERSION_FACTORS[i];
    if (dateOfService >= p.from && dateOfService <= p.to) return CMS_SCALED[i];
  }
  return undefined;
}
