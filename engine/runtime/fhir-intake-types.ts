/** The shapes the FHIR source (fhir-intake.ts) and its helpers share. */
import type { Resource } from '@medplum/fhirtypes';

/** Reads one resource from the upstream FHIR server a Subscription notification points at. */
export interface FhirUpstreamReader {
  read(resourceType: string, id: string): Promise<Resource>;
  close(): Promise<void> | void;
}

/** One FHIR REST request as the HTTP layer read it. */
export interface FhirIntakeRequest {
  method: string;
  /** Path segments after `/channels/<id>/fhir`, e.g. `['Patient', '123']`. */
  path: string[];
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** The parsed JSON body; undefined when there was none. */
  body?: unknown;
  /** Absolute base URL of this endpoint, for Location headers and the CapabilityStatement. */
  baseUrl: string;
}

export interface FhirIntakeResponse {
  status: number;
  headers: Record<string, string>;
  /** Undefined: no body (`Prefer: return=minimal`). */
  body?: Resource;
}

/** What the client asked for; on `msg.fhirRequest` (ids only). */
export interface FhirRequestInfo {
  interaction: 'create' | 'update' | 'transaction' | 'batch' | 'notification';
  resourceType: string;
  id?: string;
}

/** What storing and queueing one request gave. */
export interface Accepted {
  messageId: string;
  duplicate: boolean;
}
