/**
 * HL7 v2 batch and file protocol (HL7V2.md §9): splitting `FHS/BHS ... BTS/FTS` files and streams
 * into their messages, and building the acknowledgement batch that answers one inbound batch.
 *
 * ```
 * [FHS]            file header: FHS-1/2 delimiters, FHS-11 file control id
 * { [BHS]          batch header: BHS-11 batch control id, BHS-12 reference batch id (ack batches)
 *   { MSH ... }    zero or more messages
 *   [BTS] }        BTS-1 batch message count
 * [FTS]            FTS-1 file batch count
 * ```
 *
 * Pure: no I/O, no clock, no random ids (the caller passes timestamps and control ids in).
 */
import { DEFAULT_DELIMITERS, type Hl7Delimiters } from './delimiters';
import { buildAck, formatHl7Timestamp, type BuildAckOptions } from './ack';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';
import type { Hl7Header } from './header';

/** FHS or BHS, field for field (v2.5 chapter 2: both segments share one layout). Wire text, not unescaped. */
export interface Hl7BatchHeader {
  segmentId: 'FHS' | 'BHS';
  /** FHS-1 / BHS-1. */
  fieldSeparator: string;
  /** FHS-2 / BHS-2, a literal like MSH-2. */
  encodingCharacters: string;
  /** -3 (HD, all components). */
  sendingApplication: string;
  /** -4 (HD, all components). */
  sendingFacility: string;
  /** -5 (HD, all components). */
  receivingApplication: string;
  /** -6 (HD, all components). */
  receivingFacility: string;
  /** -7 creation date/time. */
  dateTime: string;
  /** -8 security. */
  security: string;
  /** FHS-9 file name/id, BHS-9 batch name/id/type. */
  name: string;
  /** -10 comment. */
  comment: string;
  /** FHS-11 file control id / BHS-11 batch control id. */
  controlId: string;
  /** FHS-12 / BHS-12 reference control id (set on acknowledgement batches). */
  referenceControlId: string;
}

/** One batch: a BHS ... BTS group, or the implicit batch of a file that has no BHS. */
export interface Hl7Batch {
  /** The BHS; undefined for a bare run of messages. */
  header?: Hl7BatchHeader;
  /** Each message's full text: its segments joined and terminated by CR (no LF, no envelope). */
  messages: string[];
  /** 1-based line of each message's MSH in the input (after LF/CRLF became CR), parallel to `messages`. */
  lines: number[];
  /** BTS-1 as declared; undefined when there is no BTS or BTS-1 is empty. */
  messageCount?: number;
}

/** A whole file or stream, envelope and all. */
export interface Hl7BatchFile {
  /** The FHS; undefined when the file has none. */
  header?: Hl7BatchHeader;
  batches: Hl7Batch[];
  /** FTS-1 as declared; undefined when there is no FTS or FTS-1 is empty. */
  batchCount?: number;
  /**
   * What was tolerated, for the caller to log: skipped leading lines, empty trailer counts.
   * Ids and line numbers only, never message content.
   */
  warnings: string[];
}

/**
 * Splits an HL7 v2 file or stream into batches and messages: an `FHS/BHS/BTS/FTS` file, a
 * BHS-only batch, or a bare run of MSH messages with no envelope (many senders just concatenate,
 * HL7V2.md §9). Segment terminators may be CR, LF or CRLF; a leading BOM, blank lines and leading
 * junk lines (lines that do not look like a segment, such as `junk` or a banner) are skipped, the
 * latter with a warning. Delimiters for reading FHS/BHS come from their own -1/-2 fields, BTS/FTS
 * use those of their header; each message keeps its own MSH-1/2 and is not parsed here.
 *
 * Choice: broken envelopes are errors, not warnings. A trailer count that disagrees with what was
 * received means messages were lost or the file was cut, and HL7V2.md §9 says to validate the
 * counts before committing; a warning would let a partial file be committed. So this throws for:
 * BTS-1 ≠ messages in the batch, FTS-1 ≠ batches in the file, a BHS or FHS whose BTS or FTS is
 * missing, a second (nested) FHS, a BTS/FTS without its header, messages after a BTS without a new
 * BHS, bare messages mixed with BHS batches, content after FTS, and a segment before any MSH.
 * Empty BTS-1/FTS-1 (the fields are optional) are not checked and give a warning.
 *
 * @throws ValidationError `VALIDATION_HL7_PARSE`, details `{ hl7ErrorCode: 100, segmentId,
 *   segmentIndex (1-based line), sequence, field? }`, path like `BTS-1` or `FHS`. 102 for an
 *   unreadable FHS-2/BHS-2 or a BTS-1/FTS-1 that is not a number. 100 when there is no message
 *   and no envelope at all.
 */
