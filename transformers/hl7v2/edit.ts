import type { Hl7Delimiters } from './delimiters';
import { encodeHl7Text, type EncodeTextOptions } from './escape';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';
import type { Hl7Path } from './path';
import { HL7_NULL } from './segment';

/**
 * Writes `value` at a field path inside one segment's wire text and returns the new text.
 * The value is escaped for the segment's delimiters (so `A&E` stays one subcomponent); the HL7
 * null `""` is written as is. Missing fields, repetitions and components are added as empty
 * pieces; trailing empty pieces are trimmed (HL7V2.md §10.2: don't emit them).
 * `undefined` clears the value (empty, not null).
 */
export function setInSegment(raw: string, path: Hl7Path, value: string | undefined, d: Hl7Delimiters, options?: EncodeTextOptions): string {
  const id = raw.slice(0, 3);
  if (id === 'MSH' && path.field <= 2) {
    throw hl7ValidationError(HL7_ERROR_CODES.PATH, 102, 'MSH-1 and MSH-2 are the delimiters and cannot be set', { segmentId: 'MSH', field: path.field });
  }
  const leaf = value === undefined ? '' : value === HL7_NULL ? HL7_NULL : encodeHl7Text(value, d, options);
  const fields = raw.split(d.field);
  // fields[0] is the segment id; for MSH it is followed by MSH-2, so MSH-n is fields[n-1].
  const index = id === 'MSH' ? path.field - 1 : path.field;
  while (fields.length <= index) fields.push('');
  fields[index] = setPiece(fields[index], d.repetition, path.repetition ?? 1, (rep) =>
    path.component === undefined
      ? leaf
      : setPiece(rep, d.component, path.component, (comp) =>
          path.subcomponent === undefined ? leaf : setPiece(comp, d.subcomponent, path.subcomponent, () => leaf),
        ),
  );
  return trimTrailing(fields, d.field);
}

/** Replaces the n-th (1-based) piece of `text` split on `sep`, padding with empty pieces. */
function setPiece(text: string, sep: string, n: number, write: (old: string) => string): string {
  if (sep === '') {
    if (n !== 1) throw hl7ValidationError(HL7_ERROR_CODES.PATH, 102, 'this message declares no such delimiter (MSH-2 is short)', { segmentId: 'MSH', field: 2 });
    return write(text);
  }
  const pieces = text === '' ? [''] : text.split(sep);
  while (pieces.length < n) pieces.push('');
  pieces[n - 1] = write(pieces[n - 1]);
  return trimTrailing(pieces, sep);
}

function trimTrailing(pieces: string[], sep: string): string {
  let end = pieces.length;
  while (end > 1 && pieces[end - 1] === '') end--;
  return pieces.slice(0, end).join(sep);
}
