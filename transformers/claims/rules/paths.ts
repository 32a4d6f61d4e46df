/**
 * Field paths of the rule language: `memberId`, `diagnoses[*]`, `lines[*].modifiers[*]`. A path is
 * compiled once into a chain of closures that visits every value it names, with the concrete
 * array indexes in a reused `idx` array; the failing path (`lines[1].modifiers[0]`) is only
 * written out when a rule fails.
 */
import type { Frame } from './types';

export interface Segment {
  readonly key: string;
  /** `key[*]`: every element of the array under `key`. */
  readonly each: boolean;
}

export interface FieldPath {
  readonly source: string;
  readonly segments: readonly Segment[];
  /** How many `[*]` the path has (the length of the `idx` array its visitors receive). */
  readonly wildcards: number;
  /** The concrete path for the indexes in `idx`, e.g. `lines[1].modifiers[0]`. */
  format(idx: ArrayLike<number>): string;
}

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)(\[\*\])?$/;

/** Parses a path; throws an Error naming the problem (the loader adds the rule's name). */
export function parsePath(source: unknown): FieldPath {
  if (typeof source !== 'string' || source === '') throw new Error('must be a non-empty path such as `memberId` or `lines[*].units`');
  const segments: Segment[] = [];
  for (const part of source.split('.')) {
    const m = SEGMENT.exec(part);
    if (!m) throw new Error(`'${source}' is not a valid path (segment '${part}'; use names and [*], e.g. lines[*].modifiers[*])`);
    segments.push({ key: m[1], each: m[2] !== undefined });
  }
  return pathOf(source, segments);
}

function pathOf(source: string, segments: Segment[]): FieldPath {
  // Literal text between the indexes: `lines[`, `].modifiers[`, `]`.
  const parts: string[] = [];
  let text = '';
  for (let i = 0; i < segments.length; i++) {
    text += (i > 0 ? '.' : '') + segments[i].key;
    if (segments[i].each) {
      parts.push(text + '[');
      text = ']';
    }
  }
  const tail = text;
  const wildcards = parts.length;
  return {
    source,
    segments,
    wildcards,
    format(idx: ArrayLike<number>): string {
      if (wildcards === 0) return source;
      let s = '';
      for (let k = 0; k < wildcards; k++) s += parts[k] + String(idx[k]);
      return s + tail;
    },
  };
}

/** The array a `...[*]` path ranges over: `lines[*].modifiers[*]` → `lines[*].modifiers`. */
export function parentPath(path: FieldPath): FieldPath {
  const last = path.segments[path.segments.length - 1];
  if (!last.each) throw new Error(`'${path.source}' must end with [*]`);
  const segments = [...path.segments.slice(0, -1), { key: last.key, each: false }];
  return pathOf(path.source.slice(0, -3), segments);
}

function child(node: unknown, key: string): unknown {
  return node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
}

export type Leaf = (value: unknown, idx: number[], frame: Frame) => void;
export type Walker = (root: unknown, idx: number[], frame: Frame) => void;

/**
 * Calls `leaf` for every value the path names. A missing or non-array container under `[*]`
 * visits nothing (count rules catch that); a missing plain field visits `undefined`.
 */
export function makeWalker(path: FieldPath, leaf: Leaf): Walker {
  let step: Walker = leaf;
  let depth = path.wildcards;
  for (let i = path.segments.length - 1; i >= 0; i--) {
    const { key, each } = path.segments[i];
    const next = step;
    if (each) {
      const d = --depth;
      step = (node, idx, frame) => {
        const arr = child(node, key);
        if (!Array.isArray(arr)) return;
        for (let k = 0; k < arr.length; k++) {
          idx[d] = k;
          next(arr[k], idx, frame);
        }
      };
    } else {
      step = (node, idx, frame) => next(child(node, key), idx, frame);
    }
  }
  return step;
}

export type Getter = (root: unknown, idx: ArrayLike<number>) => unknown;

/**
 * Reads one value of a path whose `[*]` are bound, in order, to the indexes of the value being
 * checked: with field `lines[*].serviceTo`, the other path `lines[*].serviceFrom` reads the same
 * line and `birthDate` reads the claim. The path may not have more `[*]` than are bound.
 */
export function makeGetter(path: FieldPath, bound: number): Getter {
  if (path.wildcards > bound) {
    throw new Error(`'${path.source}' has ${path.wildcards} [*] but only ${bound} can be bound to the checked field's indexes`);
  }
  const segs = path.segments;
  return (root, idx) => {
    let node = root;
    let d = 0;
    for (let i = 0; i < segs.length; i++) {
      node = child(node, segs[i].key);
      if (segs[i].each) {
        if (!Array.isArray(node)) return undefined;
        node = node[idx[d++]];
      }
    }
    return node;
  };
}
