import { createHash } from 'node:crypto';

/** Maps an HL7 assigning authority (HD namespace id, else universal id) to a FHIR system. */
export type IdentifierSystemResolver = (assigningAuthority: string) => string | undefined;

const OID_RE = /^[0-2](\.(0|[1-9]\d*))+$/;

/**
 * The FHIR identifier system for an HL7 assigning authority (CX-4 / HD):
 * the resolver's answer if it gives one; `urn:oid:<oid>` when the universal id (or the
 * namespace) is an OID; `urn:wasl:assigning-authority:<name>` otherwise; and, with no authority
 * at all, `fallback` (the sending facility), so that ids from different senders never collide.
 */
export function identifierSystem(
  namespaceId: string | undefined,
  universalId: string | undefined,
  fallback: string,
  resolver?: IdentifierSystemResolver,
): string {
  const authority = namespaceId || universalId;
  if (!authority) return fallback;
  const resolved = resolver?.(authority);
  if (resolved) return resolved;
  if (universalId && OID_RE.test(universalId)) return `urn:oid:${universalId}`;
  if (namespaceId && OID_RE.test(namespaceId)) return `urn:oid:${namespaceId}`;
  return `urn:wasl:assigning-authority:${uriPart(authority)}`;
}

/** Fixed namespace for Wasl's name-based UUIDs (any constant works; it must never change). */
const WASL_UUID_NAMESPACE = Buffer.from('6f1c2a8e4b7d4e0f9a3b5c6d7e8f9012', 'hex');

/**
 * A name-based UUID (RFC 4122 version 5, SHA-1): the same name always gives the same id, so the
 * same message maps to the same bundle (idempotent, testable, no hidden randomness).
 */
export function deterministicUuid(name: string): string {
  const h = createHash('sha1').update(WASL_UUID_NAMESPACE).update(name, 'utf8').digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Conditional-update URL `Patient?identifier=<system>|<value>`. `\ , $ |` inside each part are
 * escaped with `\` as FHIR search requires (a bare `,` means OR, a `|` splits system from value:
 * unescaped, an id like `12,3` never matches and every message creates a new Patient); then both
 * parts are URL-encoded (spaces, `&`, `#`). The `|` between them is the token separator.
 */
export function identifierSearchUrl(resourceType: string, system: string, value: string): string {
  const part = (s: string) => uriPart(s.replace(/[\\,$|]/g, (c) => `\\${c}`));
  return `${resourceType}?identifier=${part(system)}|${part(value)}`;
}

/**
 * `encodeURIComponent` for text from a message: lone UTF-16 surrogates (possible in strings a flow
 * builds) become U+FFFD instead of throwing a URIError.
 */
export function uriPart(s: string): string {
  return encodeURIComponent(wellFormed(s));
}

/** `s` with lone UTF-16 surrogates replaced by U+FFFD: encodeURIComponent throws on them. */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}
