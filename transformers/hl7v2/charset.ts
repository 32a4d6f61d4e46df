import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';

/**
 * MSH-18 character sets (HL7 table 0211) and the bytes <-> text conversion for them.
 *
 * HL7V2.md §4: decode the bytes per MSH-18 before parsing; the delimiters are ASCII, so MSH-18
 * can be read from the raw bytes first. Table 0211 says an empty MSH-18 means 7-bit ASCII, but
 * many senders send UTF-8 (or Latin-1) and leave it empty, so a channel chooses the charset for
 * an empty MSH-18 (`UNICODE UTF-8` unless configured).
 *
 * Decoding is strict: bytes that are not valid in the declared charset are an error naming the
 * segment and field, never replacement characters (mojibake silently corrupts names).
 */

/** A charset we can decode and encode. `label` is the WHATWG/iconv name. */
interface Charset {
  /** The table 0211 value we answer with (MSH-18 of our ACKs). */
  hl7: string;
  label: 'ascii' | 'latin1' | 'utf-8' | `iso-8859-${number}` | 'gb18030' | 'euc-kr' | 'big5';
}

const ISO_8859_PARTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15];

/** Table 0211 values (and the ISO IR aliases senders use) we support. Keys upper-case. */
const CHARSETS = new Map<string, Charset>();
CHARSETS.set('ASCII', { hl7: 'ASCII', label: 'ascii' });
CHARSETS.set('UNICODE UTF-8', { hl7: 'UNICODE UTF-8', label: 'utf-8' });
for (const n of ISO_8859_PARTS) {
  CHARSETS.set(`8859/${n}`, { hl7: `8859/${n}`, label: n === 1 ? 'latin1' : `iso-8859-${n}` });
}
for (const [alias, target] of [
  ['ISO IR6', 'ASCII'],
  ['ISO IR100', '8859/1'], // Latin-1
  ['ISO IR101', '8859/2'],
  ['ISO IR109', '8859/3'],
  ['ISO IR110', '8859/4'],
  ['ISO IR144', '8859/5'], // Cyrillic
  ['ISO IR127', '8859/6'], // Arabic
  ['ISO IR126', '8859/7'], // Greek
  ['ISO IR138', '8859/8'], // Hebrew
  ['ISO IR148', '8859/9'],
  ['ISO IR192', 'UNICODE UTF-8'],
] as const) {
  CHARSETS.set(alias, { hl7: alias, label: labelOf(target) });
}
CHARSETS.set('GB 18030-2000', { hl7: 'GB 18030-2000', label: 'gb18030' });
CHARSETS.set('KS X 1001', { hl7: 'KS X 1001', label: 'euc-kr' });
CHARSETS.set('BIG-5', { hl7: 'BIG-5', label: 'big5' });

function labelOf(value: string): Charset['label'] {
  const c = CHARSETS.get(value);
  if (!c) throw new Error(`charset table: ${value} defined after its alias`);
  return c.label;
}

/** The MSH-18 values Wasl decodes, for docs and the channel schema. */
export const SUPPORTED_CHARSETS: readonly string[] = [...CHARSETS.keys()];

/** Charset used when MSH-18 is empty and the channel names none. */
export const DEFAULT_CHARSET = 'UNICODE UTF-8';

/** True when `value` (a table 0211 value) is one Wasl can decode. */
export function isSupportedCharset(value: string): boolean {
  return CHARSETS.has(value.trim().toUpperCase());
}

export interface DecodedHl7 {
  text: string;
  /** The table 0211 value the bytes were decoded with. */
  charset: string;
}

/**
 * Decodes the bytes of one message (or batch) per its MSH-18, falling back to `emptyCharset`
 * when MSH-18 is empty. A UTF-8 byte-order mark is dropped.
 * @throws ValidationError `HL7_CHARSET`: MSH-18 names a charset we do not support (103, MSH-18),
 *   or the bytes are not valid in it (102, the segment and field holding the first bad byte).
 */
