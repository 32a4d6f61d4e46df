import type { Hl7Delimiters } from './delimiters';
import { setInSegment } from './edit';
import type { EncodeTextOptions } from './escape';
import type { Hl7Header } from './header';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';
import { parseHl7Path } from './path';
import { Hl7Segment } from './segment';

/**
 * A parsed HL7 v2 message: immutable, lazily split. Build it with `parseHl7`.
 *
 * Paths: `PID-3`, `PID-5.1`, `PID-5[2].1` (repetition, 1-based), `PID-3.4.1` (subcomponent),
 * `OBX[2]-5` (second OBX segment). Without `[n]` the first segment / first repetition is meant.
 */
export class Hl7Message {
  readonly header: Hl7Header;
  readonly delimiters: Hl7Delimiters;
  private readonly segs: readonly Hl7Segment[];
  private byId?: Map<string, Hl7Segment[]>;

  /** @internal use `parseHl7`; the segments must already be validated. */
  constructor(segments: readonly Hl7Segment[], header: Hl7Header, delimiters: Hl7Delimiters) {
    this.segs = segments;
    this.header = header;
    this.delimiters = delimiters;
  }

  /**
   * The value at `path`. A leaf (no component/subcomponent separator left) is returned with its
   * escape sequences decoded; a composite (e.g. `PID-5` = `DOE^JOHN`) keeps its wire form, because
   * decoding it would make escaped separators look like real ones.
   * @returns undefined when the segment, field or component is absent or empty; the string `""`
   *   (two double quotes) for an HL7 null, which means "clear this value" and is not the same.
   * @throws ValidationError `HL7_PATH` when the path is malformed.
   */
  get(path: string): string | undefined {
    const p = parseHl7Path(path);
    return this.segmentAt(p.segment, p.occurrence)?.get(p);
  }

  /**
   * One value per repetition of the field at `path` (`PID-3` or `PID-3.1`); empty repetitions
   * are '' so positions line up. Absent field or segment: [].
   */
  getAll(path: string): string[] {
    const p = parseHl7Path(path);
    return this.segmentAt(p.segment, p.occurrence)?.getAll(p) ?? [];
  }

  /** All segments, or those with the given id (`segments('OBX')`), in message order. */
  segments(id?: string): Hl7Segment[] {
    return id === undefined ? this.segs.slice() : this.segs.filter((s) => s.id === id);
  }

  /** The `occurrence`-th (1-based) segment with this id, or undefined. */
  segment(id: string, occurrence = 1): Hl7Segment | undefined {
    return this.segmentAt(id, occurrence);
  }

  /** True when at least one segment has this id. */
  has(id: string): boolean {
    return this.segs.some((s) => s.id === id);
  }

  /**
   * The message as wire text: segments joined and terminated by CR (the only legal terminator).
   * Segments are kept as received, so this is the input minus BOM, leading whitespace and blank
   * lines, with LF/CRLF turned into CR: byte for byte the input for a message sent with CRs.
   */
  encode(): string {
    return this.segs.map((s) => s.raw).join('\r') + '\r';
  }

  /**
   * A copy of this message with `value` written at `path` (`PID-5[2].1`, `OBX[3]-5`), escaped for
   * this message's delimiters; `""` writes the HL7 null, undefined clears. The segment must exist
   * (add segments by building the text). MSH changes are not re-read into `header`: parse the
   * encoded text again when routing depends on them.
   * @throws ValidationError `HL7_PATH` for a malformed path, a missing segment, or MSH-1/MSH-2.
   */
  with(path: string, value: string | undefined, options?: EncodeTextOptions): Hl7Message {
    const p = parseHl7Path(path);
    let seen = 0;
    const index = this.segs.findIndex((s) => s.id === p.segment && ++seen === p.occurrence);
    if (index < 0) {
      throw hl7ValidationError(HL7_ERROR_CODES.PATH, 100, `segment ${p.segment}[${p.occurrence}] is not in the message`, { segmentId: p.segment });
    }
    const segs = this.segs.slice();
    segs[index] = new Hl7Segment(setInSegment(segs[index].raw, p, value, this.delimiters, options), this.delimiters);
    return new Hl7Message(segs, this.header, this.delimiters);
  }

  private segmentAt(id: string, occurrence: number): Hl7Segment | undefined {
    if (id === '') return undefined;
    // Segments by id, built on the first lookup: a mapping reads ~15 paths, a 200-OBX ORU many more.
    if (!this.byId) {
      this.byId = new Map();
      for (const s of this.segs) {
        const list = this.byId.get(s.id);
        if (list) list.push(s);
        else this.byId.set(s.id, [s]);
      }
    }
    return this.byId.get(id)?.[occurrence - 1];
  }
}