export function splitHl7Batch(text: string): Hl7BatchFile {
  return new BatchSplitter().split(text);
}

/** All messages of a file in order, across batches (what a receiver processes one by one). */
export function batchMessages(file: Hl7BatchFile): string[] {
  return file.batches.flatMap((b) => b.messages);
}


class BatchSplitter {
  private readonly warnings: string[] = [];
  private fileHeader?: Hl7BatchHeader;
  private fileHeaderLine = 0;
  private batchCount?: number;
  private ftsLine = 0;
  private readonly batches: Hl7Batch[] = [];
  /** The batch messages go into; undefined before the first MSH/BHS and after a BTS. */
  private current?: Hl7Batch;
  /** Line of the BHS of `current` while it waits for its BTS; 0 when `current` has no BHS. */
  private openBhsLine = 0;
  private message?: string[];
  private sawBhs = false;
  private sawBareMessages = false;
  private sawSegment = false;
  /** Occurrences per segment id, for ERR-2's segment sequence. */
  private readonly seen: Record<string, number> = {};

  split(text: string): Hl7BatchFile {
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    // CRLF first, so the pair is one terminator rather than an empty line.
    const lines = body.indexOf('\n') >= 0 ? body.replace(/\r\n/g, '\r').replace(/\n/g, '\r').split('\r') : body.split('\r');
    let junk = 0;
    for (let i = 0; i < lines.length; i++) {
      const n = i + 1;
      const raw = lines[i];
      if (raw.trim() === '') continue;
      // Indented segments (copy-paste from a log or an email) are still segments.
      const c = raw.charCodeAt(0);
      const line = c === 0x20 || c === 0x09 ? raw.trimStart() : raw;
      if (this.ftsLine > 0) throw this.error(n, 'FTS', undefined, `Line ${n} follows the FTS that ended the file at line ${this.ftsLine}`);
      const id = segmentIdOf(line);
      if (!this.sawSegment) {
        if (id === undefined) {
          junk++; // banners, `junk` lines, a shell prompt pasted in front
          continue;
        }
        this.sawSegment = true;
      }
      switch (id) {
        case 'FHS':
          this.onFhs(line, n);
          break;
        case 'BHS':
          this.onBhs(line, n);
          break;
        case 'MSH':
          this.onMsh(line, n);
          break;
        case 'BTS':
          this.onBts(line, n);
          break;
        case 'FTS':
          this.onFts(line, n);
          break;
        default:
          this.onOther(line, n, id);
      }
    }
    if (junk > 0) this.warnings.push(`skipped ${junk} line(s) before the first segment`);
    return this.finish(lines.length);
  }

  private onFhs(line: string, n: number): void {
    if (this.fileHeader || this.batches.length > 0 || this.message) {
      const why = this.fileHeader ? `a second FHS (the file's FHS is at line ${this.fileHeaderLine}): nested files are not allowed` : 'an FHS after the file started: FHS must be the first segment';
      throw this.error(n, 'FHS', undefined, `Line ${n} holds ${why}`);
    }
    this.fileHeader = readBatchHeader(line, 'FHS', n);
    this.fileHeaderLine = n;
    this.count('FHS');
  }

  private onBhs(line: string, n: number): void {
    this.count('BHS');
    if (this.openBhsLine > 0) {
      throw this.error(n, 'BTS', undefined, `The batch opened by the BHS at line ${this.openBhsLine} has no BTS before the next BHS at line ${n}`);
    }
    if (this.sawBareMessages) {
      throw this.error(n, 'BHS', undefined, `Line ${n} holds a BHS after messages that are outside any batch`);
    }
    this.endMessage();
    this.sawBhs = true;
    this.current = { header: readBatchHeader(line, 'BHS', n), messages: [], lines: [] };
    this.batches.push(this.current);
    this.openBhsLine = n;
  }

  private onMsh(line: string, n: number): void {
    this.count('MSH');
    this.endMessage();
    if (!this.current) {
      if (this.sawBhs) {
        throw this.error(n, 'MSH', undefined, `The MSH at line ${n} follows a BTS without a new BHS`);
      }
      // A bare run of messages: one implicit batch without BHS/BTS.
      this.current = { messages: [], lines: [] };
      this.batches.push(this.current);
    }
    if (!this.current.header) this.sawBareMessages = true;
    this.message = [line];
    this.current.lines.push(n);
  }