export function decodeHl7Bytes(bytes: Uint8Array, emptyCharset: string = DEFAULT_CHARSET): DecodedHl7 {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = readCharsetField(buf);
  const name = declared === '' ? emptyCharset : declared;
  const charset = CHARSETS.get(name.trim().toUpperCase());
  if (!charset) {
    throw hl7ValidationError(HL7_ERROR_CODES.CHARSET, 103, `MSH-18 character set "${printable(name)}" is not supported (supported: ${SUPPORTED_CHARSETS.join(', ')})`, {
      segmentId: 'MSH', segmentIndex: 1, field: 18,
    });
  }
  const body = hasUtf8Bom(buf) && charset.label === 'utf-8' ? buf.subarray(3) : buf;
  const text = decodeStrict(body, charset);
  if (text === undefined) throw invalidBytes(body, charset);
  return { text, charset: charset.hl7 };
}

/**
 * Encodes text (an ACK, an outbound message) in a table 0211 charset. Characters the charset
 * cannot hold would be replaced by `?` silently, so they are an error instead.
 * @throws ValidationError `HL7_CHARSET` (103) for an unknown charset or a character it lacks.
 */
export function encodeHl7Bytes(text: string, charsetName: string = DEFAULT_CHARSET): Buffer {
  const charset = CHARSETS.get((charsetName || DEFAULT_CHARSET).trim().toUpperCase());
  if (!charset) {
    throw hl7ValidationError(HL7_ERROR_CODES.CHARSET, 103, `character set "${printable(charsetName)}" is not supported`, { segmentId: 'MSH', field: 18 });
  }
  if (charset.label === 'utf-8') return Buffer.from(text, 'utf8');
  const bytes = charset.label === 'ascii' ? Buffer.from(text, 'latin1') : iconv.encode(text, charset.label);
  if (charset.label === 'ascii' ? !isAscii(bytes) || hasNonLatin1(text) : iconv.decode(bytes, charset.label) !== text) {
    throw hl7ValidationError(HL7_ERROR_CODES.CHARSET, 103, `text has characters that ${charset.hl7} cannot encode`, { segmentId: 'MSH', field: 18 });
  }
  return bytes;
}

