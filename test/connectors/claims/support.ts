/**
 * Small shared pieces of the claims connector and stage tests: a sealer with a random key, seeded
 * valid claims, priced rows made with the real pricer, and one-line counts on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { SecretBox } from '../../../common/secret-box';
import type { PricedClaimRow } from '../../../connectors/claims/production';
import { generateClaims } from '../../../scripts/claims/synthetic-claims';
import { loadFeeSchedule, priceClaim, type FeeSchedule } from '../../../transformers/claims/price';
import type { Claim, DenialPrediction } from '../../../transformers/claims/types';

/** The generator and the stages share one reference date. */
export const TODAY = new Date().toISOString().slice(0, 10);

export const CONVERSION_FACTOR = '36.04';

export function testSealer(): SecretBox {
  return new SecretBox(randomBytes(32).toString('hex'));
}

/** `n` valid claims (no defects, no replays), staging ids from `startStagingId`. */
export function validClaims(n: number, startStagingId: number, seed = 20260301): Claim[] {
  return generateClaims(n, { seed, startStagingId, today: TODAY });
}

let schedule: FeeSchedule | undefined;

export function feeSchedule(): FeeSchedule {
  return (schedule ??= loadFeeSchedule());
}

/** A priced row as the price stage makes it (the real pricer; throws if the claim does not price). */
export function pricedRow(claim: Claim, prediction?: DenialPrediction): PricedClaimRow {
  const result = priceClaim(claim, feeSchedule(), { conversionFactor: CONVERSION_FACTOR, useGpci: false });
  if (!result.ok) throw new Error(`claim ${claim.stagingId} does not price: ${result.failures.map((f) => f.rule).join(',')}`);
  return { claim, priced: result.priced, prediction };
}

export async function countRows(knex: Knex, table: string, where: Record<string, unknown> = {}): Promise<number> {
  return Number((await knex(table).where(where).count({ n: '*' }))[0].n);
}

/** Staging ids in a production table, as sorted numbers. */
export async function stagingIdsIn(knex: Knex, table: string): Promise<number[]> {
  const rows = (await knex(table).select(knex.raw('staging_id::text AS id'))) as Array<{ id: string }>;
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/** Every string anywhere in a JSON value, with its path (for "not in clear" checks). */
export function stringsIn(value: unknown, at = '$'): Array<{ at: string; s: string }> {
  if (typeof value === 'string') return [{ at, s: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${at}[${i}]`));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringsIn(v, `${at}.${k}`));
  return [];
}

/** The ciphertext bytes of a SecretBox value (to show it is not merely encoded). */
export function cipherBytes(sealed: string): string {
  return Buffer.from(sealed.split('.')[4] ?? '', 'base64url').toString('latin1');
}
