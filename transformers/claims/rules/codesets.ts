/**
 * Code sets named by a rule set (`codesets:` in rules.yaml): ICD-10-CM, CPT/HCPCS, modifiers, POS.
 * Each is read once, when the rule set is loaded, from one or more files:
 *
 * - a text file: one code per line, first whitespace-separated token (the rest of the line may
 *   describe the code); `#` starts a comment; blank lines are skipped;
 * - a column of a CSV file (`column: HCPCS`): the header row is the first row holding that name,
 *   so CMS files with title rows above the header work as shipped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { normalizeCode } from './primitives';
import type { CodeNormalization, CodeSet } from './types';

export interface CodeSetSource {
  file: string;
  column?: string;
}

export interface CodeSetSpec {
  normalize: CodeNormalization;
  sources: CodeSetSource[];
}

/** Splits CSV text into rows of cells (RFC 4180 quoting, CRLF or LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function codesFromText(text: string): string[] {
  const codes: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line) codes.push(line.split(/\s+/)[0]);
  }
  return codes;
}

function codesFromCsvColumn(text: string, column: string, file: string): string[] {
  const rows = parseCsv(text);
  const header = rows.findIndex((r) => r.some((c) => c.trim() === column));
  if (header < 0) throw new Error(`column '${column}' not found in ${file}`);
  const col = rows[header].findIndex((c) => c.trim() === column);
  const codes: string[] = [];
  for (const r of rows.slice(header + 1)) {
    const v = (r[col] ?? '').trim();
    if (v) codes.push(v);
  }
  return codes;
}

/** Loads one code set; relative file names are resolved against `dataDir`. Throws Error on I/O or format problems. */
export function loadCodeSet(name: string, spec: CodeSetSpec, dataDir: string): CodeSet {
  const codes = new Set<string>();
  const distinct = new Set<string>();
  const sources: string[] = [];
  for (const src of spec.sources) {
    const file = path.isAbsolute(src.file) ? src.file : path.join(dataDir, src.file);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${file}: ${(err as Error).message}`);
    }
    sources.push(src.column ? `${file}#${src.column}` : file);
    const list = src.column ? codesFromCsvColumn(text, src.column, file) : codesFromText(text);
    for (const raw of list) {
      const code = normalizeCode(raw, spec.normalize);
      distinct.add(code);
      codes.add(code);
      // ICD-10-CM: keep the dotted form too, so that a dotted or undotted claim code is found
      // without building a normalized string per lookup.
      if (spec.normalize === 'icd' && code.length > 3) codes.add(`${code.slice(0, 3)}.${code.slice(3)}`);
    }
  }
  if (distinct.size === 0) throw new Error(`code set '${name}' is empty (${sources.join(', ')})`);
  return { name, normalize: spec.normalize, codes, size: distinct.size, sources };
}

/** True when `code` is in the set, trying the raw value first and the normalized form second. */
export function codeSetHas(set: CodeSet, code: string): boolean {
  return set.codes.has(code) || (set.normalize !== 'none' && set.codes.has(normalizeCode(code, set.normalize)));
}
