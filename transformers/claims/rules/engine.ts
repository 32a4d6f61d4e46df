/**
 * Compiles a RuleSet into closures (once) and runs them over batches of claims (many times).
 *
 * The rules' field paths are merged into one trie, so a claim is walked once: every claim-level
 * field is read once and `lines[*]` is looped over once for all line rules, `modifiers[*]` once per
 * line for all modifier rules. No regex, closure or path string is built per claim; a failure's
 * concrete path (`lines[1].modifiers[0]`) is written only when a rule fails.
 */
import { ValidationError } from '../../../common/errors';
import type { Claim, RuleFailure } from '../types';
import { CHECKS, type BuiltCheck } from './checks';
import { parsePath, type FieldPath } from './paths';
import { isIsoDate, isMissing, valueText } from './primitives';
import type { CompiledRule, CompiledRules, Frame, RuleDefinition, RuleSet, RunContext, Severity, ValidationContext } from './types';

/** One rule at the trie node of its field. */
interface Leaf {
  readonly id: string;
  readonly severity: Severity;
  readonly message: string;
  readonly path: FieldPath;
  readonly test: BuiltCheck['test'];
  readonly show: BuiltCheck['show'];
  readonly skipMissing: boolean;
}

/** A position in the claim shared by the rules whose paths go through it. */
interface Node {
  leaves: Leaf[];
  children: Edge[];
}

interface Edge {
  readonly key: string;
  readonly each: boolean;
  readonly node: Node;
}

interface Compiled extends CompiledRules {
  readonly root: Node;
  readonly depth: number;
  /** Rule id → position in the rule file: a claim's failures are reported in that order. */
  readonly order: ReadonlyMap<string, number>;
}

function buildRule(rule: RuleDefinition, ruleSet: RuleSet): { leaf: Leaf; built: BuiltCheck } {
  const spec = Object.hasOwn(CHECKS, rule.check) ? CHECKS[rule.check] : undefined;
  const where = `${rule.origin ?? ruleSet.source} (${rule.id})`;
  if (!spec) throw new ValidationError('RULESET_INVALID', `${where}: unknown check '${rule.check}'`);
  try {
    const path = parsePath(rule.field);
    const built = spec.build({ field: path, params: rule.params, codesets: ruleSet.codesets });
    const leaf: Leaf = {
      id: rule.id,
      severity: rule.severity,
      message: rule.message,
      path,
      test: built.test,
      show: built.show,
      skipMissing: built.skipMissing === true,
    };
    return { leaf, built };
  } catch (err) {
    throw new ValidationError('RULESET_INVALID', `${where}: ${(err as Error).message}`, { cause: err });
  }
}

function nodeFor(root: Node, path: FieldPath): Node {
  let node = root;
  for (const seg of path.segments) {
    let edge = node.children.find((e) => e.key === seg.key && e.each === seg.each);
    if (!edge) {
      edge = { key: seg.key, each: seg.each, node: { leaves: [], children: [] } };
      node.children.push(edge);
    }
    node = edge.node;
  }
  return node;
}

const noop = (): void => undefined;

/** Compiles every rule once; the result is reused for every batch. Throws ValidationError on a bad rule. */
export function compileRuleSet(ruleSet: RuleSet): CompiledRules {
  const root: Node = { leaves: [], children: [] };
  const rules: CompiledRule[] = [];
  let depth = 0;
  for (const rule of ruleSet.rules) {
    const { leaf, built } = buildRule(rule, ruleSet);
    nodeFor(root, leaf.path).leaves.push(leaf);
    depth = Math.max(depth, leaf.path.wildcards);
    rules.push({ id: leaf.id, severity: leaf.severity, check: rule.check, field: rule.field, begin: built.begin ?? noop });
  }
  const order = new Map(rules.map((r, i) => [r.id, i]));
  const compiled: Compiled = { version: ruleSet.version, source: ruleSet.source, rules, root, depth, order };
  return compiled;
}

/** Missing for a skip-missing check; the common cases are decided without a call. */
function absent(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (typeof v === 'string') return v.charCodeAt(0) <= 32 && isMissing(v);
  return typeof v === 'number' && v !== v;
}

function visit(node: Node, value: unknown, idx: number[], depth: number, frame: Frame): void {
  const leaves = node.leaves;
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i];
    if (leaf.skipMissing && absent(value)) continue;
    if (leaf.test(value, idx, frame)) continue;
    frame.out.push({
      rule: leaf.id,
      severity: leaf.severity,
      field: leaf.path.format(idx),
      value: leaf.show ? leaf.show(value, idx, frame) : valueText(value),
      message: leaf.message,
    });
  }
  const children = node.children;
  if (children.length === 0) return;
  const obj = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  for (let c = 0; c < children.length; c++) {
    const edge = children[c];
    const v = obj === undefined ? undefined : obj[edge.key];
    if (!edge.each) visit(edge.node, v, idx, depth, frame);
    else if (Array.isArray(v)) {
      for (let k = 0; k < v.length; k++) {
        idx[depth] = k;
        visit(edge.node, v[k], idx, depth + 1, frame);
      }
    }
  }
}

const EMPTY_KEYS: ReadonlySet<string> = new Set();

/**
 * Runs the rules over a batch. The result is aligned with `claims`: one list of failures per claim,
 * empty when the claim is clean, in rule-file order. In-batch duplicate rules see the batch in order, so the second and
 * later claims with a key fail.
 */
export function validateClaims(claims: readonly Claim[], rules: CompiledRules, ctx: ValidationContext): RuleFailure[][] {
  if (!isIsoDate(ctx.today)) throw new ValidationError('CONTEXT_TODAY', `ctx.today must be a date YYYY-MM-DD, got '${String(ctx.today)}'`, { path: 'today' });
  const compiled = rules as Compiled;
  if (!compiled.root) throw new ValidationError('RULESET_NOT_COMPILED', 'validateClaims needs the result of compileRuleSet');
  const rc: RunContext = { today: ctx.today, productionKeys: ctx.productionKeys ?? EMPTY_KEYS };
  for (const r of compiled.rules) r.begin(rc);
  const idx = new Array<number>(compiled.depth).fill(0);
  const results: RuleFailure[][] = new Array(claims.length);
  const frame: Frame = { claim: claims[0], out: [], rc };
  for (let i = 0; i < claims.length; i++) {
    const out: RuleFailure[] = [];
    frame.claim = claims[i];
    frame.out = out;
    visit(compiled.root, claims[i], idx, 0, frame);
    // The trie visits by field; report in rule-file order (stable: same rule keeps path order).
    if (out.length > 1) out.sort((a, b) => (compiled.order.get(a.rule) ?? 0) - (compiled.order.get(b.rule) ?? 0));
    results[i] = out;
  }
  return results;
}

/** True when any failure is an error (warnings alone do not fail a claim). */
export function hasErrors(failures: readonly RuleFailure[]): boolean {
  for (const f of failures) if (f.severity === 'error') return true;
  return false;
}
