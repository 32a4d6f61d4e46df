/**
 * NUCC Health Care Provider Taxonomy lookup (NPPES.md §5): code → grouping, classification,
 * specialization and display, from the CSV shipped in `connectors/nppes/data/` (see its README
 * for provenance). Loaded once, on first use.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../common/errors';
import { projectRoot } from '../../common/project-root';

/** FHIR code system of the NUCC taxonomy. */
export const NUCC_SYSTEM = 'http://nucc.org/provider-taxonomy';

/** Ten characters, the last `X` (NPPES.md §5: structure confirmed, regex inferred). */
export const TAXONOMY_CODE = /^[0-9A-Z]{9}X$/;

export interface NuccTaxonomy {
  code: string;
  grouping: string;
  classification: string;
  specialization?: string;
  /** `Display Name`, else classification + `, ` + specialization. */
  display: string;
  section?: 'Individual' | 'Non-Individual' | string;
}

let table: Map<string, NuccTaxonomy> | undefined;

/** Path of the shipped CSV. */
export function taxonomyCsvPath(): string {
  return path.join(projectRoot(), 'connectors', 'nppes', 'data', 'nucc_provider_taxonomy.csv');
}

/**
 * RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF.
 * The NUCC file's definitions are long quoted paragraphs, so a split on commas would not do.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

/** Builds the lookup table from CSV text (exported for tests and for loading another release). */
export function loadTaxonomyCsv(text: string): Map<string, NuccTaxonomy> {
  const [header, ...rows] = parseCsv(text);
  const col = (name: string): number => {
    const i = (header ?? []).findIndex((h) => h.trim().toLowerCase() === name.toLowerCase());
    if (i < 0) throw new ValidationError('NUCC_CSV_COLUMN', `NUCC taxonomy CSV has no column '${name}'`, { path: name });
    return i;
  };
  const iCode = col('Code');
  const iGrouping = col('Grouping');
  const iClass = col('Classification');
  const iSpec = col('Specialization');
  const iDisplay = (header ?? []).findIndex((h) => h.trim().toLowerCase() === 'display name');
  const iSection = (header ?? []).findIndex((h) => h.trim().toLowerCase() === 'section');
  const out = new Map<string, NuccTaxonomy>();
  for (const r of rows) {
    const code = (r[iCode] ?? '').trim().toUpperCase();
    if (!code) continue;
    const classification = (r[iClass] ?? '').trim();
    const specialization = (r[iSpec] ?? '').trim() || undefined;
    const displayName = iDisplay >= 0 ? (r[iDisplay] ?? '').trim() : '';
    out.set(code, {
      code,
      grouping: (r[iGrouping] ?? '').trim(),
      classification,
      ...(specialization ? { specialization } : {}),
      display: displayName || (specialization ? `${classification}, ${specialization}` : classification),
      ...(iSection >= 0 && r[iSection]?.trim() ? { section: r[iSection].trim() } : {}),
    });
  }
  return out;
}

function nucc(): Map<string, NuccTaxonomy> {
  table ??= loadTaxonomyCsv(fs.readFileSync(taxonomyCsvPath(), 'utf8'));
  return table;
}

/** The NUCC entry for a code (case-insensitive), or undefined when the shipped list lacks it. */
export function lookupTaxonomy(code: string): NuccTaxonomy | undefined {
  return nucc().get(code.trim().toUpperCase());
}

/**
 * A label for a taxonomy code: NUCC's display, else the label NPPES sent (`taxonomies[].desc`,
 * not versioned but better than nothing for a retired code), else the code itself.
 */
export function taxonomyDisplay(code: string, fallback?: string): string {
  return lookupTaxonomy(code)?.display ?? (fallback?.trim() || code);
}

/** Number of codes in the shipped list. */
export function taxonomyCount(): number {
  return nucc().size;
}
