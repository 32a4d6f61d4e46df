/**
 * The claims pipeline's test harness, shared by the end-to-end tests and bench:claims: fresh
 * staging and production schemas on the real PostgreSQL, staging loaded with COPY, a channels
 * file for one claims channel, and the count check (staged = production + failed).
 */
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { copyIntoStaging } from '../../connectors/claims/staging-load';
import { freshPostgresSchema } from './services';

export interface ClaimsDatabases {
  stagingUrl: string;
  productionUrl: string;
  drop(): Promise<void>;
}

/** Two fresh schemas on the test database: staging and production. */
export async function claimsDatabases(): Promise<ClaimsDatabases> {
  const staging = await freshPostgresSchema();
  const production = await freshPostgresSchema();
  return {
    stagingUrl: staging.url,
    productionUrl: production.url,
    drop: async () => {
      await staging.drop();
      await production.drop();
    },
  };
}

export function knexFor(url: string): Knex {
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 4 } });
}

/** Creates the staging table if needed and COPYs the claims in (ids assigned by the table). */
export const loadStaging = copyIntoStaging;

export interface ClaimCounts {
  staged: number;
  stagingDone: number;
  production: number;
  failed: number;
  batches: number;
  /** Staging ids found in both claims and failed_claims: must be 0. */
  inBoth: number;
}

/** Counts both sides; staging and production may be different databases. */
export async function countClaims(staging: Knex, production: Knex): Promise<ClaimCounts> {
  const one = async (k: Knex, sql: string): Promise<number> => Number(((await k.raw(sql)) as { rows: Array<{ n: string }> }).rows[0].n);
  const hasFailed = await production.schema.hasTable('failed_claims');
  const hasClaims = await production.schema.hasTable('claims');
  return {
    staged: await one(staging, 'SELECT count(*) AS n FROM claims_staging'),
    stagingDone: await one(staging, "SELECT count(*) AS n FROM claims_staging WHERE status = 'done'"),
    production: hasClaims ? await one(production, 'SELECT count(*) AS n FROM claims') : 0,
    failed: hasFailed ? await one(production, 'SELECT count(*) AS n FROM failed_claims') : 0,
    batches: (await production.schema.hasTable('claim_batches')) ? await one(production, 'SELECT count(*) AS n FROM claim_batches') : 0,
    inBoth: hasFailed && hasClaims ? await one(production, 'SELECT count(*) AS n FROM claims c JOIN failed_claims f ON f.staging_id = c.staging_id') : 0,
  };
}

/**
 * Waits until every staged claim is in production or failed_claims (or the time runs out).
 * While waiting it reads only claim_batches' sums (a few dozen rows): counting 100,000-row
 * tables every 50 ms would load the database being measured. The full count comes at the end.
 */
export async function waitForAllClaims(staging: Knex, production: Knex, timeoutMs: number, pollMs = 100): Promise<ClaimCounts> {
  const until = Date.now() + timeoutMs;
  const staged = Number(((await staging.raw('SELECT count(*) AS n FROM claims_staging')) as { rows: Array<{ n: string }> }).rows[0].n);
  for (;;) {
    if (await production.schema.hasTable('claim_batches')) {
      const { rows } = (await production.raw('SELECT coalesce(sum(written + failed), 0) AS n FROM claim_batches')) as { rows: Array<{ n: string }> };
      if (Number(rows[0].n) >= staged) break;
    }
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return countClaims(staging, production);
}

export interface ClaimsChannelOptions {
  /** Channel id (names the queues); default claims. */
  id?: string;
  batchSize?: number;
  leaseS?: number;
  intervalMs?: number;
  action?: 'flag' | 'hold';
  prefetch?: number;
  maxInFlight?: number;
}

/** A channels.yaml with one claims channel: db-poll -> validate -> predict -> price -> sql. */
export function writeClaimsChannels(dir: string, o: ClaimsChannelOptions = {}): string {
  const file = path.join(dir, 'channels.yaml');
  fs.writeFileSync(
    file,
    `channels:
  - id: ${o.id ?? 'claims'}
    name: Claims ${o.id ?? ''}
    source:
      type: db-poll
      batchSize: ${o.batchSize ?? 2000}
      leaseS: ${o.leaseS ?? 300}
      intervalMs: ${o.intervalMs ?? 200}
      maxInFlight: ${o.maxInFlight ?? 2}
      createTable: true
    transformers:
      - type: claims-validate
        duplicatesAgainst: production
      - type: claims-predict
        action: ${o.action ?? 'hold'}
      - type: claims-price
        conversionFactor: "36.04"
    destinations:
      production:
        type: sql
        createTables: true
        prefetch: ${o.prefetch ?? 4}
        retry: { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 2000 }
    queue: { prefetch: ${o.prefetch ?? 4} }
`,
  );
  return file;
}
