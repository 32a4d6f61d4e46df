/**
 * The message a claims channel queues: one batch of claims read from staging, with what each
 * stage found out about each claim. One queue message per batch keeps 100,000 claims to a few
 * dozen queue and store operations; per-claim status lives in the staging, production and
 * failed_claims tables.
 *
 * Sensitive fields (member id, patient name, birth date) never travel or rest in clear inside
 * Wasl: `sealed` holds them for the whole batch as one AES-256-GCM value (one encryption per batch,
 * not per claim, so sealing costs nothing measurable), bound to the batch id. The stored message
 * row and the queue body therefore carry ciphertext only; a stage that needs the fields opens the
 * batch in memory.
 */
import type { Claim, DenialPrediction, PricedClaim, RuleFailure } from '../../transformers/claims/types';

/** AES-256-GCM with additional authenticated data (common/secret-box.ts implements it). */
export interface Sealer {
  seal(plain: string, owner: string): string;
  open(sealed: string, owner: string): string;
}

/** The fields of a claim that are sealed. */
export const SENSITIVE_FIELDS = ['memberId', 'patientFamily', 'patientGiven', 'birthDate'] as const;
type SensitiveField = (typeof SENSITIVE_FIELDS)[number];
type SensitiveValues = [string, string, string, string];

/** A claim as it travels: everything but the sensitive fields. */
export type OpenClaimFields = Omit<Claim, SensitiveField>;

/** What the stages learned about one claim, aligned with `claims`. */
export interface ClaimOutcome {
  /** Set by the validate stage; any `error` fails the claim. */
  failures?: RuleFailure[];
  /** Set by the validate stage when production already holds this staging row (a replay). */
  alreadyWritten?: boolean;
  prediction?: DenialPrediction;
  priced?: PricedClaim;
}

export interface ClaimBatch {
  /** Unique per claim of rows: `<table>:<first id>-<last id>:<claim token>`. */
  batchId: string;
  /** Where the rows came from, so the destination can mark them done. */
  source: { table: string; claimedBy: string; claimedAt: string };
  claims: OpenClaimFields[];
  /** SECURITY: the sensitive fields of every claim, in order, sealed under the batch id. */
  sealed: string;
  outcomes: ClaimOutcome[];
  /** Milliseconds each stage spent on the batch (the per-stage figures of the ops API and bench). */
  timings: Record<string, number>;
}

/** Builds a batch from whole claims, sealing their sensitive fields. */
export function sealBatch(batchId: string, source: ClaimBatch['source'], claims: Claim[], sealer: Sealer): ClaimBatch {
  const open: OpenClaimFields[] = new Array(claims.length);
  const secret: SensitiveValues[] = new Array(claims.length);
  for (let i = 0; i < claims.length; i++) {
    const { memberId, patientFamily, patientGiven, birthDate, ...rest } = claims[i];
    open[i] = rest;
    secret[i] = [memberId, patientFamily, patientGiven, birthDate];
  }
  return { batchId, source, claims: open, sealed: sealer.seal(JSON.stringify(secret), ownerOf(batchId)), outcomes: claims.map(() => ({})), timings: {} };
}

/**
 * Opened claims per batch object, so the stages that run in one process on the same message
 * (validate -> predict -> price) decrypt and rebuild the claims once, not once each. Weak: the
 * cache goes with the message.
 */
const opened = new WeakMap<ClaimBatch, Claim[]>();

/** The batch's claims with their sensitive fields back, in memory only. */
export function openBatch(batch: ClaimBatch, sealer: Sealer): Claim[] {
  const cached = opened.get(batch);
  if (cached) return cached;
  const claims = openClaims(batch, sealer);
  opened.set(batch, claims);
  return claims;
}

function openClaims(batch: ClaimBatch, sealer: Sealer): Claim[] {
  const secret = JSON.parse(sealer.open(batch.sealed, ownerOf(batch.batchId))) as SensitiveValues[];
  if (secret.length !== batch.claims.length) throw new Error(`batch ${batch.batchId}: ${secret.length} sealed records for ${batch.claims.length} claims`);
  return batch.claims.map((c, i) => {
    const s = secret[i];
    // Object.assign, not spread: on objects that came out of JSON.parse it is ~10x faster
    // (measured: 1 ms against 10 ms for 2,000 claims), and it keeps exactly the keys the claim has.
    const claim = Object.assign({}, c) as Claim;
    claim.memberId = s[0];
    claim.patientFamily = s[1];
    claim.patientGiven = s[2];
    claim.birthDate = s[3];
    return claim;
  });
}

/**
 * What the message store keeps of a batch: which staging rows it carries, not the claims. The
 * staging table is the durable copy of their content (a row stays there, leased, until it is
 * written), so the store needs the reference, not a second copy of a megabyte per batch; and it
 * then holds no member id, name or birth date at all, sealed or not.
 */
export function batchManifest(batch: ClaimBatch): string {
  return JSON.stringify({ batchId: batch.batchId, source: batch.source, claims: batch.claims.length, stagingIds: idRanges(batch.claims.map((c) => c.stagingId)) });
}

/** Consecutive numeric ids as `first-last` ranges: 2,000 claimed ids are usually one range. */
export function idRanges(ids: string[]): string[] {
  const out: string[] = [];
  let start = ids[0];
  let prev = ids[0];
  for (let i = 1; i <= ids.length; i++) {
    const id = ids[i];
    if (id !== undefined && /^\d+$/.test(id) && /^\d+$/.test(prev) && BigInt(id) === BigInt(prev) + 1n) {
      prev = id;
      continue;
    }
    if (start !== undefined) out.push(start === prev ? start : `${start}-${prev}`);
    start = id;
    prev = id;
  }
  return out;
}

/** Whether a queued payload is a claim batch (what the claims nodes accept). */
export function isClaimBatch(value: unknown): value is ClaimBatch {
  const b = value as Partial<ClaimBatch> | null;
  return !!b && typeof b.batchId === 'string' && Array.isArray(b.claims) && typeof b.sealed === 'string' && Array.isArray(b.outcomes) && b.outcomes.length === b.claims.length;
}

/** Whether a claim may go to production: validated without errors and not held. */
export function claimFailed(outcome: ClaimOutcome): boolean {
  return (outcome.failures ?? []).some((f) => f.severity === 'error');
}

function ownerOf(batchId: string): string {
  return `claim-batch:${batchId}`;
}
