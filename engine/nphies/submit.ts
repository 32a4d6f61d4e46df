/**
 * One NPHIES exchange as a channel destination does it, without Node-RED (the nodes under
 * nodes/nphies-* and bench/nphies.bench.ts call this): build the request message Bundle from the
 * payload, validate it, record the claim (eligibility, pre-authorisation) in the lifecycle, send
 * it once per idempotency key through the client, and apply the answer to the lifecycle.
 *
 * The kind of failure is decided here, once: a bad payload or bundle is a validation error; an
 * answer that says no (rejected, fatal-error, OperationOutcome) is an integration error, raised
 * only after the answer is recorded; what the client throws (timeouts, 5xx, 429, breaker open)
 * is already classified and passes through unchanged.
 *
 * Deterministic ids: a redelivery of the same queued message rebuilds the identical Bundle (ids
 * seeded by the message id, time from the message's receipt), so its idempotency key matches and
 * the client's ledger answers it without a second submission (NPHIES.md §7, duplicates).
 */
import { createHash } from 'node:crypto';
import type { Bundle, Claim, CoverageEligibilityRequest, Resource, Task } from '@medplum/fhirtypes';
import { IntegrationError, TransientError, ValidationError, toWaslError, type WaslError } from '../../common/errors';
import { claimInputFromDft, type DftClaimDefaults } from '../../connectors/nphies/from-dft';
import type { NphiesParties, NphiesRequestKind, NphiesResult } from '../../connectors/nphies/types';
import { parseHl7 } from '../../transformers/hl7v2/parse';
import { idempotencyKey, stateForResult, type BusinessIdentifier, type ClaimLifecycle, type StoredClaim } from './lifecycle';
import { buildNphiesRequest, validateNphiesRequest } from './submit-deps';

export type NphiesOperation = 'eligibility' | 'preauth' | 'claim' | 'cancel';

/** The sending half of connectors/nphies/client.ts, as this module uses it. */
export interface NphiesSender {
  send(bundle: Bundle, opts: { idempotencyKey: string }): Promise<NphiesResult>;
  poll(pollRequest: Bundle): Promise<{ result: NphiesResult; messages: NphiesResult[] }>;
}

export interface NphiesSubmitDeps {
  sender: NphiesSender;
  lifecycle: ClaimLifecycle;
  parties: NphiesParties;
  /** Stored with every transition: the node id, `bench`, a user. */
  actor: string;
  /** What an HL7 v2 DFT^P03 payload lacks for a claim (claim type, member-id system...); without it a DFT is refused. */
  dft?: DftClaimDefaults;
}

export interface NphiesSubmitInput {
  /** A FHIR Claim / CoverageEligibilityRequest / cancel Task, a Bundle holding one with its parties, or a ready NPHIES message Bundle. */
  payload: unknown;
  /** Stable across redeliveries of the same message (the store row id): seeds the Bundle's ids. */
  seed: string;
  /** When the message was received: the Bundle's timestamp, so a rebuild is identical. */
  at?: Date;
}

export interface NphiesSubmitOutcome {
  result: NphiesResult;
  /** The request message Bundle that was sent (or answered from the ledger). */
  request: Bundle;
  claim?: StoredClaim;
  /** Set when the answer says no: the node fails the message with it after recording. */
  error?: WaslError;
}

const KIND: Record<NphiesOperation, NphiesRequestKind> = {
  eligibility: 'eligibility-request',
  preauth: 'priorauth-request',
  claim: 'claim-request',
  cancel: 'cancel-request',
};

const FOCAL: Record<NphiesOperation, string> = {
  eligibility: 'CoverageEligibilityRequest',
  preauth: 'Claim',
  claim: 'Claim',
  cancel: 'Task',
};

/** A GUID-shaped id generator seeded by `seed`: the same seed gives the same sequence. */
export function seededIds(seed: string): () => string {
  let n = 0;
  return () => {
    const h = createHash('sha256').update(`${seed}:${n++}`).digest('hex');
    // RFC 4122 layout, version 5-like (name-based), variant 10xx.
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  };
}

