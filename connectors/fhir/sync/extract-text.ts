/**
 * Readable text from note bytes: text/plain in its charset (iconv-lite), HTML and XHTML through
 * html-to-text (paragraph breaks and list items kept, no word wrap), PDF through unpdf's text
 * layer. Anything else, or a PDF without text, is `not-extracted` and keeps its bytes.
 */
import iconv from 'iconv-lite';
import { compile } from 'html-to-text';
import type { ExtractionStatus } from './types';

export interface Extraction {
  extraction: ExtractionStatus;
  text?: string;
  /** Why not extracted; a code, never content. */
  reason?: string;
}

/** `text/plain; charset=ISO-8859-1` → `{ type: 'text/plain', charset: 'iso-8859-1' }`. */
export function parseContentType(value: string | undefined): { type: string; charset?: string } {
  if (!value) return { type: 'application/octet-stream' };
  const [type, ...params] = value.split(';');
  let charset: string | undefined;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'charset' && v) charset = v.trim().replace(/^"|"$/g, '').toLowerCase();
  }
  return { type: type.trim().toLowerCase() || 'application/octet-stream', charset };
}

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml', 'text/xhtml']);

/** html-to-text options: no wrapping, links and images reduced to their text. */
const HTML_OPTIONS = {
  wordwrap: false as const,
  selectors: [
    { selector: 'a', options: { ignoreHref: true } },
    { selector: 'img', format: 'skip' },
  ],
};

/** Compiled once: `convert` builds its selector tables on every call (~4 ms a note). */
let converter: ((html: string) => string) | undefined;

/** Decodes text bytes; an unknown charset label is an error the caller records. */
export function decodeText(bytes: Uint8Array, charset = 'utf-8'): string {
  if (!iconv.encodingExists(charset)) throw new Error(`unsupported charset ${charset}`);
  // iconv-lite strips a BOM by default.
  return iconv.decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), charset);
}

/** HTML or XHTML (a FHIR narrative div included) to readable text. */
export function htmlToText(html: string): string {
  converter ??= compile(HTML_OPTIONS);
  return converter(html).trim();
}

async function pdfText(bytes: Uint8Array): Promise<string | undefined> {
  // unpdf ships a CommonJS build; load it lazily so processes that never see a PDF skip pdf.js.
  const { getDocumentProxy, extractText } = await import('unpdf');
  // pdf.js takes ownership of (detaches) the buffer it parses: give it a copy.
  const doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  try {
    const { text } = await extractText(doc, { mergePages: true });
    const trimmed = text.trim();
    return trimmed || undefined;
  } finally {
    // Typed in pdf.js, not in unpdf's re-export.
    await (doc as unknown as { destroy?: () => Promise<void> }).destroy?.().catch(() => undefined);
  }
}

/**
 * Extracts text by media type. Never throws for content reasons: a failure is `not-extracted`
 * with a reason code (the caller keeps the bytes).
 * @param contentType - the attachment's contentType (parameters allowed), or the server's header
 */
export async function extractText(bytes: Uint8Array, contentType: string | undefined): Promise<Extraction> {
  const { type, charset } = parseContentType(contentType);
  try {
    if (type === 'text/plain' || type === 'text/markdown') return { extraction: 'extracted', text: decodeText(bytes, charset) };
    if (HTML_TYPES.has(type)) return { extraction: 'extracted', text: htmlToText(decodeText(bytes, charset)) };
    if (type === 'application/pdf') {
      const text = await pdfText(bytes);
      return text ? { extraction: 'extracted', text } : { extraction: 'not-extracted', reason: 'no-text-layer' };
    }
  } catch (err) {
    const code = type === 'application/pdf' ? 'pdf-unreadable' : 'decode-failed';
    return { extraction: 'not-extracted', reason: (err as Error).message?.startsWith('unsupported charset') ? 'unsupported-charset' : code };
  }
  return { extraction: 'not-extracted', reason: 'unsupported-type' };
}
