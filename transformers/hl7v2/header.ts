import { readDelimiters, firstLineBreak, type Hl7Delimiters } from './delimiters';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';
import { Hl7Segment } from './segment';

/**
 * What the MSH says, enough to route the message and to build its ACK. Values are the wire text
 * of the field or component ('' when empty), not unescaped: the ACK copies them back into a
 * message with the same delimiters, and MSA-2 must echo MSH-10 byte for byte.
 */
export interface Hl7Header {
  fieldSeparator: string;
  encodingCharacters: string;
  /** MSH-3 (HD, all components). */
  sendingApplication: string;
  /** MSH-4 (HD, all components). */
  sendingFacility: string;
  /** MSH-5 (HD, all components). */
  receivingApplication: string;
  /** MSH-6 (HD, all components). */
  receivingFacility: string;
  /** MSH-7 (TS). */
  dateTime: string;
  /** MSH-9.1, e.g. `ADT`. */
  messageType: string;
  /** MSH-9.2, e.g. `A01`; '' when the sender left it out (`ACK^`). */
  triggerEvent: string;
  /** MSH-9.3, e.g. `ADT_A01`. */
  messageStructure: string;
  /** MSH-10. */
  controlId: string;
  /** MSH-11 raw (processing id plus mode component if any). */
  processingId: string;
  /** MSH-12.1, e.g. `2.5.1`. */
  version: string;
  /** MSH-15. */
  acceptAckType: string;
  /** MSH-16. */
  applicationAckType: string;
  /** MSH-18 (first repetition). */
  characterSet: string;
}

/** Versions this engine speaks: 2.1 up to 2.9 with optional sub-releases (2.3.1, 2.5.1). */
const VERSION_RE = /^2\.[1-9](\.\d+)*$/;

/**
 * Parses only the MSH segment: for the MLLP source, which must ACK fast and needs nothing else.
 * Tolerates a leading BOM or whitespace and any segment terminator.
 * @throws ValidationError `HL7_PARSE` with the same details as {@link parseHl7}.
 */
export function readHl7Header(text: string): Hl7Header {
  const start = skipLeadingNoise(text);
  const body = start === 0 ? text : text.slice(start);
  let end = firstLineBreak(body);
  if (end < 0) end = body.length;
  const msh = body.slice(0, end);
  const delimiters = mshDelimiters(msh);
  return headerFromSegment(new Hl7Segment(msh, delimiters), delimiters);
}

/** Index of the first character after a UTF-8 BOM and any whitespace. */
export function skipLeadingNoise(text: string): number {
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    // BOM, space, tab, CR, LF, VT, FF: what editors, FTP and copy-paste put before MSH
    if (c === 0xfeff || c === 0x20 || (c >= 0x09 && c <= 0x0d)) i++;
    else break;
  }
  return i;
}

/** Checks the first segment is an MSH and reads its delimiters. */
export function mshDelimiters(firstSegment: string): Hl7Delimiters {
  if (!firstSegment.startsWith('MSH')) {
    const id = /^[A-Z0-9]{3}/.test(firstSegment) ? firstSegment.slice(0, 3) : '';
    const what = id === 'BHS' || id === 'FHS' ? ` (found ${id}, a batch envelope: split the batch first)` : '';
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 100, `Message must start with an MSH segment${what}`, {
      segmentId: id,
      segmentIndex: 1,
    });
  }
  return readDelimiters(firstSegment);
}

/**
 * Builds the header from a parsed MSH segment and checks the fields every receiver needs:
 * MSH-9 message type, MSH-10 control id (101 when missing) and MSH-12 version (203).
 */
export function headerFromSegment(msh: Hl7Segment, d: Hl7Delimiters): Hl7Header {
  const msh9 = firstRepetition(msh.field(9), d);
  const comp = (field: number, n: number): string => nthPiece(field === 9 ? msh9 : firstRepetition(msh.field(field), d), d.component, n);
  const header: Hl7Header = {
    fieldSeparator: d.field,
    encodingCharacters: d.encodingCharacters,
    sendingApplication: msh.field(3),
    sendingFacility: msh.field(4),
    receivingApplication: msh.field(5),
    receivingFacility: msh.field(6),
    dateTime: msh.field(7),
    messageType: comp(9, 1),
    triggerEvent: comp(9, 2),
    messageStructure: comp(9, 3),
    controlId: msh.field(10),
    processingId: msh.field(11),
    version: comp(12, 1),
    acceptAckType: msh.field(15),
    applicationAckType: msh.field(16),
    characterSet: firstRepetition(msh.field(18), d),
  };
  const at = (field: number) => ({ segmentId: 'MSH', segmentIndex: 1, sequence: 1, field });
  if (header.messageType === '') {
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 101, 'MSH-9 message type is missing', at(9));
  }
  if (header.controlId === '') {
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 101, 'MSH-10 message control id is missing', at(10));
  }
  if (!VERSION_RE.test(header.version)) {
    const why = header.version === '' ? 'is missing' : 'is not a supported version (2.1 to 2.9)';
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 203, `MSH-12 version id ${why}`, at(12));
  }
  return header;
}

function firstRepetition(text: string, d: Hl7Delimiters): string {
  return nthPiece(text, d.repetition, 1);
}

/** The n-th (1-based) piece of `text` split on `sep`, without building an array; '' when absent. */
function nthPiece(text: string, sep: string, n: number): string {
  if (sep === '') return n === 1 ? text : '';
  let start = 0;
  for (let i = 1; i < n; i++) {
    const next = text.indexOf(sep, start);
    if (next < 0) return '';
    start = next + 1;
  }
  const end = text.indexOf(sep, start);
  return end < 0 ? (start === 0 ? text : text.slice(start)) : text.slice(start, end);
}
