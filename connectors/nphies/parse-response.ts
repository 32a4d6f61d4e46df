/**
 * Turns an NPHIES response message Bundle (or a bare OperationOutcome) into an {@link NphiesResult}
 * (NPHIES.md §3, §7, §8). Pure: no I/O, no clock.
 *
 * - Correlation: `MessageHeader.response.identifier` must equal the request's MessageHeader.id;
 *   an answer to another request is refused (`TRANSIENT_NPHIES_UNCORRELATED`: the identical
 *   request may be sent again, NPHIES answers a resend with its stored response, §7).
 * - Business resource: ClaimResponse, CoverageEligibilityResponse, CommunicationRequest,
 *   PaymentReconciliation or Task (status / cancel / poll replies), found through
 *   `MessageHeader.focus` or, failing that, by type.
 * - Errors: `error[].code` of the response resource (adjudication-error codes with
 *   `extension-error-expression`), `Task.output` of type `error`, OperationOutcome issues (from
 *   `response.details`, an entry, or a bare outcome).
 */
import type {
  Bundle, BundleEntry, ClaimResponse, CodeableConcept, CoverageEligibilityResponse, Extension, MessageHeader, OperationOutcome, Resource, Task,
} from '@medplum/fhirtypes';
import { IntegrationError, TransientError } from '../../common/errors';
import type { NphiesOutcome, NphiesResult } from './types';

const SD = 'http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/';
const EXT_ADJUDICATION_OUTCOME = `${SD}extension-adjudication-outcome`;
const EXT_ERROR_EXPRESSION = `${SD}extension-error-expression`;

type NphiesError = NphiesResult['errors'][number];

function codeOf(cc: CodeableConcept | undefined): string | undefined {
  return cc?.coding?.find((c) => c.code)?.code ?? undefined;
}

function extensionCode(exts: Extension[] | undefined, url: string): string | undefined {
  const e = exts?.find((x) => x.url === url);
  return e?.valueCodeableConcept ? codeOf(e.valueCodeableConcept) : (e?.valueCode ?? e?.valueString);
}

/** OperationOutcome issues as NPHIES errors: the issue's coded detail, else its FHIR issue code. */
export function outcomeErrors(outcome: OperationOutcome | undefined): NphiesError[] {
  return (outcome?.issue ?? [])
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => ({
      code: codeOf(i.details) ?? i.code ?? 'unknown',
      message: i.details?.text ?? i.diagnostics,
      expression: i.expression?.[0],
    }));
}

function resourceErrors(errors: Array<{ code?: CodeableConcept; extension?: Extension[] }> | undefined): NphiesError[] {
  return (errors ?? []).map((e) => {
    const expr = e.extension?.find((x) => x.url === EXT_ERROR_EXPRESSION)?.valueString;
    return { code: codeOf(e.code) ?? 'unknown', message: e.code?.coding?.[0]?.display ?? e.code?.text, ...(expr ? { expression: expr } : {}) };
  });
}

function taskErrors(task: Task): NphiesError[] {
  return (task.output ?? [])
    .filter((o) => codeOf(o.type) === 'error')
    .map((o) => ({ code: codeOf(o.valueCodeableConcept) ?? o.valueCode ?? o.valueString ?? 'unknown', message: o.valueCodeableConcept?.coding?.[0]?.display }));
}

function headerOf(bundle: Bundle): MessageHeader | undefined {
  const first = bundle.entry?.[0]?.resource;
  return first?.resourceType === 'MessageHeader' ? first : undefined;
}

function focalResource(bundle: Bundle, header: MessageHeader): Resource | undefined {
  const ref = header.focus?.[0]?.reference;
  const entries: BundleEntry[] = bundle.entry ?? [];
  if (ref) {
    const hit = entries.find((e) => e.fullUrl === ref || (e.resource && `${e.resource.resourceType}/${e.resource.id}` === ref));
    if (hit?.resource) return hit.resource;
  }
  return undefined;
}

