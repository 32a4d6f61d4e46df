/**
 * Modifiers and RVU-file indicators that change a PFS payment. Definitions quoted in short from CMS's
 * RVU file documentation (RVUyyA record layout and Attachment A, in RVUyyA.zip at
 * https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files ; the same
 * text is in the PFS payment-amount file documentation PFyyPA).
 *
 * Percentages are kept as "halves" (2 = 100 %, 3 = 150 %, 1 = 50 %) so every adjustment stays an
 * integer factor and the line is rounded to cents only once (money.ts).
 */
import { RvuRow } from './rvu-file';

/**
 * Modifiers that have their own records in the RVU file. "For diagnostic tests, a blank in this
 * field denotes the global service and the following modifiers identify the components: -26
 * professional component, -TC technical component"; -53 has its own RVUs only for the colonoscopy
 * codes listed there, and "any other codes billed with modifier -53 are ... priced by individual
 * consideration" (so they cannot be priced here).
 */
export const RECORD_MODIFIERS: ReadonlySet<string> = new Set(['26', 'TC', '53']);

export type RecordChoice =
  | { ok: true; row: RvuRow }
  | { ok: false; reason: 'missing' | 'conflict'; modifier: string; modifierIndex: number };

/**
 * The RVU record a line is paid from: the code's record for its 26 / TC / 53 modifier when it has
 * one, else the global record. A 26/TC/53 modifier the file has no record for (e.g. -26 on a code
 * whose PC/TC indicator is 0: "modifiers 26 and TC cannot be used with these codes") is `missing`;
 * two of them on one line (26 with TC) is a `conflict`.
 */
export function chooseRecord(records: Map<string, RvuRow>, modifiers: readonly string[]): RecordChoice {
  let chosen = '';
  let chosenIndex = -1;
  for (let i = 0; i < modifiers.length; i++) {
    const m = modifiers[i];
    if (!RECORD_MODIFIERS.has(m)) continue;
    if (chosenIndex >= 0 && m !== chosen) return { ok: false, reason: 'conflict', modifier: m, modifierIndex: i };
    chosen = m;
    chosenIndex = i;
  }
  const row = records.get(chosen);
  if (!row) return { ok: false, reason: 'missing', modifier: chosen, modifierIndex: chosenIndex };
  return { ok: true, row };
}

/**
 * Bilateral surgery (modifier -50) by the BILAT SURG indicator:
 * - 1: "150% payment adjustment for bilateral procedures applies" → 150 %.
 * - 0: the 150 % adjustment does not apply; pay "100% of the fee schedule amount for a single code".
 * - 2: RVUs "are already based on the procedure being performed as a bilateral procedure" → 100 %.
 * - 3: the usual adjustment does not apply; pay "100% of the fee schedule amount for each side" → 200 %.
 * - 9 (or blank): "concept does not apply" → -50 changes nothing.
 * CMS: "apply the bilateral adjustment before applying any multiple procedure rules", so the
 * result also feeds the multiple-procedure ranking. The "lower of actual charge" comparison is not
 * applied, and only modifier -50 is recognised (not RT + LT lines or 2 units; see the report).
 */
export function bilateralHalves(row: RvuRow): { halves: number; note: string } {
  switch (row.bilatSurg) {
    case '1':
      return { halves: 3, note: '-50 bilateral 150% (BILAT SURG 1)' };
    case '0':
      return { halves: 2, note: '-50 bilateral 100%, no 150% adjustment (BILAT SURG 0)' };
    case '2':
      return { halves: 2, note: '-50 bilateral 100%, RVUs already bilateral (BILAT SURG 2)' };
    case '3':
      return { halves: 4, note: '-50 bilateral 200%, 100% each side (BILAT SURG 3)' };
    default:
      return { halves: 2, note: `-50 not applied, bilateral concept does not apply (BILAT SURG ${row.bilatSurg || 'blank'})` };
  }
}

/** One line's input to the multiple procedure rules. */
export interface MultipleProcedureLine {
  /** Date of service (grouping: same claim, same date). */
  dateOfService: string;
  /** MULT PROC indicator of the line's RVU record. */
  indicator: string;
  units: number;
  /** Fee-schedule value of one unit for ranking (any scale, the same for all lines of a date). */
  rankValue: number;
}

