/**
 * The contract between the NPHIES parts (read ../shared/domain/NPHIES.md first): message
 * builders and validation (bundles/, validate.ts), the sender (client.ts), the claim lifecycle
 * store, nodes, CLI and the simulator under test/simulators/nphies/. No Node-RED imports.
 *
 * NPHIES is one FHIR `$process-message` endpoint: a request message Bundle in (MessageHeader
 * first, every referenced resource inside), a response message Bundle out, now or later (poll).
 */
import type { Bundle, OperationOutcome } from '@medplum/fhirtypes';

/** The request messages Wasl sends; the event code is `<kind>` (ksa-message-events). */
export type NphiesRequestKind =
  | 'eligibility-request'
  | 'priorauth-request'
  | 'claim-request'
  | 'communication-request'
  | 'communication'
  | 'poll-request'
  | 'cancel-request'
  | 'status-check'
  | 'payment-notice';

/** Who talks to whom: licenses, as NPHIES identifies organisations. */
export interface NphiesParties {
  /** Provider (HCP) license, system http://nphies.sa/license/provider-license. */
  providerLicense: string;
  /** Payer (HIC/TPA) license, system http://nphies.sa/license/payer-license. */
  payerLicense: string;
  /** The provider's own endpoint URI for MessageHeader.source.endpoint. */
  providerEndpoint?: string;
}

/** How to reach NPHIES (or the simulator): everything is configuration (NPHIES.md §2). */
export interface NphiesEndpointConfig {
  /** Full `$process-message` URL. */
  url: string;
  /** OAuth2 client credentials when the environment uses them (not confirmed publicly: optional). */
  oauth?: { tokenUrl: string; clientId: string; clientSecret: string; scope?: string };
  /** Mutual TLS: PEM file paths named in the environment. */
  tls?: { certFile?: string; keyFile?: string; caFile?: string; pfxFile?: string; passphrase?: string };
  timeoutMs?: number;
}

/** Outcome of one exchange, parsed from the response message Bundle (NPHIES.md §7). */
export type NphiesOutcome = 'complete' | 'queued' | 'partial' | 'rejected' | 'error';

export interface NphiesResult {
  /** The request's MessageHeader.id, echoed in the response's MessageHeader.response.identifier. */
  requestId: string;
  /** response.code of the MessageHeader: ok | transient-error | fatal-error. */
  responseCode?: 'ok' | 'transient-error' | 'fatal-error';
  /** The event code of the response, e.g. `claim-response`. */
  event?: string;
  outcome: NphiesOutcome;
  /** Claim / preauth adjudication, when the response carries a ClaimResponse. */
  adjudication?: { outcome?: string; disposition?: string; preAuthRef?: string; total?: Array<{ category: string; amount: number; currency: string }> };
  /** Eligibility, when the response carries a CoverageEligibilityResponse. */
  eligibility?: { inforce?: boolean; outcome?: string; disposition?: string };
  /** NPHIES error codes and texts (OperationOutcome issues or the response resource's error[]). */
  errors: Array<{ code: string; message?: string; expression?: string }>;
  /** The response Bundle as received (stored, never logged). */
  bundle?: Bundle;
  outcomeResource?: OperationOutcome;
}

/** Claim lifecycle states (persisted; transitions checked). */
export type ClaimState =
  | 'draft'
  | 'submitted'
  | 'queued'
  | 'pended'
  | 'approved'
  | 'partial'
  | 'rejected'
  | 'paid'
  | 'cancelled';
