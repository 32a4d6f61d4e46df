/**
 * Masks PHI in stored message content for staff who may not see bodies (engine/auth/roles.ts
 * `canViewBody`): HL7 v2 field by field (hl7v2.ts), FHIR JSON element by element (fhir.ts), and
 * anything else (other JSON, XML, CSV, text that fails to parse) whole, since there is no telling
 * where its identifiers are. Pure: text in, text out.
 */
import { maskFhir } from './fhir';
import { MASK, maskHl7v2 } from './hl7v2';

export { MASK } from './hl7v2';
export { maskHl7v2 } from './hl7v2';
export { maskFhir } from './fhir';

export type ContentFormat = 'hl7v2' | 'fhir-json' | 'fhir-ndjson' | 'other';

export interface MaskedContent {
  text: string;
  format: ContentFormat;
}

/** The masked form of one stage's content. */
export function maskContent(text: string): MaskedContent {
  const hl7 = maskHl7v2(text);
  if (hl7 !== undefined) return { text: hl7, format: 'hl7v2' };
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const json = parseJson(trimmed);
    if (json !== undefined && isFhir(json)) return { text: JSON.stringify(maskFhir(json), null, 2), format: 'fhir-json' };
    // Bulk export style: one resource per line.
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== '');
    const resources = lines.length > 1 ? lines.map(parseJson) : [];
    if (resources.length > 1 && resources.every((r) => r !== undefined && isFhir(r))) {
      return { text: resources.map((r) => JSON.stringify(maskFhir(r))).join('\n'), format: 'fhir-ndjson' };
    }
  }
  return { text: MASK, format: 'other' };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A resource (it names its resourceType), or a non-empty array of resources. */
function isFhir(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every(isFhir);
  return value !== null && typeof value === 'object' && typeof (value as { resourceType?: unknown }).resourceType === 'string';
}
