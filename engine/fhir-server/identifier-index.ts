/**
 * Medplum's MemoryRepository answers every search by scanning all resources of the type, and a
 * conditional write (`PUT Patient?identifier=sys|val`, which every ADT transaction makes twice)
 * is a search. At a few thousand resources each transaction took over a second. This index maps
 * identifier values to resource ids so those searches look at a handful of candidates.
 *
 * The candidates are then tested here, not with Medplum's `matchesSearchRequest`: that evaluates
 * the search parameter's FHIRPath expression, parsed anew on every call, and for Encounter,
 * Condition, Procedure and the other clinical types `identifier` is one 884-character union over
 * thirty resource types. Parsing it was most of the demo server's CPU per ADT message (profiled
 * in bench:mllp). The test below keeps Medplum's token semantics (case-insensitive, `system|`
 * optional, `|value` = no system), and the index is only used for types whose `identifier`
 * parameter is exactly `<Type>.identifier`, so the two can never disagree.
 */
import { globalSchema, type SearchRequest } from '@medplum/core';
import type { Identifier, Resource } from '@medplum/fhirtypes';

type Filter = NonNullable<SearchRequest['filters']>[number];

/** One comma-separated alternative of a token filter, lowercased as Medplum compares them. */
interface TokenAlternative {
  /** Absent: any system; '': the identifier has no system. */
  system?: string;
  value: string;
}

/** An identifier search answered from the index: the candidate ids and the exact test for each. */
export interface IdentifierLookup {
  ids: string[];
  matches(resource: Resource): boolean;
}

export class IdentifierIndex {
  private readonly byType = new Map<string, Map<string, Set<string>>>();

  /** Records the identifiers of a stored version (stale entries are harmless: each candidate is tested). */
  add(resource: Resource & { id?: string }): void {
    if (!resource.id) return;
    const identifiers = identifiersOf(resource);
    if (identifiers.length === 0) return;
    let index = this.byType.get(resource.resourceType);
    if (!index) this.byType.set(resource.resourceType, (index = new Map()));
    for (const identifier of identifiers) {
      if (typeof identifier.value !== 'string') continue;
      const key = identifier.value.toLowerCase();
      let ids = index.get(key);
      if (!ids) index.set(key, (ids = new Set()));
      ids.add(resource.id);
    }
  }

  clear(): void {
    this.byType.clear();
  }

  /**
   * The candidates and test for a search whose only filter is an exact `identifier` token with a
   * value, on a type whose `identifier` parameter is the plain element; undefined for any other
   * search (the caller then scans).
   */
  lookup(request: SearchRequest): IdentifierLookup | undefined {
    const filters = request.filters ?? [];
    if (filters.length !== 1 || !plainIdentifierParameter(request.resourceType)) return undefined;
    const alternatives = tokenAlternatives(filters[0]);
    if (!alternatives) return undefined;
    const index = this.byType.get(request.resourceType);
    const ids = new Set<string>();
    for (const a of alternatives) for (const id of index?.get(a.value) ?? []) ids.add(id);
    return {
      ids: [...ids],
      matches: (resource) => identifiersOf(resource).some((identifier) => alternatives.some((a) => tokenMatches(identifier, a))),
    };
  }
}

/** `identifier` as an array (most types) or a single Identifier (Bundle, Composition...). */
function identifiersOf(resource: Resource): Identifier[] {
  const value = (resource as { identifier?: Identifier | Identifier[] }).identifier;
  if (Array.isArray(value)) return value;
  return value && typeof value === 'object' ? [value] : [];
}

/** Medplum's matchesTokenValue for one Identifier and one alternative. */
function tokenMatches(identifier: Identifier, a: TokenAlternative): boolean {
  if (identifier.value?.toLowerCase() !== a.value) return false;
  if (a.system === undefined) return true;
  if (a.system === '') return !identifier.system;
  return identifier.system?.toLowerCase() === a.system;
}

const plainByType = new Map<string, boolean>();

/**
 * Whether the type's `identifier` search parameter selects exactly `<Type>.identifier` (the
 * union expressions list other types' paths too; DocumentReference adds masterIdentifier, which
 * the index does not hold). Unknown until the R4 definitions are loaded: then the scan decides.
 */
function plainIdentifierParameter(resourceType: string): boolean {
  const known = plainByType.get(resourceType);
  if (known !== undefined) return known;
  const expression = globalSchema.types[resourceType]?.searchParams?.identifier?.expression;
  if (typeof expression !== 'string') return false;
  const paths = expression.split('|').map((p) => p.trim()).filter((p) => p.startsWith(`${resourceType}.`));
  const plain = paths.length === 1 && paths[0] === `${resourceType}.identifier`;
  plainByType.set(resourceType, plain);
  return plain;
}

/**
 * The alternatives of an `identifier=[system|]value[,...]` filter, unescaped and lowercased, or
 * undefined for a shape the index cannot answer (another parameter or operator, `system|` with
 * no value).
 */
function tokenAlternatives(filter: Filter): TokenAlternative[] | undefined {
  if (filter.code !== 'identifier' || (filter.operator !== undefined && String(filter.operator) !== 'eq')) return undefined;
  if (typeof filter.value !== 'string') return undefined;
  // FHIR search escapes `\`, `,`, `$` and `|` with a backslash; unescaped commas separate alternatives.
  const tokens = filter.value.match(/(?:[^,\\]|\\.)+/g) ?? [];
  const alternatives: TokenAlternative[] = [];
  for (const token of tokens) {
    const split = /^((?:[^|\\]|\\.)*)\|((?:[^\\]|\\.)*)$/.exec(token);
    const value = unescape(split ? split[2] : token).toLowerCase();
    if (!value) return undefined;
    alternatives.push(split ? { system: unescape(split[1]).toLowerCase(), value } : { value });
  }
  return alternatives.length ? alternatives : undefined;
}

function unescape(text: string): string {
  return text.replace(/\\([\\,$|])/g, '$1');
}