function findByType<T extends Resource>(bundle: Bundle, type: T['resourceType']): T | undefined {
  return bundle.entry?.find((e) => e.resource?.resourceType === type)?.resource as T | undefined;
}

function claimOutcome(cr: ClaimResponse): { outcome: NphiesOutcome; adjudicationOutcome?: string } {
  const adj = extensionCode(cr.extension, EXT_ADJUDICATION_OUTCOME);
  if (cr.outcome === 'queued' || adj === 'pended') return { outcome: 'queued', adjudicationOutcome: adj };
  if (cr.outcome === 'error') return { outcome: 'error', adjudicationOutcome: adj };
  if (adj === 'rejected') return { outcome: 'rejected', adjudicationOutcome: adj };
  if (cr.outcome === 'partial' || adj === 'partial') return { outcome: 'partial', adjudicationOutcome: adj };
  return { outcome: 'complete', adjudicationOutcome: adj };
}

function parseClaimResponse(cr: ClaimResponse): Pick<NphiesResult, 'outcome' | 'adjudication' | 'errors'> {
  const { outcome, adjudicationOutcome } = claimOutcome(cr);
  const total = (cr.total ?? []).map((t) => ({
    category: codeOf(t.category) ?? 'unknown',
    amount: t.amount?.value ?? 0,
    currency: t.amount?.currency ?? 'SAR',
  }));
  return {
    outcome,
    adjudication: {
      outcome: adjudicationOutcome ?? cr.outcome,
      ...(cr.disposition ? { disposition: cr.disposition } : {}),
      ...(cr.preAuthRef ? { preAuthRef: cr.preAuthRef } : {}),
      ...(total.length ? { total } : {}),
    },
    errors: resourceErrors(cr.error),
  };
}

function parseEligibility(er: CoverageEligibilityResponse): Pick<NphiesResult, 'outcome' | 'eligibility' | 'errors'> {
  const outcome: NphiesOutcome = er.outcome === 'queued' ? 'queued' : er.outcome === 'error' ? 'error' : er.outcome === 'partial' ? 'partial' : 'complete';
  const inforce = er.insurance?.find((i) => typeof i.inforce === 'boolean')?.inforce;
  return {
    outcome,
    eligibility: { ...(inforce === undefined ? {} : { inforce }), outcome: er.outcome, ...(er.disposition ? { disposition: er.disposition } : {}) },
    errors: resourceErrors(er.error),
  };
}

function parseTask(task: Task): Pick<NphiesResult, 'outcome' | 'errors'> {
  const errors = taskErrors(task);
  if (errors.length || task.status === 'rejected' || task.status === 'failed') return { outcome: 'error', errors };
  if (task.status === 'completed') return { outcome: 'complete', errors };
  return { outcome: 'queued', errors };
}

/**
 * Parses one response message.
 *
 * @param bundle - the response body: a message Bundle, or an OperationOutcome (HTTP 3xx/4xx, §7)
 * @param requestId - the request's MessageHeader.id
 * @throws TransientError `NPHIES_UNCORRELATED` when the answer names another request;
 *   IntegrationError `NPHIES_BAD_RESPONSE` when it is neither a message Bundle nor an OperationOutcome
 */
export function parseNphiesResponse(bundle: Bundle | OperationOutcome, requestId: string): NphiesResult {
  return parseMessage(bundle, requestId, true);
}

