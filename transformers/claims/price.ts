/**
 * Medicare Physician Fee Schedule pricing of a claim (CLAIMS.md §5), as a pure function:
 *
 *   amount = [(work RVU × work GPCI) + (PE RVU × PE GPCI) + (MP RVU × MP GPCI)] × CF × units
 *
 * with the facility PE RVU when the line's place of service (else the claim's) is a facility
 * setting (pricing/place-of-service.ts), and the non-facility PE RVU otherwise; national pricing
 * (all GPCIs 1) unless `useGpci` asks for the claim's locality. Payment modifiers: -26 / -TC / -53
 * use the RVU file's own records, -50 follows BILAT SURG, and the multiple procedure reduction
 * follows MULT PROC (pricing/modifiers.ts, with the CMS definitions and what is not implemented).
 *
 * Money: RVUs (2 decimals), GPCIs (3) and the CF (4) are scaled integers, so a line's amount is an
 * exact integer at scale 9; it is rounded half up to cents once per line, after units, bilateral
 * and multiple-procedure percentages (pricing/money.ts). The claim's allowed amount is the sum of
 * the line cents.
 *
 * Not applied: the lower-of-charge comparison, the OPPS cap on imaging TC, sequestration,
 * deductible and coinsurance, assistant/co-/team surgery, global-period bundling.
 */
import { ValidationError } from '../../common/errors';
import { Claim, ClaimLine, PricedClaim, PricedLine, RuleFailure } from './types';
import { ScaledCf, cmsScaledConversionFactor, scaledConversionFactor } from './pricing/conversion-factor';
import { FeeSchedule, GpciRow, RvuRow } from './pricing/fee-schedule';
import { gpciKey } from './pricing/gpci';
import {
  MultipleProcedureLine,
  MultipleProcedureResult,
  RecordChoice,
  bilateralHalves,
  chooseRecord,
  multipleProcedureHalves,
} from './pricing/modifiers';
import { centsHalfUp } from './pricing/money';
import { isFacilityPos, normalisePos } from './pricing/place-of-service';
import { PAYABLE_STATUS, describeStatus } from './pricing/status';

export { loadFeeSchedule, parseFeeSchedule, findRvu, findGpci } from './pricing/fee-schedule';
export type { FeeSchedule, RvuRow, GpciRow } from './pricing/fee-schedule';
export { pfsAmountCents } from './pricing/money';
export type { PfsAmountInput } from './pricing/money';
export { FACILITY_POS } from './pricing/place-of-service';
export { CMS_CONVERSION_FACTORS, cmsConversionFactor } from './pricing/conversion-factor';

/** The seed's conversion factor, used when none is given. */
export const DEFAULT_CONVERSION_FACTOR = '36.04';

/** Rule ids of pricing failures. */
export const PRICE_RULES = {
  /** Code (or code + 26/TC/53 modifier) not in the RVU file. */
  noRvu: 'PRICE_NO_RVU',
  /** Status code not paid from RVUs (not A/R/T, or R without RVUs). */
  notPayable: 'PRICE_NOT_PAYABLE',
  /** `useGpci` and the claim's locality is missing or not in the GPCI file. */
  noGpci: 'PRICE_NO_GPCI',
  /** `conversionFactor: 'cms'` and the date of service is outside CMS's table. */
  noCf: 'PRICE_NO_CF',
  /** Two record-selecting modifiers on one line (26 with TC, ...). */
  modifierConflict: 'PRICE_MODIFIER_CONFLICT',
  /** Units not a whole number ≥ 1 (exact pricing needs whole units). */
  badUnits: 'PRICE_BAD_UNITS',
} as const;

export interface PriceOptions {
  /**
   * CF as a decimal string with at most 4 decimals (default "36.04"), or 'cms' for CMS's CF by date
   * of service (2024 two periods, 2025, 2026 non-QP; CLAIMS.md §5).
   */
  conversionFactor?: string;
  /** Price with the claim's locality GPCIs (default false: national, every GPCI 1). */
  useGpci?: boolean;
}

export type PriceResult = { ok: true; priced: PricedClaim } | { ok: false; failures: RuleFailure[] };

/** Per-line working values between the passes. */
interface Work {
  row: RvuRow;
  /** Σ RVU × GPCI at scale 5. */
  weighted: number;
  cf: ScaledCf;
  units: number;
  facility: boolean;
  pos: string;
  bilatHalves: number;
  bilatNote: string;
}

