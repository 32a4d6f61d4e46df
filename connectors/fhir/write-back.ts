/**
 * Write-back: what Wasl sends to an EHR (draft Claims, DocumentReferences) and how, decided
 * before anything goes on the wire.
 *
 * - Every resource is validated first (the caller passes the validator, transformers/fhir/validate.ts
 *   `validateFhir`, so this connector imports no transformer). An invalid one is a ValidationError
 *   carrying the OperationOutcome in `details.outcome`: dead-lettered, never sent.
 * - A Claim must be `draft`: Wasl proposes claims, a person submits them.
 * - A resource without `id` is created conditionally, `If-None-Exist: identifier=<system>|<value>`
 *   on its business identifier (Claim.identifier, DocumentReference.masterIdentifier or
 *   .identifier), so a resend after a lost answer finds the first copy instead of adding one. No
 *   business identifier means no safe retry: refused as a validation error.
 * - A resource with `id` is updated (PUT by id): idempotent by nature.
 * - A transaction Bundle gets the same treatment per entry (POST entries without `ifNoneExist` get
 *   one from the identifier).
 */
import type { Bundle, BundleEntry, Identifier, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { ValidationError } from '../../common/errors';

export type ResourceValidator = (resource: unknown) => { valid: boolean; outcome: OperationOutcome };

export type WriteBackPlan =
  | { kind: 'transaction'; bundle: Bundle }
  | { kind: 'create'; resource: Resource; ifNoneExist: string }
  | { kind: 'update'; resource: Resource };

/**
 * Checks a write-back payload and says how to send it.
 * @param payload - one resource, or a Bundle of type `transaction`
 * @param validate - the schema validator
 * @throws ValidationError `FHIR_WRITE_BACK_INVALID` (details.outcome), `FHIR_CLAIM_NOT_DRAFT`, `FHIR_NO_BUSINESS_IDENTIFIER`
 */
export function planWriteBack(payload: unknown, validate: ResourceValidator): WriteBackPlan {
  const checked = validate(payload);
  const root = (payload as { resourceType?: unknown } | null)?.resourceType;
  if (!checked.valid) {
    const errors = checked.outcome.issue?.filter((i) => i.severity === 'error' || i.severity === 'fatal') ?? [];
    const first = errors[0]?.expression?.[0];
    throw new ValidationError(
      'FHIR_WRITE_BACK_INVALID',
      `${typeof root === 'string' ? root : 'Payload'} failed FHIR validation: ${errors.length} issue(s)${first ? `, first at ${first}` : ''}`,
      { path: first, details: { outcome: checked.outcome } },
    );
  }
  const resource = payload as Resource;
  if (resource.resourceType === 'Bundle') {
    const bundle = resource as Bundle;
    if (bundle.type !== 'transaction') {
      throw new ValidationError('FHIR_NOT_TRANSACTION', 'A write-back Bundle must be of type transaction', { path: 'Bundle.type' });
    }
    return { kind: 'transaction', bundle: { ...bundle, entry: (bundle.entry ?? []).map((e, i) => planEntry(e, i)) } };
  }
  checkDraft(resource, resource.resourceType);
  if (resource.id) return { kind: 'update', resource };
  return { kind: 'create', resource, ifNoneExist: identifierSearch(resource, resource.resourceType) };
}

function planEntry(entry: BundleEntry, i: number): BundleEntry {
  const path = `Bundle.entry[${i}]`;
  const r = entry.resource;
  if (r) checkDraft(r, `${path}.resource`);
  if (entry.request?.method !== 'POST' || entry.request.ifNoneExist || !r) return entry;
  return { ...entry, request: { ...entry.request, ifNoneExist: identifierSearch(r, `${path}.resource`) } };
}

function checkDraft(resource: Resource, path: string): void {
  if (resource.resourceType === 'Claim' && resource.status !== 'draft') {
    throw new ValidationError('FHIR_CLAIM_NOT_DRAFT', 'Write-back Claims must have status draft', { path: `${path}.status` });
  }
}

/**
 * `identifier=<system>|<value>` for the resource's business identifier (the search parameter
 * `identifier` covers DocumentReference.masterIdentifier too).
 */
export function identifierSearch(resource: Resource, path: string): string {
  const r = resource as { masterIdentifier?: Identifier; identifier?: Identifier | Identifier[] };
  // `identifier` first: some servers index only that element for the `identifier` search
  // (Wasl's demo server among them), while every server searches it.
  const candidates = [...(Array.isArray(r.identifier) ? r.identifier : r.identifier ? [r.identifier] : []), r.masterIdentifier];
  const id = candidates.find((c) => c?.value && c.system) ?? candidates.find((c) => c?.value);
  if (!id?.value) {
    throw new ValidationError(
      'FHIR_NO_BUSINESS_IDENTIFIER',
      `${resource.resourceType} has no business identifier, so a resend could duplicate it`,
      { path: `${path}.identifier` },
    );
  }
  const token = id.system ? `${escapeToken(id.system)}|${escapeToken(id.value)}` : escapeToken(id.value);
  return new URLSearchParams({ identifier: token }).toString();
}

/** FHIR search escaping: `\`, `|`, `,` and `$` in a token part are escaped with `\`. */
function escapeToken(value: string): string {
  return value.replace(/[\\|,$]/g, (c) => `\\${c}`);
}
