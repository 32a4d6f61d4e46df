import { ValidationError } from '../../common/errors';
import { DEFAULT_DELIMITERS, type Hl7Delimiters } from './delimiters';
import { encodeHl7Text } from './escape';
import { hl7ErrorText, type Hl7ErrorDetails } from './errors';
import type { Hl7Header } from './header';

export { hl7ErrorText } from './errors';

/** MSA-1 acknowledgment code, table 0008. */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** One problem to report in an ERR segment. */
export interface AckError {
  /** HL7 table 0357 code (e.g. 101 required field missing). */
  code: number;
  /** Table 0516; default `E`. */
  severity?: 'E' | 'W' | 'I' | 'F';
  location?: { segment: string; sequence?: number; field?: number; component?: number };
  /** Free text for ERR-7 (v2.5+); never patient data. */
  diagnostic: string;
}

export interface BuildAckOptions {
  code: AckCode;
  /** New, unique MSH-10 for the ACK itself (never the inbound one). */
  controlId: string;
  /** MSH-7; formatted in UTC as YYYYMMDDHHMMSS+0000. */
  timestamp: Date;
  errors?: AckError[];
  /** MSA-3. */
  textMessage?: string;
}

/** Version used when the inbound MSH could not be read. */
const FALLBACK_VERSION = '2.5.1';

/**
 * Builds an HL7 ACK for an inbound message (HL7V2.md §6–7), as segments joined by CR, without
 * MLLP framing. Mirrors the inbound delimiters and version; swaps sender and receiver; MSA-2
 * echoes the inbound MSH-10. One ERR per error: v2.5+ uses ERR-2/3/4/7, older versions ERR-1.
 * For versions before 2.5 (no ERR-7) the first diagnostic goes to MSA-3 unless `textMessage` is set.
 *
 * With `inbound` undefined (MSH unreadable) it builds a minimal ACK: default delimiters,
 * version 2.5.1, empty MSA-2.
 */
export function buildAck(inbound: Hl7Header | undefined, options: BuildAckOptions): string {
  const d = inbound ? delimitersOf(inbound) : DEFAULT_DELIMITERS;
  const version = inbound?.version || FALLBACK_VERSION;
  const v = versionNumber(version);
  const text = (s: string) => encodeHl7Text(s, d);
  const errors = options.errors ?? [];

  const msh = [
    'MSH',
    d.encodingCharacters,
    inbound?.receivingApplication ?? '',
    inbound?.receivingFacility ?? '',
    inbound?.sendingApplication ?? '',
    inbound?.sendingFacility ?? '',
    formatHl7Timestamp(options.timestamp),
    '',
    joinTrimmed(v < 2.4 ? ['ACK', inbound?.triggerEvent ?? ''] : ['ACK', inbound?.triggerEvent ?? '', 'ACK'], d.component),
    text(options.controlId),
    inbound?.processingId || 'P',
    version,
  ];
  // Never acknowledge an acknowledgment (§5): MSH-15/16 = NE. Those fields appeared in v2.2.
  if (v >= 2.2) msh.push('', '', 'NE', 'NE');
  // The ACK is written in the inbound charset, so it says so (MSH-18, since v2.3).
  if (v >= 2.3 && inbound?.characterSet) msh.push('', encodeHl7Text(inbound.characterSet, d));

  const textMessage = options.textMessage ?? (v < 2.5 && errors.length > 0 ? errors[0].diagnostic : '');
  const msa = trimTrailing(['MSA', options.code, inbound?.controlId ?? '', text(textMessage)]);

  const segments = [msh.join(d.field), msa.join(d.field)];
  for (const e of errors) segments.push(v >= 2.5 ? errSegmentV25(e, d) : errSegmentLegacy(e, d));
  return segments.join('\r');
}

/** `ERR||PID^1^7|102^Data type error^HL70357|E|||diagnostic` (v2.5+). */
function errSegmentV25(e: AckError, d: Hl7Delimiters): string {
  const loc = e.location;
  const erl = loc
    ? joinTrimmed(
        [
          encodeHl7Text(loc.segment, d),
          String(loc.sequence ?? 1),
          loc.field === undefined ? '' : String(loc.field),
          loc.component === undefined ? '' : '1',
          loc.component === undefined ? '' : String(loc.component),
        ],
        d.component,
      )
    : '';
  const cwe = [String(e.code), encodeHl7Text(hl7ErrorText(e.code), d), 'HL70357'].join(d.component);
  return trimTrailing(['ERR', '', erl, cwe, e.severity ?? 'E', '', '', encodeHl7Text(e.diagnostic, d)]).join(d.field);
}

