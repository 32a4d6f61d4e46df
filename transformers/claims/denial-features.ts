/**
 * The denial model's feature vector: ONE function, used by the training script
 * (scripts/claims/train-denial-model.ts) and by the predictor (predict.ts), so that what the model
 * learned from and what it is shown cannot drift apart. The model file lists DENIAL_FEATURE_NAMES;
 * a model whose names differ is refused and the rule fallback decides.
 *
 * Pure and allocation-free when the caller passes `out`: the batch predictor computes 100,000s of
 * these per second. Malformed input (unparseable dates, missing arrays) gives neutral values, never
 * NaN: rejecting a malformed claim is the validator's job, not the predictor's.
 */
import type { Claim } from './types';

/** Feature names, in vector order. The model file must list exactly these. */
export const DENIAL_FEATURE_NAMES = [
  /** ln(1 + total charge in dollars). */
  'log_total_charge',
  /** Max over lines of ln(charge per unit ÷ typical charge per unit for the code), clamped to [-2, 3]; 0 when no line's code is known. */
  'charge_vs_typical',
  'line_count',
  'diagnosis_count',
  /** No rendering NPI on the claim nor on any line (our billing providers are groups). */
  'missing_rendering_npi',
  /** -25 on a code that is not an E/M, or on an E/M with no other procedure on the claim. */
  'modifier_25_misuse',
  /** Telehealth POS (02, 10) on a line without -95 / -93 / -GT / -GQ. */
  'telehealth_without_modifier',
  /** Lines carrying a distinct-service modifier (59, XE, XS, XP, XU). */
  'distinct_service_lines',
  /** Age of the oldest date of service in years at `today`, clamped to [0, 3]. */
  'service_age_years',
  /** Oldest date of service more than 180 days before `today` (commercial timely-filing limits). */
  'service_age_over_180d',
  /** Technical component (-TC) billed in a facility setting (POS 19, 21, 22, 23): the facility bills it. */
  'tc_in_facility',
  /** E/M family that does not fit the place of service (office E/M in the ER, hospital E/M in the office …). */
  'pos_code_mismatch',
  'max_units',
  /** The payer's denial log-odds relative to all payers, learned in training; 0 for an unknown payer. */
  'payer_log_odds',
  /** Principal diagnosis is a symptom code (R…) and the claim bills imaging (7xxxx): medical necessity. */
  'symptom_dx_with_imaging',
  /** -50 (bilateral) together with -LT or -RT on one line. */
  'bilateral_with_side',
] as const;

export type DenialFeatureName = (typeof DENIAL_FEATURE_NAMES)[number];
export const DENIAL_FEATURE_COUNT = DENIAL_FEATURE_NAMES.length;

/** Indices into the feature vector, by name (for the rule fallback and tests). */
export const F = Object.fromEntries(DENIAL_FEATURE_NAMES.map((n, i) => [n, i])) as { readonly [K in DenialFeatureName]: number };

export interface DenialFeatureContext {
  /** Reference day (days since 1970-01-01, see dayNumber). */
  today: number;
  /** Typical charge per unit, in cents, by charge key (see chargeKey). */
  typicalChargeCentsPerUnit?: ReadonlyMap<string, number>;
  /** Denial log-odds of each payer relative to the base rate. */
  payerLogOdds?: ReadonlyMap<string, number>;
}

