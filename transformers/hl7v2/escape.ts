import type { Hl7Delimiters } from './delimiters';

/**
 * Decodes the delimiter escape sequences `\F\ \S\ \T\ \R\ \E\` (and `\P\`, the v2.7 truncation
 * character) in one leaf value. Other sequences (`\Xhh\`, `\H\`, `\.br\`, ...) are kept verbatim:
 * their meaning depends on the data type (FT) and the agreed charset, so the consumer decides.
 * Call it only after splitting (HL7V2.md §3): a decoded `^` must not split anything.
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
    const replacement = delimiterFor(value.slice(start + 1, end), d);
    if (replacement === undefined) {
      out += value.slice(pos, end + 1);
    } else {
      out += value.slice(pos, start) + replacement;
    }
    pos = end + 1;
  }
  return out + value.slice(pos);
}

function delimiterFor(code: string, d: Hl7Delimiters): string | undefined {
  switch (code) {
    case 'F': return d.field;
    case 'S': return d.component;
    case 'T': return d.subcomponent || undefined;
    case 'R': return d.repetition;
    case 'E': return d.escape;
    case 'P': return d.truncation || undefined;
    default: return undefined;
  }
}

/**
 * Escapes text for use as one leaf value in a message with delimiters `d`: the escape character
 * first (so the sequences added next are not escaped twice), then the separators. CR and LF
 * would end the segment, so they become `\X0D\` / `\X0A\`. Without an escape character (a 3-char
 * MSH-2) the offending characters become spaces: lossy, but the message stays well formed.
 */
export function encodeHl7Text(value: string, d: Hl7Delimiters): string {
  const esc = d.escape;
  let out = '';
  for (const c of value) {
    let seq: string | undefined;
    if (c === esc) seq = 'E';
    else if (c === d.field) seq = 'F';
    else if (c === d.component) seq = 'S';
    else if (c === d.repetition) seq = 'R';
    else if (d.subcomponent !== '' && c === d.subcomponent) seq = 'T';
    else if (d.truncation !== '' && c === d.truncation) seq = 'P';
    else if (c === '\r') seq = 'X0D';
    else if (c === '\n') seq = 'X0A';
    if (seq === undefined) out += c;
    else out += esc === '' ? ' ' : `${esc}${seq}${esc}`;
  }
  return out;
}
