/**
 * `./bin/wasl <command>`. Conventions: input from a file or `-` for standard input; results on
 * stdout (JSON where the result is data); exit 0 success, 1 invalid input or failed check (one
 * clear line on stderr, or an OperationOutcome on stdout for validators), 2 usage error.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { logToStderr } from '../../common/logger';
import { runValidate } from '../channels/validate-command';
import { configFromEnv } from '../config';
import { openStore } from '../store';
import { registerClaimsStageCommand } from './claims-stage';
import { registerFhirSyncCommand } from './fhir-sync';
import { fhirValidateCommand, hl7ToFhirCommand } from './hl7-commands';
import { processIo, type CliIo } from './io';
import { mllpSendCommand } from './mllp-send';
import { registerNphiesBatchCommand } from './nphies-batch';
import { registerNphiesValidateCommand } from './nphies-validate';
import { registerNppesCommand } from './nppes';
import { replayCommand } from './replay';
import { registerUserCommands } from './users';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new InvalidArgumentError(`not a port number: ${value}`);
  return n;
}

function milliseconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive number of milliseconds: ${value}`);
  return n;
}

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  // stdout carries results (JSON) for scripts; log lines go to stderr.
  logToStderr();
  let exitCode = 0;
  const program = new Command('wasl')
    .description('Wasl healthcare integration engine')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  program
    .command('validate')
    .description('validate channels.yaml: one line per problem as file:line:column path: message')
    .argument('[file]', 'channels file (default: WASL_CHANNELS_FILE, else channels.yaml)', process.env.WASL_CHANNELS_FILE || 'channels.yaml')
    .action((file: string) => {
      exitCode = runValidate(file, io, process.env);
    });

  program
    .command('migrate')
    .description('run message store migrations (DATABASE_URL, else SQLite in WASL_DATA_DIR)')
    .action(async () => {
      const config = configFromEnv();
      const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      await store.close();
      io.stdout(JSON.stringify({ migrated: true, store: store.dialect }) + '\n');
    });

  program
    .command('mllp-send')
    .description('send the HL7 v2 message(s) in FILE over MLLP and print the ACKs')
    .argument('<file>', 'HL7 file, or - for standard input')
    .option('--host <host>', 'listener host', '127.0.0.1')
    .option('--port <port>', 'listener port', port, Number(process.env.MLLP_PORT) || 2575)
    .option('--timeout <ms>', 'ACK timeout in milliseconds', milliseconds, 10_000)
    .action(async (file: string, opts: { host: string; port: number; timeout: number }) => {
      exitCode = await mllpSendCommand(file, { host: opts.host, port: opts.port, timeoutMs: opts.timeout }, io);
    });

  program
    .command('hl7-to-fhir')
    .description('print the FHIR R4 transaction Bundle for an HL7 v2 message (a collection of them for a batch file)')
    .argument('<file>', 'HL7 file, or - for standard input')
    .action(async (file: string) => {
      exitCode = await hl7ToFhirCommand(file, io);
    });

  program
    .command('fhir-validate')
    .description('validate a FHIR R4 resource or Bundle; prints an OperationOutcome')
    .argument('<file>', 'JSON file, or - for standard input')
    .action(async (file: string) => {
      exitCode = await fhirValidateCommand(file, io);
    });

  program
    .command('replay')
    .description("move a queue's dead letters back onto the queue (e.g. adt-to-fhir.dest.fhir)")
    .argument('<queue>', 'queue name')
    .action(async (queue: string) => {
      exitCode = await replayCommand(queue, io);
    });

  registerFhirSyncCommand(program, io, (code) => (exitCode = code));
  registerNphiesBatchCommand(program, io, (code) => (exitCode = code));
  registerNphiesValidateCommand(program, io, (code) => (exitCode = code));
  registerClaimsStageCommand(program, io, (code) => (exitCode = code));
  registerNppesCommand(program, io, (code) => (exitCode = code));
  registerUserCommands(program, io, (code) => (exitCode = code));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; everything else commander reports is a usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    io.stderr(`wasl: ${(err as Error).message}\n`);
    return 1;
  }
}
