/**
 * Reads channels.yaml: YAML syntax, `${VAR}` substitution, integer/boolean coercion, the JSON
 * Schema, then semantic checks. Every problem carries the file, line and column of the YAML
 * node it is about, taken from the parser's ranges.
 */
import { readFileSync } from 'node:fs';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { coerceToSchema } from './coerce';
import { type Env, substituteEnv } from './env-substitution';
import { ChannelsFileError, formatPath, type Problem, sortProblems } from './problems';
import { schemaProblems } from './schema-errors';
import { channelsSchema } from './schema';
import { semanticIssues } from './semantic-checks';
import type { ChannelConfig, ChannelsFile } from './types';
import { channelsValidator } from './validator';
import { offsetPosition, positionOf, resolvePath } from './yaml-positions';

export { formatProblem, type Problem, ChannelsFileError } from './problems';
export type * from './types';

/** The result of validating a channels file: the config when (and only when) it is valid. */
export interface ValidationResult {
  config?: ChannelsFile;
  problems: Problem[];
}

/**
 * Validates the text of a channels file. `file` is only used to label problems.
 * Stops after the first stage that finds problems (syntax, then variables, then schema, then
 * semantics), because later stages would only report echoes of the earlier ones.
 */
export function validateChannelsText(text: string, file: string, env: Env = process.env): ValidationResult {
  const lineCounter = new LineCounter();
  // prettyErrors off: the message stays one line; the position is added from the line counter.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: sortProblems(doc.errors.map((e) => ({ file, ...offsetPosition(pastIndentation(text, e.pos[0]), lineCounter), path: '', message: e.message }))),
    };
  }

  if (doc.contents === null) {
    return { problems: [{ file, line: 1, column: 1, path: '', message: 'the file is empty: it needs a top-level "channels:" list' }] };
  }

  const envProblems = substituteEnv(doc, env, file, lineCounter);
  if (envProblems.length > 0) return { problems: sortProblems(envProblems) };

  const data = coerceToSchema(doc.toJS({ maxAliasCount: 100 }) ?? null, channelsSchema);
  const validate = channelsValidator();
  if (!validate(data)) {
    return { problems: sortProblems(schemaProblems(validate.errors ?? [], doc as Document, lineCounter, file, data)) };
  }

  const config = data as ChannelsFile;
  const semantic = semanticIssues(config).map((issue): Problem => {
    const resolved = resolvePath(doc as Document, issue.path);
    const node = issue.atKey && resolved.keyNode ? resolved.keyNode : resolved.node;
    return { file, ...positionOf(node, lineCounter), path: formatPath(issue.path), message: issue.message };
  });
  if (semantic.length > 0) return { problems: sortProblems(semantic) };
  return { config, problems: [] };
}

/**
 * Reads and validates `file`; returns its channels or throws a `ChannelsFileError` listing every
 * problem (a missing file is one problem at 1:1).
 */
export function loadChannels(file: string, env: Env = process.env): { channels: ChannelConfig[] } {
  const text = readChannelsFile(file);
  if (typeof text !== 'string') throw new ChannelsFileError([text]);
  const { config, problems } = validateChannelsText(text, file, env);
  if (!config) throw new ChannelsFileError(problems);
  return { channels: config.channels };
}

/** The file's text, or a problem saying why it cannot be read. */
export function readChannelsFile(file: string): string | Problem {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory, not a file' : `cannot read file (${code ?? (err as Error).message})`;
    return { file, line: 1, column: 1, path: '', message };
  }
}

/**
 * An indentation error's range starts at the line's leading spaces; the offending key is where they
 * end. Moves the parser's offset past spaces and tabs on its own line (never onto the next line).
 */
function pastIndentation(text: string, offset: number): number {
  let at = offset;
  while (text[at] === ' ' || text[at] === '\t') at += 1;
  return at < text.length && text[at] !== '\n' && text[at] !== '\r' ? at : offset;
}
