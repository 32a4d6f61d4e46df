/**
 * The claim Bundles the through-the-channel bench posts to a `type: fhir` source, as an EHR
 * would: a FHIR transaction with the Claim and its parties (Patient, Coverage, Organizations,
 * Practitioner, Encounter...), `urn:uuid:` fullUrls and references to them, one `POST <Type>`
 * entry each. Same shape as the from-fhir test (test/engine/nphies/submit.spec.ts), built from
 * the parties the NPHIES simulator knows (test/simulators/nphies/requests.ts), so the channel's
 * nphies destination wraps it (connectors/nphies/from-fhir.ts) into a valid claim-request.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { buildRequest } from '../../connectors/nphies/bundles';
import { claimInput, PARTIES } from '../../test/simulators/nphies/requests';

/** The system the claim's business identifier is under (connectors/nphies/bundles: `<providerEndpoint>/identifiers/claim`). */
export const CLAIM_IDENTIFIER_SYSTEM = `${PARTIES.providerEndpoint}/identifiers/claim`;

/** One EHR transaction Bundle for claim `identifier` (unique per claim: NPHIES deduplicates on it). */
export function claimTransaction(identifier: string, items = 2): Bundle {
  const built = buildRequest('claim-request', claimInput(identifier, items), PARTIES);
  // Everything but the MessageHeader: the destination makes its own.
  const resources = (built.entry ?? []).slice(1).map((e) => e.resource as Resource & { id: string });
  const urn = new Map<string, string>(resources.map((r) => [`${r.resourceType}/${r.id}`, `urn:uuid:${randomUUID()}`]));
  const text = JSON.stringify(resources).replace(/"reference":"([A-Za-z]+\/[^"]+)"/g, (m, ref: string) => (urn.has(ref) ? `"reference":"${urn.get(ref)}"` : m));
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: (JSON.parse(text) as Array<Resource & { id: string }>).map((resource) => ({
      fullUrl: urn.get(`${resource.resourceType}/${resource.id}`),
      resource,
      request: { method: 'POST', url: resource.resourceType },
    })),
  };
}
