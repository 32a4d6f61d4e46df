import type { ErrorObject } from 'ajv';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { fhirSchemaValidator } from './fhir-schema';

export interface FhirValidationResult {
  valid: boolean;
  /** One error issue per problem, or a single `information` issue "valid". */
  outcome: OperationOutcome;
}

/**
 * Validates a resource (any R4 type, including Bundles and their entries) against the official
 * FHIR R4 JSON schema. Structure only: types, required elements, unknown elements, primitive
 * formats, code enums. Invariants, terminology bindings and profiles are not checked.
 *
 * Each issue has `expression: ['Patient.name[0].given']`-style paths and a diagnostic that names
 * the rule, never the value (values may be patient data). The schema is compiled on first call
 * (about a second); later calls take microseconds to milliseconds.
 */
export function validateFhir(resource: unknown): FhirValidationResult {
  const validate = fhirSchemaValidator();
  if (validate(resource)) {
    return { valid: true, outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'valid' }] } };
  }
  const root = rootName(resource);
  const issue = relevantErrors(validate.errors ?? []).map((e) => toIssue(e, root));
  return { valid: false, outcome: { resourceType: 'OperationOutcome', issue } };
}

/**
 * Drops errors that only repeat another one at the same place: a pattern failure next to a
 * type failure (`"yes"` for a boolean fails both), and the discriminator's "tag must be a
 * string" next to "resourceType is required".
 */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const typed = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const noType = new Set(
    errors.filter((e) => e.keyword === 'required' && e.params.missingProperty === 'resourceType').map((e) => e.instancePath),
  );
  return errors.filter((e) => {
    if (e.keyword !== 'type' && typed.has(e.instancePath)) return false;
    if (e.keyword === 'discriminator' && e.params.error === 'tag' && noType.has(e.instancePath)) return false;
    return true;
  });
}

function toIssue(e: ErrorObject, root: string): OperationOutcomeIssue {
  const at = fhirPath(root, e.instancePath);
  const issue = (code: OperationOutcomeIssue['code'], diagnostics: string, expression = at): OperationOutcomeIssue => ({
    severity: 'error',
    code,
    diagnostics,
    expression: [expression],
  });
  switch (e.keyword) {
    case 'required':
      return issue('required', `Missing required element '${e.params.missingProperty}'`, `${at}.${e.params.missingProperty}`);
    case 'additionalProperties':
      return issue('structure', `Unknown element '${e.params.additionalProperty}'`, `${at}.${e.params.additionalProperty}`);
    case 'type':
      return issue('structure', `Wrong JSON type: must be ${e.params.type}`);
    case 'pattern':
      return issue('value', `Value is not a valid FHIR ${primitiveName(e.schemaPath)}`);
    case 'enum':
    case 'const': {
      const allowed = (e.params.allowedValues ?? [e.params.allowedValue]) as unknown[];
      return issue('value', `Value must be one of: ${allowed.join(', ')}`);
    }
    case 'discriminator':
      return e.params.error === 'mapping'
        ? issue('structure', `Unknown resourceType '${String(e.params.tagValue)}'`, `${at}.resourceType`)
        : issue('structure', 'resourceType must be a string', `${at}.resourceType`);
    default:
      return issue('structure', `Schema rule '${e.keyword}' failed: ${e.message ?? ''}`.trim());
  }
}

/** `Bundle` + `/entry/0/resource/birthDate` -> `Bundle.entry[0].resource.birthDate`. */
export function fhirPath(root: string, instancePath: string): string {
  let out = root;
  if (instancePath === '') return out;
  for (const raw of instancePath.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(part) ? `[${part}]` : `.${part}`;
  }
  return out;
}

function rootName(resource: unknown): string {
  const rt = (resource as { resourceType?: unknown } | null)?.resourceType;
  return typeof rt === 'string' && /^[A-Za-z]+$/.test(rt) ? rt : 'Resource';
}

/** `#/definitions/date/pattern` -> `date`. */
function primitiveName(schemaPath: string): string {
  const m = /#\/definitions\/([^/]+)\/pattern$/.exec(schemaPath);
  return m ? m[1] : 'value';
}
