/**
 * A PostgreSQL array literal for a bound parameter (`?::bigint[]`, `?::text[]`), built in one
 * pass. node-postgres builds one from a JS array itself, but escapes every element with two
 * regular-expression replaces; for the claims path's arrays (2,000 staging ids or keys, several
 * per batch) that was about 0.4 s of the engine's CPU per 100,000 claims. Elements that need no
 * escaping (ids, codes: the usual case) are only quoted; null and undefined become SQL NULL.
 */
const NEEDS_ESCAPE = /["\\]/;

export function pgArray(values: readonly (string | number | null | undefined)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    const value = values[i];
    if (value === null || value === undefined) {
      out += 'NULL';
      continue;
    }
    const v = String(value);
    out += NEEDS_ESCAPE.test(v) ? `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : `"${v}"`;
  }
  return out + '}';
}

/**
 * A PostgreSQL string constant for text spliced into SQL (where a statement has to travel as plain
 * text, e.g. several statements in one simple query). Doubled quotes; with any backslash, the
 * E'' form with backslashes doubled, so the value is the same whatever
 * `standard_conforming_strings` says (node-postgres's escapeLiteral does the same, one character
 * at a time).
 */
export function pgLiteral(text: string): string {
  const quoted = text.includes("'") ? text.replace(/'/g, "''") : text;
  return text.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}
