/**
 * Finds the YAML node behind a data path, so every problem points at real text in the file.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node, type Pair } from 'yaml';
import type { DataPath } from './problems';

/** What a data path resolves to: the deepest node reached, and how far the path got. */
export interface ResolvedNode {
  /** The value node at `path`, or the deepest ancestor that exists. */
  node: Node | null;
  /** The key node when the last step was a map key (for "unknown key" problems), else null. */
  keyNode: Node | null;
  /** True when the whole path was found. */
  complete: boolean;
}

/** Walks the document along `path`, following aliases to their anchors. */
export function resolvePath(doc: Document, path: DataPath): ResolvedNode {
  let node = deref(doc, doc.contents as Node | null);
  let keyNode: Node | null = null;
  for (const [i, seg] of path.entries()) {
    let next: Node | null | undefined;
    if (isMap(node)) {
      const pair = findPair(node.items as Pair[], String(seg));
      if (pair) {
        keyNode = pair.key as Node;
        next = pair.value as Node | null;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg] as Node | undefined;
      keyNode = null;
    }
    if (next === undefined) return { node, keyNode, complete: false };
    // `key:` with nothing after it has no value, or an empty one at the end of the line: point
    // at the key instead, which is what the analyst sees.
    if (next === null || isEmptyScalar(next)) return { node: keyNode ?? next, keyNode, complete: i === path.length - 1 };
    node = deref(doc, next);
  }
  return { node, keyNode, complete: true };
}

/** 1-based line and column of a node's first character (1:1 when there is nothing to point at). */
export function positionOf(node: Node | null, lineCounter: LineCounter): { line: number; column: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return { line: 1, column: 1 };
  return offsetPosition(offset, lineCounter);
}

/** 1-based line and column of a character offset. */
export function offsetPosition(offset: number, lineCounter: LineCounter): { line: number; column: number } {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** Finds the pair whose scalar key is `key`; map keys in channels.yaml are always scalars. */
export function findPair(items: Pair[], key: string): Pair | undefined {
  return items.find((p) => isScalar(p.key) && String(p.key.value) === key);
}

function isEmptyScalar(node: Node): boolean {
  return isScalar(node) && node.value === null && node.range != null && node.range[0] === node.range[1];
}

function deref(doc: Document, node: Node | null): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node;
}
