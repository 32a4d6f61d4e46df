/** Loopback FHIR R4 server (Medplum fhir-router + in-memory repository). */
export { createFhirServer, FHIR_CONTENT_TYPE } from './server';
export type { FhirServer, FhirServerOptions, FhirRequestInfo } from './server';
export { startFhirServer, FHIR_BASE_PATH } from './standalone';
export type { RunningFhirServer } from './standalone';
export { loadFhirDefinitions } from './definitions';
export { ValidatingMemoryRepository } from './repository';