/** Day number (days since 1970-01-01) of `YYYY-MM-DD`; NaN when it is not that shape. */
export function dayNumber(iso: string | undefined): number {
  if (typeof iso !== 'string' || iso.length !== 10 || iso.charCodeAt(4) !== 45 || iso.charCodeAt(7) !== 45) return NaN;
  const y = digits(iso, 0, 4);
  const m = digits(iso, 5, 2);
  const d = digits(iso, 8, 2);
  if (!(m >= 1 && m <= 12 && d >= 1 && d <= 31)) return NaN;
  // H. Hinnant's days_from_civil.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/** Today in UTC as a day number. */
export function todayDayNumber(): number {
  return Math.floor(Date.now() / 86400000);
}

/** Key of a line's code in the typical-charge table: `code`, or `code-26` / `code-TC` for a component. */
export function chargeKey(procedureCode: string, modifiers: readonly string[] | undefined): string {
  const m = modifiers && modifiers.length ? modifiers[0] : '';
  return m === '26' || m === 'TC' ? procedureCode + '-' + m : procedureCode;
}

const isEm = (code: string): boolean => code.length === 5 && code.charCodeAt(0) === 57 && code.charCodeAt(1) === 57 && code >= '99202' && code <= '99499';
const isTelehealthPos = (pos: string | undefined): boolean => pos === '02' || pos === '10';
const isFacilityPos = (pos: string | undefined): boolean => pos === '21' || pos === '22' || pos === '23' || pos === '19';

/** Does an E/M code's family fit the place of service? (Only families with a clear setting are checked.) */
function emFitsPos(code: string, pos: string | undefined): boolean {
  if (code >= '99202' && code <= '99215') return pos !== '21' && pos !== '23';
  if (code >= '99221' && code <= '99239') return pos === '21';
  if (code >= '99281' && code <= '99285') return pos === '23';
  if (code >= '99341' && code <= '99350') return pos === '12';
  return true;
}

/**
 * Fills `out` (length DENIAL_FEATURE_COUNT) with the claim's raw, unstandardised features and returns it.
 * Without a typical-charge table `charge_vs_typical` is 0; without payer odds `payer_log_odds` is 0.
 */
export function denialFeatures(claim: Claim, ctx: DenialFeatureContext, out: Float64Array = new Float64Array(DENIAL_FEATURE_COUNT)): Float64Array {
  const lines = Array.isArray(claim.lines) ? claim.lines : [];
  const typical = ctx.typicalChargeCentsPerUnit;
  const claimPos = claim.placeOfService;
  let chargeRatio = -Infinity;
  let lineRendering = false;
  let has25 = false;
  let misuse25 = false;
  let nonEmProcedure = false;
  let teleNoMod = false;
  let distinct = 0;
  let oldest = Infinity;
  let tcFacility = false;
  let posMismatch = false;
  let maxUnits = 0;
  let imaging = false;
  let bilateralSide = false;

  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const code = typeof l.procedureCode === 'string' ? l.procedureCode : '';
    const mods = Array.isArray(l.modifiers) ? l.modifiers : [];
    const pos = l.placeOfService || claimPos;
    const units = typeof l.units === 'number' && l.units > 0 ? l.units : 0;
    const em = isEm(code);
    if (!em) nonEmProcedure = true;
    if (code.length === 5 && code.charCodeAt(0) === 55) imaging = true; // 7xxxx radiology
    if (l.renderingNpi) lineRendering = true;
    if (units > maxUnits) maxUnits = units;

    if (typical !== undefined && units > 0) {
      const t = typical.get(chargeKey(code, mods));
      if (t !== undefined && t > 0 && l.chargeCents > 0) {
        const r = Math.log(l.chargeCents / units / t);
        if (r > chargeRatio) chargeRatio = r;
      }
    }

    let tele = false;
    let bil = false;
    let sideMod = false;
    let distinctLine = false;
    for (let k = 0; k < mods.length; k++) {
      const m = mods[k];
      if (m === '25') {
        has25 = true;
        if (!em) misuse25 = true;
      } else if (m === '95' || m === '93' || m === 'GT' || m === 'GQ') tele = true;
      else if (m === '59' || m === 'XE' || m === 'XS' || m === 'XP' || m === 'XU') distinctLine = true;
      else if (m === 'TC') {
        if (isFacilityPos(pos)) tcFacility = true;
      } else if (m === '50') bil = true;
      else if (m === 'LT' || m === 'RT') sideMod = true;
    }
    if (distinctLine) distinct++;
    if (bil && sideMod) bilateralSide = true;
    if (!tele && isTelehealthPos(pos)) teleNoMod = true;
    if (em && !emFitsPos(code, pos)) posMismatch = true;

    const from = dayNumber(l.serviceFrom);
    if (from < oldest) oldest = from;
  }
  // -25 on an E/M needs a same-day procedure (other than the E/M) to be separately identifiable from.
  if (has25 && !nonEmProcedure) misuse25 = true;

  const total = typeof claim.totalChargeCents === 'number' && claim.totalChargeCents > 0 ? claim.totalChargeCents : 0;
  const ageDays = oldest === Infinity || Number.isNaN(ctx.today) ? 0 : Math.max(0, ctx.today - oldest);
  const diagnoses = Array.isArray(claim.diagnoses) ? claim.diagnoses.length : 0;
  const principal = diagnoses ? claim.diagnoses[0] : '';
  const payer = ctx.payerLogOdds?.get(claim.payerId);

  out[0] = Math.log1p(total / 100);
  out[1] = chargeRatio === -Infinity ? 0 : chargeRatio < -2 ? -2 : chargeRatio > 3 ? 3 : chargeRatio;
  out[2] = lines.length;
  out[3] = diagnoses;
  out[4] = claim.renderingNpi || lineRendering ? 0 : 1;
  out[5] = misuse25 ? 1 : 0;
  out[6] = teleNoMod ? 1 : 0;
  out[7] = distinct;
  out[8] = ageDays > 1095 ? 3 : ageDays / 365;
  out[9] = ageDays > 180 ? 1 : 0;
  out[10] = tcFacility ? 1 : 0;
  out[11] = posMismatch ? 1 : 0;
  out[12] = maxUnits;
  out[13] = payer === undefined || !Number.isFinite(payer) ? 0 : payer;
  out[14] = imaging && typeof principal === 'string' && principal.charCodeAt(0) === 82 ? 1 : 0; // 'R'
  out[15] = bilateralSide ? 1 : 0;
  return out;
}
