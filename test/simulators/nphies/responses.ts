/**
 * Response message Bundles as the NPHIES simulator sends them (NPHIES.md §3, §4, §7, §8, §9).
 * Shapes follow the IG: MessageHeader first with `response.identifier` = the request's
 * MessageHeader.id; ClaimResponse with `extension-adjudication-outcome`, item adjudication
 * (eligible, benefit, tax, approved-quantity) and `error[]` under adjudication-error; Task replies
 * with `output`. Test code only.
 */
import { randomUUID } from 'node:crypto';
import type {
  Bundle, BundleEntry, Claim, ClaimResponse, CodeableConcept, CommunicationRequest, CoverageEligibilityRequest, CoverageEligibilityResponse, Identifier,
  MessageHeader, OperationOutcome, PaymentReconciliation, Reference, Resource, Task,
} from '@medplum/fhirtypes';

export const SD = 'http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/';
export const CS = 'http://nphies.sa/terminology/CodeSystem/';
export const NPHIES_BASE = 'http://nphies.sa';

export type Scenario = 'approved' | 'partial' | 'rejected' | 'error' | 'queued' | 'not-inforce';

export interface Incoming {
  bundle: Bundle;
  header: MessageHeader;
  event: string;
  focal?: Resource;
}

const cc = (system: string, code: string, display?: string): CodeableConcept => ({ coding: [{ system, code, ...(display ? { display } : {}) }] });

export function stamp(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

function payerId(header: MessageHeader): string {
  return header.destination?.[0]?.receiver?.identifier?.value ?? 'PAYER';
}

/** A response message to `req`: header + entries, the first entry after the header is the focus. */
export function responseMessage(
  req: Pick<Incoming, 'header'>,
  event: string,
  entries: BundleEntry[],
  opts: { code?: 'ok' | 'transient-error' | 'fatal-error'; details?: BundleEntry; tags?: string[]; fromNphies?: boolean } = {},
): Bundle {
  const id = randomUUID();
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id,
    meta: { profile: [`${SD}message-header|1.0.0`] },
    eventCoding: { system: `${CS}ksa-message-events`, code: event },
    destination: [{ endpoint: req.header.source?.endpoint ?? 'urn:provider', receiver: req.header.sender }],
    sender: opts.fromNphies
      ? { type: 'Organization', identifier: { system: 'http://nphies.sa/license/nphies', value: 'NPHIES' } }
      : { type: 'Organization', identifier: { system: 'http://nphies.sa/license/payer-license', value: payerId(req.header) } },
    source: { endpoint: `${NPHIES_BASE}/license/payer-license/${payerId(req.header)}` },
    response: {
      identifier: req.header.id as string,
      code: opts.code ?? 'ok',
      ...(opts.details ? { details: { reference: opts.details.fullUrl } } : {}),
    },
    ...(entries[0] ? { focus: [{ reference: entries[0].fullUrl }] } : {}),
  };
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: {
      profile: [`${SD}bundle|1.0.0`],
      ...(opts.tags?.length ? { tag: opts.tags.map((t) => ({ system: `${CS}meta-tags`, code: t })) } : {}),
    },
    type: 'message',
    timestamp: stamp(),
    entry: [{ fullUrl: `urn:uuid:${id}`, resource: header }, ...entries, ...(opts.details ? [opts.details] : [])],
  };
}

/** An unsolicited message (payment-reconciliation, communication-request): no `response` element. */
export function unsolicitedMessage(provider: MessageHeader['sender'], providerEndpoint: string, payer: string, event: string, focal: BundleEntry): Bundle {
  const id = randomUUID();
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [`${SD}bundle|1.0.0`] },
    type: 'message',
    timestamp: stamp(),
    entry: [
      {
        fullUrl: `urn:uuid:${id}`,
        resource: {
          resourceType: 'MessageHeader',
          id,
          meta: { profile: [`${SD}message-header|1.0.0`] },
          eventCoding: { system: `${CS}ksa-message-events`, code: event },
          destination: [{ endpoint: providerEndpoint, receiver: provider }],
          sender: { type: 'Organization', identifier: { system: 'http://nphies.sa/license/payer-license', value: payer } },
          source: { endpoint: `${NPHIES_BASE}/license/payer-license/${payer}` },
          focus: [{ reference: focal.fullUrl }],
        },
      },
      focal,
    ],
  };
}

export function operationOutcome(code: string, text: string, expression?: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id: randomUUID(),
    issue: [{ severity: 'error', code: 'invalid', details: cc(`${CS}adjudication-error`, code, text), ...(expression ? { expression: [expression] } : {}) }],
  };
}

/** The requests' supporting parties, copied (once each) so the response's references resolve inside it. */
export function supporting(...reqs: Incoming[]): BundleEntry[] {
  const seen = new Set<string>();
  return reqs
    .flatMap((r) => r.bundle.entry ?? [])
    .filter((e) => ['Patient', 'Organization', 'Coverage'].includes(e.resource?.resourceType ?? '') && !seen.has(e.fullUrl ?? '') && seen.add(e.fullUrl ?? ''));
}

