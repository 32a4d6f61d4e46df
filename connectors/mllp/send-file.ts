/**
 * Reading HL7 v2 messages out of a file for `wasl mllp-send FILE`.
 *
 * Files come from many places (exports, FTP in ASCII mode, copy-paste from a log), so segment
 * terminators may be CR, LF or CRLF (HL7V2.md §10.1) and messages may be wrapped in the batch
 * envelope FHS/BHS ... BTS/FTS (HL7V2.md §9) or simply concatenated.
 */
import { ValidationError } from '../../common/errors';

/** Batch and file envelope segments: they frame messages in a file but are never sent over MLLP. */
const ENVELOPE_SEGMENTS = new Set(['FHS', 'BHS', 'BTS', 'FTS']);

/**
 * Splits a file's text into HL7 v2 messages, each with pure CR segment terminators and a final CR.
 *
 * A message starts at every segment beginning with `MSH`. Blank lines and envelope segments
 * (FHS, BHS, BTS, FTS) are skipped; a leading byte-order mark is removed. Any other segment
 * before the first MSH means the file is not HL7 v2 (or is cut), so it is refused rather than
 * silently dropped.
 *
 * @throws ValidationError `HL7_NO_MSH` when a segment appears before any MSH.
 */
export function splitHl7Messages(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // CRLF first, so a CRLF pair becomes one terminator rather than an empty segment.
  const segments = body.replace(/\r\n/g, '\r').replace(/\n/g, '\r').split('\r');
  const messages: string[] = [];
  let current: string[] | undefined;
  for (let n = 0; n < segments.length; n++) {
    const segment = segments[n];
    if (segment.trim() === '') continue;
    const id = segment.slice(0, 3);
    if (ENVELOPE_SEGMENTS.has(id)) continue;
    if (id === 'MSH') {
      if (current) messages.push(current.join('\r') + '\r');
      current = [segment];
    } else if (current) {
      current.push(segment);
    } else {
      throw new ValidationError('HL7_NO_MSH', `line ${n + 1} holds a segment before any MSH segment`, {
        details: { line: n + 1 },
      });
    }
  }
  if (current) messages.push(current.join('\r') + '\r');
  return messages;
}
