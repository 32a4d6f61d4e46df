/**
 * Types of the declarative claims rule engine: a rule set is data (rules.yaml), compiled once into
 * closures, then run over batches of claims. See transformers/claims/validate.ts for the API.
 */
import type { Claim, RuleFailure } from '../types';

export type Severity = 'error' | 'warning';

/** How a code set compares codes: as given, upper-cased, or as ICD-10-CM (upper-cased, dot ignored). */
export type CodeNormalization = 'none' | 'upper' | 'icd';

/** A named set of valid codes, loaded from the files its rule set points at. */
export interface CodeSet {
  readonly name: string;
  readonly normalize: CodeNormalization;
  /** Codes as stored; for `icd` sets both the dotted and undotted form of each code. */
  readonly codes: ReadonlySet<string>;
  /** Number of distinct codes loaded (not counting the extra dotted forms). */
  readonly size: number;
  /** The files it came from, for provenance in error messages and logs. */
  readonly sources: readonly string[];
}

/** One rule as written in the rule file. `params` holds the check's parameters (every other key). */
export interface RuleDefinition {
  /** UPPER_SNAKE, unique within the rule set. */
  readonly id: string;
  readonly severity: Severity;
  readonly message: string;
  /** Path into the claim: `memberId`, `diagnoses[*]`, `lines[*].modifiers[*]`. */
  readonly field: string;
  /** A name from the check vocabulary (see CHECK_NAMES). */
  readonly check: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly description?: string;
  /** Where the rule was written, for error messages: `rules.yaml:42`. */
  readonly origin?: string;
}

export interface RuleSet {
  readonly version: string;
  /** The file it was loaded from (or a label for text parsed directly). */
  readonly source: string;
  readonly rules: readonly RuleDefinition[];
  readonly codesets: Readonly<Record<string, CodeSet>>;
}

/** What validateClaims needs besides the claims. No hidden clock: `today` is passed in. */
export interface ValidationContext {
  /** The date "now" is, `YYYY-MM-DD` (for future-date and timely-filing rules). */
  today: string;
  /**
   * claimKey(facilityId, claimId) of claims production already holds under a different staging id.
   * The caller filters out replays of the same staging row before calling.
   */
  productionKeys?: ReadonlySet<string>;
}

/** Per-call state shared by the compiled rules of one validateClaims call. */
export interface RunContext {
  today: string;
  productionKeys: ReadonlySet<string>;
}

/** What a rule works on while it runs over one claim: reused for every claim of a call. */
export interface Frame {
  claim: Claim;
  out: RuleFailure[];
  rc: RunContext;
}

export interface CompiledRule {
  readonly id: string;
  readonly severity: Severity;
  readonly check: string;
  readonly field: string;
  /** Prepares per-call state (batch duplicates, date cut-offs). */
  begin(rc: RunContext): void;
}

/** A compiled rule set (from compileRuleSet); validateClaims walks its internal path trie. */
export interface CompiledRules {
  readonly version: string;
  readonly source: string;
  readonly rules: readonly CompiledRule[];
}
