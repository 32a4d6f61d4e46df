/**
 * The smaller request messages: communication, communication-request, the Task-based ones
 * (poll-request, cancel-request, status-check) and payment-notice (NPHIES.md §4, §8).
 */
import type { Attachment, Bundle, Identifier, ResourceType, TaskInput } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import type { NphiesParties } from '../types';
import { BuildContext, money, type BuildOptions, type Currency, type EntryRef, type InsurerInput, type PatientInput, type ProviderInput } from './common';
import { CS_BASE, HL7_CS } from './profiles';

/** A business identifier (system + value) of another message, e.g. a Claim's. */
export interface BusinessId {
  system: string;
  value: string;
}

export type Payload = { text: string } | { attachment: Attachment };

export interface CommunicationInput {
  id?: string;
  /** The provider's communication number (under `<endpoint>/identifiers/communication`). */
  identifier: string;
  /** What this answers: the CommunicationRequest's or the Claim's identifier (NPHIES.md §4). */
  about: BusinessId & { type: 'Claim' | 'CommunicationRequest' };
  /** The payer's CommunicationRequest this answers, when there is one. */
  basedOn?: BusinessId;
  payload: Payload[];
  /** Default: the build time. */
  sent?: string;
  patient?: PatientInput;
  provider: ProviderInput;
  insurer: InsurerInput;
}

export interface CommunicationRequestInput {
  id?: string;
  identifier: string;
  /** The Claim the request is about. */
  about: BusinessId;
  payload: Payload[];
  /** Default: the build time. */
  authoredOn?: string;
  patient?: PatientInput;
  provider: ProviderInput;
  insurer: InsurerInput;
}

export interface PollInput {
  id?: string;
  /** The provider's poll number; default the Task id. */
  identifier?: string;
  provider: ProviderInput;
  /** Only the deferred answer to this request (Task.focus.identifier). */
  focus?: BusinessId;
  /** Message types to include or exclude (mutually exclusive, NPHIES.md §8). */
  include?: string[];
  exclude?: string[];
  /** Messages to return, 1..100 (default 1 at NPHIES). */
  count?: number;
  period?: { start: string; end?: string };
}

export interface CancelInput {
  id?: string;
  identifier: string;
  /** Identifier of the Claim (or prior auth) to cancel. */
  focus: BusinessId;
  /** `cancel` (default) or `nullify`. */
  code?: 'cancel' | 'nullify';
  /** task-reason-code: WI (wrong information), NP (service not performed), TAS (transaction already submitted). */
  reason: 'WI' | 'NP' | 'TAS';
  provider: ProviderInput;
  insurer: InsurerInput;
}

export interface StatusCheckInput {
  id?: string;
  identifier: string;
  /** Identifier of the request whose status is asked. */
  focus: BusinessId;
  provider: ProviderInput;
  insurer: InsurerInput;
}

export interface PaymentNoticeInput {
  id?: string;
  identifier: string;
  /** Identifier of the PaymentReconciliation being acknowledged. */
  payment: BusinessId;
  amount: number;
  currency?: string;
  paymentDate?: string;
  /** paymentstatus: paid (default) or cleared. */
  paymentStatus?: 'paid' | 'cleared';
  created?: string;
  provider: ProviderInput;
  insurer: InsurerInput;
}

function payloads(list: Payload[]): Array<{ contentString?: string; contentAttachment?: Attachment }> {
  return list.map((p) => ('text' in p ? { contentString: p.text } : { contentAttachment: p.attachment }));
}

function logical(type: ResourceType, id: BusinessId): EntryRef {
  // A logical reference (identifier only) is how NPHIES points at messages outside this bundle.
  return { type, identifier: { system: id.system, value: id.value } as Identifier } as EntryRef;
}

/** communication: Communication answering a CommunicationRequest or about a Claim. */
export function buildCommunicationBundle(input: CommunicationInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  if (input.payload.length === 0) throw new ValidationError('NPHIES_PAYLOAD', 'a communication needs at least one payload', { path: 'payload' });
  const ctx = new BuildContext(parties, opts);
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const insurer = ctx.insurerOrg(input.insurer);
  const patient = input.patient ? ctx.patient(input.patient) : undefined;
  const focal = ctx.add({
    resourceType: 'Communication',
    id,
    meta: ctx.meta('communication'),
    identifier: [{ system: ctx.system('communication'), value: input.identifier }],
    basedOn: input.basedOn ? [logical('CommunicationRequest', input.basedOn)] : undefined,
    status: 'completed',
    subject: patient,
    about: [logical(input.about.type, input.about)],
    sent: input.sent ?? ctx.dateTime(),
    recipient: [insurer],
    sender: provider,
    payload: payloads(input.payload),
  });
  return ctx.bundle('communication', focal);
}

/**
 * communication-request: normally payer → provider through poll (NPHIES.md §4); built here for
 * completeness and for simulators. Its profile id is unconfirmed.
 */
