/**
 * Writing a finished batch to the production database: priced claims to `claims`, failed ones to
 * `failed_claims` with every reason, and the batch to `claim_batches`, in one transaction.
 * PostgreSQL (production-pg.ts) and SQL Server (production-mssql.ts) each use their fastest safe
 * bulk path; both keep the same guarantees:
 *
 * - a staging row ends in exactly one of claims / failed_claims, once: a redelivered batch finds its
 *   rows there and writes nothing again (`replayed`);
 * - an original claim whose (facility_id, claim_id) production already holds is not dropped: it
 *   goes to failed_claims as DUPLICATE_IN_PRODUCTION (the database's unique index decides, so two
 *   batches racing with the same key cannot both win).
 */
import type { Claim, DenialPrediction, PricedClaim, RuleFailure } from '../../transformers/claims/types';
import type { Sealer } from './batch';

export interface PricedClaimRow {
  claim: Claim;
  priced: PricedClaim;
  prediction?: DenialPrediction;
}

export interface FailedClaimRow {
  claim: Claim;
  failures: RuleFailure[];
}

export interface WriteBatch {
  batchId: string;
  priced: PricedClaimRow[];
  failed: FailedClaimRow[];
}

export interface WriteResult {
  /** New rows in claims. */
  written: number;
  /** New rows in failed_claims (including duplicates caught at write time). */
  failed: number;
  /** Staging ids production already held (a redelivery): nothing written for them. */
  replayed: number;
  /** Staging ids the unique key turned away, now in failed_claims. */
  duplicates: string[];
  /** Milliseconds per step inside the write (copy, insert, failed, ...), for the stage figures. */
  steps?: Record<string, number>;
}

/** The rule id of a duplicate that only the database caught. */
export const DUPLICATE_AT_WRITE: Omit<RuleFailure, 'value'> = {
  rule: 'DUPLICATE_IN_PRODUCTION',
  severity: 'error',
  field: 'claimId',
  message: 'production already holds an original claim with this claim id for this facility',
};

export interface ProductionWriter {
  readonly dialect: 'postgres' | 'mssql';
  /** Creates missing tables. */
  ensureSchema(): Promise<void>;
  /** Of these staging ids, those production already holds (in claims or failed_claims). */
  alreadyWritten(stagingIds: string[]): Promise<Set<string>>;
  /** `facility\u0000claim` keys of original claims production holds, of those asked about. */
  existingKeys(keys: Array<{ facilityId: string; claimId: string }>): Promise<Set<string>>;
  write(batch: WriteBatch): Promise<WriteResult>;
  close(): Promise<void>;
}

/** The sensitive fields of a failed claim, sealed for its row. */
export function sealFailedClaim(claim: Claim, sealer: Sealer): { open: Omit<Claim, 'memberId' | 'patientFamily' | 'patientGiven' | 'birthDate'>; sealed: string } {
  const { memberId, patientFamily, patientGiven, birthDate, ...open } = claim;
  return { open, sealed: sealer.seal(JSON.stringify({ memberId, patientFamily, patientGiven, birthDate }), failedClaimOwner(claim.stagingId)) };
}

/** Opens what sealFailedClaim sealed (the workbench). */
export function openFailedClaim(open: Record<string, unknown>, sealed: string, stagingId: string, sealer: Sealer): Claim {
  return { ...(open as Omit<Claim, 'memberId'>), ...(JSON.parse(sealer.open(sealed, failedClaimOwner(stagingId))) as Pick<Claim, 'memberId' | 'patientFamily' | 'patientGiven' | 'birthDate'>) } as Claim;
}

export function failedClaimOwner(stagingId: string): string {
  return `failed-claim:${stagingId}`;
}

const SENSITIVE_FIELD = /^(memberId|patientFamily|patientGiven|birthDate)$/;

/** A reason's value as stored: sensitive values stay in the sealed column only. */
export function storedReasonValue(f: RuleFailure): string {
  return SENSITIVE_FIELD.test(f.field) ? '(sealed)' : f.value.slice(0, 200);
}

/** The earliest date of service: what the workbench filters on. */
export function serviceDateOf(claim: Claim): string | null {
  let min: string | null = null;
  for (const l of claim.lines) if (/^\d{4}-\d{2}-\d{2}$/.test(l.serviceFrom ?? '') && (min === null || l.serviceFrom < min)) min = l.serviceFrom;
  return min;
}

/** Rule ids for display, unique, in order, within the column's width. */
export function ruleList(failures: RuleFailure[]): string {
  return [...new Set(failures.map((f) => f.rule))].join(',').slice(0, 400);
}

export function claimKeyOf(facilityId: string, claimId: string): string {
  return `${facilityId}\u0000${claimId}`;
}
