/**
 * The FHIR source's answers (fhir-intake.ts decides which): OperationOutcome issues, the 4xx
 * validation error that carries them, the 503 that asks for a retry, and the 2xx bodies that
 * `Prefer: return=` asks for. Diagnostics name ids and type names, never patient data.
 */
import type { Bundle, OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { ValidationError, type WaslError } from '../../common/errors';
import type { Accepted, FhirIntakeRequest, FhirIntakeResponse } from './fhir-intake-types';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export function issue(code: OperationOutcomeIssue['code'], diagnostics: string, expression?: string): OperationOutcomeIssue {
  return { severity: 'error', code, diagnostics, ...(expression ? { expression: [expression] } : {}) };
}

/** A 4xx answer in waiting: the issues ride in `details` so the intake can answer with all of them. */
export function invalid(issues: OperationOutcomeIssue[], status = 400): ValidationError {
  const first = issues[0];
  return new ValidationError('FHIR_INVALID', `${issues.length} problem(s); first: ${first?.expression?.[0] ?? ''} ${first?.diagnostics ?? ''}`.trim(), {
    path: first?.expression?.[0],
    details: { status, issues },
  });
}

/** The answer to a validation error: its status (400 unless it says) and every issue it carries. */
export function rejectedResponse(e: WaslError): FhirIntakeResponse {
  const issues = e.details?.issues as OperationOutcomeIssue[] | undefined;
  return outcomeResponse(Number(e.details?.status) || 400, issues?.length ? issues : [issue('invalid', e.message, e.path)]);
}

/** 503 with Retry-After: nothing was accepted, and a retry is deduplicated. */
export function unavailableResponse(e: WaslError, retryAfterSeconds: number): FhirIntakeResponse {
  return {
    ...outcomeResponse(503, [{ severity: 'error', code: 'transient', diagnostics: `${e.message}; retrying the request is safe` }]),
    headers: { 'content-type': FHIR_JSON, 'retry-after': String(retryAfterSeconds) },
  };
}

export function outcomeResponse(status: number, issues: OperationOutcomeIssue[]): FhirIntakeResponse {
  return { status, headers: { 'content-type': FHIR_JSON }, body: { resourceType: 'OperationOutcome', issue: issues } };
}

/** 201/200 for a single resource, with the body `Prefer: return=` asks for (default: the resource). */
export function resourceAnswer(req: FhirIntakeRequest, status: number, location: string, resource: Resource, result: Accepted): FhirIntakeResponse {
  const headers: Record<string, string> = {
    location: `${req.baseUrl}/${location}/_history/${result.messageId}`,
    etag: `W/"${result.messageId}"`,
    ...acceptedHeaders(result),
  };
  const prefer = preferOf(req);
  if (prefer === 'minimal') return { status, headers };
  headers['content-type'] = FHIR_JSON;
  return { status, headers, body: prefer === 'OperationOutcome' ? acceptedOutcome(result) : resource };
}

/** 200 for a transaction or batch: stored and queued, not yet written at the destination, so each entry is 202 Accepted. */
export function bundleAnswer(req: FhirIntakeRequest, bundle: Bundle, result: Accepted): FhirIntakeResponse {
  const response: Bundle = {
    resourceType: 'Bundle',
    id: result.messageId,
    type: bundle.type === 'transaction' ? 'transaction-response' : 'batch-response',
    entry: (bundle.entry ?? []).map(() => ({ response: { status: '202 Accepted' } })),
  };
  const prefer = preferOf(req);
  return {
    status: 200,
    headers: { 'content-type': FHIR_JSON, ...acceptedHeaders(result) },
    body: prefer === 'OperationOutcome' ? acceptedOutcome(result) : prefer === 'minimal' ? undefined : response,
  };
}

function acceptedHeaders(result: Accepted): Record<string, string> {
  return { 'x-wasl-message-id': result.messageId, ...(result.duplicate ? { 'x-wasl-duplicate': 'true' } : {}) };
}

function preferOf(req: FhirIntakeRequest): 'minimal' | 'representation' | 'OperationOutcome' {
  const m = /return\s*=\s*"?(minimal|representation|OperationOutcome)"?/i.exec(req.headers.prefer ?? '');
  const v = m?.[1].toLowerCase();
  return v === 'minimal' ? 'minimal' : v === 'operationoutcome' ? 'OperationOutcome' : 'representation';
}

function acceptedOutcome(result: Accepted): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'information',
        code: 'informational',
        diagnostics: result.duplicate ? `already accepted as message ${result.messageId}; not queued again` : `stored as message ${result.messageId} and queued for delivery`,
      },
    ],
  };
}

/** Echoed values are ids and type names, cut short so a pasted document never lands in a message. */
export function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s;
}
