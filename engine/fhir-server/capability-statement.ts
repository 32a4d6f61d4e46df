/**
 * Medplum's FhirRouter has no `/metadata` route (it answers an empty searchset), so the loopback
 * server describes itself here. It claims only what the Wasl tests exercise against Medplum
 * 4.5.2: instance CRUD, history, search by the indexed R4 search parameters, conditional
 * create/update, batch and transaction. `_include`/`_revinclude` are silently ignored by Medplum,
 * so they are not advertised.
 */
import { getResourceTypes, getSearchParameters } from '@medplum/core';
import type {
  CapabilityStatement,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
} from '@medplum/fhirtypes';

const RESOURCE_INTERACTIONS = [
  'read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type',
] as const;

/** Search parameter types Medplum's in-memory search evaluates (composite/special are not). */
const SUPPORTED_SEARCH_TYPES = new Set(['number', 'date', 'string', 'token', 'reference', 'quantity', 'uri']);

let cached: Omit<CapabilityStatement, 'implementation'> | undefined;

function searchParamsFor(resourceType: string): CapabilityStatementRestResourceSearchParam[] {
  const params = getSearchParameters(resourceType) ?? {};
  return Object.entries(params)
    // `_compartment` is a Medplum extension, not an R4 search parameter.
    .filter(([code, sp]) => code !== '_compartment' && SUPPORTED_SEARCH_TYPES.has(sp.type ?? ''))
    .map(([code, sp]) => ({
      name: code,
      definition: sp.url,
      type: sp.type as CapabilityStatementRestResourceSearchParam['type'],
    }));
}

function buildStatic(): Omit<CapabilityStatement, 'implementation'> {
  const resources: CapabilityStatementRestResource[] = getResourceTypes()
    .slice()
    .sort()
    .map((type) => ({
      type,
      interaction: RESOURCE_INTERACTIONS.map((code) => ({ code })),
      versioning: 'versioned',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: true,
      conditionalUpdate: true,
      searchParam: searchParamsFor(type),
    }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Wasl loopback FHIR server (Medplum fhir-router 4.5.2, in memory)' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        documentation: 'Transactions are not atomic: entries before a failing entry stay committed.',
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        resource: resources,
      },
    ],
  };
}

/**
 * The server's CapabilityStatement. Built once (≈150 resource types with their search
 * parameters) after the definitions are indexed; only `implementation.url` varies per request.
 * @param baseUrl - absolute base of this server, e.g. `http://127.0.0.1:8080/fhir/R4`
 */
export function buildCapabilityStatement(baseUrl: string): CapabilityStatement {
  cached ??= buildStatic();
  return {
    ...cached,
    implementation: { description: 'Wasl loopback FHIR R4 server', url: baseUrl },
  } as CapabilityStatement;
}
