/**
 * Claims validation: a declarative rule set (transformers/claims/data/rules.yaml) of pre-submission
 * edits (CLAIMS.md §7) run over batches of claims. Pure apart from loading the rule file and its
 * code sets; the clock and the production duplicate keys are passed in.
 *
 *   const rules = compileRuleSet(loadRuleSet());           // once
 *   const failures = validateClaims(claims, rules, { today: '2026-03-01', productionKeys });
 *   failures[i]                                            // RuleFailure[] for claims[i], [] = clean
 *   hasErrors(failures[i])                                 // only errors fail a claim
 *
 * The rule language (checks, parameters, code sets) is documented in transformers/claims/data/README.md;
 * the modules under ./rules/ each do one job: load (YAML, code sets), paths, checks, engine.
 */
export { claimKey, CHECK_NAMES } from './rules/checks';
export { compileRuleSet, hasErrors, validateClaims } from './rules/engine';
export { claimsDataDir, defaultRulesFile, loadRuleSet, parseRuleSet, type RuleSetOptions } from './rules/load';
export type {
  CodeNormalization,
  CodeSet,
  CompiledRules,
  RuleDefinition,
  RuleSet,
  Severity,
  ValidationContext,
} from './rules/types';
