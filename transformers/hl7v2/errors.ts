import { ValidationError } from '../../common/errors';

/**
 * Error codes raised by the HL7 v2 transformers (`ValidationError` prefixes them with `VALIDATION_`).
 * One list, so flows branching on `msg.error.code` have one place to look.
 */
export const HL7_ERROR_CODES = {
  /** The message text is not a readable HL7 v2 message (framing, MSH, segment ids, version). */
  PARSE: 'HL7_PARSE',
  /** A field path given to `get`/`getAll` is malformed (a programming or configuration error). */
  PATH: 'HL7_PATH',
  /** Message type or trigger event not supported by the transformer that received it. */
  UNSUPPORTED: 'HL7_UNSUPPORTED',
  /** The message parsed but a field the mapping needs is missing or has a bad value. */
  CONTENT: 'HL7_CONTENT',
  /** MSH-18 names a charset Wasl cannot decode, or the bytes are not valid in it. */
  CHARSET: 'HL7_CHARSET',
  /** A batch (FHS/BHS/BTS/FTS) is malformed or its trailer counts do not match. */
  BATCH: 'HL7_BATCH',
} as const;

/** HL7 table 0357 (message error condition codes), v2.5–v2.9. */
const TABLE_0357: Readonly<Record<number, string>> = {
  0: 'Message accepted',
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  104: 'Value too long',
  198: 'Non-Conformant Cardinality',
  199: 'Other HL7 Error',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  202: 'Unsupported processing id',
  203: 'Unsupported version id',
  204: 'Unknown key identifier',
  205: 'Duplicate key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
};

/**
 * The table-0357 text for an HL7 error condition code (`102` -> `Data type error`).
 * Unknown codes get a generic text rather than an exception: the ACK must still go out.
 */
export function hl7ErrorText(code: number): string {
  return TABLE_0357[code] ?? `Error code ${code}`;
}

/** Where in the message a problem is; mirrors the ERL data type of ERR-2. */
export interface Hl7ErrorLocation {
  /** Segment id, e.g. `PID`; '' when the segment id itself is unreadable. */
  segmentId: string;
  /** 1-based position of the segment in the whole message. */
  segmentIndex?: number;
  /** 1-based occurrence of this segment id (ERL-2 "segment sequence"); 1 when unknown. */
  sequence?: number;
  field?: number;
  repetition?: number;
  component?: number;
}

/** The `details` carried by every HL7 `ValidationError`, read by `ackErrorFromValidation`. */
export interface Hl7ErrorDetails extends Hl7ErrorLocation, Record<string, unknown> {
  /** HL7 table 0357 code. */
  hl7ErrorCode: number;
}

/**
 * Builds the ValidationError for an HL7 problem. `path` is derived from the location
 * (`MSH-9`, `PID-7`, `PV1`) so logs and the message store show where, never what.
 */
export function hl7ValidationError(
  code: string,
  hl7ErrorCode: number,
  message: string,
  location: Hl7ErrorLocation,
): ValidationError {
  const details: Hl7ErrorDetails = { hl7ErrorCode, sequence: 1, ...location };
  return new ValidationError(code, message, { path: locationPath(location), details });
}

/** `PID-5.1` style path for a location; just the segment id when no field is known. */
export function locationPath(loc: Hl7ErrorLocation): string | undefined {
  if (!loc.segmentId) return undefined;
  if (loc.field === undefined) return loc.segmentId;
  const comp = loc.component === undefined ? '' : `.${loc.component}`;
  return `${loc.segmentId}-${loc.field}${comp}`;
}
