/**
 * Reads the CMS National Physician Fee Schedule Relative Value File (PPRRVUyy, comma-delimited
 * release of RVUyyA.zip) into rows keyed by HCPCS + modifier.
 *
 * The file opens with title and copyright lines and a header spread over several rows ("WORK" above
 * "RVU", "MULT" above "PROC"), and may end with notes. So the header is found by its column names,
 * not by a line number: the row holding both `HCPCS` and `MOD` is the last header row, and each
 * column's label is its cells in the contiguous non-blank rows above it, joined top to bottom
 * ("WORK RVU", "NON-FAC PE RVU", "MULT PROC"). After that, only rows whose HCPCS cell is a 5-character
 * code are data; everything else (notes, footers, blank lines) is skipped.
 *
 * Field meanings: CMS, RVU documentation file RVUyyA (record layout and Attachment A), shipped in
 * https://www.cms.gov/medicare/payment/fee-schedules/physician/pfs-relative-value-files .
 */
import { ValidationError } from '../../../common/errors';
import { isBlankRow, normaliseLabel, parseCsv } from './csv';
import { GPCI_SCALE, RVU_SCALE, parseScaled } from './money';

/** One record of the RVU file. RVUs are integers at scale 2 (1.23 → 123). */
export interface RvuRow {
  /** HCPCS / CPT code, upper case. */
  code: string;
  /** Payment modifier of the record: '' (global), '26', 'TC' or '53'. */
  modifier: string;
  description: string;
  /** Status code (Attachment A): A, R, T are paid under the PFS; others are not. */
  status: string;
  work: number;
  peNonFacility: number;
  peFacility: number;
  mp: number;
  /** "NA" indicators: rarely or never performed in that setting (RVU documentation). */
  nonFacilityNa: boolean;
  facilityNa: boolean;
  /** PC/TC indicator (0–9). */
  pctc: string;
  /** Global surgery days (000, 010, 090, XXX, YYY, ZZZ, MMM). */
  globalDays: string;
  /** Multiple procedure indicator, modifier 51 (0–9). */
  multProc: string;
  /** Bilateral surgery indicator, modifier 50 (0–3, 9). */
  bilatSurg: string;
  /** Endoscopic base code (for multiple procedure indicator 3), '' when none. */
  endoBase: string;
  /** The file's own conversion factor column, as written (e.g. "34.6062"); '' if absent. */
  fileConversionFactor: string;
  /** Σ RVU × GPCI 1.000 at scale 5, precomputed for national pricing (non-facility / facility PE). */
  nationalNonFacility: number;
  nationalFacility: number;
  /** "70450-26", or the code alone for the global record: how messages and `basis` name it. */
  label: string;
  /** Line of the file the row came from. */
  line: number;
}

export interface RvuFile {
  /** Year from the title line ("2022 National Physician Fee Schedule Relative Value File ..."), if present. */
  year?: string;
  /** Rows by code, then by modifier ('' for the global record). */
  rows: Map<string, Map<string, RvuRow>>;
  count: number;
}

type Field =
  | 'code'
  | 'modifier'
  | 'description'
  | 'status'
  | 'work'
  | 'peNonFacility'
  | 'nonFacilityNa'
  | 'peFacility'
  | 'facilityNa'
  | 'mp'
  | 'pctc'
  | 'globalDays'
  | 'multProc'
  | 'bilatSurg'
  | 'endoBase'
  | 'conversionFactor';

/** Accepted labels per field, after stacking and normalising the header rows. */
const LABELS: Record<Field, { labels: string[]; optional?: boolean }> = {
  code: { labels: ['HCPCS', 'HCPCS CODE'] },
  modifier: { labels: ['MOD', 'MODIFIER'] },
  description: { labels: ['DESCRIPTION'], optional: true },
  status: { labels: ['STATUS CODE'] },
  work: { labels: ['WORK RVU', 'WORK RVUS'] },
  peNonFacility: { labels: ['NON-FAC PE RVU', 'NON-FACILITY PE RVU', 'NON-FAC PE RVUS'] },
  nonFacilityNa: { labels: ['NON-FAC NA INDICATOR'], optional: true },
  peFacility: { labels: ['FACILITY PE RVU', 'FACILITY PE RVUS'] },
  facilityNa: { labels: ['FACILITY NA INDICATOR'], optional: true },
  mp: { labels: ['MP RVU', 'MP RVUS'] },
  pctc: { labels: ['PCTC IND', 'PCTC INDICATOR'] },
  globalDays: { labels: ['GLOB DAYS'], optional: true },
  multProc: { labels: ['MULT PROC'] },
  bilatSurg: { labels: ['BILAT SURG'] },
  endoBase: { labels: ['ENDO BASE'], optional: true },
  conversionFactor: { labels: ['CONV FACTOR'], optional: true },
};

