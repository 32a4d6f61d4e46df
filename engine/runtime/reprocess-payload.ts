/**
 * What a reprocessed message puts on its channel's `<channel>.in` queue: the payload the channel's
 * source submitted for the original, rebuilt from the stored raw content, so the copy goes
 * through the channel's filters, transformers and destinations as the original did.
 *
 * - `mllp` (hl7-intake.ts): the HL7 text itself.
 * - `fhir` (fhir-intake.ts): a transaction Bundle. A stored transaction or batch is sent as a
 *   transaction (as the intake does); a resource with an id becomes `PUT <Type>/<id>`, one
 *   without `POST <Type>`. The create's `If-None-Exist` header is not stored, so a reprocessed
 *   create is unconditional: destinations that write by business identifier stay idempotent.
 * - `db-poll` (claims batches: the store keeps only a manifest; the failed-claims workbench
 *   reprocesses claims) and `nphies-poll` (the polled response's summary travels beside the
 *   payload and is not stored): not reprocessable here.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelConfig } from '../channels/types';
import type { ReprocessSource } from '../store/lineage';

export type ReprocessSkipReason =
  | 'not-found'
  | 'unknown-channel'
  | 'channel-disabled'
  | 'source-not-reprocessable'
  | 'rejected-at-intake'
  | 'unreadable-content'
  | 'queue-unavailable';

export interface QueuedPayload {
  body: Buffer;
  /** The queue stage's content type header value (queue-stage.ts). */
  contentType: 'text' | 'json';
}

/**
 * Control ids the intakes give rows they refused (hl7-intake.ts, fhir-intake.ts): the sender was
 * told no (AR, 4xx), so putting such a message through the channel would deliver what its sender
 * believes was refused. A corrected resend is the way in.
 */
const REFUSED_AT_INTAKE = /^(rejected|fetch-failed):/;

/** The payload to queue for `original` on `channel`, or why it cannot be reprocessed. */
export function reprocessPayload(channel: ChannelConfig | undefined, original: ReprocessSource): QueuedPayload | { skip: ReprocessSkipReason } {
  if (!channel) return { skip: 'unknown-channel' };
  if (channel.enabled === false) return { skip: 'channel-disabled' };
  if (REFUSED_AT_INTAKE.test(original.controlId)) return { skip: 'rejected-at-intake' };
  switch (channel.source.type) {
    case 'mllp':
      return { body: Buffer.from(original.raw, 'utf8'), contentType: 'text' };
    case 'fhir': {
      const bundle = fhirTransactionOf(original.raw);
      return bundle ? { body: Buffer.from(JSON.stringify(bundle), 'utf8'), contentType: 'json' } : { skip: 'unreadable-content' };
    }
    default:
      return { skip: 'source-not-reprocessable' };
  }
}

interface FhirResource {
  resourceType: string;
  id?: string;
  type?: string;
}

/** The transaction Bundle wasl-fhir-in would have queued for a stored request body. */
export function fhirTransactionOf(raw: string): Record<string, unknown> | undefined {
  let resource: FhirResource;
  try {
    resource = JSON.parse(raw) as FhirResource;
  } catch {
    return undefined;
  }
  if (resource === null || typeof resource !== 'object' || typeof resource.resourceType !== 'string') return undefined;
  if (resource.resourceType === 'Bundle' && (resource.type === 'transaction' || resource.type === 'batch')) {
    return { ...resource, type: 'transaction' };
  }
  const request = resource.id
    ? { method: 'PUT', url: `${resource.resourceType}/${resource.id}` }
    : { method: 'POST', url: resource.resourceType };
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [{ ...(resource.id ? {} : { fullUrl: `urn:uuid:${randomUUID()}` }), resource, request }],
  };
}