/** `ERR|PID^1^7^102&Data type error&HL70357` (ERR-1, ELD, v2.4 and earlier). */
function errSegmentLegacy(e: AckError, d: Hl7Delimiters): string {
  const loc = e.location;
  // ELD-4 is a CE inside a component, so its parts are subcomponents; without a subcomponent
  // separator (3-char MSH-2) only the code fits.
  const ce = d.subcomponent
    ? [String(e.code), encodeHl7Text(hl7ErrorText(e.code), d), 'HL70357'].join(d.subcomponent)
    : String(e.code);
  const eld = [
    loc ? encodeHl7Text(loc.segment, d) : '',
    loc ? String(loc.sequence ?? 1) : '',
    loc?.field === undefined ? '' : String(loc.field),
    ce,
  ].join(d.component);
  return ['ERR', eld].join(d.field);
}

/**
 * Maps a ValidationError from the HL7 transformers (details `{hl7ErrorCode, segmentId, ...}`)
 * to an ERR entry. Other errors, or ones without an HL7 code, become 207 (application internal
 * error) with their location taken from `err.path` when it looks like `PID-7` or `PID-5.1`.
 */
export function ackErrorFromValidation(err: ValidationError): AckError {
  const det = (err.details ?? {}) as Partial<Hl7ErrorDetails>;
  const code = typeof det.hl7ErrorCode === 'number' ? det.hl7ErrorCode : 207;
  let location: AckError['location'];
  if (typeof det.segmentId === 'string' && det.segmentId !== '') {
    location = {
      segment: det.segmentId,
      sequence: typeof det.sequence === 'number' ? det.sequence : 1,
      field: typeof det.field === 'number' ? det.field : undefined,
      component: typeof det.component === 'number' ? det.component : undefined,
    };
  } else if (err.path) {
    const m = /^([A-Z0-9]{3})(?:-(\d+)(?:\.(\d+))?)?$/.exec(err.path);
    if (m) location = { segment: m[1], sequence: 1, field: m[2] ? Number(m[2]) : undefined, component: m[3] ? Number(m[3]) : undefined };
  }
  return { code, severity: 'E', location, diagnostic: err.message };
}

/**
 * The MSA-1 code for an error (HL7V2.md §7): content errors (100–199) are AE/CE, unsupported
 * type/event/processing/version and system errors (200+) are AR/CR. `enhanced` picks the accept
 * (commit) variant for enhanced-mode accept ACKs.
 */
export function ackCodeForError(hl7ErrorCode: number, enhanced = false): AckCode {
  const reject = hl7ErrorCode >= 200;
  if (enhanced) return reject ? 'CR' : 'CE';
  return reject ? 'AR' : 'AE';
}

/** `YYYYMMDDHHMMSS+0000` in UTC: an explicit zone avoids the "local time of whom?" problem (§10). */
export function formatHl7Timestamp(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    p(date.getUTCFullYear(), 4) + p(date.getUTCMonth() + 1) + p(date.getUTCDate()) +
    p(date.getUTCHours()) + p(date.getUTCMinutes()) + p(date.getUTCSeconds()) + '+0000'
  );
}

function delimitersOf(h: Hl7Header): Hl7Delimiters {
  const enc = h.encodingCharacters;
  return {
    field: h.fieldSeparator,
    component: enc.charAt(0),
    repetition: enc.charAt(1),
    escape: enc.charAt(2),
    subcomponent: enc.charAt(3),
    truncation: enc.charAt(4),
    encodingCharacters: enc,
  };
}

/** `2.3.1` -> 2.3, `2.5` -> 2.5: major.minor is what decides segment layouts. */
function versionNumber(version: string): number {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? Number(m[1]) + Number(m[2]) / 10 : 2.5;
}

function trimTrailing(parts: string[]): string[] {
  let n = parts.length;
  while (n > 1 && parts[n - 1] === '') n--;
  return parts.slice(0, n);
}

function joinTrimmed(parts: string[], sep: string): string {
  return trimTrailing(parts).join(sep);
}
