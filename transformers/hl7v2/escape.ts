import { decodeHexEscape } from './charset';
import type { Hl7Delimiters } from './delimiters';

/**
 * Decodes the escape sequences in one leaf value (HL7V2.md §3):
 * - delimiters `\F\ \S\ \T\ \R\ \E\` (and `\P\`, the v2.7 truncation character);
 * - `\Xhh..\` hex bytes, read in the message's charset (MSH-18); an odd or non-hex sequence is
 *   kept verbatim rather than guessed at;
 * - FT formatting: `\.br\` is a line break (`\n`), `\.sp\` / `\.sp n\` n line breaks, `\.sk n\`
 *   n spaces; `\.in\ \.ti\ \.ce\ \.fi\ \.nf\` (layout only) are dropped;
 * - highlighting `\H\` / `\N\` is dropped: plain text has no bold.
 * Locally defined `\Z..\` and charset switches `\C..\ \M..\` stay verbatim: their meaning is
 * agreed per interface, so the consumer decides. Call this only after splitting: a decoded `^`
 * must not split anything.
 */
export function decodeHl7Text(value: string, d: Hl7Delimiters): string {
  const esc = d.escape;
  if (esc === '' || value.indexOf(esc) < 0) return value; // fast path: nearly every value
  let out = '';
  let pos = 0;
  for (;;) {
    const start = value.indexOf(esc, pos);
    if (start < 0) break;
    const end = value.indexOf(esc, start + 1);
    if (end < 0) break; // a lone escape character is data, not a sequence
    const replacement = sequenceText(value.slice(start + 1, end), d);
    out += replacement === undefined ? value.slice(pos, end + 1) : value.slice(pos, start) + replacement;
    pos = end + 1;
  }
  return out + value.slice(pos);
}

/** What one escape sequence (without its escape characters) stands for; undefined keeps it. */
function sequenceText(code: string, d: Hl7Delimiters): string | undefined {
  switch (code) {
    case 'F': return d.field;
    case 'S': return d.component;
    case 'T': return d.subcomponent || undefined;
    case 'R': return d.repetition;
    case 'E': return d.escape;
    case 'P': return d.truncation || undefined;
    case 'H':
    case 'N':
      return '';
  }
  const c = code.charAt(0);
  if (c === 'X') return decodeHexEscape(code.slice(1), d.charset);
  if (c === '.') return formatting(code.slice(1));
  return undefined;
}

/** FT formatting commands (`.br`, `.sp 2`, `.sk 3`, ...) as plain text. */
function formatting(command: string): string | undefined {
  const m = /^([a-z]{2})\s*([+-]?\d+)?$/.exec(command);
  if (!m) return undefined;
  const n = m[2] === undefined ? 1 : Math.max(0, Math.min(Number(m[2]), 100));
  switch (m[1]) {
    case 'br': return '\n';
    case 'sp': return '\n'.repeat(n);
    case 'sk': return ' '.repeat(n);
    case 'in':
    case 'ti':
    case 'ce':
    case 'fi':
    case 'nf':
      return '';
    default:
      return undefined;
  }
}

export interface EncodeTextOptions {
  /**
   * How line breaks are written: `hex` (`\X0D\` / `\X0A\`, valid in every text type; default) or
   * `formatted` (`\.br\`, for FT fields such as OBX-5 of an FT observation or NTE-3).
   */
  lineBreaks?: 'hex' | 'formatted';
}

/**
 * Escapes text for use as one leaf value in a message with delimiters `d`: the escape character
 * first (so the sequences added next are not escaped twice), then the separators; line breaks
 * as the options say. Without an escape character (a 3-char MSH-2) the offending characters
 * become spaces: lossy, but the message stays well formed.
 */
export function encodeHl7Text(value: string, d: Hl7Delimiters, options: EncodeTextOptions = {}): string {
  const esc = d.escape;
  const formatted = options.lineBreaks === 'formatted';
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    let seq: string | undefined;
    if (c === esc) seq = 'E';
    else if (c === d.field) seq = 'F';
    else if (c === d.component) seq = 'S';
    else if (c === d.repetition) seq = 'R';
    else if (d.subcomponent !== '' && c === d.subcomponent) seq = 'T';
    else if (d.truncation !== '' && c === d.truncation) seq = 'P';
    else if (c === '\r' || c === '\n') {
      if (formatted) {
        if (c === '\r' && value.charAt(i + 1) === '\n') i++; // CRLF is one break
        seq = '.br';
      } else {
        seq = c === '\r' ? 'X0D' : 'X0A';
      }
    }
    if (seq === undefined) out += c;
    else out += esc === '' ? ' ' : `${esc}${seq}${esc}`;
  }
  return out;
}
