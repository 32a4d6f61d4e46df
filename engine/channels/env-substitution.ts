/**
 * `${VAR}` and `${VAR:-default}` in channels.yaml, for ports and anything that differs between
 * machines or is secret. Substitution happens on the parsed YAML nodes, not on the raw text, so a
 * value can never break the YAML around it and every scalar keeps its position for problems.
 *
 * - `${VAR}`: the variable's value; a variable that is not set is a problem naming the line.
 * - `${VAR:-default}`: the default when the variable is unset or empty (as in the shell).
 * - `$${...}`: a literal `${...}`.
 *
 * Only values are substituted, never keys. The result is always a string; `coerce.ts` turns
 * strings into numbers and booleans where the schema asks for one.
 */
import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node, type Pair } from 'yaml';
import { type DataPath, formatPath, type Problem } from './problems';
import { positionOf } from './yaml-positions';

const REFERENCE = /\$(\$?)\{([^}]*)\}/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** Environment the substitution reads; `process.env` in production, a plain object in tests. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Replaces references in every string scalar value of `doc`, in place. Returns one problem per
 * scalar that names an unset variable without a default or holds a malformed reference.
 */
export function substituteEnv(doc: Document, env: Env, file: string, lineCounter: LineCounter): Problem[] {
  const problems: Problem[] = [];
  const visit = (node: Node | null, path: DataPath): void => {
    if (isMap(node)) {
      for (const pair of node.items as Pair[]) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        visit(pair.value as Node | null, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item as Node | null, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      const result = substituteString(node.value, env);
      if (typeof result === 'string') node.value = result;
      else problems.push({ file, ...positionOf(node, lineCounter), path: formatPath(path), message: result.error });
    }
  };
  visit(doc.contents as Node | null, []);
  return problems;
}

/** Substitutes one string; returns the first error instead when a reference cannot be resolved. */
export function substituteString(text: string, env: Env): string | { error: string } {
  let error: string | undefined;
  const out = text.replace(REFERENCE, (whole: string, escape: string, inner: string) => {
    if (escape) return whole.slice(1);
    const m = NAME_AND_DEFAULT.exec(inner);
    if (!m) {
      error ??= `bad variable reference "${whole}": write \${NAME} or \${NAME:-default}`;
      return whole;
    }
    const [, name, fallback] = m;
    const value = env[name];
    if (fallback !== undefined) return value ? value : fallback;
    if (value === undefined) {
      error ??= `environment variable ${name} is not set and \${${name}} has no default (write \${${name}:-value} to give one)`;
      return whole;
    }
    return value;
  });
  return error === undefined ? out : { error };
}