  private onBts(line: string, n: number): void {
    const seq = this.count('BTS');
    if (this.openBhsLine === 0 || !this.current?.header) {
      throw this.error(n, 'BTS', undefined, `The BTS at line ${n} closes no batch: there is no open BHS`, seq);
    }
    this.endMessage();
    const batch = this.current;
    const fs = batch.header?.fieldSeparator ?? DEFAULT_DELIMITERS.field;
    const declared = readCount(line, fs, 'BTS', n, seq);
    const batchNo = this.batches.length;
    if (declared === undefined) {
      this.warnings.push(`BTS-1 of batch ${batchNo} (line ${n}) is empty: message count not checked`);
    } else if (declared !== batch.messages.length) {
      throw this.error(n, 'BTS', 1, `BTS-1 of batch ${batchNo} (line ${n}) declares ${declared} message(s), the batch holds ${batch.messages.length}`, seq);
    }
    batch.messageCount = declared;
    this.current = undefined;
    this.openBhsLine = 0;
  }

  private onFts(line: string, n: number): void {
    const seq = this.count('FTS');
    if (!this.fileHeader) throw this.error(n, 'FTS', undefined, `The FTS at line ${n} ends no file: there is no FHS`, seq);
    if (this.openBhsLine > 0) {
      throw this.error(n, 'BTS', undefined, `The batch opened by the BHS at line ${this.openBhsLine} has no BTS before the FTS at line ${n}`);
    }
    this.endMessage();
    const declared = readCount(line, this.fileHeader.fieldSeparator, 'FTS', n, seq);
    if (declared === undefined) {
      this.warnings.push(`FTS-1 (line ${n}) is empty: batch count not checked`);
    } else if (declared !== this.batches.length) {
      throw this.error(n, 'FTS', 1, `FTS-1 (line ${n}) declares ${declared} batch(es), the file holds ${this.batches.length}`, seq);
    }
    this.batchCount = declared;
    this.current = undefined;
    this.ftsLine = n;
  }

  private onOther(line: string, n: number, id: string | undefined): void {
    if (!this.message) {
      // Not dropped silently: a segment outside a message means the file is cut or not HL7.
      throw this.error(n, id ?? '', undefined, `Line ${n} holds a segment outside any message (no MSH before it)`);
    }
    // Inside a message anything goes here; parseHl7 judges the message as a whole.
    this.message.push(line);
  }

  private endMessage(): void {
    if (this.message && this.current) this.current.messages.push(this.message.join('\r') + '\r');
    this.message = undefined;
  }

  private finish(lineCount: number): Hl7BatchFile {
    this.endMessage();
    if (this.openBhsLine > 0) {
      throw this.error(lineCount, 'BTS', undefined, `The batch opened by the BHS at line ${this.openBhsLine} has no BTS (file cut short?)`);
    }
    if (this.fileHeader && this.ftsLine === 0) {
      throw this.error(lineCount, 'FTS', undefined, `The file opened by the FHS at line ${this.fileHeaderLine} has no FTS (file cut short?)`);
    }
    if (!this.fileHeader && this.batches.length === 0) {
      throw this.error(1, 'MSH', undefined, 'No MSH, BHS or FHS segment found: the input is not HL7 v2');
    }
    return { header: this.fileHeader, batches: this.batches, batchCount: this.batchCount, warnings: this.warnings };
  }

  private count(id: string): number {
    this.seen[id] = (this.seen[id] ?? 0) + 1;
    return this.seen[id];
  }

  private error(line: number, segmentId: string, field: number | undefined, message: string, sequence?: number) {
    return hl7ValidationError(HL7_ERROR_CODES.PARSE, 100, message, {
      segmentId,
      segmentIndex: line,
      sequence: sequence ?? Math.max(1, this.seen[segmentId] ?? 1),
      field,
    });
  }
}

/**
 * The segment id of a line when it looks like a segment (3 upper-case letters/digits, then the
 * end or a character that is not a letter, digit or space: the field separator); else undefined.
 */
function segmentIdOf(line: string): string | undefined {
  if (line.length < 3) return undefined;
  for (let i = 0; i < 3; i++) {
    const c = line.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 48 && c <= 57))) return undefined;
  }
  if (line.length > 3 && /[A-Za-z0-9\s]/.test(line.charAt(3))) return undefined;
  return line.slice(0, 3);
}

/** Reads FHS/BHS: -1/-2 are read by position like MSH-1/2 (HL7V2.md §2), the rest split on -1. */
function readBatchHeader(line: string, id: 'FHS' | 'BHS', n: number): Hl7BatchHeader {
  const d = readEnvelopeDelimiters(line, id, n);
  // For header segments, as for MSH, element k of the split is field k+1.
  const parts = line.split(d.field);
  const f = (field: number) => parts[field - 1] ?? '';
  return {
    segmentId: id,
    fieldSeparator: d.field,
    encodingCharacters: d.encodingCharacters,
    sendingApplication: f(3),
    sendingFacility: f(4),
    receivingApplication: f(5),
    receivingFacility: f(6),
    dateTime: f(7),
    security: f(8),
    name: f(9),
    comment: f(10),
    controlId: f(11),
    referenceControlId: f(12),
  };
}

