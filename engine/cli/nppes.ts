/**
 * `wasl nppes FILE|NPI [--url URL]`: prints the FHIR R4 resources of NPPES records as one
 * transaction Bundle (transformers/nppes/to-fhir.ts).
 *
 * - FILE (or `-` for stdin): a saved NPI Registry API answer (or one `results[]` entry, or an array
 *   of them); no network.
 * - NPI (digits, when no file has that name): its format and check digit are checked first, then
 *   it is looked up at NPPES_URL or `--url` (the public registry, a mirror or the simulator).
 *
 * Exit 0 printed; 1 invalid input (bad NPI, not JSON, an `Errors` answer, NPI not listed, NPPES
 * unreachable), one line on stderr; 2 usage (an NPI without a URL).
 */
import fs from 'node:fs';
import type { Command } from 'commander';
import winston from 'winston';
import { toWaslError } from '../../common/errors';
import { createNppesAdapter } from '../../connectors/nppes/client';
import { npiProblem } from '../../connectors/nppes/npi';
import { parseSavedNppes, type NppesRecord } from '../../connectors/nppes/parse';
import { nppesToFhirBundle } from '../../transformers/nppes/to-fhir';
import { inputError, type CliIo } from './io';

export interface NppesCommandOptions {
  url?: string;
  env?: NodeJS.ProcessEnv;
}

/** True when `input` names an NPI rather than a file: digits only, and no such file. */
function isNpiArgument(input: string): boolean {
  return /^\s*[0-9]+\s*$/.test(input) && !fs.existsSync(input);
}

export async function nppesCommand(input: string, opts: NppesCommandOptions, io: CliIo): Promise<number> {
  let records: NppesRecord[];
  if (isNpiArgument(input)) {
    const npi = input.trim();
    const problem = npiProblem(npi);
    if (problem) {
      io.stderr(`wasl: ${problem}\n`);
      return 1;
    }
    const url = opts.url ?? (opts.env ?? process.env).NPPES_URL;
    if (!url) {
      io.stderr('wasl: looking up an NPI needs NPPES_URL or --url (e.g. https://npiregistry.cms.hhs.gov)\n');
      return 2;
    }
    let adapter: ReturnType<typeof createNppesAdapter> | undefined;
    try {
      // Silent HTTP logger: the command's own stderr line is the whole story (the CLI's convention).
      adapter = createNppesAdapter({ id: 'cli', baseUrl: url, cache: { ttlMs: 0 }, logger: winston.createLogger({ silent: true }) });
      const record = await adapter.lookup(npi);
      if (!record) {
        io.stderr(`wasl: NPI ${npi} is not listed by NPPES (unknown, or deactivated)\n`);
        return 1;
      }
      records = [record];
    } catch (err) {
      const e = toWaslError(err);
      io.stderr(`wasl: ${e.code}: ${e.message}\n`);
      return 1;
    } finally {
      await adapter?.close();
    }
  } else {
    let text: string;
    try {
      text = await io.readInput(input);
    } catch (err) {
      return inputError(io, input, err);
    }
    try {
      records = parseSavedNppes(text).records;
    } catch (err) {
      const e = toWaslError(err);
      io.stderr(`wasl: ${input}: ${e.code}: ${e.message}\n`);
      return 1;
    }
  }
  io.stdout(JSON.stringify(nppesToFhirBundle(records), null, 2) + '\n');
  return 0;
}

/** Adds `nppes` to the CLI; `setExit` receives the exit code. */
export function registerNppesCommand(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('nppes')
    .description('print the FHIR R4 resources (transaction Bundle) of a saved NPPES API answer, or of an NPI looked up at NPPES_URL / --url')
    .argument('<input>', 'saved NPI Registry API JSON file (- for standard input), or a 10-digit NPI')
    .option('--url <url>', 'NPI Registry base URL for an NPI (default: NPPES_URL)')
    .action(async (input: string, o: { url?: string }) => {
      setExit(await nppesCommand(input, { url: o.url }, io));
    });
}
