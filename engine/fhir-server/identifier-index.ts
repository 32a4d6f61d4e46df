/**
 * Medplum's MemoryRepository answers every search by scanning all resources of the type, and a
 * conditional write (`PUT Patient?identifier=sys|val`, which every ADT transaction makes twice)
 * is a search. At a few thousand resources each transaction took over a second. This index maps
 * identifier values to resource ids so those searches look at a handful of candidates; the
 * candidates still go through Medplum's own matcher, so the index only has to be a superset.
 */
import type { SearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';

type Filter = NonNullable<SearchRequest['filters']>[number];

export class IdentifierIndex {
  private readonly byType = new Map<string, Map<string, Set<string>>>();

  /** Records the identifiers of a stored version (stale entries are harmless: see above). */
  add(resource: Resource & { id?: string }): void {
    const identifiers = (resource as { identifier?: Array<{ value?: string }> }).identifier;
    if (!resource.id || !Array.isArray(identifiers)) return;
    let index = this.byType.get(resource.resourceType);
    if (!index) this.byType.set(resource.resourceType, (index = new Map()));
    for (const identifier of identifiers) {
      if (typeof identifier.value !== 'string') continue;
      let ids = index.get(identifier.value);
      if (!ids) index.set(identifier.value, (ids = new Set()));
      ids.add(resource.id);
    }
  }

  clear(): void {
    this.byType.clear();
  }

  /**
   * Candidate ids for a search whose only filter is an exact `identifier` token, or undefined
   * when the search is of another shape (the caller then scans).
   */
  candidates(request: SearchRequest): string[] | undefined {
    const filters = request.filters ?? [];
    if (filters.length !== 1) return undefined;
    const values = identifierValues(filters[0]);
    if (!values) return undefined;
    const index = this.byType.get(request.resourceType);
    const ids = new Set<string>();
    for (const value of values) for (const id of index?.get(value) ?? []) ids.add(id);
    return [...ids];
  }
}

/** The identifier values an `identifier=[system|]value[,...]` filter asks for, unescaped. */
function identifierValues(filter: Filter): string[] | undefined {
  if (filter.code !== 'identifier' || (filter.operator !== undefined && String(filter.operator) !== 'eq')) return undefined;
  if (typeof filter.value !== 'string') return undefined;
  // FHIR search escapes `\`, `,`, `$` and `|` with a backslash; unescaped commas separate alternatives.
  const alternatives = filter.value.match(/(?:[^,\\]|\\.)+/g) ?? [];
  return alternatives.map((token) => {
    const split = /^((?:[^|\\]|\\.)*)\|((?:[^\\]|\\.)*)$/.exec(token);
    const value = split ? split[2] : token;
    return value.replace(/\\([\\,$|])/g, '$1');
  });
}
