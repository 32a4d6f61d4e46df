/**
 * PHI masking for FHIR JSON shown to staff who may not see message bodies: names, identifier
 * values, birth and death dates, addresses, telecom values, narrative, photos and attachment data,
 * free-text notes, reference displays (they carry names: `"display": "Peter Chalmers"`) and the
 * query part of conditional URLs (`Patient?identifier=...|12345`) become `***`. Keys, resource
 * types, codes, systems and references stay, so the shape of the resource is still readable.
 *
 * Rules go by element name, wherever the element is (a Bundle entry, a contained resource, a
 * Claim's patient), so they hold for every resource type and for NPHIES profiles alike.
 */
import { MASK } from './hl7v2';

/** Kept as they are inside a masked element: they say what kind of value was there, not the value. */
const KEPT_INSIDE_MASKED: ReadonlySet<string> = new Set(['use', 'type', 'system', 'url', 'contentType', 'resourceType', 'relationship']);

/** Elements masked whole (every string and number under them), wherever they appear. */
const MASKED_WHOLE: ReadonlySet<string> = new Set([
  'birthDate', '_birthDate', 'deceasedDateTime', 'address', 'valueAddress', 'valueHumanName', 'photo', 'data',
  'subscriberId', 'note', 'comment', 'conclusion', 'patientInstruction',
]);

/** Extension values that are codes, flags or numbers: kept. Any other `value[x]` of an extension is masked. */
const KEPT_EXTENSION_VALUES: ReadonlySet<string> = new Set([
  'valueCode', 'valueCoding', 'valueCodeableConcept', 'valueBoolean', 'valueInteger', 'valueDecimal', 'valueUri',
  'valueUrl', 'valueCanonical', 'valueQuantity', 'valueReference', 'valuePositiveInt', 'valueUnsignedInt', 'valueId',
]);

const MASKED_DIV = `<div xmlns="http://www.w3.org/1999/xhtml">${MASK}</div>`;

/** A masked copy of a FHIR resource (or Bundle, or array of them); the input is not changed. */
export function maskFhir(value: unknown): unknown {
  return walk(value);
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) out[key] = maskElement(key, v, obj);
  return out;
}

function maskElement(key: string, value: unknown, parent: Record<string, unknown>): unknown {
  if (MASKED_WHOLE.has(key)) return maskAll(value);
  switch (key) {
    case 'name':
      // HumanName (object or array of them); a plain string is an organisation's or a code system's name.
      return typeof value === 'string' ? value : maskAll(value);
    case 'identifier':
    case 'telecom':
    case 'valueContactPoint':
      return maskIdentifiers(value);
    case 'text':
      // Narrative: its XHTML restates the resource for people, names included.
      return isObject(value) && 'div' in value ? { ...(walk(value) as object), div: MASKED_DIV } : value;
    case 'display':
      // A Reference's display is a person's or organisation's name; a Coding's (it has code or system) is a term.
      return typeof value === 'string' && !('code' in parent) && !('system' in parent) ? MASK : value;
    case 'extension':
    case 'modifierExtension':
      return mapEach(value, maskExtension);
    case 'url':
      // Bundle.entry.request.url and Bundle.link.url: a conditional or search URL carries identifiers in its query.
      return typeof value === 'string' && ('method' in parent || 'relation' in parent) ? maskQuery(value) : value;
    case 'ifNoneExist':
      return typeof value === 'string' ? maskQueryString(value) : value;
    default:
      // Every Identifier-typed element: valueIdentifier, Encounter.hospitalization.preAdmissionIdentifier, ...
      return key.endsWith('Identifier') ? maskIdentifiers(value) : walk(value);
  }
}

/** Identifiers and contact points: the value goes; so does a system that embeds another identifier. */
function maskIdentifiers(value: unknown): unknown {
  return mapEach(value, (item) => {
    const out = walk(item) as Record<string, unknown>;
    if ('value' in item) out.value = MASK;
    if (typeof item.system === 'string') out.system = maskSystem(item.system);
    return out;
  });
}

/**
 * Wasl's own identifier systems scope a key by its owner, e.g. a policy by the subscriber's MRN:
 * `urn:wasl:subscriber:urn%3Aoid%3A2.16.1%7CPATID1234` (readers.ts). The owner part is an
 * identifier too; the kind stays readable (`urn:wasl:subscriber:***`).
 */
function maskSystem(system: string): string {
  const m = /^(urn:wasl:[A-Za-z-]+:)(.*%7C.*)$/i.exec(system);
  return m ? `${m[1]}${MASK}` : system;
}

function maskExtension(ext: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(ext)) {
    if (key.startsWith('value') && !KEPT_EXTENSION_VALUES.has(key)) out[key] = maskAll(v);
    else out[key] = maskElement(key, v, ext);
  }
  return out;
}

/** Every string and number under `value` becomes MASK, except the kinds of value listed as kept. */
function maskAll(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskAll);
  if (typeof value === 'string' || typeof value === 'number') return MASK;
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[key] = KEPT_INSIDE_MASKED.has(key) && !isObject(v) ? v : maskAll(v);
  return out;
}

function maskQuery(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : `${url.slice(0, q + 1)}${maskQueryString(url.slice(q + 1))}`;
}

/** `a=1&b=2` → `a=***&b=***`: parameter names stay (what was searched on), values go. */
function maskQueryString(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? pair : `${pair.slice(0, eq + 1)}${MASK}`;
    })
    .join('&');
}

function mapEach(value: unknown, fn: (item: Record<string, unknown>) => unknown): unknown {
  if (Array.isArray(value)) return value.map((item) => (isObject(item) ? fn(item) : walk(item)));
  return isObject(value) ? fn(value) : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
