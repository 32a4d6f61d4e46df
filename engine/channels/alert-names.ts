/**
 * The name an alert rule goes by (API, metrics label, notices, the store's one-open-alert key).
 * Shared by the semantic checks, which refuse two rules of one channel with the same name, and by
 * engine/alerts, so both agree on what "the same rule" is.
 */
import type { AlertRuleConfig } from './types';

/** `name`, else the kind, with `-<destination>` when the rule names one (`destination-down-fhir`). */
export function alertRuleName(rule: AlertRuleConfig): string {
  if (rule.name) return rule.name;
  const destination = 'destination' in rule ? rule.destination : undefined;
  return destination ? `${rule.kind}-${destination}` : rule.kind;
}
