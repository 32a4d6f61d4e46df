/**
 * `wasl claims-stage --count N`: fills the claims staging table (CLAIMS_STAGING_URL) with
 * synthetic, realistic claims (scripts/claims/synthetic-claims.ts), some broken on purpose, so
 * that the claims channel and the failed-claims workbench have work to show. Demo and load
 * testing only: the data is generated, never real patients.
 */
import type { Command } from 'commander';
import knexFactory from 'knex';
import { copyIntoStaging } from '../../connectors/claims/staging-load';
import { generateClaims } from '../../scripts/claims/synthetic-claims';
import type { CliIo } from './io';

export interface ClaimsStageOptions {
  count: number;
  invalid: number;
  duplicates: number;
  seed: number;
  table: string;
  urlEnv: string;
}

export async function claimsStageCommand(o: ClaimsStageOptions, io: CliIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const url = env[o.urlEnv];
  if (!url) {
    io.stderr(`claims-stage: set ${o.urlEnv} to the staging database URL (postgres://...)\n`);
    return 1;
  }
  for (const [name, v, max] of [['count', o.count, 10_000_000], ['invalid', o.invalid, 1], ['duplicates', o.duplicates, 1]] as const) {
    if (!Number.isFinite(v) || v < 0 || v > max) {
      io.stderr(`claims-stage: --${name} must be a number from 0 to ${max}, got ${v}\n`);
      return 1;
    }
  }
  const knex = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
  try {
    const started = Date.now();
    const claims = generateClaims(o.count, { seed: o.seed, invalidRate: o.invalid, duplicateRate: o.duplicates, today: new Date().toISOString().slice(0, 10) });
    await copyIntoStaging(knex, claims, o.table);
    io.stdout(`staged ${claims.length} synthetic claims into ${o.table} in ${Date.now() - started} ms\n`);
    return 0;
  } catch (err) {
    io.stderr(`claims-stage: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await knex.destroy();
  }
}

/** Adds `claims-stage` to the CLI; `setExit` receives the exit code. */
export function registerClaimsStageCommand(program: Command, io: CliIo, setExit: (code: number) => void): void {
  program
    .command('claims-stage')
    .description('fill the claims staging table with synthetic claims (demo and load tests)')
    .option('--count <n>', 'claims to generate', '1000')
    .option('--invalid <rate>', 'fraction broken on purpose (fail validation)', '0.05')
    .option('--duplicates <rate>', 'fraction repeating an earlier (claim id, facility)', '0.01')
    .option('--seed <n>', 'random seed (same seed, same claims)', String(Date.now() % 1_000_000))
    .option('--table <name>', 'staging table', 'claims_staging')
    .option('--url-env <name>', 'environment variable with the staging URL', 'CLAIMS_STAGING_URL')
    .action(async (opts: Record<string, string>) => {
      setExit(
        await claimsStageCommand(
          { count: Number(opts.count), invalid: Number(opts.invalid), duplicates: Number(opts.duplicates), seed: Number(opts.seed), table: opts.table, urlEnv: opts.urlEnv },
          io,
        ),
      );
    });
}