function errorsOf(codes: string[]): ClaimResponse['error'] {
  return codes.map((code) => ({
    code: cc(`${CS}adjudication-error`, code),
    extension: [{ url: `${SD}extension-error-expression`, valueString: 'Claim.item[0]' }],
  }));
}

export interface AdjudicationOptions {
  scenario: Scenario;
  errorCodes: string[];
  /** ClaimResponse.outcome override (queued answers, duplicates). */
  outcome?: ClaimResponse['outcome'];
  disposition?: string;
}

/** ClaimResponse for a Claim (claim-response / priorauth-response). */
export function claimResponse(req: Incoming, opts: AdjudicationOptions): { entry: BundleEntry; resource: ClaimResponse } {
  const claim = req.focal as Claim;
  const id = randomUUID();
  const currency = claim.total?.currency ?? 'SAR';
  const s = opts.scenario;
  const adjOutcome = s === 'approved' ? 'approved' : s === 'partial' ? 'partial' : s === 'queued' ? 'pended' : 'rejected';
  const outcome: ClaimResponse['outcome'] = opts.outcome ?? (s === 'queued' ? 'queued' : s === 'error' ? 'error' : s === 'partial' ? 'partial' : 'complete');
  const settled = outcome === 'complete' || outcome === 'partial';
  const items = settled
    ? (claim.item ?? []).map((item, i) => {
        const net = item.net?.value ?? 0;
        const benefit = s === 'approved' ? net : s === 'partial' ? (i === 0 ? net : Math.round(net * 50) / 100) : 0;
        return {
          itemSequence: item.sequence,
          extension: [{ url: `${SD}extension-adjudication-outcome`, valueCodeableConcept: cc(`${CS}adjudication-outcome`, benefit === net ? 'approved' : benefit ? 'partial' : 'rejected') }],
          adjudication: [
            { category: cc('http://terminology.hl7.org/CodeSystem/adjudication', 'eligible'), amount: { value: net, currency } },
            { category: cc('http://terminology.hl7.org/CodeSystem/adjudication', 'benefit'), amount: { value: benefit, currency } },
            { category: cc(`${CS}ksa-adjudication-category`, 'tax'), amount: { value: 0, currency } },
            { category: cc(`${CS}ksa-adjudication-category`, 'approved-quantity'), value: benefit ? (item.quantity?.value ?? 1) : 0 },
          ],
        };
      })
    : undefined;
  const submitted = claim.total?.value ?? 0;
  const benefitTotal = (items ?? []).reduce((sum, it) => sum + (it.adjudication[1].amount?.value ?? 0), 0);
  const resource: ClaimResponse = {
    resourceType: 'ClaimResponse',
    id,
    meta: { profile: [`${SD}claim-response|1.0.0`] },
    ...(settled || s === 'queued' ? { extension: [{ url: `${SD}extension-adjudication-outcome`, valueCodeableConcept: cc(`${CS}adjudication-outcome`, adjOutcome) }] } : {}),
    identifier: [{ system: `${NPHIES_BASE}/claimresponse/${payerId(req.header)}`, value: id }],
    status: 'active',
    type: claim.type ?? cc('http://terminology.hl7.org/CodeSystem/claim-type', 'professional'),
    ...(claim.subType ? { subType: claim.subType } : {}),
    use: claim.use ?? 'claim',
    patient: claim.patient ?? {},
    created: stamp(),
    insurer: claim.insurer ?? {},
    requestor: claim.provider,
    request: { type: 'Claim', identifier: claim.identifier?.[0] as Identifier },
    outcome,
    disposition: opts.disposition ?? (outcome === 'queued' ? 'Queued for adjudication' : s === 'error' ? 'Claim contains errors' : `Claim ${adjOutcome}`),
    ...(claim.use === 'preauthorization' && (s === 'approved' || s === 'partial') && settled ? { preAuthRef: `PA-${id.slice(0, 8)}` } : {}),
    ...(items ? { item: items } : {}),
    ...(settled
      ? {
          total: [
            { category: cc('http://terminology.hl7.org/CodeSystem/adjudication', 'submitted'), amount: { value: submitted, currency } },
            { category: cc('http://terminology.hl7.org/CodeSystem/adjudication', 'benefit'), amount: { value: Math.round(benefitTotal * 100) / 100, currency } },
          ],
        }
      : {}),
    ...(s === 'rejected' || s === 'error' || opts.errorCodes.length ? { error: errorsOf(opts.errorCodes) } : {}),
  };
  const entry: BundleEntry = { fullUrl: `${NPHIES_BASE}/ClaimResponse/${id}`, resource };
  return { entry, resource };
}

export function claimResponseMessage(req: Incoming, opts: AdjudicationOptions): { bundle: Bundle; claimResponse: ClaimResponse } {
  const { entry, resource } = claimResponse(req, opts);
  const event = req.event === 'priorauth-request' ? 'priorauth-response' : 'claim-response';
  return { bundle: responseMessage(req, event, [entry, ...supporting(req)], { fromNphies: opts.outcome === 'queued' && opts.scenario !== 'queued' }), claimResponse: resource };
}

