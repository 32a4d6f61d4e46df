/** The FHIR source's CapabilityStatement (`GET [base]/metadata`): what one channel's endpoint accepts. */
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { fhirSchemaValidator } from '../../transformers/fhir/fhir-schema';

export interface CapabilityOptions {
  channel: string;
  baseUrl: string;
  /** Accepted resource types; undefined: every R4 type. */
  resourceTypes?: Iterable<string>;
  /** Whether the channel takes Subscription notifications (it has an upstream server). */
  notifications: boolean;
}

export function capabilityStatement(o: CapabilityOptions): CapabilityStatement {
  const types = o.resourceTypes ? [...o.resourceTypes] : allResourceTypes();
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Wasl' },
    implementation: { description: `Wasl channel ${o.channel}: FHIR source endpoint (store and forward)`, url: o.baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Accepted requests are stored and queued before the answer (201, or 200 with a response Bundle whose entries are 202 Accepted). ' +
          'A resend is recognised by Idempotency-Key, If-None-Exist, id + meta.versionId, or identical content, and is not queued twice. ' +
          (o.notifications ? 'POST subscription-hook takes R4 rest-hook notifications and fetches the notified resource.' : ''),
        resource: types.map((type) => ({
          type: type as CapabilityStatementRestResource['type'],
          interaction: [{ code: 'create' as const }, { code: 'update' as const }],
          versioning: 'no-version' as const,
          updateCreate: true,
          conditionalCreate: true,
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
      },
    ],
  };
}

/** The R4 resource types the validator knows, sorted. */
function allResourceTypes(): string[] {
  const schema = fhirSchemaValidator().schema as { definitions?: { ResourceList?: { oneOf?: Array<{ $ref: string }> } } };
  return (schema.definitions?.ResourceList?.oneOf ?? []).map((r) => r.$ref.split('/').pop() as string).sort();
}
