/**
 * The one place message content passes through on its way into and out of the database: raw,
 * transformed, sent and response text, and error JSON (error details can quote content).
 *
 * TODO(encryption at rest): encrypt here (AES-256-GCM with WASL_SECRET_KEY, a key id prefix so
 * keys can rotate). Identity for now. Nothing else in the store touches content columns, so this
 * is the only change needed; searchable columns (channel, control id, patient key) stay clear.
 */

/** Turns content into what is written to a content column. */
export function encodeContent(value: string): string;
export function encodeContent(value: string | null | undefined): string | null | undefined;
export function encodeContent(value: string | null | undefined): string | null | undefined {
  return value;
}

/** Turns a content column's value back into content. */
export function decodeContent(value: string): string;
export function decodeContent(value: string | null | undefined): string | null;
export function decodeContent(value: string | null | undefined): string | null {
  return value ?? null;
}
