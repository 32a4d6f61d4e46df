/**
 * `wasl nphies-batch FILE.ndjson [--concurrency N] [--out results.ndjson]`: submits one NPHIES
 * claim-request per line (engine/nphies/batch.ts) through the client, recording every claim in
 * the lifecycle (DATABASE_URL, else SQLite in WASL_DATA_DIR). Progress goes to stderr: a bar on a
 * terminal, plain lines otherwise. Results are NDJSON (stdout, or `--out`). Running it again on
 * the same file resumes: accepted claims are reported, not resent.
 *
 * Where NPHIES is and who we are come from the environment (never the command line, which shows
 * in `ps`): NPHIES_URL, NPHIES_TOKEN_URL / NPHIES_CLIENT_ID / NPHIES_CLIENT_SECRET / NPHIES_SCOPE,
 * NPHIES_CERT_FILE / NPHIES_KEY_FILE / NPHIES_CA_FILE, NPHIES_PROVIDER_LICENSE,
 * NPHIES_PAYER_LICENSE, NPHIES_PROVIDER_ENDPOINT. Exit 0 when every line was accepted, 1 when a
 * line failed (the results say which; run again to retry them), 2 on usage errors.
 */
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { NphiesClient } from '../../connectors/nphies/client';
import { nphiesFromEnv, ndjsonLines, formatProgress, runBatch, type BatchProgress, type SendFn } from '../nphies/batch';
import { claimLifecycleFor } from '../nphies/lifecycle';
import { configFromEnv } from '../config';
import { openStore } from '../store';
import type { CliIo } from './io';

export interface NphiesBatchOptions {
  concurrency: number;
  out?: string;
  batchId?: string;
  /** Tests: a stub instead of the client built from the environment. */
  send?: SendFn;
  /** Whether stderr is a terminal (default: process.stderr.isTTY). */
  tty?: boolean;
  signal?: AbortSignal;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0 || n > 1000) throw new InvalidArgumentError(`not an integer from 1 to 1000: ${value}`);
  return n;
}

/** Terminal: one bar redrawn at most 10 times a second. Otherwise: a line every 5 s and at the end. */
export function progressReporter(io: CliIo, tty: boolean): (p: BatchProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    const final = p.status !== 'running' || p.remaining === 0;
    if (!final && now - last < (tty ? 100 : 5000)) return;
    last = now;
    if (tty) io.stderr(`\r${formatProgress(p, { bar: true })}\x1b[K${final ? '\n' : ''}`);
    else io.stderr(`nphies-batch ${p.batchId}: ${formatProgress(p)}\n`);
  };
}

export async function nphiesBatchCommand(file: string, opts: NphiesBatchOptions, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = await io.readInput(file);
  } catch (err) {
    io.stderr(`wasl: ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}\n`);
    return 1;
  }
  const env = nphiesFromEnv(process.env);
  let client: NphiesClient | undefined;
  const config = configFromEnv();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const lifecycle = claimLifecycleFor(store);
  let send = opts.send;
  if (!send) {
    if (!env.endpoint) {
      await store.close();
      io.stderr('wasl: NPHIES_URL is not set\n');
      return 2;
    }
    const c = new NphiesClient({ endpoint: env.endpoint, ledger: lifecycle.ledger });
    client = c;
    send = (bundle, o) => c.send(bundle, o);
  }
  const out = opts.out ? fs.createWriteStream(opts.out, { flags: 'w' }) : undefined;
  const write = (line: string): Promise<void> =>
    out ? new Promise((resolve, reject) => (out.write(line, (err) => (err ? reject(err) : resolve())))) : Promise.resolve(void io.stdout(line));
  try {
    const final = await runBatch(ndjsonLines(text), {
      lifecycle,
      send,
      parties: env.parties,
      concurrency: opts.concurrency,
      batchId: opts.batchId,
      source: file,
      signal: opts.signal,
      onResult: (r) => write(JSON.stringify(r) + '\n'),
      onProgress: progressReporter(io, opts.tty ?? Boolean(process.stderr.isTTY)),
    });
    return final.failed === 0 && final.remaining === 0 ? 0 : 1;
  } finally {
    if (out) await new Promise<void>((resolve) => out.end(resolve));
    await client?.close();
    await store.close();
  }
}

/** Adds `nphies-batch` to the program; `setExit` receives the exit code. */
export function registerNphiesBatchCommand(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('nphies-batch')
    .description('submit an NDJSON file of NPHIES claims (one claim-request input per line) with bounded concurrency; resumable')
    .argument('<file>', 'NDJSON file, or - for standard input')
    .option('--concurrency <n>', 'claims in flight at once', positive, 8)
    .option('--out <file>', 'write results as NDJSON to this file instead of stdout')
    .option('--batch-id <id>', 'batch id for progress through the API (default: a new UUID)')
    .action(async (file: string, opts: { concurrency: number; out?: string; batchId?: string }) => {
      setExit(await nphiesBatchCommand(file, opts, io));
    });
}
