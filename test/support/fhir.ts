import type { Claim } from '@medplum/fhirtypes';
import { startFhirServer, type FhirRequestInfo, type RunningFhirServer } from '../../engine/fhir-server';

/** A draft Claim with everything Medplum requires. */
export function draftClaim(identifier: string): Claim {
  return {
    resourceType: 'Claim',
    status: 'draft',
    identifier: [{ system: 'urn:wasl:claim', value: identifier }],
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/claim-type', code: 'professional' }] },
    use: 'claim',
    patient: { reference: 'Patient/p1' },
    created: '2026-11-23',
    provider: { reference: 'Organization/o1' },
    priority: { coding: [{ code: 'normal' }] },
    insurance: [{ sequence: 1, focal: true, coverage: { reference: 'Coverage/c1' } }],
  };
}

export interface LoopbackFhir {
  server: RunningFhirServer;
  /** The requests the server saw in the current test. */
  seen: FhirRequestInfo[];
}

/** In a `describe`: the Medplum FHIR server on loopback for its tests, emptied before each one. */
export function useFhirServer(): LoopbackFhir {
  const fhir = { seen: [] as FhirRequestInfo[] } as LoopbackFhir;
  before(async () => {
    fhir.server = await startFhirServer(0, '127.0.0.1', { onRequest: (info) => fhir.seen.push(info) });
  });
  after(() => fhir.server.close());
  beforeEach(() => {
    fhir.server.reset();
    fhir.seen.length = 0;
  });
  return fhir;
}