/** The request message Bundle for `op` (built unless the payload already is one). */
export function requestBundle(op: NphiesOperation, input: NphiesSubmitInput, parties: NphiesParties, dft?: DftClaimDefaults): Bundle {
  let p = input.payload;
  if (op === 'claim' && dft && typeof p === 'string' && p.trimStart().startsWith('MSH')) p = dftClaimInput(p, dft);
  if (!p || typeof p !== 'object' || Array.isArray(p)) {
    throw new ValidationError('NPHIES_PAYLOAD', `msg.payload must be a FHIR ${FOCAL[op]}, a Bundle holding one, or the builder input for ${KIND[op]}`, { path: 'payload' });
  }
  if (isMessageBundle(p as Resource)) return p as Bundle;
  return buildNphiesRequest(KIND[op], p, parties, { newId: seededIds(input.seed), now: () => input.at ?? new Date() });
}

/** An HL7 v2 DFT^P03 text as claim-request builder input; other HL7 text is not a claim payload. */
function dftClaimInput(text: string, dft: DftClaimDefaults): unknown {
  let msg;
  try {
    msg = parseHl7(text);
  } catch {
    return text; // unreadable HL7: refused below as a bad payload
  }
  if (msg.get('MSH-9.1') !== 'DFT' || msg.get('MSH-9.2') !== 'P03') return text;
  return claimInputFromDft(msg, dft);
}

export function isMessageBundle(r: Resource): r is Bundle {
  return r.resourceType === 'Bundle' && r.type === 'message' && r.entry?.[0]?.resource?.resourceType === 'MessageHeader';
}

/** The focal resource of a message Bundle (MessageHeader.focus[0]), or the first of `type`. */
export function focalOf<T extends Resource>(bundle: Bundle, type: string): T | undefined {
  const header = bundle.entry?.[0]?.resource;
  const ref = header?.resourceType === 'MessageHeader' ? header.focus?.[0]?.reference : undefined;
  const byRef = ref ? bundle.entry?.find((e) => e.fullUrl === ref)?.resource : undefined;
  if (byRef?.resourceType === type) return byRef as T;
  return bundle.entry?.find((e) => e.resource?.resourceType === type)?.resource as T | undefined;
}

function businessIdentifier(r: { identifier?: Array<{ system?: string; value?: string }> } | undefined, path: string): BusinessIdentifier {
  const id = r?.identifier?.find((i) => i.system && i.value);
  if (!id?.system || !id.value) throw new ValidationError('NPHIES_IDENTIFIER', `${path}.identifier needs a system and a value (the business id NPHIES deduplicates on)`, { path: `${path}.identifier` });
  return { system: id.system, value: id.value };
}

function headerId(bundle: Bundle): string {
  const h = bundle.entry?.[0]?.resource;
  if (h?.resourceType !== 'MessageHeader' || !h.id) throw new ValidationError('NPHIES_BUNDLE', 'the request Bundle has no MessageHeader id', { path: 'entry[0].resource.id' });
  return h.id;
}

/**
 * The error an answer stands for, if any: rejected / fatal-error / OperationOutcome are
 * integration errors (NPHIES said no: retrying will not help); a `transient-error` response code
 * is transient. Only error codes and ids go in the message, never patient data.
 */
export function errorForResult(result: NphiesResult, op: NphiesOperation): WaslError | undefined {
  const codes = result.errors.map((e) => e.code).slice(0, 5);
  const details = { requestId: result.requestId, outcome: result.outcome, responseCode: result.responseCode, errors: result.errors };
  if (result.responseCode === 'transient-error') {
    return new TransientError('NPHIES_TRANSIENT', `NPHIES answered ${result.requestId} with transient-error ${codes.join(',')}`.trim(), { details });
  }
  const rejected = result.outcome === 'rejected' || result.outcome === 'error' || result.responseCode === 'fatal-error' || result.adjudication?.outcome === 'rejected';
  if (rejected) {
    return new IntegrationError(op === 'eligibility' ? 'NPHIES_ELIGIBILITY_ERROR' : 'NPHIES_REJECTED', `NPHIES ${op} ${result.requestId}: ${result.outcome}${codes.length ? ` (${codes.join(', ')})` : ''}`, { details });
  }
  return undefined;
}

