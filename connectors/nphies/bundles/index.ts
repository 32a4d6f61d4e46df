/**
 * NPHIES request message builders (NPHIES.md §1, §3-§6, §8-§9). One entry point,
 * `buildRequest(kind, input, parties, opts?)`, plus one function per kind. Pure: pass
 * `opts.newId` and `opts.now` for deterministic output (a retry must resend the identical bundle).
 */
import type { Bundle } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import type { NphiesParties, NphiesRequestKind } from '../types';
import { buildClaimBundle, buildPriorAuthBundle, type ClaimInput } from './claim';
import type { BuildOptions } from './common';
import { buildEligibilityBundle, type EligibilityInput } from './eligibility';
import {
  buildCancelBundle, buildCommunicationBundle, buildCommunicationRequestBundle, buildPaymentNoticeBundle, buildPollBundle, buildStatusCheckBundle,
  type CancelInput, type CommunicationInput, type CommunicationRequestInput, type PaymentNoticeInput, type PollInput, type StatusCheckInput,
} from './messages';

export * from './claim';
export * from './common';
export * from './eligibility';
export * from './messages';
export * from './profiles';

/** The input each request kind takes. */
export interface NphiesRequestInputs {
  'eligibility-request': EligibilityInput;
  'priorauth-request': ClaimInput;
  'claim-request': ClaimInput;
  'communication-request': CommunicationRequestInput;
  communication: CommunicationInput;
  'poll-request': PollInput;
  'cancel-request': CancelInput;
  'status-check': StatusCheckInput;
  'payment-notice': PaymentNoticeInput;
}

type Builder<K extends NphiesRequestKind> = (input: NphiesRequestInputs[K], parties: NphiesParties, opts?: BuildOptions) => Bundle;

const BUILDERS: { [K in NphiesRequestKind]: Builder<K> } = {
  'eligibility-request': buildEligibilityBundle,
  'priorauth-request': buildPriorAuthBundle,
  'claim-request': buildClaimBundle,
  'communication-request': buildCommunicationRequestBundle,
  communication: buildCommunicationBundle,
  'poll-request': buildPollBundle,
  'cancel-request': buildCancelBundle,
  'status-check': buildStatusCheckBundle,
  'payment-notice': buildPaymentNoticeBundle,
};

/**
 * Builds the request message Bundle of `kind`: MessageHeader first (event `kind`, sender and
 * receiver by license, focus = the focal entry's fullUrl), profiles with versions, GUID ids.
 * Throws a ValidationError naming the input path when the input cannot make a valid message.
 */
export function buildRequest<K extends NphiesRequestKind>(kind: K, input: NphiesRequestInputs[K], parties: NphiesParties, opts?: BuildOptions): Bundle {
  const builder = BUILDERS[kind] as Builder<K> | undefined;
  if (!builder) throw new ValidationError('NPHIES_KIND', `unknown NPHIES request kind '${String(kind)}'`, { path: 'kind' });
  return builder(input, parties, opts);
}
