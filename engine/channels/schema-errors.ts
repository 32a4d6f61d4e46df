/**
 * Turns ajv errors into problems an analyst can act on: a position from the YAML nodes, a path
 * in dotted form, and a sentence instead of ajv's default message where that one is cryptic.
 */
import type { ErrorObject } from 'ajv';
import type { Document, LineCounter } from 'yaml';
import { type DataPath, formatPath, type Problem } from './problems';
import { channelsSchema } from './schema';
import { positionOf, resolvePath } from './yaml-positions';

interface SchemaWithHints {
  'x-hint'?: string;
  title?: string;
  properties?: Record<string, unknown>;
  oneOf?: Array<{ required?: string[]; $ref?: string }>;
}

/** Converts ajv errors (from a validator built with `allErrors` and `verbose`) to problems. */
export function schemaProblems(errors: ErrorObject[], doc: Document, lineCounter: LineCounter, file: string, data: unknown): Problem[] {
  const problems: Problem[] = [];
  for (const err of withoutNoise(errors)) {
    const described = describe(err, data);
    if (!described) continue;
    const { path, pointAtKey, message } = described;
    const resolved = resolvePath(doc, path);
    // An unknown or badly named key is shown at the key; everything else at its value.
    const node = pointAtKey && resolved.complete && resolved.keyNode ? resolved.keyNode : resolved.node;
    problems.push({ file, ...positionOf(node, lineCounter), path: formatPath(path), message });
  }
  return problems;
}

/**
 * Drops errors that only restate another one: the failed branches of a plain `oneOf` (its own
 * error says what is wrong), and ajv's generic "property name must be valid" that follows the
 * specific pattern error of a `propertyNames` check.
 */
function withoutNoise(errors: ErrorObject[]): ErrorObject[] {
  const oneOfs = errors.filter((e) => e.keyword === 'oneOf');
  return errors.filter((e) => {
    if (e.keyword === 'propertyNames') return false;
    // A missing discriminator tag is already reported by `required`.
    if (e.keyword === 'discriminator' && (e.params as { error: string }).error === 'tag' && (e.data as Record<string, unknown> | null)?.[String((e.params as { tag: string }).tag)] === undefined) return false;
    return !oneOfs.some((o) => o !== e && o.instancePath === e.instancePath && e.schemaPath.startsWith(`${o.schemaPath}/`));
  });
}

function describe(err: ErrorObject, data: unknown): { path: DataPath; pointAtKey: boolean; message: string } | undefined {
  const path = pointerToPath(err.instancePath, data);
  const schema = (err.parentSchema ?? {}) as SchemaWithHints;
  const params = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const allowed = Object.keys(schema.properties ?? {});
      return { path: [...path, key], pointAtKey: true, message: `unknown key "${key}" (allowed: ${allowed.join(', ')})` };
    }
    case 'required':
      return { path, pointAtKey: false, message: `missing required key "${String(params.missingProperty)}"` };
    case 'type':
      return { path, pointAtKey: false, message: typeMessage(String(params.type), err.data) };
    case 'enum':
      return { path, pointAtKey: false, message: `must be one of: ${(params.allowedValues as unknown[]).join(', ')}` };
    case 'minItems':
      return { path, pointAtKey: false, message: `must have at least ${plural(Number(params.limit), 'item')}` };
    case 'minProperties':
      return { path, pointAtKey: false, message: `must have at least ${plural(Number(params.limit), 'entry', 'entries')}` };
    case 'minLength':
      return { path, pointAtKey: false, message: Number(params.limit) === 1 ? 'must not be empty' : `must be at least ${params.limit} characters long` };
    case 'maxLength':
      return { path, pointAtKey: false, message: `must be at most ${params.limit} characters long` };
    case 'const':
      return { path, pointAtKey: false, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'pattern': {
      const propertyName = (err as { propertyName?: string }).propertyName;
      if (propertyName !== undefined) {
        return { path: [...path, propertyName], pointAtKey: true, message: `key "${propertyName}" ${schema['x-hint'] ?? `must match ${String(params.pattern)}`}` };
      }
      return { path, pointAtKey: false, message: schema['x-hint'] ?? `must match ${String(params.pattern)}` };
    }
    case 'oneOf': {
      const names = (schema.oneOf ?? []).flatMap((b) => b.required ?? []);
      const passing = params.passingSchemas as number[] | null;
      const message = passing
        ? `has more than one of ${passing.map((i) => names[i]).join(', ')}: use exactly one`
        : `needs one of ${names.join(', ')}`;
      return { path, pointAtKey: false, message };
    }
    case 'discriminator': {
      const kind = schema.title ?? 'item';
      // `type` for sources, transformers and destinations; `kind` for alert rules.
      const tag = String(params.tag ?? 'type');
      if (params.error === 'mapping') {
        return { path: [...path, tag], pointAtKey: false, message: `unknown ${kind} ${tag} "${String(params.tagValue)}" (known: ${knownTags(schema.oneOf ?? [], tag)})` };
      }
      return { path: [...path, tag], pointAtKey: false, message: 'must be a string' };
    }
    default:
      return { path, pointAtKey: false, message: err.message ?? err.keyword };
  }
}

/** The tag values (`type`, `kind`) of a union's branches, read from the schema so the list cannot drift. */
function knownTags(refs: Array<{ $ref?: string }>, tag: string): string {
  const definitions = channelsSchema.definitions as Record<string, { properties?: Record<string, { const?: string }> }>;
  return refs.map((r) => definitions[r.$ref?.split('/').pop() ?? '']?.properties?.[tag]?.const ?? '?').join(', ');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function typeMessage(expected: string, actual: unknown): string {
  const got = actual === null ? 'nothing' : Array.isArray(actual) ? 'a list' : typeof actual === 'object' ? 'a mapping' : `${typeof actual} ${JSON.stringify(actual)}`;
  const name = expected === 'object' ? 'mapping' : expected === 'array' ? 'list' : expected;
  const hint = expected === 'string' && (typeof actual === 'number' || typeof actual === 'boolean') ? `; quote it: "${String(actual)}"` : '';
  const article = /^[aeiou]/.test(name) ? 'an' : 'a';
  return `must be ${article} ${name} (got ${got}${hint})`;
}

/** `/channels/0/source` -> `['channels', 0, 'source']`, numbers only where the data is a list. */
function pointerToPath(pointer: string, data: unknown): DataPath {
  if (!pointer) return [];
  const out: Array<string | number> = [];
  let cursor: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cursor)) {
      out.push(Number(seg));
      cursor = cursor[Number(seg)];
    } else {
      out.push(seg);
      cursor = cursor && typeof cursor === 'object' ? (cursor as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}
