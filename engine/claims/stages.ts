/**
 * What each claims node does to a batch, free of Node-RED so that tests and the benchmark call the
 * same code: validate (rules + duplicates against production), predict (denial model, rule
 * fallback), price (PFS RVUs), write (production / failed_claims, then staging rows done).
 *
 * A stage works on every claim that is still alive (not failed, not a replay) and records its own
 * time in `batch.timings`; a claim that fails keeps travelling with its reasons, so that the write
 * stage puts it in failed_claims: nothing is dropped between stages.
 */
import { claimFailed, openBatch, type ClaimBatch, type ClaimOutcome, type Sealer } from '../../connectors/claims/batch';
import { claimKeyOf, type FailedClaimRow, type PricedClaimRow, type ProductionWriter, type WriteResult } from '../../connectors/claims/production';
import type { ClaimsStaging } from '../../connectors/claims/staging';
import type { DenialModel } from '../../transformers/claims/predict';
import { predictDenial } from '../../transformers/claims/predict';
import { priceClaim, type FeeSchedule } from '../../transformers/claims/price';
import type { Claim, RuleFailure } from '../../transformers/claims/types';
import { validateClaims, type CompiledRules } from '../../transformers/claims/validate';

/** A claim still to be worked on by the next stage. */
function alive(o: ClaimOutcome): boolean {
  return !o.alreadyWritten && !claimFailed(o);
}

export interface ValidateDeps {
  rules: CompiledRules;
  sealer: Sealer;
  /** Absent: duplicates are checked inside the batch only. */
  production?: Pick<ProductionWriter, 'alreadyWritten' | 'existingKeys'>;
  today?: string;
}

export interface StageReport {
  items: number;
  failed: number;
  ms: number;
  /** Rule ids of the failures this stage added, one entry per failing claim and rule. */
  rules: string[];
}

/** Runs the rule set; claims production already holds (a redelivered batch) are marked, not re-checked. */
export async function validateBatch(batch: ClaimBatch, deps: ValidateDeps): Promise<StageReport> {
  const started = performance.now();
  const claims = openBatch(batch, deps.sealer);
  const held = deps.production ? await deps.production.alreadyWritten(claims.map((c) => c.stagingId)) : new Set<string>();
  const fresh: Claim[] = [];
  const index: number[] = [];
  claims.forEach((c, i) => {
    if (held.has(c.stagingId)) batch.outcomes[i].alreadyWritten = true;
    else {
      fresh.push(c);
      index.push(i);
    }
  });
  const productionKeys = deps.production
    ? await deps.production.existingKeys(fresh.filter((c) => (c.frequency ?? '1') === '1').map((c) => ({ facilityId: c.facilityId, claimId: c.claimId })))
    : new Set<string>();
  const results = validateClaims(fresh, deps.rules, { today: deps.today ?? today(), productionKeys });
  const rules: string[] = [];
  let failed = 0;
  results.forEach((failures, k) => {
    const o = batch.outcomes[index[k]];
    o.failures = [...(o.failures ?? []), ...failures];
    if (claimFailed(o)) failed += 1;
    for (const r of new Set(failures.filter((f) => f.severity === 'error').map((f) => f.rule))) rules.push(r);
  });
  return finish(batch, 'validate', started, fresh.length, failed, rules);
}

export interface PredictDeps {
  model: DenialModel | undefined;
  sealer: Sealer;
  /** `hold`: a likely denial goes to failed_claims (PREDICTED_DENIAL) for review; `flag`: it is only scored. */
  action: 'flag' | 'hold';
  threshold?: number;
  today?: string;
}

export const PREDICTED_DENIAL_RULE = 'PREDICTED_DENIAL';

