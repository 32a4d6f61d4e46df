/**
 * Two additions to Medplum's MemoryRepository for Wasl's loopback FHIR server:
 * - an identifier index, so conditional writes do not scan every resource (identifier-index.ts);
 * - validation: MemoryRepository stores whatever it is given (a Patient with `birthDate: "nope"`
 *   gets 201). A real FHIR server answers 400, and Wasl's retry/reject logic must be tested
 *   against that answer, so the validating variant checks every write against the R4 profiles.
 */
import { deepClone, validateResource, type SearchRequest, type WithId } from '@medplum/core';
import type { UpdateResourceOptions } from '@medplum/fhir-router';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { IdentifierIndex } from './identifier-index';

export class IndexedMemoryRepository extends MemoryRepository {
  private readonly identifiers = new IdentifierIndex();

  // updateResource stores through createResource too, so every stored version passes here.
  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    const stored = await super.createResource(resource);
    this.identifiers.add(stored);
    return stored;
  }

  override clear(): void {
    super.clear();
    this.identifiers.clear();
  }

  override async search<T extends Resource>(request: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const lookup = this.identifiers.lookup(request as SearchRequest);
    if (!lookup) return super.search(request);
    const resources = (this as unknown as { resources: Map<string, Map<string, WithId<T>>> }).resources.get(request.resourceType);
    const matches: WithId<T>[] = [];
    for (const id of lookup.ids) {
      const resource = resources?.get(id);
      if (resource && lookup.matches(resource)) matches.push(resource);
    }
    let entries = matches.map((resource) => ({ resource: deepClone(resource) }));
    // Same paging as MemoryRepository.search (identifier searches need no sort).
    if (request.offset !== undefined) entries = entries.slice(request.offset);
    if (request.count !== undefined) entries = entries.slice(0, request.count);
    return { resourceType: 'Bundle', type: 'searchset', entry: entries.length ? entries : undefined, total: matches.length } as Bundle<WithId<T>>;
  }
}

/**
 * An indexed repository that rejects structurally invalid resources with an OperationOutcomeError
 * (which FhirRouter turns into a 400 OperationOutcome). Conditional creates/updates and
 * transaction entries reach these two methods too, so they are covered as well.
 */
export class ValidatingMemoryRepository extends IndexedMemoryRepository {
  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    validateResource(resource);
    return super.createResource(resource);
  }

  override async updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    validateResource(resource);
    return super.updateResource(resource, options);
  }
}
