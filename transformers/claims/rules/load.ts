/**
 * Reads a rule file (YAML) into a checked RuleSet: every rule's id, severity, message, field,
 * check and parameters, and the code sets it names. A problem is a ValidationError whose message
 * says where (`rules.yaml:42 rules[7] (ICD10_FORMAT): ...`), so an analyst can fix the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isSeq, parseDocument, type Document } from 'yaml';
import { ValidationError } from '../../../common/errors';
import { projectRoot } from '../../../common/project-root';
import { CHECKS, CHECK_NAMES, fieldProblem, paramProblem } from './checks';
import { loadCodeSet, type CodeSetSource } from './codesets';
import { parsePath } from './paths';
import type { CodeNormalization, CodeSet, RuleDefinition, RuleSet, Severity } from './types';

/** Where the shipped code sets and rules.yaml live (works from sources and from dist/). */
export function claimsDataDir(): string {
  return path.join(projectRoot(), 'transformers', 'claims', 'data');
}

export function defaultRulesFile(): string {
  return path.join(claimsDataDir(), 'rules.yaml');
}

export interface RuleSetOptions {
  /** Label for messages (the file name); default `<rules>`. */
  source?: string;
  /** Directory relative code set files are read from; default the shipped data directory. */
  dataDir?: string;
}

const RULE_ID = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;
const CODESET_NAME = /^[a-z][a-z0-9-]*$/;
const RULE_KEYS = new Set(['id', 'severity', 'message', 'field', 'check', 'description']);
const TOP_KEYS = new Set(['version', 'description', 'codesets', 'rules']);
const SEVERITIES: readonly Severity[] = ['error', 'warning'];

function invalid(message: string, where?: string): ValidationError {
  return new ValidationError('RULESET_INVALID', message, { path: where });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Loads and checks a rule file (default: the shipped transformers/claims/data/rules.yaml). */
export function loadRuleSet(file?: string, options: Omit<RuleSetOptions, 'source'> = {}): RuleSet {
  const source = file ?? defaultRulesFile();
  let text: string;
  try {
    text = fs.readFileSync(source, 'utf8');
  } catch (err) {
    throw new ValidationError('RULESET_UNREADABLE', `cannot read rule file ${source}: ${(err as Error).message}`, { cause: err });
  }
  return parseRuleSet(text, { ...options, source });
}

/** Line number (1-based) of the n-th item of a top-level sequence or mapping, for messages. */
function lineOf(doc: Document, lc: LineCounter, key: string, item: number | string): number | undefined {
  const node = doc.get(key, true);
  let offset: number | undefined;
  if (isSeq(node) && typeof item === 'number') {
    const it = node.items[item] as { range?: [number, number, number] } | undefined;
    offset = it?.range?.[0];
  } else if (isMap(node) && typeof item === 'string') {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === item);
    offset = (pair?.key as { range?: [number, number, number] } | undefined)?.range?.[0];
  }
  return offset === undefined ? undefined : lc.linePos(offset).line;
}

/** Parses rule-file text; see loadRuleSet. */
export function parseRuleSet(text: string, options: RuleSetOptions = {}): RuleSet {
  const source = options.source ?? '<rules>';
  const label = path.basename(source);
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: true });
  if (doc.errors.length > 0) throw invalid(`${label}: not valid YAML: ${doc.errors[0].message}`);
  const root: unknown = doc.toJS();
  if (!isPlainObject(root)) throw invalid(`${label}: must be a mapping with 'version' and 'rules'`);
  for (const key of Object.keys(root)) {
    if (!TOP_KEYS.has(key)) throw invalid(`${label}: unknown top-level key '${key}' (allowed: ${[...TOP_KEYS].join(', ')})`, key);
  }
  const version = root.version;
  if ((typeof version !== 'string' && typeof version !== 'number') || String(version).trim() === '') {
    throw invalid(`${label}: 'version' is required (e.g. version: "2026.1")`, 'version');
  }

  const codesets = loadCodeSets(root.codesets, label, options.dataDir ?? claimsDataDir(), (name) => lineOf(doc, lc, 'codesets', name));

  if (!Array.isArray(root.rules) || root.rules.length === 0) throw invalid(`${label}: 'rules' must be a non-empty list`, 'rules');
  const rules: RuleDefinition[] = [];
  const ids = new Map<string, string>();
  root.rules.forEach((raw: unknown, i: number) => {
    const line = lineOf(doc, lc, 'rules', i);
    const origin = line === undefined ? label : `${label}:${line}`;
    const id = isPlainObject(raw) && typeof raw.id === 'string' ? raw.id : undefined;
    const where = `${origin} rules[${i}]${id ? ` (${id})` : ''}`;
    const rule = checkRule(raw, where, codesets);
    const earlier = ids.get(rule.id);
    if (earlier) throw invalid(`${where}: duplicate rule id '${rule.id}' (first defined at ${earlier})`, `rules[${i}].id`);
    ids.set(rule.id, origin);
    rules.push({ ...rule, origin });
  });
  return { version: String(version), source, rules, codesets };
}

