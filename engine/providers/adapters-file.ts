/**
 * Reads adapters.yaml: the outside-system adapters (NPPES, CAQH ProView, payer Plan-Net
 * directories) the engine builds at start. It sits next to channels.yaml (WASL_ADAPTERS_FILE,
 * default `<project>/adapters.yaml`); a missing file means no adapters. The same list may also
 * stand at the top of channels.yaml (`adapters:` beside `channels:`): both are read, and an id may
 * appear once across the two. The same stages as channels.yaml, with the same modules: YAML syntax,
 * `${VAR}` / `${VAR:-default}` substitution, integer coercion, the JSON Schema
 * (`additionalProperties: false`), then duplicate ids; every problem is `file:line:col path: message`.
 *
 * ```yaml
 * adapters:
 *   - id: nppes                      # kebab-case, unique; the API and nodes name it
 *     kind: nppes                    # nppes | caqh | plan-net
 *     baseUrl: ${NPPES_URL:-https://npiregistry.cms.hhs.gov/api}
 *     timeoutMs: 10000               # per request
 *     retry: { maxAttempts: 3, initialDelayMs: 250, maxDelayMs: 10000, maxRetryAfterMs: 30000 }
 *     breaker: { threshold: 5, halfOpenAfterMs: 30000 }
 *     rateLimit: { requests: 200, perMs: 300000 }
 *     cache: { ttlMs: 604800000, maxEntries: 10000 }
 *     settings: {}                   # the kind's own settings, checked by its factory
 * ```
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { ValidationError } from '../../common/errors';
import { logger } from '../../common/logger';
import type { AdapterKind, HttpAdapterSettings } from '../../connectors/adapters/types';
import { coerceToSchema } from '../channels/coerce';
import { type Env, substituteEnv } from '../channels/env-substitution';
import { type DataPath, formatPath, formatProblem, type Problem, sortProblems } from '../channels/problems';
import { schemaProblems } from '../channels/schema-errors';
import { offsetPosition, positionOf, resolvePath } from '../channels/yaml-positions';
import { projectRoot } from '../paths';

export const ADAPTER_KINDS: readonly AdapterKind[] = ['nppes', 'caqh', 'plan-net'];

/** One entry of adapters.yaml, after substitution, coercion and the schema. */
export interface AdapterEntry extends HttpAdapterSettings {
  id: string;
  kind: AdapterKind;
  /** The kind's own settings, passed to its factory as written. */
  settings?: Record<string, unknown>;
}

/** The file's entries, and where each data path is in it (for problems found later, e.g. by a factory). */
export interface AdaptersFile {
  file: string;
  entries: AdapterEntry[];
  /** A problem at `path` (e.g. `['adapters', 0, 'settings', 'passwordEnv']`), positioned in the file. */
  problemAt(path: DataPath, message: string): Problem;
}

/** Thrown when adapters.yaml is invalid; carries every problem. */
export class AdaptersFileError extends ValidationError {
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super('ADAPTERS_INVALID', `adapters file is invalid:\n${problems.map(formatProblem).join('\n')}`, { details: { count: problems.length } });
    this.name = 'AdaptersFileError';
    this.problems = problems;
  }
}

const KEBAB_CASE = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const count = (minimum: number) => ({ type: 'integer', minimum });

/** JSON Schema (draft-07) of adapters.yaml. */
export const adaptersSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  properties: {
    adapters: { type: 'array', items: { $ref: '#/definitions/adapter' } },
  },
  definitions: {
    adapter: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'kind', 'baseUrl'],
      properties: {
        id: { type: 'string', pattern: KEBAB_CASE, maxLength: 63, 'x-hint': 'must be kebab-case (lower-case letters, digits and single dashes, e.g. payer-acme)' },
        kind: { type: 'string', enum: [...ADAPTER_KINDS] },
        baseUrl: { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2000, 'x-hint': 'must be an absolute http:// or https:// URL' },
        timeoutMs: { type: 'integer', minimum: 1, maximum: 600_000 },
        retry: {
          type: 'object',
          additionalProperties: false,
          properties: { maxAttempts: count(1), initialDelayMs: count(0), maxDelayMs: count(0), maxRetryAfterMs: count(0) },
        },
        breaker: {
          type: 'object',
          additionalProperties: false,
          properties: { threshold: count(1), halfOpenAfterMs: count(1) },
        },
        rateLimit: {
          type: 'object',
          additionalProperties: false,
          required: ['requests', 'perMs'],
          properties: { requests: count(1), perMs: count(1) },
        },
        cache: {
          type: 'object',
          additionalProperties: false,
          required: ['ttlMs'],
          properties: { ttlMs: count(0), maxEntries: count(1) },
        },
        settings: { type: 'object' },
      },
    },
  },
} as const;