export function buildCommunicationRequestBundle(input: CommunicationRequestInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  if (input.payload.length === 0) throw new ValidationError('NPHIES_PAYLOAD', 'a communication request needs at least one payload', { path: 'payload' });
  const ctx = new BuildContext(parties, opts);
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const insurer = ctx.insurerOrg(input.insurer);
  const patient = input.patient ? ctx.patient(input.patient) : undefined;
  const focal = ctx.add({
    resourceType: 'CommunicationRequest',
    id,
    meta: ctx.meta('communication-request'),
    identifier: [{ system: ctx.system('communicationrequest'), value: input.identifier }],
    status: 'active',
    subject: patient,
    about: [logical('Claim', input.about)],
    payload: payloads(input.payload),
    authoredOn: input.authoredOn ?? ctx.dateTime(),
    requester: insurer,
    recipient: [provider],
  });
  return ctx.bundle('communication-request', focal);
}

/** poll-request: Task code=poll to NPHIES (NPHIES.md §8). */
export function buildPollBundle(input: PollInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  if (input.include?.length && input.exclude?.length) {
    throw new ValidationError('NPHIES_POLL_FILTER', 'include and exclude message types are mutually exclusive', { path: 'include' });
  }
  if (input.count !== undefined && (!Number.isInteger(input.count) || input.count < 1 || input.count > 100)) {
    throw new ValidationError('NPHIES_POLL_COUNT', 'count must be an integer from 1 to 100', { path: 'count' });
  }
  const ctx = new BuildContext(parties, opts);
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const nphies = ctx.nphiesOrg();
  const type = (code: string) => ({ coding: [{ system: `${CS_BASE}task-input-type`, code }] });
  const inputs: TaskInput[] = [
    ...(input.include ?? []).map((c) => ({ type: type('include-message-type'), valueCode: c })),
    ...(input.exclude ?? []).map((c) => ({ type: type('exclude-message-type'), valueCode: c })),
  ];
  if (input.count !== undefined) inputs.push({ type: type('count'), valuePositiveInt: input.count });
  if (input.period) inputs.push({ type: type('period'), valuePeriod: input.period });
  const focal = ctx.add({
    resourceType: 'Task',
    id,
    meta: ctx.meta('poll-request'),
    identifier: [{ system: ctx.system('poll'), value: input.identifier ?? id }],
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: `${CS_BASE}task-code`, code: 'poll' }] },
    focus: input.focus ? logical('Claim', input.focus) : undefined,
    authoredOn: ctx.dateTime(),
    requester: provider,
    owner: nphies,
    input: inputs,
  });
  return ctx.bundle('poll-request', focal, 'nphies');
}

/** cancel-request: Task code=cancel|nullify, focus.identifier = the Claim's identifier (NPHIES.md §4). */
export function buildCancelBundle(input: CancelInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  const ctx = new BuildContext(parties, opts);
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const insurer = ctx.insurerOrg(input.insurer);
  const focal = ctx.add({
    resourceType: 'Task',
    id,
    meta: ctx.meta('task'),
    identifier: [{ system: ctx.system('cancel-request'), value: input.identifier }],
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: `${CS_BASE}task-code`, code: input.code ?? 'cancel' }] },
    focus: logical('Claim', input.focus),
    authoredOn: ctx.dateTime(),
    requester: provider,
    owner: insurer,
    reasonCode: { coding: [{ system: `${CS_BASE}task-reason-code`, code: input.reason }] },
  });
  return ctx.bundle('cancel-request', focal);
}

/** status-check: Task code=status, focus.identifier = the checked request's identifier (NPHIES.md §4). */
export function buildStatusCheckBundle(input: StatusCheckInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  const ctx = new BuildContext(parties, opts);
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const insurer = ctx.insurerOrg(input.insurer);
  const focal = ctx.add({
    resourceType: 'Task',
    id,
    meta: ctx.meta('task'),
    identifier: [{ system: ctx.system('status-check'), value: input.identifier }],
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    code: { coding: [{ system: `${CS_BASE}task-code`, code: 'status' }] },
    focus: logical('Claim', input.focus),
    authoredOn: ctx.dateTime(),
    requester: provider,
    owner: insurer,
  });
  return ctx.bundle('status-check', focal);
}

/** payment-notice: PaymentNotice confirming receipt of a PaymentReconciliation (NPHIES.md §4). */
export function buildPaymentNoticeBundle(input: PaymentNoticeInput, parties: NphiesParties, opts?: BuildOptions): Bundle {
  const ctx = new BuildContext(parties, opts);
  const id = input.id ?? ctx.newId();
  const provider = ctx.providerOrg(input.provider);
  const insurer = ctx.insurerOrg(input.insurer);
  const focal = ctx.add({
    resourceType: 'PaymentNotice',
    id,
    meta: ctx.meta('payment-notice'),
    identifier: [{ system: ctx.system('paymentnotice'), value: input.identifier }],
    status: 'active',
    created: input.created ?? ctx.dateTime(),
    provider,
    payment: logical('PaymentReconciliation', input.payment),
    paymentDate: input.paymentDate,
    payee: provider,
    recipient: insurer,
    amount: { value: money(input.amount), currency: (input.currency ?? 'SAR') as Currency },
    paymentStatus: { coding: [{ system: HL7_CS.paymentStatus, code: input.paymentStatus ?? 'paid' }] },
  });
  return ctx.bundle('payment-notice', focal);
}
