/**
 * Turns strings into integers and booleans where the schema asks for one.
 *
 * After `${VAR}` substitution every substituted value is a string (`port: ${MLLP_PORT:-2575}`
 * gives "2575"); the schema wants an integer. Rather than ajv's `coerceTypes`, which also turns
 * `true` into 1 and `null` into "" and so would hide real mistakes, this walks the data beside the
 * schema and converts only a whole-number string for an `integer` field and "true"/"false" for a
 * `boolean` field. Anything else is left alone for ajv to report.
 */

/** The subset of JSON Schema this walker understands (what `schema.ts` uses). */
interface SchemaNode {
  type?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | boolean;
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  discriminator?: { propertyName: string };
  const?: unknown;
}

const WHOLE_NUMBER = /^-?\d+$/;

/** Returns `value` with integer and boolean strings converted; never mutates `value`. */
export function coerceToSchema(value: unknown, schema: object, root: object = schema): unknown {
  const s = resolveRef(schema as SchemaNode, root as SchemaNode);
  if (typeof value === 'string') {
    const text = value.trim();
    if (s.type === 'integer' && WHOLE_NUMBER.test(text) && Number.isSafeInteger(Number(text))) return Number(text);
    if (s.type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
    return value;
  }
  if (Array.isArray(value)) {
    return s.items ? value.map((v) => coerceToSchema(v, s.items as SchemaNode, root)) : value;
  }
  if (value !== null && typeof value === 'object') {
    const branch = discriminatedBranch(value as Record<string, unknown>, s, root as SchemaNode);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const sub = branch.properties?.[key] ?? (typeof branch.additionalProperties === 'object' ? branch.additionalProperties : undefined);
      out[key] = sub ? coerceToSchema(v, sub, root) : v;
    }
    return out;
  }
  return value;
}

function resolveRef(s: SchemaNode, root: SchemaNode): SchemaNode {
  let node = s;
  while (node.$ref) {
    const parts = node.$ref.replace(/^#\//, '').split('/');
    node = parts.reduce<Record<string, unknown>>((acc, p) => acc[p] as Record<string, unknown>, root as Record<string, unknown>) as SchemaNode;
  }
  return node;
}

/** For a discriminated `oneOf`, the branch whose `type` const matches; otherwise `s` itself. */
function discriminatedBranch(value: Record<string, unknown>, s: SchemaNode, root: SchemaNode): SchemaNode {
  if (!s.discriminator || !s.oneOf) return s;
  const tag = value[s.discriminator.propertyName];
  for (const option of s.oneOf) {
    const branch = resolveRef(option, root);
    if (branch.properties?.[s.discriminator.propertyName]?.const === tag) return branch;
  }
  return s;
}
