import { DEFAULT_CHARSET, decodeHl7Bytes } from './charset';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';
import { headerFromSegment, mshDelimiters, skipLeadingNoise } from './header';
import { Hl7Message } from './message';
import { Hl7Segment } from './segment';

export { Hl7Message } from './message';
export { Hl7Segment, HL7_NULL } from './segment';
export { readHl7Header, type Hl7Header } from './header';
export type { Hl7Delimiters } from './delimiters';

export interface ParseHl7Options {
  /**
   * Charset (table 0211) for a message whose MSH-18 is empty: `UNICODE UTF-8` by default, as
   * most senders mean; set per channel for a sender that sends Latin-1 without saying so.
   */
  charset?: string;
}

/**
 * Parses one HL7 v2 message (not a batch: FHS/BHS files must be split first).
 *
 * Tolerates what real senders do (HL7V2.md §10): a UTF-8 BOM or whitespace before MSH, LF or
 * CRLF instead of CR, blank lines, trailing empty fields, truncated segments, Z-segments, any
 * delimiters MSH-1/MSH-2 declare (including the v2.7 5th character).
 *
 * @throws ValidationError code `VALIDATION_HL7_PARSE`, `path` like `MSH-9`, and `details`
 *   `{ hl7ErrorCode, segmentIndex, segmentId, sequence, field }` (table 0357 code; 1-based
 *   indexes) when: the text does not start with MSH (100), a segment id is not 3 upper-case
 *   letters/digits or a second MSH appears (100), MSH-1/2 are unusable (101/102), MSH-9 or
 *   MSH-10 is missing (101), MSH-12 is missing or not 2.1–2.9 (203). Given bytes, they are
 *   decoded per MSH-18 first: `VALIDATION_HL7_CHARSET` for an unsupported charset (103) or bytes
 *   not valid in it (102, naming the segment and field).
 */
export function parseHl7(input: string | Uint8Array, options: ParseHl7Options = {}): Hl7Message {
  const text = typeof input === 'string' ? input : decodeHl7Bytes(input, options.charset).text;
  const start = skipLeadingNoise(text);
  let body = start === 0 ? text : text.slice(start);
  // Normalise terminators once (one native pass) instead of testing every split piece.
  if (body.indexOf('\n') >= 0) body = body.replace(/\r?\n/g, '\r');
  const lines = body.split('\r');

  const delimiters = mshDelimiters(lines[0]);
  const segments: Hl7Segment[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '' || isBlank(line)) continue; // blank lines between or after segments
    checkSegmentId(line, delimiters.field, segments.length + 1, i === 0);
    segments.push(new Hl7Segment(line, delimiters));
  }
  const header = headerFromSegment(segments[0], delimiters);
  // Segments decode lazily and share this object: `\Xhh\` escapes are bytes in this charset.
  delimiters.charset = header.characterSet || options.charset || DEFAULT_CHARSET;
  return new Hl7Message(segments, header, delimiters);
}

function checkSegmentId(line: string, fieldSep: string, index: number, first: boolean): void {
  const ok =
    line.length >= 3 &&
    isIdChar(line.charCodeAt(0)) &&
    isIdChar(line.charCodeAt(1)) &&
    isIdChar(line.charCodeAt(2)) &&
    (line.length === 3 || line.charAt(3) === fieldSep);
  if (!ok) {
    // The bad text may be patient data (a line break inside a note), so it stays out of the
    // message; details carry at most the 3 leading characters when they look like an id.
    const id = /^[A-Za-z0-9]{3}/.test(line) ? line.slice(0, 3) : '';
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 100, `Segment ${index} does not start with a valid segment id`, {
      segmentId: id,
      segmentIndex: index,
    });
  }
  if (!first && line.startsWith('MSH')) {
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 100, `Segment ${index} is a second MSH: one message per parse, split batches first`, {
      segmentId: 'MSH',
      segmentIndex: index,
      sequence: 2,
    });
  }
}

/** A-Z or 0-9. */
function isIdChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}

function isBlank(line: string): boolean {
  const c = line.charCodeAt(0);
  return (c === 0x20 || c === 0x09) && line.trim() === '';
}