export function predictBatch(batch: ClaimBatch, deps: PredictDeps): StageReport {
  const started = performance.now();
  const claims = openBatch(batch, deps.sealer);
  let items = 0;
  let failed = 0;
  const rules: string[] = [];
  claims.forEach((c, i) => {
    const o = batch.outcomes[i];
    if (!alive(o)) return;
    items += 1;
    const prediction = predictDenial(c, deps.model, { threshold: deps.threshold, today: deps.today });
    o.prediction = prediction;
    if (deps.action === 'hold' && prediction.likelyDenied) {
      const failure: RuleFailure = {
        rule: PREDICTED_DENIAL_RULE,
        severity: 'error',
        field: 'claim',
        value: prediction.score.toFixed(3),
        message: `held for review: denial likely (score ${prediction.score.toFixed(3)} by ${prediction.decidedBy} ${prediction.version})`,
      };
      o.failures = [...(o.failures ?? []), failure];
      failed += 1;
      rules.push(PREDICTED_DENIAL_RULE);
    }
  });
  return finish(batch, 'predict', started, items, failed, rules);
}

export interface PriceDeps {
  schedule: FeeSchedule;
  conversionFactor: string;
  useGpci: boolean;
}

export function priceBatch(batch: ClaimBatch, deps: PriceDeps): StageReport {
  const started = performance.now();
  let items = 0;
  let failed = 0;
  const rules: string[] = [];
  batch.claims.forEach((c, i) => {
    const o = batch.outcomes[i];
    if (!alive(o)) return;
    items += 1;
    // Pricing needs no sensitive field: the open claim is enough (no decryption).
    const result = priceClaim(c as Claim, deps.schedule, { conversionFactor: deps.conversionFactor, useGpci: deps.useGpci });
    if (result.ok) o.priced = result.priced;
    else {
      o.failures = [...(o.failures ?? []), ...result.failures];
      failed += 1;
      for (const r of new Set(result.failures.map((f) => f.rule))) rules.push(r);
    }
  });
  return finish(batch, 'price', started, items, failed, rules);
}

export interface WriteDeps {
  writer: ProductionWriter;
  sealer: Sealer;
  /** Marks the rows done; absent when the destination does not know the staging database. */
  staging?: Pick<ClaimsStaging, 'markDone'>;
}

/**
 * Splits the batch into priced and failed claims and writes both in one transaction; then marks
 * every staging row of the batch done (replays included: their earlier pass may have died
 * between the write and this update).
 */
export async function writeBatch(batch: ClaimBatch, deps: WriteDeps): Promise<WriteResult & { ms: number }> {
  const started = performance.now();
  const claims = openBatch(batch, deps.sealer);
  const priced: PricedClaimRow[] = [];
  const failed: FailedClaimRow[] = [];
  claims.forEach((claim, i) => {
    const o = batch.outcomes[i];
    if (o.alreadyWritten) return;
    if (claimFailed(o)) failed.push({ claim, failures: o.failures ?? [] });
    else if (o.priced) priced.push({ claim, priced: o.priced, prediction: o.prediction });
    // Not failed and not priced: a stage is missing from the channel. Failing loudly beats writing an unpriced claim.
    else failed.push({ claim, failures: [{ rule: 'NOT_PRICED', severity: 'error', field: 'claim', value: '', message: 'the claim reached the destination without a price: is wasl-claims-price in the channel?' }] });
  });
  const writeStarted = performance.now();
  const result = await deps.writer.write({ batchId: batch.batchId, priced, failed });
  const commitMs = performance.now() - writeStarted;
  const doneStarted = performance.now();
  await deps.staging?.markDone(
    claims.map((c) => c.stagingId),
    batch.batchId,
  );
  const ms = performance.now() - started;
  batch.timings.write = round(ms);
  // Where the write's time went: open and split, each SQL step, the commit, the staging update.
  batch.timings['write.prepare'] = round(writeStarted - started);
  for (const [k, v] of Object.entries(result.steps ?? {})) batch.timings[`write.${k}`] = v;
  batch.timings['write.transaction'] = round(commitMs);
  batch.timings['write.markDone'] = round(performance.now() - doneStarted);
  return { ...result, replayed: result.replayed + batch.outcomes.filter((o) => o.alreadyWritten).length, ms };
}

function finish(batch: ClaimBatch, stage: string, started: number, items: number, failed: number, rules: string[]): StageReport {
  const ms = performance.now() - started;
  batch.timings[stage] = round(ms);
  return { items, failed, ms, rules };
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

export { claimKeyOf };
