/**
 * Medplum's MemoryRepository stores whatever it is given (a Patient with `birthDate: "nope"`
 * gets 201). A real FHIR server would answer 400, and Wasl's retry/reject logic must be tested
 * against that answer, so this subclass validates every write against the indexed R4 profiles.
 */
import { validateResource, type WithId } from '@medplum/core';
import type { UpdateResourceOptions } from '@medplum/fhir-router';
import { MemoryRepository } from '@medplum/fhir-router';
import type { Resource } from '@medplum/fhirtypes';

/**
 * A MemoryRepository that rejects structurally invalid resources with an OperationOutcomeError
 * (which FhirRouter turns into a 400 OperationOutcome). Conditional creates/updates and
 * transaction entries reach these two methods too, so they are covered as well.
 */
export class ValidatingMemoryRepository extends MemoryRepository {
  override async createResource<T extends Resource>(resource: T): Promise<WithId<T>> {
    validateResource(resource);
    return super.createResource(resource);
  }

  override async updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    validateResource(resource);
    return super.updateResource(resource, options);
  }
}
