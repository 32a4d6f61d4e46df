/**
 * Filter and router rules as the `wasl-filter` and `wasl-router` nodes read them.
 */
import type { RuleConfig } from './types';

/** A rule with its operator spelled out, so the node never has to guess which key is set. */
export interface CompiledRule {
  field: string;
  op: 'equals' | 'in' | 'exists' | 'matches';
  value?: string;
  values?: string[];
  exists?: boolean;
}

/** `{ field, in: [...] }` -> `{ field, op: 'in', values: [...] }`, and so on. */
export function compileRule(rule: RuleConfig): CompiledRule {
  if (rule.equals !== undefined) return { field: rule.field, op: 'equals', value: rule.equals };
  if (rule.in !== undefined) return { field: rule.field, op: 'in', values: [...rule.in] };
  if (rule.exists !== undefined) return { field: rule.field, op: 'exists', exists: rule.exists };
  return { field: rule.field, op: 'matches', value: rule.matches };
}

/** A short human label for a list of rules, for node names in the editor (never PHI: config only). */
export function describeRules(rules: RuleConfig[]): string {
  const text = rules.map(describeRule).join(' and ');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function describeRule(rule: RuleConfig): string {
  if (rule.equals !== undefined) return `${rule.field} = ${rule.equals}`;
  if (rule.in !== undefined) return `${rule.field} in ${rule.in.join('|')}`;
  if (rule.exists !== undefined) return rule.exists ? `${rule.field} present` : `${rule.field} absent`;
  return `${rule.field} ~ /${rule.matches}/`;
}
