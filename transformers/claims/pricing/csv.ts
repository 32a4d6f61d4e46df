/**
 * A small RFC 4180 reader for the CMS reference files: quoted fields (with "" escapes and embedded
 * commas or line breaks), CRLF or LF, an optional UTF-8 byte-order mark. Cells are returned as
 * written; callers trim. Each row keeps its 1-based line number so load errors can name it.
 */

export interface CsvRow {
  /** 1-based line on which the row starts. */
  line: number;
  cells: string[];
}

export function parseCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = (): void => {
    cells.push(cell);
    rows.push({ line: rowLine, cells });
    cells = [];
    cell = '';
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      endRow();
      line++;
      rowLine = line;
    } else {
      cell += ch;
    }
  }
  if (cell !== '' || cells.length > 0) endRow();
  return rows;
}

/** True when every cell is empty or whitespace. */
export function isBlankRow(cells: string[]): boolean {
  return cells.every((c) => c.trim() === '');
}

/** Upper-cases and collapses whitespace, for comparing column labels. */
export function normaliseLabel(text: string): string {
  return text.replace(/\s+/g, ' ').trim().toUpperCase();
}
