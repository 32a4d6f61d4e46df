/**
 * `wasl validate [file]`: checks channels.yaml (its channels, and its `adapters:` list when it has
 * one) and says so, or prints one line per problem.
 * A function rather than a script so the CLI and tests call it the same way; it never exits.
 */
import type { Env } from './env-substitution';
import { readChannelsFile, validateChannelsText } from './load';
import { formatProblem } from './problems';
import { validateAdaptersText } from '../providers/adapters-file';

/** Where the command writes; each call is one whole line, newline included. */
export interface CommandIo {
  stdout(s: string): void;
  stderr(s: string): void;
}

/**
 * Validates `file`. Valid: prints `<file>: N channel(s) valid` to stdout and returns 0.
 * Invalid or unreadable: prints one `file:line:column path: message` line per problem to stderr
 * and returns 1.
 */
export function runValidate(file: string, io: CommandIo, env: Env = process.env): number {
  const text = readChannelsFile(file);
  if (typeof text !== 'string') {
    io.stderr(`${file}: ${text.message}\n`);
    return 1;
  }
  const { config, problems } = validateChannelsText(text, file, env);
  if (!config) {
    for (const p of problems) io.stderr(`${formatProblem(p)}\n`);
    return 1;
  }
  // An `adapters:` list beside the channels is checked by its own loader, positions included.
  const adapters = config.adapters ? validateAdaptersText(text, file, env, { alongside: ['channels'] }) : undefined;
  if (adapters && !adapters.config) {
    for (const p of adapters.problems) io.stderr(`${formatProblem(p)}\n`);
    return 1;
  }
  const n = adapters?.config?.entries.length ?? 0;
  io.stdout(`${file}: ${config.channels.length} channel(s)${n ? ` and ${n} adapter(s)` : ''} valid\n`);
  return 0;
}