export interface MultipleProcedureResult {
  /** Sum over the line's units of each unit's percentage, in halves (2 units at 100 % → 4). */
  unitHalves: number;
  /** What was applied or skipped, for `basis`; '' when nothing applies. */
  note: string;
}

/** Indicators that take part in standard multiple-procedure ranking ("an indicator of 1, 2, or 3"). */
const RANKED = new Set(['1', '2', '3']);

/**
 * Multiple procedure reduction (MULT PROC indicator, modifier 51), within one claim and date of
 * service. Implemented: indicator 2, "Standard payment adjustment rules for multiple procedures
 * apply. If procedure is reported on the same day as another procedure with an indicator of 1, 2,
 * or 3, rank the procedures by fee schedule amount and apply the appropriate reduction to this code
 * (100%, 50%, 50%, 50%, 50% and by report)". Each unit counts as a procedure (a second unit of the
 * same code is a second procedure); the highest-valued unit of the date is paid 100 %, every other
 * indicator-2 unit 50 %. Beyond the fifth procedure CMS says "by report" (manual pricing); those
 * are priced at 50 % and the basis says so. The reduction is applied by indicator whether or not
 * the line carries -51, as CMS's rule is stated by indicator and same-day reporting.
 *
 * Not implemented (lines are left unreduced and the basis says so when the rule would have been
 * triggered): 1 (pre-1995 rules, 100/50/25/25/25), 3 (endoscopy families via ENDO BASE), 4
 * (diagnostic imaging TC 50 % / PC 5 %), 5 (50 % of PE for therapy), 6 (25 % of TC, cardiovascular),
 * 7 (20 % of TC, ophthalmology). Lines with indicators 1 and 3 still count when ranking the
 * indicator-2 lines, as the CMS text says. 0 and 9: no adjustment.
 */
export function multipleProcedureHalves(lines: readonly MultipleProcedureLine[]): MultipleProcedureResult[] {
  // One pass to group by date: procedures (units) and the highest-ranked line of each date, and
  // how many units of each other indicator share a date.
  const groups = new Map<string, { procedures: number; primary: number }>();
  const others = new Map<string, number>();
  for (let j = 0; j < lines.length; j++) {
    const l = lines[j];
    if (RANKED.has(l.indicator)) {
      const g = groups.get(l.dateOfService);
      if (!g) groups.set(l.dateOfService, { procedures: l.units, primary: j });
      else {
        g.procedures += l.units;
        if (l.rankValue > lines[g.primary].rankValue) g.primary = j; // ties: the earlier line stays primary
      }
    } else if (l.indicator !== '0' && l.indicator !== '9' && l.indicator !== '') {
      const key = `${l.dateOfService}|${l.indicator}`;
      others.set(key, (others.get(key) ?? 0) + l.units);
    }
  }

  const out: MultipleProcedureResult[] = new Array(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const ind = line.indicator;
    const result = { unitHalves: 2 * line.units, note: '' };
    out[i] = result;
    if (ind === '0' || ind === '9' || ind === '') continue;
    if (!RANKED.has(ind)) {
      // 4–7: same-day reductions of other kinds; note them where they would have applied.
      if ((others.get(`${line.dateOfService}|${ind}`) ?? 0) > 1) result.note = `MULT PROC ${ind} reduction not implemented, unreduced`;
      continue;
    }
    const group = groups.get(line.dateOfService)!;
    if (group.procedures <= 1) continue;
    const primary = group.primary === i;
    if (ind !== '2') {
      if (!primary || line.units > 1) result.note = `MULT PROC ${ind} reduction not implemented, unreduced`;
      continue;
    }
    const byReport = group.procedures > 5 ? ', 6th+ procedure is by report per CMS, priced at 50%' : '';
    if (primary) {
      result.unitHalves = 2 + (line.units - 1);
      result.note =
        line.units > 1
          ? `MPPR 100% + 50% x${line.units - 1} (MULT PROC 2${byReport})`
          : `MPPR primary 100% (MULT PROC 2${byReport})`;
    } else {
      result.unitHalves = line.units;
      result.note = `MPPR 50%${line.units > 1 ? ` x${line.units}` : ''} (MULT PROC 2${byReport})`;
    }
  }
  return out;
}
