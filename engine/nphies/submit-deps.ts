/**
 * The two connector calls submit.ts makes, each in one small function so that swapping the
 * implementation is one line: build the request message, validate it before it leaves.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { buildRequest, type BuildOptions, type NphiesRequestInputs } from '../../connectors/nphies/bundles';
import { wrapFhirAsMessage } from '../../connectors/nphies/from-fhir';
import type { NphiesParties, NphiesRequestKind } from '../../connectors/nphies/types';
import { assertValidNphiesBundle } from './validate-request';

/**
 * A FHIR resource or Bundle (what a `type: fhir` source delivers) is wrapped as the message;
 * anything else is the builder input of connectors/nphies/bundles (ClaimInput, EligibilityInput,
 * CancelInput, PollInput), e.g. what an analyst's flow or a mapping produced.
 */
export function buildNphiesRequest(kind: NphiesRequestKind, payload: unknown, parties: NphiesParties, opts: BuildOptions): Bundle {
  if (typeof (payload as Resource).resourceType === 'string') return wrapFhirAsMessage(kind, payload as Resource, parties, opts);
  return buildRequest(kind, payload as NphiesRequestInputs[typeof kind], parties, opts);
}

/** Throws a ValidationError (with the OperationOutcome in `details`) when the Bundle breaks a known NPHIES rule. */
export function validateNphiesRequest(bundle: Bundle): void {
  assertValidNphiesBundle(bundle);
}