function failure(rule: string, field: string, value: string, message: string): RuleFailure {
  return { rule, severity: 'error', field, value, message };
}

function optionCf(text: string): ScaledCf {
  try {
    return scaledConversionFactor(text);
  } catch (err) {
    throw new ValidationError('PRICE_OPTIONS', (err as Error).message, { path: 'conversionFactor' });
  }
}

/** Upper-cased, trimmed modifiers; the same array when they already are (the usual case). */
function normaliseModifiers(modifiers: readonly string[]): readonly string[] {
  for (let m = 0; m < modifiers.length; m++) {
    if (modifiers[m] !== modifiers[m].trim().toUpperCase()) return modifiers.map((x) => x.trim().toUpperCase());
  }
  return modifiers;
}

/**
 * Prices every line of a claim from the fee schedule. Returns the allowed cents per line and for the
 * claim with a `basis` per line, or every failure found (all lines are checked, not only the first).
 * Throws a ValidationError `VALIDATION_PRICE_OPTIONS` for a malformed `conversionFactor` option.
 */
export function priceClaim(claim: Claim, schedule: FeeSchedule, opts: PriceOptions = {}): PriceResult {
  const cfOption = opts.conversionFactor ?? DEFAULT_CONVERSION_FACTOR;
  const byDate = cfOption === 'cms';
  const fixedCf = byDate ? undefined : optionCf(cfOption);
  let failures: RuleFailure[] | undefined;

  let gpci: GpciRow | undefined;
  if (opts.useGpci) {
    const loc = claim.locality;
    const key = loc ? gpciKey(loc.mac, loc.locality) : undefined;
    gpci = key === undefined ? undefined : schedule.gpci.get(key);
    if (!gpci) {
      const value = loc ? `${loc.mac}-${loc.locality}` : '';
      const message = loc
        ? `Medicare locality ${value} is not in the GPCI file`
        : 'the claim has no Medicare locality (MAC + locality) for GPCI pricing';
      (failures ??= []).push(failure(PRICE_RULES.noGpci, 'locality', value, message));
    }
  }

  const lines = claim.lines;
  const work: Work[] = new Array(lines.length);
  let ranked = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const code = line.procedureCode.trim().toUpperCase();
    const records = schedule.rvu.get(code);
    if (!records) {
      const message = `${code} is not in the PFS relative value file`;
      (failures ??= []).push(failure(PRICE_RULES.noRvu, `lines[${i}].procedureCode`, line.procedureCode, message));
      continue;
    }
    const modifiers = normaliseModifiers(line.modifiers);
    const choice = chooseRecord(records, modifiers);
    if (!choice.ok) {
      (failures ??= []).push(recordFailure(choice, code, line.procedureCode, i));
      continue;
    }
    const row = choice.row;
    if (!PAYABLE_STATUS.has(row.status)) {
      const message = `${row.label} has ${describeStatus(row.status)}: not paid under the PFS`;
      (failures ??= []).push(failure(PRICE_RULES.notPayable, `lines[${i}].procedureCode`, row.label, message));
      continue;
    }
    if (row.status === 'R' && row.work + row.peNonFacility + row.peFacility + row.mp === 0) {
      const message = `${row.label} has status R without RVUs: contractor priced`;
      (failures ??= []).push(failure(PRICE_RULES.notPayable, `lines[${i}].procedureCode`, row.label, message));
      continue;
    }
    const units = line.units;
    if (!Number.isSafeInteger(units) || units < 1) {
      const message = 'units must be a whole number of at least 1 for PFS pricing';
      (failures ??= []).push(failure(PRICE_RULES.badUnits, `lines[${i}].units`, String(units), message));
      continue;
    }
    let cf = fixedCf;
    if (!cf) {
      cf = cmsScaledConversionFactor(line.serviceFrom);
      if (!cf) {
        const message = `no CMS conversion factor for date of service ${line.serviceFrom || '(none)'}`;
        (failures ??= []).push(failure(PRICE_RULES.noCf, `lines[${i}].serviceFrom`, line.serviceFrom, message));
        continue;
      }
    }
    const pos = normalisePos(line.placeOfService ?? claim.placeOfService);
    const facility = isFacilityPos(pos);
    const pe = facility ? row.peFacility : row.peNonFacility;
    const weighted = gpci
      ? row.work * gpci.work + pe * gpci.pe + row.mp * gpci.mp
      : facility
        ? row.nationalFacility
        : row.nationalNonFacility;
    let bilatHalves = 2;
    let bilatNote = '';
    if (modifiers.includes('50')) {
      const b = bilateralHalves(row);
      bilatHalves = b.halves;
      bilatNote = b.note;
    }
    if (row.multProc !== '0' && row.multProc !== '9') ranked = true;
    work[i] = { row, weighted, cf, units, facility, pos, bilatHalves, bilatNote };
  }
  if (failures) return { ok: false, failures };

  // Multiple procedure rules only when some line could take part (E/M-only claims skip this).
  let mppr: MultipleProcedureResult[] | undefined;
  if (ranked && (lines.length > 1 || lines[0].units > 1)) {
    const input: MultipleProcedureLine[] = new Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const w = work[i];
      // Lines of one date share the CF, so Σ RVU × GPCI × bilateral ranks them by fee schedule amount.
      input[i] = { dateOfService: lines[i].serviceFrom, indicator: w.row.multProc, units: w.units, rankValue: w.weighted * w.bilatHalves };
    }
    mppr = multipleProcedureHalves(input);
  }

  const prefix = schedule.year ? `PFS ${schedule.year} ` : 'PFS ';
  const where = gpci ? gpci.basis : 'national GPCI 1';
  const priced: PricedLine[] = new Array(lines.length);
  let total = 0;
  const cfsUsed: ScaledCf[] = fixedCf ? [fixedCf] : [];
  for (let i = 0; i < lines.length; i++) {
    const w = work[i];
    const row = w.row;
    let basis = `${prefix}${row.label}; ${where}; ${settingText(w, row)}; CF ${w.cf.text}; ${w.units === 1 ? '1 unit' : `${w.units} units`}`;
    if (w.bilatNote) basis += '; ' + w.bilatNote;
    let unitHalves = 2 * w.units;
    if (mppr) {
      unitHalves = mppr[i].unitHalves;
      if (mppr[i].note) basis += '; ' + mppr[i].note;
    }
    let cents: number;
    if (row.status === 'T' && bundledInjection(lines, work, i)) {
      cents = 0;
      basis += '; status T bundled: another PFS service on the same date';
    } else {
      cents = centsHalfUp(w.weighted, w.cf.value, w.bilatHalves * unitHalves, 4);
    }
    priced[i] = { line: lines[i].line, allowedCents: cents, basis };
    total += cents;
    if (!cfsUsed.includes(w.cf)) cfsUsed.push(w.cf);
  }
  // With CFs by date, a claim spanning two CF periods lists both (each line's basis names its own).
  const conversionFactor = cfsUsed.length === 1 ? cfsUsed[0].text : cfsUsed.map((cf) => cf.text).join(',');
  return { ok: true, priced: { allowedCents: total, lines: priced, conversionFactor } };
}

