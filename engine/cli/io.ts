/** How CLI commands read input and write results, so tests can run them without a process. */
import fs from 'node:fs';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads a file, or standard input for `-`. */
  readInput(file: string): Promise<string>;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readInput: async (file) => {
    if (file !== '-') return fs.promises.readFile(file, 'utf8');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** One line on stderr for a failed input, never a stack trace. */
export function inputError(io: CliIo, file: string, err: unknown): number {
  const e = err as { code?: string; message?: string };
  io.stderr(`wasl: ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message ?? String(err)}\n`);
  return 1;
}