function parseMessage(bundle: Bundle | OperationOutcome, requestId: string, correlate: boolean): NphiesResult {
  if (bundle?.resourceType === 'OperationOutcome') {
    return { requestId, responseCode: 'fatal-error', outcome: 'error', errors: outcomeErrors(bundle), outcomeResource: bundle };
  }
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'message') {
    throw new IntegrationError('NPHIES_BAD_RESPONSE', `NPHIES answer to ${requestId} is not a message Bundle`, { details: { requestId } });
  }
  const header = headerOf(bundle);
  if (!header) {
    throw new IntegrationError('NPHIES_BAD_RESPONSE', `NPHIES answer to ${requestId} does not start with a MessageHeader`, { details: { requestId } });
  }
  const answered = header.response?.identifier;
  if (correlate && answered !== requestId) {
    throw new TransientError('NPHIES_UNCORRELATED', `NPHIES answered another request (${answered ?? 'none'}) instead of ${requestId}`, {
      details: { requestId, answered },
    });
  }
  const event = header.eventCoding?.code;
  const responseCode = header.response?.code;
  const base = { requestId, responseCode, ...(event ? { event } : {}), bundle };

  // response.details: an OperationOutcome, used when no business response could be built.
  const detailsRef = header.response?.details?.reference;
  const outcomeEntry = (bundle.entry ?? []).find(
    (e) => e.resource?.resourceType === 'OperationOutcome' && (!detailsRef || e.fullUrl === detailsRef || `OperationOutcome/${e.resource.id}` === detailsRef),
  )?.resource as OperationOutcome | undefined;
  const fromOutcome = outcomeErrors(outcomeEntry);
  const withOutcome = outcomeEntry ? { outcomeResource: outcomeEntry } : {};

  // A status-response carries a Task and, when NPHIES has one, the ClaimResponse [I]: prefer the adjudication.
  const focal = focalResource(bundle, header);
  const claimResponse = focal?.resourceType === 'ClaimResponse' ? focal : findByType<ClaimResponse>(bundle, 'ClaimResponse');
  if (claimResponse) {
    const p = parseClaimResponse(claimResponse);
    return { ...base, ...p, errors: [...p.errors, ...fromOutcome], ...withOutcome };
  }
  const eligibility = focal?.resourceType === 'CoverageEligibilityResponse' ? focal : findByType<CoverageEligibilityResponse>(bundle, 'CoverageEligibilityResponse');
  if (eligibility) {
    const p = parseEligibility(eligibility);
    return { ...base, ...p, errors: [...p.errors, ...fromOutcome], ...withOutcome };
  }
  const task = focal?.resourceType === 'Task' ? focal : findByType<Task>(bundle, 'Task');
  if (task) {
    const p = parseTask(task);
    return { ...base, ...p, errors: [...p.errors, ...fromOutcome], ...withOutcome };
  }
  // CommunicationRequest, PaymentReconciliation, acknowledgement: delivered = complete, unless errors.
  const failed = responseCode === 'fatal-error' || fromOutcome.length > 0;
  return { ...base, outcome: failed ? 'error' : 'complete', errors: fromOutcome, ...withOutcome };
}

/**
 * The messages a poll-response delivers (NPHIES.md §8: nested message Bundles [I layout]), in
 * queue order. A deferred answer gets `requestId` = the request it answers (its
 * `MessageHeader.response.identifier`); an unsolicited message (payment-reconciliation,
 * communication-request, advanced-authorization) has no `response`, so `requestId` is its own
 * MessageHeader.id: correlate those by their focal resource (e.g. `PaymentReconciliation.detail.request`).
 */
export function parsePolledMessages(pollResponse: Bundle): NphiesResult[] {
  const out: NphiesResult[] = [];
  for (const e of pollResponse.entry ?? []) {
    const b = e.resource;
    if (b?.resourceType !== 'Bundle' || b.type !== 'message') continue;
    const header = headerOf(b);
    const id = header?.response?.identifier ?? header?.id;
    if (!id) continue;
    out.push(parseMessage(b, id, false));
  }
  return out;
}

/** True when the result carries one of `codes` (e.g. the configured duplicate-submission codes). */
export function hasErrorCode(result: NphiesResult, codes: readonly string[]): boolean {
  return codes.length > 0 && result.errors.some((e) => codes.includes(e.code));
}