function settingText(w: Work, row: RvuRow): string {
  const pos = w.pos || '(none)';
  if (w.facility) return row.facilityNa ? `facility POS ${pos} (facility NA)` : `facility POS ${pos}`;
  return row.nonFacilityNa ? `non-facility POS ${pos} (non-facility NA)` : `non-facility POS ${pos}`;
}

function recordFailure(choice: Extract<RecordChoice, { ok: false }>, code: string, submitted: string, i: number): RuleFailure {
  const field = choice.modifierIndex >= 0 ? `lines[${i}].modifiers[${choice.modifierIndex}]` : `lines[${i}].procedureCode`;
  if (choice.reason === 'conflict') {
    const message = `${code}: modifier ${choice.modifier} conflicts with another component modifier (26 / TC / 53)`;
    return failure(PRICE_RULES.modifierConflict, field, choice.modifier, message);
  }
  if (!choice.modifier) {
    return failure(PRICE_RULES.noRvu, field, submitted, `${code} has no global record in the PFS relative value file`);
  }
  const message =
    choice.modifier === '53'
      ? `${code}-53 has no RVUs in the PFS file (priced by individual consideration)`
      : `${code}-${choice.modifier} is not in the PFS relative value file`;
  return failure(PRICE_RULES.noRvu, field, choice.modifier, message);
}

/** Status T: bundled when another line of the same date is payable under the PFS (status A or R). */
function bundledInjection(lines: readonly ClaimLine[], work: readonly Work[], index: number): boolean {
  const date = lines[index].serviceFrom;
  for (let j = 0; j < work.length; j++) {
    if (j !== index && lines[j].serviceFrom === date && (work[j].row.status === 'A' || work[j].row.status === 'R')) return true;
  }
  return false;
}
