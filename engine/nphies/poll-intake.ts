/**
 * How a polled NPHIES message enters a channel (wasl-nphies-poll): the lifecycle was already
 * updated by pollNphies; here the message is stored as a row (deduplicated on the response's
 * MessageHeader id), submitted into the flow (the `<channel>.in` queue) and accepted once the
 * queue confirmed it, as every Wasl source does.
 *
 * What flows on is a FHIR transaction Bundle that PUTs the delivered resources (ClaimResponse,
 * CoverageEligibilityResponse, CommunicationRequest, PaymentReconciliation) by id, so a `fhir`
 * destination can keep them; `msg.nphies` carries the parsed result.
 *
 * NPHIES drops a message from its queue once delivered (NPHIES.md §8): the lifecycle update
 * (durable) comes first; a row that could not be queued stays in the store as not accepted.
 */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { toWaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import type { NphiesResult } from '../../connectors/nphies/types';
import { messageIdFor } from '../runtime/hl7-intake';
import type { WaslRuntime } from '../runtime/types';
import type { WaslMsg } from '../runtime/wasl-msg';
import type { PolledMessage } from './submit';

const SENDER = 'nphies';
const KEPT = new Set(['ClaimResponse', 'CoverageEligibilityResponse', 'CommunicationRequest', 'PaymentReconciliation', 'Task', 'OperationOutcome']);

/** The delivered resources of a response message as a transaction of PUTs (pure). */
export function responseAsTransaction(response: Bundle | undefined): Bundle {
  const entry: BundleEntry[] = [];
  for (const e of response?.entry ?? []) {
    const r = e.resource as (Resource & { id?: string }) | undefined;
    if (!r || !KEPT.has(r.resourceType) || !r.id) continue;
    entry.push({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

/** The response's own MessageHeader id: what a second delivery of the same message repeats. */
export function responseIdOf(result: NphiesResult): string {
  const h = result.bundle?.entry?.[0]?.resource;
  return h?.resourceType === 'MessageHeader' && h.id ? h.id : `${result.requestId}:${result.event ?? 'response'}`;
}

export interface PollIntakeOptions {
  runtime: WaslRuntime;
  channel: string;
  logger: Logger;
  submit(msg: WaslMsg): void;
  queueTimeoutMs?: number;
}

/** Stores and queues one polled message; resolves `false` when it was a duplicate already accepted. */
export async function intakePolled(polled: PolledMessage, opts: PollIntakeOptions): Promise<boolean> {
  const { runtime, channel } = opts;
  const controlId = `nphies:${responseIdOf(polled.result)}`;
  const id = messageIdFor(channel, SENDER, controlId);
  const received = await runtime.store.receive({
    id,
    channel,
    correlationId: id,
    sender: SENDER,
    controlId,
    messageType: polled.result.event ?? 'nphies-response',
    raw: JSON.stringify(polled.result.bundle ?? {}),
  });
  if (received.duplicate && received.accepted) {
    runtime.metrics.messages.inc({ channel, outcome: 'duplicate' });
    return false;
  }
  const receipt = runtime.receipts.open(opts.queueTimeoutMs ?? 30_000);
  const { bundle: _bundle, ...summary } = polled.result;
  try {
    opts.submit({
      payload: responseAsTransaction(polled.result.bundle),
      nphies: summary,
      ...(polled.claim ? { nphiesClaim: { id: polled.claim.id, state: polled.claim.state } } : {}),
      wasl: { correlationId: received.correlationId, messageId: received.id, channel, receipt: receipt.id, attempt: 1 },
    });
  } catch (err) {
    runtime.receipts.fail(receipt.id, err);
  }
  await receipt.settled;
  await runtime.store.markAccepted(received.id).catch((err) => opts.logger.warn('could not mark message accepted', { error: toWaslError(err).code }));
  runtime.metrics.messages.inc({ channel, outcome: 'received' });
  return true;
}
