/**
 * A problem in channels.yaml, with the position an editor can jump to.
 */
import { ValidationError } from '../../common/errors';

/** One problem; `line` and `column` are 1-based and come from the YAML parser, never guessed. */
export interface Problem {
  file: string;
  line: number;
  column: number;
  /** Where in the data, e.g. `channels[0].destinations.fhir.retry.maxAttempts`; '' for syntax. */
  path: string;
  message: string;
}

/** A path into the parsed data: map keys and array indexes. */
export type DataPath = ReadonlyArray<string | number>;

/** `file:line:column path: message` (the path is left out when empty, e.g. for syntax errors). */
export function formatProblem(p: Problem): string {
  return p.path ? `${p.file}:${p.line}:${p.column} ${p.path}: ${p.message}` : `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['channels', 0, 'source', 'port']` -> `channels[0].source.port`; odd keys are quoted. */
export function formatPath(path: DataPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Orders problems as they appear in the file, so the first line printed is the first to fix. */
export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path));
}

/** Thrown by `loadChannels` when the file is missing or invalid; carries every problem. */
export class ChannelsFileError extends ValidationError {
  readonly problems: Problem[];

  constructor(problems: Problem[]) {
    super('CHANNELS_INVALID', problems.map(formatProblem).join('\n'), { details: { count: problems.length } });
    this.name = 'ChannelsFileError';
    this.problems = problems;
  }
}
