import type { Hl7Delimiters } from './delimiters';
import { decodeHl7Text } from './escape';
import { parseHl7Path, type Hl7Path } from './path';

/** HL7 null: two double quotes, "clear this value" (HL7V2.md §8). Distinct from empty. */
export const HL7_NULL = '""';

/**
 * One segment, kept as its wire text. Fields are split on first access only, so messages whose
 * segments are never read cost one string each (the hot path of an MLLP receiver).
 */
export class Hl7Segment {
  /** Segment id, e.g. `PID` or `ZNT`. */
  readonly id: string;
  /** Wire text of the segment, without terminator. */
  readonly raw: string;
  /** The message's delimiters (and charset), for readers that decode wire text themselves. */
  readonly delimiters: Hl7Delimiters;
  private parts?: string[];
  /** Repetitions of the fields read past their first repetition: mappers walk them one by one. */
  private reps?: Map<number, string[]>;

  constructor(raw: string, delimiters: Hl7Delimiters) {
    this.raw = raw;
    this.id = raw.slice(0, 3);
    this.delimiters = delimiters;
  }

  /** Number of the last field present (trailing empty fields included, as sent). */
  get fieldCount(): number {
    const n = this.split().length - 1;
    return this.id === 'MSH' ? n + 1 : n;
  }

  /**
   * Wire text of field `n` (1-based, all repetitions, nothing decoded); '' when absent.
   * MSH counts its separator as MSH-1, so MSH-2 is the encoding characters (HL7V2.md §2).
   */
  field(n: number): string {
    if (this.id === 'MSH') {
      if (n === 1) return this.delimiters.field;
      return this.split()[n - 1] ?? '';
    }
    return this.split()[n] ?? '';
  }

  /**
   * Value at a segment-relative path (`5`, `5.1`, `5[2].1`, `3.4.2`); see {@link Hl7Message.get}.
   * @returns the decoded leaf, the wire text of a composite, `""` for HL7 null, undefined when empty.
   */
  get(path: string | Hl7Path): string | undefined {
    const p = typeof path === 'string' ? parseHl7Path(path) : path;
    const text = this.field(p.field);
    if (text === '') return undefined;
    if (this.isLiteralField(p.field)) return text;
    const rep = p.repetition ?? 1;
    // The first repetition needs no split; later ones come from a cached split, so walking every
    // repetition of a field is linear, not quadratic (a 50k-repetition field must not pin a core).
    const repText = rep === 1 ? nth(text, this.delimiters.repetition, 1) : (this.repetitions(p.field)[rep - 1] ?? '');
    const value = this.pickInRepetition(repText, p);
    return value === '' ? undefined : value;
  }

  /** Wire text of repetition `rep` (1-based) of field `n`, nothing decoded; '' when absent. */
  repetitionText(n: number, rep: number): string {
    if (this.isLiteralField(n)) return rep === 1 ? this.field(n) : '';
    return this.repetitions(n)[rep - 1] ?? '';
  }

  /** How many repetitions field `n` has, empty ones included; 0 when the field is empty. */
  repetitionCount(n: number): number {
    if (this.isLiteralField(n)) return this.field(n) === '' ? 0 : 1;
    return this.repetitions(n).length;
  }

  private repetitions(n: number): string[] {
    this.reps ??= new Map();
    let reps = this.reps.get(n);
    if (!reps) {
      const text = this.field(n);
      const sep = this.delimiters.repetition;
      reps = text === '' ? [] : sep === '' ? [text] : text.split(sep);
      this.reps.set(n, reps);
    }
    return reps;
  }

  /**
   * Values at a path for every repetition of the field (`3` or `3.1` gives one entry per PID-3
   * repetition). Empty repetitions stay as '' so positions are kept (HL7V2.md §8); an absent
   * field gives []. A path with an explicit repetition gives at most that one value.
   */
  getAll(path: string | Hl7Path): string[] {
    const p = typeof path === 'string' ? parseHl7Path(path) : path;
    const text = this.field(p.field);
    if (text === '') return [];
    if (this.isLiteralField(p.field)) return [text];
    if (p.repetition !== undefined) {
      const one = this.get(p);
      return one === undefined ? [] : [one];
    }
    return this.repetitions(p.field).map((rep) => this.pickInRepetition(rep, p));
  }

  /** MSH-1 and MSH-2 are literals: never split or unescaped. */
  private isLiteralField(field: number): boolean {
    return this.id === 'MSH' && field <= 2;
  }

  private pickInRepetition(rep: string, p: Hl7Path): string {
    const d = this.delimiters;
    let value = rep;
    if (p.component !== undefined) value = nth(value, d.component, p.component);
    if (p.subcomponent !== undefined) value = nth(value, d.subcomponent, p.subcomponent);
    // A composite keeps its wire form: decoding `A\S\B^C` to `A^B^C` would make the escaped
    // separator indistinguishable from the real one. Address a component to get decoded text.
    const composite =
      (p.component === undefined && d.component !== '' && value.includes(d.component)) ||
      (p.subcomponent === undefined && d.subcomponent !== '' && value.includes(d.subcomponent));
    return composite ? value : decodeHl7Text(value, d);
  }

  private split(): string[] {
    if (!this.parts) this.parts = this.raw.split(this.delimiters.field);
    return this.parts;
  }
}

/** The n-th (1-based) piece of `s` split on `sep`, without building an array; '' when absent. */
function nth(s: string, sep: string, n: number): string {
  if (sep === '') return n === 1 ? s : '';
  let start = 0;
  for (let i = 1; i < n; i++) {
    const next = s.indexOf(sep, start);
    if (next < 0) return '';
    start = next + sep.length;
  }
  const end = s.indexOf(sep, start);
  return end < 0 ? s.slice(start) : s.slice(start, end);
}
