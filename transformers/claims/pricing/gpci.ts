/**
 * Reads the CMS GPCI file (the final rule's GPCI addendum, GPCIyyyy.csv in RVUyyA.zip): one row
 * per Medicare Administrative Contractor (MAC) + locality number, with work (PW), PE and MP GPCIs.
 *
 * The header row is found by its column names (a cell "Locality Number" plus the three GPCI
 * columns); title lines above it and notes below (MAC assignment date, floor footnotes) are
 * skipped because their MAC and locality cells are not numbers.
 *
 * Spreadsheet exports drop leading zeros (MAC 01112 appears as 1112, locality 05 as 5), so keys are
 * the numbers without leading zeros and are shown padded to CMS's widths (5 and 2 digits).
 */
import { ValidationError } from '../../../common/errors';
import { normaliseLabel, parseCsv } from './csv';
import { GPCI_SCALE, formatScaled, parseScaled } from './money';

/** GPCIs of one payment locality, integers at scale 3 (1.036 → 1036). */
export interface GpciRow {
  /** MAC number padded to 5 digits, e.g. "01112". */
  mac: string;
  /** Locality number padded to 2 digits, e.g. "05". */
  locality: string;
  state: string;
  name: string;
  work: number;
  pe: number;
  mp: number;
  /** How pricing names it in a line's basis: "locality 01112-05 GPCI 1.077/1.329/0.458". */
  basis: string;
  line: number;
}

export interface GpciFile {
  /** Year from the GPCI column labels ("2022 PW GPCI ..."), if present. */
  year?: string;
  /** Rows by `gpciKey(mac, locality)`. */
  rows: Map<string, GpciRow>;
}

/** Digits without leading zeros ("05" → "5", "00" → "0"); undefined unless all digits. */
function stripZeros(text: string): string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  let start = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    if (c === 48 && start === i && i < t.length - 1) start = i + 1;
  }
  return start === 0 ? t : t.slice(start);
}

/** Key of a locality: MAC and locality number without leading zeros ("01112", "05" → "1112-5"); undefined unless both are numeric. */
export function gpciKey(mac: string, locality: string): string | undefined {
  const m = stripZeros(mac);
  const l = stripZeros(locality);
  return m === undefined || l === undefined ? undefined : `${m}-${l}`;
}

function fail(source: string, line: number, message: string): never {
  throw new ValidationError('FEE_SCHEDULE_FILE', `${source}:${line}: ${message}`, { path: `${source}:${line}` });
}

function findColumn(labels: string[], test: RegExp): number {
  return labels.findIndex((l) => test.test(l));
}

/** Parses the GPCI file's text. `source` names the file in error messages. */
export function parseGpciFile(text: string, source = 'GPCI file'): GpciFile {
  const rows = parseCsv(text);
  const headerIndex = rows.findIndex((r) => r.cells.some((c) => /^LOCALITY (NUMBER|NO\.?)$/.test(normaliseLabel(c))));
  if (headerIndex < 0) fail(source, 1, 'no header row with a "Locality Number" column');
  const labels = rows[headerIndex].cells.map(normaliseLabel);
  const col = {
    mac: findColumn(labels, /^(MEDICARE ADMINISTRATIVE CONTRACTOR|MAC|CONTRACTOR|CARRIER)( NUMBER| NO\.?)?$/),
    state: findColumn(labels, /^STATE$/),
    locality: findColumn(labels, /^LOCALITY (NUMBER|NO\.?)$/),
    name: findColumn(labels, /^LOCALITY NAME$/),
    work: findColumn(labels, /\b(PW|WORK) GPCI\b/),
    pe: findColumn(labels, /\bPE GPCI\b/),
    mp: findColumn(labels, /\b(MP|MALPRACTICE) GPCI\b/),
  };
  for (const [name, index] of Object.entries(col)) {
    if (index < 0 && name !== 'state' && name !== 'name') fail(source, rows[headerIndex].line, `no ${name} column`);
  }
  const year = /\b((?:19|20)\d{2}) (PW|WORK) GPCI\b/.exec(labels[col.work])?.[1];

  const byKey = new Map<string, GpciRow>();
  for (const r of rows.slice(headerIndex + 1)) {
    const cell = (index: number): string => (index < 0 ? '' : (r.cells[index] ?? '').trim());
    const key = gpciKey(cell(col.mac), cell(col.locality));
    if (!key) continue; // notes and footers ("MAC Assignments as of ...", floor footnotes)
    const gpci = (index: number, label: string): number => {
      try {
        const value = parseScaled(cell(index), GPCI_SCALE);
        if (value === undefined) throw new RangeError('blank');
        return value;
      } catch (err) {
        return fail(source, r.line, `${label} GPCI of locality ${key}: ${(err as Error).message}`);
      }
    };
    if (byKey.has(key)) fail(source, r.line, `second row for locality ${key}`);
    const [mac, locality] = key.split('-');
    const work = gpci(col.work, 'work');
    const pe = gpci(col.pe, 'PE');
    const mp = gpci(col.mp, 'MP');
    const padded = `${mac.padStart(5, '0')}-${locality.padStart(2, '0')}`;
    byKey.set(key, {
      mac: mac.padStart(5, '0'),
      locality: locality.padStart(2, '0'),
      state: cell(col.state),
      name: cell(col.name),
      work,
      pe,
      mp,
      basis: `locality ${padded} GPCI ${formatScaled(work, GPCI_SCALE)}/${formatScaled(pe, GPCI_SCALE)}/${formatScaled(mp, GPCI_SCALE)}`,
      line: r.line,
    });
  }
  if (byKey.size === 0) fail(source, rows[headerIndex].line, 'no locality rows after the header');
  return { year, rows: byKey };
}
