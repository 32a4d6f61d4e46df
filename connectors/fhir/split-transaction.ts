/**
 * Splitting a transaction Bundle for servers that cap its size.
 *
 * Why: Medplum (the built-in demo server, and Medplum in production) refuses a transaction with
 * conditional entries and more than 8 entries ("requires strict isolation but has too many
 * entries"), and every entry Wasl's HL7 mappings write is conditional, so that resends never
 * duplicate. A real ADT^A01 maps to 10-25 entries.
 *
 * How: entries are ordered so that an entry comes after the entries it references (by their
 * `urn:uuid:` fullUrl), cut into chunks of at most `max`, and posted one chunk after another;
 * after each chunk the server's `Type/id` for each fullUrl replaces the `urn:uuid:` references
 * in the chunks still to go. Entries that reference each other (a merge links two Patients both
 * ways) stay in one chunk.
 *
 * What it costs: the chunks are separate transactions, so a failure half way leaves the earlier
 * chunks written. That is safe here because every entry is a conditional write on a business
 * identifier: the retry writes the same resources again instead of adding copies. Bundles with
 * unconditional creates are never split (see {@link canSplit}).
 */
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';

/** True when every entry is idempotent (conditional PUT/POST, or a PUT/DELETE by id): a half-written split is safe to retry. */
export function canSplit(bundle: Bundle): boolean {
  return (bundle.entry ?? []).every((e) => {
    const method = e.request?.method;
    if (method === 'POST') return Boolean(e.request?.ifNoneExist);
    if (method === 'PUT' || method === 'DELETE') return true;
    return method === 'GET' || method === 'HEAD';
  });
}

/**
 * The entries in chunks of at most `max`, each chunk after the chunks holding what it references.
 * A group of entries that reference each other is kept together even when it is larger than `max`.
 */
export function planChunks(entries: readonly BundleEntry[], max: number): BundleEntry[][] {
  const index = new Map<string, number>();
  entries.forEach((e, i) => e.fullUrl && index.set(e.fullUrl, i));
  const deps = entries.map((e) => {
    const found = new Set<number>();
    collectReferences(e.resource, (ref) => {
      const target = index.get(ref);
      if (target !== undefined && target !== entries.indexOf(e)) found.add(target);
    });
    return found;
  });

  const groups = stronglyConnected(deps);
  const chunks: BundleEntry[][] = [];
  let current: BundleEntry[] = [];
  for (const group of groups) {
    if (current.length > 0 && current.length + group.length > max) {
      chunks.push(current);
      current = [];
    }
    current.push(...group.map((i) => entries[i]));
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Replaces every `urn:uuid:` reference that `resolved` knows with the server's `Type/id`. */
export function resolveReferences<T>(value: T, resolved: ReadonlyMap<string, string>): T {
  if (typeof value === 'string') return (resolved.get(value) ?? value) as T;
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, resolved)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveReferences(v, resolved)])) as T;
  }
  return value;
}

/** `Type/id` of a transaction-response entry (its location without `_history`), if it has one. */
export function locationOf(entry: BundleEntry | undefined): string | undefined {
  const location = entry?.response?.location;
  if (location) {
    const m = /(?:^|\/)([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(location);
    if (m) return m[1];
  }
  const r = entry?.resource;
  return r?.id ? `${r.resourceType}/${r.id}` : undefined;
}

function collectReferences(value: unknown, visit: (ref: string) => void): void {
  if (typeof value === 'string') {
    if (value.startsWith('urn:uuid:')) visit(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectReferences(v, visit);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) collectReferences(v, visit);
  }
}

/**
 * Tarjan's strongly connected components of the "references" graph, in an order where every
 * component comes after the components it references. Each component keeps bundle order.
 */
function stronglyConnected(deps: ReadonlyArray<ReadonlySet<number>>): number[][] {
  let counter = 0;
  const order = new Array<number>(deps.length).fill(-1);
  const low = new Array<number>(deps.length).fill(0);
  const onStack = new Array<boolean>(deps.length).fill(false);
  const stack: number[] = [];
  const out: number[][] = [];
  const visit = (v: number): void => {
    order[v] = low[v] = counter++;
    stack.push(v);
    onStack[v] = true;
    for (const w of deps[v]) {
      if (order[w] < 0) {
        visit(w);
        low[v] = Math.min(low[v], low[w]);
      } else if (onStack[w]) {
        low[v] = Math.min(low[v], order[w]);
      }
    }
    if (low[v] === order[v]) {
      const group: number[] = [];
      let w: number;
      do {
        w = stack.pop()!;
        onStack[w] = false;
        group.push(w);
      } while (w !== v);
      out.push(group.sort((a, b) => a - b));
    }
  };
  for (let v = 0; v < deps.length; v++) if (order[v] < 0) visit(v);
  return out; // Tarjan emits a component only after every component it reaches: dependencies first
}
