/** `wasl nphies-validate FILE|-`: NPHIES message validation from the command line. */
import type { Command } from 'commander';
import { validateNphiesBundle } from '../../connectors/nphies/validate';
import { inputError, type CliIo } from './io';

/**
 * Prints the OperationOutcome of validateNphiesBundle for the JSON in `file` (`-` = stdin).
 * Exit 0 valid (warnings allowed), 1 invalid or not JSON, and 1 with one stderr line when
 * the file cannot be read.
 */
export async function nphiesValidateCommand(file: string, io: CliIo): Promise<number> {
  let resource: unknown;
  try {
    resource = JSON.parse(await io.readInput(file));
  } catch (err) {
    if (err instanceof SyntaxError) {
      const outcome = {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'structure', diagnostics: `not JSON: ${err.message}` }],
      };
      io.stdout(JSON.stringify(outcome, null, 2) + '\n');
      return 1;
    }
    return inputError(io, file, err);
  }
  const result = validateNphiesBundle(resource);
  io.stdout(JSON.stringify(result.outcome, null, 2) + '\n');
  return result.valid ? 0 : 1;
}

/** Adds `nphies-validate` to the CLI; `setExit` receives the exit code. */
export function registerNphiesValidateCommand(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('nphies-validate')
    .description('validate an NPHIES message Bundle (or one NPHIES resource); prints an OperationOutcome')
    .argument('<file>', 'JSON file, or - for standard input')
    .action(async (file: string) => {
      setExit(await nphiesValidateCommand(file, io));
    });
}
