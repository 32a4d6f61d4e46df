import { HL7_ERROR_CODES, hl7ValidationError } from './errors';

/**
 * The separators a message declares in MSH-1 and MSH-2. A delimiter the message does not
 * declare (MSH-2 with fewer than 4 characters, as some v2.1 senders do) is '' and never splits.
 */
export interface Hl7Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** v2.7+ truncation character (5th MSH-2 character); '' when absent. */
  truncation: string;
  /** MSH-2 exactly as received, so encoders can echo it verbatim. */
  encodingCharacters: string;
  /**
   * The message's character set (table 0211, e.g. `8859/6`), set once MSH-18 is read: `\Xhh\`
   * escapes are bytes in it. Undefined means UTF-8.
   */
  charset?: string;
}

/** `|^~\&`: what we use when there is no inbound message to mirror. */
export const DEFAULT_DELIMITERS: Hl7Delimiters = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
  truncation: '',
  encodingCharacters: '^~\\&',
});

/**
 * Reads MSH-1/MSH-2 from the start of an MSH segment (`text` begins with `MSH`).
 * MSH-2 is a literal: it is read by position, never split or unescaped (HL7V2.md §2).
 * @throws ValidationError (0357 code 101 or 102) when the delimiters are missing or ambiguous.
 */
export function readDelimiters(text: string): Hl7Delimiters {
  const field = text.charAt(3);
  if (field === '' || field === '\r' || field === '\n') {
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 101, 'MSH-1 field separator missing', msh(1));
  }
  let end = text.indexOf(field, 4);
  const segEnd = firstLineBreak(text);
  if (end < 0 || (segEnd >= 0 && segEnd < end)) end = segEnd < 0 ? text.length : segEnd;
  const enc = text.slice(4, end);
  if (enc.length === 0 || enc.length > 5) {
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 102, `MSH-2 must hold 1 to 5 encoding characters, found ${enc.length}`, msh(2));
  }
  // A duplicated character (e.g. `^~\\&`, where escape and subcomponent would both be `\`) makes
  // every field ambiguous; guessing would silently corrupt data, so reject it. A letter, digit or
  // space as a delimiter would split ordinary values (MSA-1 `AE` with `E` as a separator): refused too.
  const all = field + enc;
  for (let i = 0; i < all.length; i++) {
    const c = all.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
      throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 102, `MSH-${i === 0 ? 1 : 2} delimiters must not be letters, digits, spaces or control characters`, msh(i === 0 ? 1 : 2));
    }
    if (all.indexOf(all.charAt(i)) !== i) {
      throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 102, 'MSH-2 encoding characters must be distinct from each other and from MSH-1', msh(2));
    }
  }
  return {
    field,
    component: enc.charAt(0),
    repetition: enc.charAt(1),
    escape: enc.charAt(2),
    subcomponent: enc.charAt(3),
    truncation: enc.charAt(4),
    encodingCharacters: enc,
  };
}

function msh(field: number) {
  return { segmentId: 'MSH', segmentIndex: 1, field };
}

/** Index of the first CR or LF, or -1. */
export function firstLineBreak(text: string): number {
  const cr = text.indexOf('\r');
  const lf = text.indexOf('\n');
  if (cr < 0) return lf;
  if (lf < 0) return cr;
  return Math.min(cr, lf);
}