export function eligibilityResponseMessage(req: Incoming, scenario: Scenario, errorCodes: string[]): Bundle {
  const request = req.focal as CoverageEligibilityRequest;
  const id = randomUUID();
  const error = scenario === 'error' || scenario === 'rejected';
  const inforce = scenario !== 'not-inforce' && !error;
  const resource: CoverageEligibilityResponse = {
    resourceType: 'CoverageEligibilityResponse',
    id,
    meta: { profile: [`${SD}eligibility-response|1.0.0`] },
    ...(error
      ? {}
      : { extension: [{ url: `${SD}extension-siteEligibility`, valueCodeableConcept: cc(`${CS}siteEligibility`, inforce ? 'eligible' : 'not-active') }] }),
    identifier: [{ system: `${NPHIES_BASE}/eligibilityresponse/${payerId(req.header)}`, value: id }],
    status: 'active',
    purpose: request.purpose ?? ['validation'],
    patient: request.patient ?? {},
    created: stamp(),
    request: { type: 'CoverageEligibilityRequest', identifier: request.identifier?.[0] as Identifier } as Reference<CoverageEligibilityRequest>,
    outcome: error ? 'error' : 'complete',
    disposition: error ? 'Eligibility request contains errors' : inforce ? 'Coverage is in force' : 'Coverage is not in force',
    insurer: request.insurer ?? {},
    ...(error ? { error: errorsOf(errorCodes) } : { insurance: (request.insurance ?? []).map((i) => ({ coverage: i.coverage, inforce })) }),
  };
  return responseMessage(req, 'eligibility-response', [{ fullUrl: `${NPHIES_BASE}/CoverageEligibilityResponse/${id}`, resource }, ...supporting(req)]);
}

/** Task reply (status-response, cancel-response, poll-response): the request Task, completed or rejected. */
export function taskReply(req: Incoming, outputs: Task['output'], status: Task['status']): { entry: BundleEntry; task: Task } {
  const asked = req.focal as Task;
  const id = randomUUID();
  const task: Task = {
    resourceType: 'Task',
    id,
    meta: asked?.meta,
    identifier: asked?.identifier,
    status,
    intent: 'order',
    code: asked?.code,
    ...(asked?.focus ? { focus: asked.focus } : {}),
    authoredOn: asked?.authoredOn,
    lastModified: stamp(),
    ...(asked?.requester ? { requester: asked.requester } : {}),
    ...(asked?.owner ? { owner: asked.owner } : {}),
    ...(outputs?.length ? { output: outputs } : {}),
  };
  return { entry: { fullUrl: `${NPHIES_BASE}/Task/${id}`, resource: task }, task };
}

export const taskOutput = {
  error: (code: string): NonNullable<Task['output']>[number] => ({ type: cc(`${CS}task-output-type`, 'error'), valueCodeableConcept: cc(`${CS}adjudication-error`, code) }),
  status: (code: string): NonNullable<Task['output']>[number] => ({ type: cc(`${CS}task-output-type`, 'status'), valueCode: code }),
  response: (fullUrl: string): NonNullable<Task['output']>[number] => ({ type: cc(`${CS}task-output-type`, 'response'), valueReference: { reference: fullUrl } }),
};

export function paymentReconciliation(payer: string, claims: Array<{ identifier: Identifier; amount: number; currency: string }>): BundleEntry {
  const id = randomUUID();
  const total = claims.reduce((s, c) => s + c.amount, 0);
  const currency = claims[0]?.currency ?? 'SAR';
  const resource: PaymentReconciliation = {
    resourceType: 'PaymentReconciliation',
    id,
    meta: { profile: [`${SD}payment-reconciliation|1.0.0`] },
    identifier: [{ system: `${NPHIES_BASE}/paymentreconciliation/${payer}`, value: id }],
    status: 'active',
    created: stamp(),
    paymentDate: stamp().slice(0, 10),
    paymentAmount: { value: total, currency: currency as 'SAR' },
    outcome: 'complete',
    disposition: 'Payment issued',
    detail: claims.map((c) => ({
      type: cc('http://terminology.hl7.org/CodeSystem/payment-type', 'payment'),
      request: { type: 'Claim', identifier: c.identifier },
      amount: { value: c.amount, currency: c.currency as 'SAR' },
    })),
  };
  return { fullUrl: `${NPHIES_BASE}/PaymentReconciliation/${id}`, resource };
}

export function communicationRequest(payer: string, about: Identifier, text: string): BundleEntry {
  const id = randomUUID();
  const resource: CommunicationRequest = {
    resourceType: 'CommunicationRequest',
    id,
    meta: { profile: [`${SD}communication-request|1.0.0`] },
    identifier: [{ system: `${NPHIES_BASE}/communicationrequest/${payer}`, value: id }],
    status: 'active',
    about: [{ type: 'Claim', identifier: about }],
    authoredOn: stamp(),
    payload: [{ contentString: text }],
  };
  return { fullUrl: `${NPHIES_BASE}/CommunicationRequest/${id}`, resource };
}
