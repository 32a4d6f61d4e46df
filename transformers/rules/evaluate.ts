/**
 * Field rules used by filters and routers: `MSH-9.1 in [ADT]`, `PV1-2 equals I`, `PID-3 exists`,
 * `MSH-4 matches ^LAB`. Pure: the caller supplies how to read a field path from its message.
 */
import { ValidationError } from '../../common/errors';

export type RuleOp = 'equals' | 'in' | 'exists' | 'matches';

export interface FieldRule {
  field: string;
  op: RuleOp;
  value?: string;
  values?: string[];
  exists?: boolean;
}

export type FieldReader = (path: string) => string | undefined;

/** True when every rule holds (an empty list always holds). */
export function evaluateRules(rules: readonly FieldRule[], read: FieldReader): boolean {
  return rules.every((rule) => evaluateRule(rule, read));
}

export function evaluateRule(rule: FieldRule, read: FieldReader): boolean {
  const value = read(rule.field);
  const present = value !== undefined && value !== '';
  switch (rule.op) {
    case 'exists':
      return present === (rule.exists ?? true);
    case 'equals':
      return value === rule.value;
    case 'in':
      return value !== undefined && (rule.values ?? []).includes(value);
    case 'matches':
      return value !== undefined && compile(rule).test(value);
    default:
      throw new ValidationError('RULE_OP', `unknown rule operator '${String(rule.op)}' on ${rule.field}`, { path: rule.field });
  }
}

const patterns = new Map<string, RegExp>();

function compile(rule: FieldRule): RegExp {
  const source = rule.value ?? '';
  let re = patterns.get(source);
  if (!re) {
    try {
      re = new RegExp(source);
    } catch (err) {
      throw new ValidationError('RULE_PATTERN', `rule on ${rule.field} has an invalid pattern`, { path: rule.field, cause: err });
    }
    patterns.set(source, re);
  }
  return re;
}
