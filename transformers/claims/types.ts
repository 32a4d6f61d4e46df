/**
 * A US professional claim (CMS-1500 / 837P, see ../shared/domain/CLAIMS.md §1) as the claims
 * pipeline carries it: wasl-db-poll reads it from the staging table, wasl-claims-validate,
 * -predict and -price work on it, wasl-sql-out writes it to production or failed_claims.
 *
 * Money is integer cents (never binary floating point); dates are ISO `YYYY-MM-DD`.
 */

export interface ClaimLine {
  /** 1-based line number (837P LX). */
  line: number;
  /** Date of service from / to (24A). `to` absent = same day. */
  serviceFrom: string;
  serviceTo?: string;
  /** CPT or HCPCS Level II code (24D). */
  procedureCode: string;
  /** 0–4 two-character modifiers (24D), pricing modifiers first. */
  modifiers: string[];
  /** Units (24G, SV104). */
  units: number;
  /** Line charge in cents (24F). */
  chargeCents: number;
  /** Place of service when the line differs from the claim's (SV105). */
  placeOfService?: string;
  /** 1-based positions in `Claim.diagnoses` (24E), 1–4 of them. */
  diagnosisPointers: number[];
  /** Rendering NPI when it differs from the claim's (2420A). */
  renderingNpi?: string;
}

export interface Claim {
  /** Primary key of the staging row: what makes "exactly once" countable. */
  stagingId: string;
  /** Submitter's claim id (CLM01 / box 26). With facilityId, the duplicate key (CLAIMS.md §6). */
  claimId: string;
  facilityId: string;
  /** Claim frequency (CLM05-3): 1 original, 7 replacement, 8 void. Default 1. */
  frequency?: string;
  /** Payer claim control number of the claim a 7/8 replaces (REF*F8). */
  originalReference?: string;
  payerId: string;
  /** Sensitive (encrypted at rest in Wasl's store). Insured's id (1a). */
  memberId: string;
  /** Sensitive. Patient name (2). */
  patientFamily: string;
  patientGiven: string;
  /** Sensitive. Patient birth date (3). */
  birthDate: string;
  /** M, F or U (3). */
  sex: string;
  /** Billing provider NPI (33a). */
  billingNpi: string;
  /** Rendering provider NPI (24J), when there is one. */
  renderingNpi?: string;
  /** Claim-level place of service (CLM05-1). */
  placeOfService: string;
  /** ICD-10-CM codes A–L (21), principal first, as submitted (dotted or not). */
  diagnoses: string[];
  lines: ClaimLine[];
  /** Box 28, in cents: must equal the sum of line charges. */
  totalChargeCents: number;
  /** Medicare locality for GPCI pricing: MAC number + locality number (GPCI file columns). */
  locality?: { mac: string; locality: string };
}

/** One broken rule, named so that an analyst can find and fix it. */
export interface RuleFailure {
  /** Rule id from the rule set, e.g. `ICD10_FORMAT`. */
  rule: string;
  severity: 'error' | 'warning';
  /** Path in the claim, e.g. `diagnoses[2]`, `lines[0].modifiers[1]`. */
  field: string;
  /** The offending value as text ('' when missing). */
  value: string;
  /** The rule's message. */
  message: string;
}

/** What the denial predictor said and which scorer decided (the model or the rule fallback). */
export interface DenialPrediction {
  /** Probability of denial, 0..1. */
  score: number;
  likelyDenied: boolean;
  decidedBy: 'model' | 'rules';
  /** Model version or rule-set version that decided. */
  version: string;
  /** Why the fallback decided, when it did. */
  fallbackReason?: string;
}

export interface PricedLine {
  line: number;
  /** Allowed amount for the line, in cents. */
  allowedCents: number;
  /** How it was priced, e.g. `PFS 2022 locality 01112-05 non-facility; -51 50%`. */
  basis: string;
}

export interface PricedClaim {
  allowedCents: number;
  lines: PricedLine[];
  /** Conversion factor used, as a decimal string (e.g. "36.04"). */
  conversionFactor: string;
}
