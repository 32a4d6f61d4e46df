/**
 * `wasl fhir-sync --url <base>`: one Encounter and note sync (connectors/fhir/sync) into the store
 * (DATABASE_URL, else SQLite in WASL_DATA_DIR). Prints the run summary as JSON on stdout; exits 0
 * when every page was read and no Encounter failed, 1 otherwise (the summary says which), 2 on
 * usage errors. A bearer token, if needed, comes from the environment variable `--token-env`
 * names, never from the command line.
 */
import { Command, InvalidArgumentError } from 'commander';
import { createAuthProvider } from '../../connectors/fhir/auth';
import { FhirConnectionClient } from '../../connectors/fhir/fhir-client';
import { connectionIdForUrl, EncounterSync } from '../../connectors/fhir/sync/encounter-sync';
import type { SyncQuery } from '../../connectors/fhir/sync/types';
import { configFromEnv } from '../config';
import { openStore } from '../store';
import { fhirSyncStoreFor } from '../store/fhir-sync-store';
import type { CliIo } from './io';

interface FhirSyncOptions {
  url: string;
  connection?: string;
  since?: string;
  until?: string;
  status?: string;
  patient?: string;
  lastUpdated?: string;
  pageSize: number;
  full?: boolean;
  tokenEnv?: string;
  timeout: number;
}

const FHIR_DATE = /^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

function fhirDate(value: string): string {
  if (!FHIR_DATE.test(value)) throw new InvalidArgumentError(`not a FHIR date or instant: ${value}`);
  return value;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`not a positive integer: ${value}`);
  return n;
}

function httpUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('not an absolute http(s) URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError('not an absolute http(s) URL');
  return value;
}

/** Runs one sync; returns the exit code. */
export async function fhirSyncCommand(opts: FhirSyncOptions, io: CliIo): Promise<number> {
  let auth = createAuthProvider({ type: 'none' });
  if (opts.tokenEnv) {
    const token = process.env[opts.tokenEnv];
    if (!token) {
      io.stderr(`wasl: environment variable ${opts.tokenEnv} is not set\n`);
      return 2;
    }
    auth = { headers: async () => ({ Authorization: `Bearer ${token}` }), invalidate: async () => false };
  }
  const connectionId = opts.connection ?? connectionIdForUrl(opts.url);
  const config = configFromEnv();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const client = new FhirConnectionClient({ connection: { id: connectionId, baseUrl: opts.url, timeoutMs: opts.timeout }, auth });
  try {
    const sync = new EncounterSync({ connectionId, reader: client, store: fhirSyncStoreFor(store), baseUrl: opts.url });
    const query: SyncQuery = {
      since: opts.since, until: opts.until, status: opts.status, patient: opts.patient,
      lastUpdatedSince: opts.lastUpdated, pageSize: opts.pageSize, incremental: !opts.full,
    };
    const run = await sync.run(query);
    const { id, fetched, created, updated, skipped, failed, durationMs, pages, complete, highWaterMark, errors } = run;
    io.stdout(JSON.stringify({ runId: id, connectionId, fetched, created, updated, skipped, failed, durationMs, pages, complete, highWaterMark, errors }) + '\n');
    return complete && failed === 0 ? 0 : 1;
  } finally {
    await client.close();
    await store.close();
  }
}

/** Adds `fhir-sync` to the program; `setExit` receives the exit code. */
export function registerFhirSyncCommand(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('fhir-sync')
    .description('sync Encounters with their Patient and clinical notes from a FHIR R4 server into the store; prints the summary')
    .requiredOption('--url <base>', 'FHIR base URL, e.g. https://ehr.example/fhir/R4', httpUrl)
    .option('--connection <id>', 'connection id for dedupe and the high-water mark (default: the URL)')
    .option('--since <date>', 'Encounter date on or after', fhirDate)
    .option('--until <date>', 'Encounter date on or before', fhirDate)
    .option('--status <status>', 'Encounter status, e.g. finished (comma-separated for several)')
    .option('--patient <ref>', 'only this patient (Patient/<id> or <id>)')
    .option('--last-updated <instant>', 'only Encounters changed on or after this (overrides the high-water mark)', fhirDate)
    .option('--page-size <n>', 'Encounters per page (_count)', positive, 100)
    .option('--full', 'ignore and do not move the high-water mark')
    .option('--token-env <name>', 'environment variable holding a bearer token')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', positive, 30_000)
    .action(async (opts: FhirSyncOptions) => {
      setExit(await fhirSyncCommand(opts, io));
    });
}
