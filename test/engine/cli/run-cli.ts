/** Runs the CLI in-process with captured output, as a user's shell would see it. */
import { readFileSync } from 'node:fs';
import { main } from '../../../engine/cli/index';
import type { CliIo } from '../../../engine/cli/io';

/** A Node stack frame line: a CLI error must never print one. */
export const STACK_LINE = /^\s+at .+\(?.+:\d+:\d+\)?$/m;

export async function runCli(argv: string[], stdin?: string): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    readInput: async (file) => {
      if (file !== '-') return readFileSync(file, 'utf8');
      if (stdin === undefined) throw new Error('test gave no standard input');
      return stdin;
    },
  };
  const code = await main(argv, io);
  return { code, out: out.join(''), err: err.join('') };
}