const CODE = /^[0-9A-Z]{5}$/;
const MODIFIER = /^([0-9A-Z]{2})?$/;
/** Header rows stacked above the HCPCS/MOD row at most (the 2022 file uses four). */
const MAX_HEADER_ROWS = 6;

function fail(source: string, line: number, message: string): never {
  throw new ValidationError('FEE_SCHEDULE_FILE', `${source}:${line}: ${message}`, { path: `${source}:${line}` });
}

/** Parses the RVU file's text. `source` names the file in error messages. */
export function parseRvuFile(text: string, source = 'RVU file'): RvuFile {
  const rows = parseCsv(text);
  const headerIndex = rows.findIndex((r) => {
    const cells = r.cells.map(normaliseLabel);
    return cells.includes('HCPCS') && cells.includes('MOD');
  });
  if (headerIndex < 0) fail(source, 1, 'no header row with HCPCS and MOD columns');

  let top = headerIndex;
  while (top > 0 && headerIndex - top < MAX_HEADER_ROWS - 1 && !isBlankRow(rows[top - 1].cells)) top--;
  const width = Math.max(...rows.slice(top, headerIndex + 1).map((r) => r.cells.length));
  const labels: string[] = [];
  for (let col = 0; col < width; col++) {
    labels.push(normaliseLabel(rows.slice(top, headerIndex + 1).map((r) => r.cells[col] ?? '').join(' ')));
  }
  const column = {} as Record<Field, number>;
  for (const [field, spec] of Object.entries(LABELS) as [Field, (typeof LABELS)[Field]][]) {
    const index = labels.findIndex((l) => spec.labels.includes(l));
    if (index < 0 && !spec.optional) {
      fail(source, rows[headerIndex].line, `no column labelled ${spec.labels.join(' / ')}`);
    }
    column[field] = index;
  }

  let year: string | undefined;
  for (const r of rows.slice(0, top)) {
    const m = /\b((?:19|20)\d{2})\s+NATIONAL PHYSICIAN FEE SCHEDULE/i.exec(r.cells.join(' '));
    if (m) {
      year = m[1];
      break;
    }
  }

  const byCode = new Map<string, Map<string, RvuRow>>();
  let count = 0;
  for (const r of rows.slice(headerIndex + 1)) {
    const cell = (field: Field): string => (column[field] < 0 ? '' : (r.cells[column[field]] ?? '').trim());
    const code = cell('code').toUpperCase();
    if (!CODE.test(code)) continue; // title, note, footer or blank line
    const modifier = cell('modifier').toUpperCase();
    if (!MODIFIER.test(modifier)) fail(source, r.line, `bad modifier "${modifier}" for ${code}`);
    const rvu = (field: Field): number => {
      try {
        return parseScaled(cell(field), RVU_SCALE) ?? 0;
      } catch (err) {
        return fail(source, r.line, `${field} of ${code}: ${(err as Error).message}`);
      }
    };
    const work = rvu('work');
    const peNonFacility = rvu('peNonFacility');
    const peFacility = rvu('peFacility');
    const mp = rvu('mp');
    const gpciOne = 10 ** GPCI_SCALE;
    const row: RvuRow = {
      code,
      modifier,
      description: cell('description'),
      status: cell('status').toUpperCase(),
      work,
      peNonFacility,
      peFacility,
      mp,
      nonFacilityNa: cell('nonFacilityNa').toUpperCase() === 'NA',
      facilityNa: cell('facilityNa').toUpperCase() === 'NA',
      pctc: cell('pctc'),
      globalDays: cell('globalDays'),
      multProc: cell('multProc'),
      bilatSurg: cell('bilatSurg'),
      endoBase: cell('endoBase').toUpperCase(),
      fileConversionFactor: cell('conversionFactor'),
      nationalNonFacility: (work + peNonFacility + mp) * gpciOne,
      nationalFacility: (work + peFacility + mp) * gpciOne,
      label: modifier ? `${code}-${modifier}` : code,
      line: r.line,
    };
    let mods = byCode.get(code);
    if (!mods) byCode.set(code, (mods = new Map()));
    if (mods.has(modifier)) fail(source, r.line, `second record for ${code}${modifier ? '-' + modifier : ''}`);
    mods.set(modifier, row);
    count++;
  }
  if (count === 0) fail(source, rows[headerIndex].line, 'no data rows after the header');
  return { year, rows: byCode, count };
}