/** Builds, validates, records, sends once and records the answer. Throws validation and client errors. */
export async function submitNphies(op: NphiesOperation, input: NphiesSubmitInput, deps: NphiesSubmitDeps): Promise<NphiesSubmitOutcome> {
  const request = requestBundle(op, input, deps.parties, deps.dft);
  validateNphiesRequest(request);
  const requestId = headerId(request);
  const bundleId = request.id ?? requestId;
  const { lifecycle, parties, actor } = deps;
  const base = { providerLicense: parties.providerLicense, payerLicense: parties.payerLicense };

  if (op === 'eligibility') {
    const focal = focalOf<CoverageEligibilityRequest>(request, 'CoverageEligibilityRequest');
    const identifier = businessIdentifier(focal, 'CoverageEligibilityRequest');
    const result = await deps.sender.send(request, { idempotencyKey: idempotencyKey(identifier, bundleId) });
    await lifecycle.recordEligibility({ ...base, identifier, requestId }, result);
    return { result, request, error: errorForResult(result, op) };
  }

  if (op === 'cancel') {
    const task = focalOf<Task>(request, 'Task');
    const target = task?.focus?.identifier;
    if (!target?.system || !target.value) throw new ValidationError('NPHIES_CANCEL_FOCUS', 'the cancel Task needs focus.identifier (the claim to cancel)', { path: 'Task.focus.identifier' });
    const claim = await lifecycle.findClaim({ system: target.system, value: target.value });
    const result = await deps.sender.send(request, { idempotencyKey: `cancel:${idempotencyKey({ system: target.system, value: target.value }, bundleId)}` });
    const error = errorForResult(result, op);
    let after = claim;
    if (!error && claim && claim.state !== 'cancelled' && result.outcome === 'complete') after = await lifecycle.cancel(claim.id, { cause: requestId, actor });
    return { result, request, claim: after, error };
  }

  const focal = focalOf<Claim>(request, 'Claim');
  const identifier = businessIdentifier(focal, 'Claim');
  const key = idempotencyKey(identifier, bundleId);
  if (op === 'preauth') {
    const result = await deps.sender.send(request, { idempotencyKey: key });
    await lifecycle.recordPreauth({ ...base, identifier, requestId }, result);
    return { result, request, error: errorForResult(result, op) };
  }

  const { claim } = await lifecycle.createClaim(
    { ...base, identifier, claimedAmount: focal?.total?.value, currency: focal?.total?.currency, preAuthRef: focal?.insurance?.[0]?.preAuthRef?.[0] },
    { cause: requestId, actor },
  );
  // A redelivery finds the claim already submitted (or answered): only a draft moves to submitted.
  let current = claim.state === 'draft' ? await lifecycle.markSubmitted(claim.id, { bundleId, requestId }, { cause: requestId, actor }) : claim;
  const result = await deps.sender.send(request, { idempotencyKey: key });
  const next = stateForResult(result);
  if (next && next !== current.state) current = await lifecycle.applyResult(current.id, result, result.requestId, actor);
  return { result, request, claim: current, error: errorForResult(result, op) };
}

/** What one poll delivered, each message already applied to the lifecycle where it names a claim. */
export interface PolledMessage {
  result: NphiesResult;
  claim?: StoredClaim;
  /** Set when the lifecycle refused the answer (an illegal transition): logged, still emitted. */
  lifecycleError?: WaslError;
}

/**
 * Sends one poll-request (NPHIES.md §8: provider-wide, no ledger: a poll is not a submission)
 * and applies each returned message to the lifecycle, correlated by the request it answers.
 */
export async function pollNphies(input: { seed: string; count: number; providerName?: string; at?: Date }, deps: NphiesSubmitDeps): Promise<PolledMessage[]> {
  // The builder wants a payer license in the parties; a poll goes to NPHIES itself, so any value does.
  const parties = { ...deps.parties, payerLicense: deps.parties.payerLicense || 'NPHIES' };
  const request = buildNphiesRequest('poll-request', { provider: { name: input.providerName ?? parties.providerLicense }, count: input.count }, parties, {
    newId: seededIds(input.seed),
    now: () => input.at ?? new Date(),
  });
  validateNphiesRequest(request);
  const { messages } = await deps.sender.poll(request);
  const out: PolledMessage[] = [];
  for (const result of messages) {
    const claim = await deps.lifecycle.findClaimByRequest(result.requestId);
    if (!claim) {
      out.push({ result });
      continue;
    }
    try {
      const next = stateForResult(result);
      const updated = next && next !== claim.state ? await deps.lifecycle.applyResult(claim.id, result, result.requestId, deps.actor) : claim;
      out.push({ result, claim: updated });
    } catch (err) {
      out.push({ result, claim, lifecycleError: toWaslError(err) });
    }
  }
  return out;
}