function readEnvelopeDelimiters(line: string, id: 'FHS' | 'BHS', n: number): Hl7Delimiters {
  const field = line.charAt(3);
  const at = (f: number) => ({ segmentId: id, segmentIndex: n, field: f });
  if (field === '') throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 101, `${id}-1 field separator missing (line ${n})`, at(1));
  let end = line.indexOf(field, 4);
  if (end < 0) end = line.length;
  const enc = line.slice(4, end);
  const distinct = new Set(field + enc).size === enc.length + 1;
  if (enc.length === 0 || enc.length > 5 || !distinct) {
    throw hl7ValidationError(
      HL7_ERROR_CODES.PARSE,
      102,
      `${id}-2 must hold 1 to 5 encoding characters, distinct from each other and from ${id}-1 (line ${n})`,
      at(2),
    );
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

/** BTS-1 / FTS-1 as a count; undefined when empty. A value that is not a whole number is a 102. */
function readCount(line: string, fieldSep: string, id: 'BTS' | 'FTS', n: number, sequence: number): number | undefined {
  // Trailers are ordinary segments: field k is element k. Take the first component (pre-2.5 CM).
  const raw = line.split(fieldSep)[1] ?? '';
  const value = raw.trim();
  if (value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) {
    throw hl7ValidationError(HL7_ERROR_CODES.PARSE, 102, `${id}-1 (line ${n}) is not a whole number`, {
      segmentId: id,
      segmentIndex: n,
      sequence,
      field: 1,
    });
  }
  return Number(value);
}

// ---------------------------------------------------------------------------------------------
// Acknowledgement batch

/** The answer to one message of an inbound batch. */
export interface BatchAckEntry {
  /** The message's header (`readHl7Header`); undefined when its MSH was unreadable. */
  inbound: Hl7Header | undefined;
  /** What `buildAck` gets for this message: code, the ACK's own new control id, errors. */
  ack: BuildAckOptions;
}

export interface BuildBatchAckOptions {
  /** BHS-11 of the acknowledgement batch: new and unique, like an ACK's MSH-10. */
  controlId: string;
  /** BHS-7; formatted in UTC like MSH-7 of an ACK. */
  timestamp: Date;
  /**
   * `errors` (default): ACKs only for messages that were not accepted (MSA-1 other than AA/CA), so
   * an empty ack batch means "all accepted"; `all`: one ACK per message. HL7V2.md §9: partner-specific.
   */
  include?: 'errors' | 'all';
}

/**
 * Builds the acknowledgement batch for one inbound batch (HL7V2.md §9): `BHS`, then one ACK per
 * message (each from {@link buildAck}, so MSH/MSA/ERR follow §6–7 and mirror that message's
 * delimiters and version), then `BTS` whose BTS-1 counts the ACKs in it. The BHS swaps sender
 * and receiver of the inbound BHS (of the first message's MSH when the batch had no BHS), carries
 * the new BHS-11 and refers to the inbound batch in BHS-12 (= inbound BHS-11).
 *
 * Returns segments joined by CR with a final CR, without MLLP framing or FHS/FTS.
 */
export function buildBatchAck(inbound: Hl7BatchHeader | undefined, entries: readonly BatchAckEntry[], options: BuildBatchAckOptions): string {
  const include = options.include ?? 'errors';
  const first = entries.find((e) => e.inbound)?.inbound;
  const fs = inbound?.fieldSeparator ?? first?.fieldSeparator ?? DEFAULT_DELIMITERS.field;
  const enc = inbound?.encodingCharacters ?? first?.encodingCharacters ?? DEFAULT_DELIMITERS.encodingCharacters;
  const bhs = trimTrailing([
    'BHS',
    enc,
    inbound ? inbound.receivingApplication : first?.receivingApplication ?? '',
    inbound ? inbound.receivingFacility : first?.receivingFacility ?? '',
    inbound ? inbound.sendingApplication : first?.sendingApplication ?? '',
    inbound ? inbound.sendingFacility : first?.sendingFacility ?? '',
    formatHl7Timestamp(options.timestamp),
    '',
    '',
    '',
    options.controlId,
    inbound?.controlId ?? '',
  ]).join(fs);
  const acks = entries
    .filter((e) => include === 'all' || (e.ack.code !== 'AA' && e.ack.code !== 'CA'))
    .map((e) => buildAck(e.inbound, e.ack));
  return [bhs, ...acks, ['BTS', String(acks.length)].join(fs)].join('\r') + '\r';
}

function trimTrailing(parts: string[]): string[] {
  let n = parts.length;
  while (n > 1 && parts[n - 1] === '') n--;
  return parts.slice(0, n);
}