function loadCodeSets(raw: unknown, label: string, dataDir: string, lineOfSet: (name: string) => number | undefined): Record<string, CodeSet> {
  const sets: Record<string, CodeSet> = {};
  if (raw === undefined || raw === null) return sets;
  if (!isPlainObject(raw)) throw invalid(`${label}: 'codesets' must be a mapping of name to definition`, 'codesets');
  for (const [name, def] of Object.entries(raw)) {
    const line = lineOfSet(name);
    const where = `${label}${line === undefined ? '' : `:${line}`} codesets.${name}`;
    if (!CODESET_NAME.test(name)) throw invalid(`${where}: code set names are lower-case words with dashes`, `codesets.${name}`);
    if (!isPlainObject(def)) throw invalid(`${where}: must be a mapping with 'sources'`, `codesets.${name}`);
    for (const key of Object.keys(def)) {
      if (!['description', 'normalize', 'sources'].includes(key)) throw invalid(`${where}: unknown key '${key}' (allowed: description, normalize, sources)`);
    }
    const normalize = (def.normalize ?? 'none') as CodeNormalization;
    if (!['none', 'upper', 'icd'].includes(normalize)) throw invalid(`${where}: 'normalize' must be none, upper or icd`);
    if (!Array.isArray(def.sources) || def.sources.length === 0) throw invalid(`${where}: 'sources' must be a non-empty list of { file, column? }`);
    const sources: CodeSetSource[] = def.sources.map((s: unknown, k: number) => {
      if (!isPlainObject(s) || typeof s.file !== 'string' || s.file === '' || (s.column !== undefined && typeof s.column !== 'string')) {
        throw invalid(`${where}: sources[${k}] must be { file: <name>, column: <CSV column, optional> }`);
      }
      return { file: s.file, column: s.column as string | undefined };
    });
    try {
      sets[name] = loadCodeSet(name, { normalize, sources }, dataDir);
    } catch (err) {
      throw invalid(`${where}: ${(err as Error).message}`, `codesets.${name}`);
    }
  }
  return sets;
}

function checkRule(raw: unknown, where: string, codesets: Readonly<Record<string, CodeSet>>): RuleDefinition {
  if (!isPlainObject(raw)) throw invalid(`${where}: a rule must be a mapping with id, severity, message, field and check`);
  const need = (key: string): string => {
    const v = raw[key];
    if (typeof v !== 'string' || v.trim() === '') throw invalid(`${where}: '${key}' is required and must be text`);
    return v;
  };
  const id = need('id');
  if (!RULE_ID.test(id)) throw invalid(`${where}: id '${id}' must be UPPER_SNAKE_CASE (e.g. ICD10_FORMAT)`);
  const severity = need('severity') as Severity;
  if (!SEVERITIES.includes(severity)) throw invalid(`${where}: severity '${severity}' must be error or warning`);
  const message = need('message');
  const fieldText = need('field');
  const check = need('check');
  const spec = CHECKS[check];
  if (!spec || !Object.hasOwn(CHECKS, check)) throw invalid(`${where}: unknown check '${check}' (known: ${CHECK_NAMES.join(', ')})`);
  if (raw.description !== undefined && typeof raw.description !== 'string') throw invalid(`${where}: 'description' must be text`);

  let field;
  try {
    field = parsePath(fieldText);
  } catch (err) {
    throw invalid(`${where}: field ${(err as Error).message}`);
  }
  const shape = fieldProblem(check, field);
  if (shape) throw invalid(`${where}: ${shape}`);

  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (RULE_KEYS.has(key)) continue;
    const p = Object.hasOwn(spec.params, key) ? spec.params[key] : undefined;
    if (!p) {
      const allowed = Object.keys(spec.params);
      throw invalid(`${where}: unknown parameter '${key}' for check '${check}' (${allowed.length ? `allowed: ${allowed.join(', ')}` : 'it takes none'})`);
    }
    const problem = paramProblem(key, p, value, codesets);
    if (problem) throw invalid(`${where}: ${problem}`);
    params[key] = value;
  }
  for (const [key, p] of Object.entries(spec.params)) {
    if (p.required && !(key in params)) throw invalid(`${where}: check '${check}' needs parameter '${key}' (${p.doc})`);
  }
  // Build once now, so problems only visible when compiling (e.g. [*] that cannot bind) surface here.
  try {
    spec.build({ field, params, codesets });
  } catch (err) {
    throw invalid(`${where}: ${(err as Error).message}`);
  }
  const rule: RuleDefinition = { id, severity, message, field: fieldText, check, params };
  return raw.description === undefined ? rule : { ...rule, description: raw.description as string };
}