const validators = new Map<string, ValidateFunction>();

/**
 * The schema's validator; `alongside` names other top-level keys the file may hold, left to their
 * own loader (channels.yaml holds `channels:` beside `adapters:`).
 */
function adaptersValidator(alongside: readonly string[] = []): ValidateFunction {
  const key = alongside.join(',');
  let validator = validators.get(key);
  if (!validator) {
    // Options as engine/channels/validator.ts: every problem at once, with the schema at hand for messages.
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false });
    ajv.addKeyword('x-hint');
    const schema = { ...adaptersSchema, properties: { ...adaptersSchema.properties, ...Object.fromEntries(alongside.map((k) => [k, {}])) } };
    validator = ajv.compile(schema);
    validators.set(key, validator);
  }
  return validator;
}

/** Options for reading adapters from a file that holds more than them (channels.yaml). */
export interface AdaptersReadOptions {
  /** Other top-level keys the file may hold (their own loader checks them). */
  alongside?: readonly string[];
}

/** WASL_ADAPTERS_FILE, or adapters.yaml in the project directory. */
export function adaptersFilePath(env: Env = process.env): string {
  return path.resolve(env.WASL_ADAPTERS_FILE || path.join(projectRoot(), 'adapters.yaml'));
}

/**
 * Validates the text of an adapters file; `file` only labels problems. Stops after the first stage
 * that finds problems (syntax, variables, schema, duplicates): later ones would only echo them.
 */
export function validateAdaptersText(text: string, file: string, env: Env = process.env, options: AdaptersReadOptions = {}): { config?: AdaptersFile; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { problems: sortProblems(doc.errors.map((e) => ({ file, ...offsetPosition(e.pos[0], lineCounter), path: '', message: e.message }))) };
  }
  const problemAt = (p: DataPath, message: string, atKey = false): Problem => {
    const resolved = resolvePath(doc as Document, p);
    const node = atKey && resolved.keyNode ? resolved.keyNode : resolved.node;
    return { file, ...positionOf(node, lineCounter), path: formatPath(p), message };
  };
  // An empty file (or only comments) configures nothing, like a missing one.
  if (doc.contents === null) return { config: { file, entries: [], problemAt }, problems: [] };

  const envProblems = substituteEnv(doc, env, file, lineCounter);
  if (envProblems.length > 0) return { problems: sortProblems(envProblems) };

  const data = coerceToSchema(doc.toJS({ maxAliasCount: 100 }) ?? null, adaptersSchema);
  const validate = adaptersValidator(options.alongside);
  if (!validate(data)) {
    return { problems: sortProblems(schemaProblems(validate.errors ?? [], doc as Document, lineCounter, file, data)) };
  }

  const entries = ((data as { adapters?: AdapterEntry[] }).adapters ?? []);
  const problems: Problem[] = [];
  const firstById = new Map<string, number>();
  entries.forEach((entry, i) => {
    const first = firstById.get(entry.id);
    if (first === undefined) firstById.set(entry.id, i);
    else problems.push(problemAt(['adapters', i, 'id'], `duplicate adapter id "${entry.id}" (already used by adapters[${first}])`));
  });
  if (problems.length > 0) return { problems: sortProblems(problems) };
  return { config: { file, entries, problemAt }, problems: [] };
}

/**
 * Reads and validates `file`. A missing file is no adapters (with a warning when WASL_ADAPTERS_FILE
 * named it); an invalid one throws an {@link AdaptersFileError} listing every problem.
 */
export function loadAdaptersFile(file: string, env: Env = process.env, options: AdaptersReadOptions = {}): AdaptersFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (env.WASL_ADAPTERS_FILE) logger({ stage: 'adapters' }).warn('adapters file not found: no adapters configured', { file });
      return { file, entries: [], problemAt: (p, message) => ({ file, line: 1, column: 1, path: formatPath(p), message }) };
    }
    const message = code === 'EISDIR' ? 'is a directory, not a file' : `cannot read file (${code ?? (err as Error).message})`;
    throw new AdaptersFileError([{ file, line: 1, column: 1, path: '', message }]);
  }
  const { config, problems } = validateAdaptersText(text, file, env, options);
  if (!config) throw new AdaptersFileError(problems);
  return config;
}