/** Decodes hex bytes from a `\Xhh..\` escape in the message's charset; undefined if invalid. */
export function decodeHexEscape(hex: string, charsetName: string | undefined): string | undefined {
  if (hex.length === 0 || hex.length % 2 !== 0 || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  return decodeStrict(Buffer.from(hex, 'hex'), escapeCharset(charsetName));
}

/** Longer than any charset name we know (the longest, `UNICODE UTF-8`, has 13 characters). */
const MAX_CHARSET_NAME = 32;

/**
 * The charset for hex escapes: the named one, or the default for an empty or unknown name. A
 * name too long to be a charset is not upper-cased on every escape: a fuzzed MSH-18 of 200,000
 * characters full of `\X41\` escapes took minutes to decode that way (each escape upper-cased
 * the whole field again).
 */
function escapeCharset(name: string | undefined): Charset {
  const known = name && name.length <= MAX_CHARSET_NAME ? CHARSETS.get(name.toUpperCase()) : undefined;
  return known ?? CHARSETS.get(DEFAULT_CHARSET)!;
}

function decodeStrict(buf: Buffer, charset: Charset): string | undefined {
  switch (charset.label) {
    case 'utf-8':
      return isUtf8(buf) ? buf.toString('utf8') : undefined;
    case 'ascii':
      return isAscii(buf) ? buf.toString('latin1') : undefined;
    case 'latin1':
      // Every byte is a character in 8859-1 (TextDecoder's "iso-8859-1" is windows-1252: wrong).
      return buf.toString('latin1');
    default:
      try {
        return new TextDecoder(charset.label, { fatal: true }).decode(buf);
      } catch {
        return undefined;
      }
  }
}

/** MSH-18 read from the raw bytes (first repetition), '' when absent or unreadable. */
function readCharsetField(buf: Buffer): string {
  let start = hasUtf8Bom(buf) ? 3 : 0;
  while (start < buf.length && isNoise(buf[start])) start++;
  if (buf.length < start + 8 || buf.toString('latin1', start, start + 3) !== 'MSH') return '';
  const sep = buf[start + 3];
  let pos = start + 3; // MSH-1 is the separator itself; after the loop, pos ends MSH-17
  for (let field = 2; field <= 17; field++) {
    pos = nextByte(buf, sep, pos + 1);
    if (pos < 0) return '';
  }
  let end = pos + 1;
  while (end < buf.length && buf[end] !== sep && buf[end] !== 0x0d && buf[end] !== 0x0a) end++;
  const field = buf.toString('latin1', pos + 1, end);
  const repetition = buf.length > start + 5 ? String.fromCharCode(buf[start + 5]) : '~';
  return field.split(repetition)[0].trim();
}

/** Index of the next `byte` before the end of the first segment, or -1. */
function nextByte(buf: Buffer, byte: number, from: number): number {
  for (let i = from; i < buf.length; i++) {
    const c = buf[i];
    if (c === byte) return i;
    if (c === 0x0d || c === 0x0a) return -1;
  }
  return -1;
}

/** The error for bytes that are not valid in `charset`, located by segment and field. */
function invalidBytes(buf: Buffer, charset: Charset) {
  const at = firstInvalidOffset(buf, charset);
  const before = buf.subarray(0, at).toString('latin1');
  const lineStart = Math.max(before.lastIndexOf('\r'), before.lastIndexOf('\n')) + 1;
  const segmentIndex = before.slice(0, lineStart).split(/\r\n|\r|\n/).filter((l) => l.trim() !== '').length + 1;
  const line = before.slice(lineStart);
  const segmentId = /^[A-Z0-9]{3}/.test(line) ? line.slice(0, 3) : '';
  const sep = buf.length > 3 ? String.fromCharCode(buf[hasUtf8Bom(buf) ? 6 : 3]) : '|';
  const pieces = line.split(sep).length - 1;
  const field = segmentId === 'MSH' ? pieces + 1 : pieces;
  return hl7ValidationError(
    HL7_ERROR_CODES.CHARSET,
    102,
    `byte 0x${(buf[at] ?? 0).toString(16).padStart(2, '0')} at offset ${at} is not valid ${charset.hl7} text (check MSH-18 or the channel's charset)`,
    { segmentId, segmentIndex, field: field > 0 ? field : undefined },
  );
}

/** Offset of the first byte that makes the text invalid (bisects with the strict decoder). */
function firstInvalidOffset(buf: Buffer, charset: Charset): number {
  if (charset.label === 'ascii') return buf.findIndex((b) => b > 0x7f);
  // The longest valid prefix; UTF-8 prefixes may end mid-character, so test prefixes that end on
  // a character start (the next byte is not a continuation byte).
  let lo = 0;
  let hi = buf.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    let end = mid;
    while (charset.label === 'utf-8' && end < buf.length && (buf[end] & 0xc0) === 0x80) end++;
    if (decodeStrict(buf.subarray(0, end), charset) !== undefined) lo = mid;
    else hi = mid - 1;
  }
  let at = lo;
  while (charset.label === 'utf-8' && at > 0 && (buf[at] & 0xc0) === 0x80) at--;
  return Math.min(at, buf.length - 1);
}

function hasUtf8Bom(buf: Buffer): boolean {
  return buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
}

function isNoise(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function isAscii(buf: Buffer): boolean {
  for (let i = 0; i < buf.length; i++) if (buf[i] > 0x7f) return false;
  return true;
}

function hasNonLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return true;
  return false;
}

/** A charset name from the wire, safe to put in an error message. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}
