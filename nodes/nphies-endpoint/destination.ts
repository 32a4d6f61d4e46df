/**
 * The one implementation behind wasl-nphies-eligibility, -preauth, -claim and -cancel: a thin
 * adapter over engine/nphies/submit.ts (build, validate, send once per idempotency key, record in
 * the claim lifecycle). Each node file registers it under its own type and operation.
 *
 * Settling, as wasl-fhir-out: the answer is stored as the destination's response, the receipt is
 * completed (the destination queue acks) and `msg.nphies` carries the NphiesResult. A rejection is
 * recorded first, then fails the message with an integration error (dead-lettered at once); a bad
 * payload is a validation error; timeouts, 5xx, 429 and an open circuit are transient (retried by
 * the queue, then dead-lettered). Every failure goes through done(err), so Catch nodes see `code`.
 */
import type { Node, NodeAPI } from 'node-red';
import { toWaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import type { NphiesClient } from '../../connectors/nphies/client';
import { submitNphies, type NphiesOperation } from '../../engine/nphies/submit';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { clearStatus, setStatus, throttledStatus } from '../shared/status';
import { dftDefaultsFrom, lifecycleOf, resolveEndpoint, trackBreaker, type NphiesNodeDef } from './endpoint-config';

/** Registers `type` as an NPHIES destination node doing `op`. */
export function registerNphiesDestination(RED: NodeAPI, type: string, op: NphiesOperation): void {
  const i18n = type.replace(/^wasl-/, '');
  function NphiesDestinationNode(this: Node, config: NphiesNodeDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const destinationName = config.destination || `nphies-${op}`;
    const log = logger({ channel, stage: `dest.${destinationName}`, nodeId: node.id });
    const status = throttledStatus(node);

    let client: NphiesClient | undefined;
    let owned = false;
    let setupError: unknown;
    let deps: Parameters<typeof submitNphies>[2] | undefined;
    try {
      const ep = resolveEndpoint(RED, config, runtime, log, { payerRequired: true });
      client = ep.client;
      owned = ep.owned;
      deps = { sender: ep.client, lifecycle: lifecycleOf(runtime), parties: ep.parties, actor: `node:${node.id}`, dft: op === 'claim' ? dftDefaultsFrom(config) : undefined };
    } catch (err) {
      // A missing license or secret: every message fails with this (validation, dead-lettered) until fixed.
      setupError = err;
      setStatus(node, 'down', RED._(`${i18n}.status.misconfigured`));
      node.error(`NPHIES endpoint not usable: ${toWaslError(err).message}`);
    }
    const onBreaker = (state: string) => {
      if (state === 'open') setStatus(node, 'down', RED._(`${i18n}.status.circuitOpen`));
      else if (state === 'closed') setStatus(node, 'idle', RED._(`${i18n}.status.idle`));
    };
    client?.on('breaker', onBreaker);
    const untrack = client ? trackBreaker(channel, client) : undefined;
    if (deps) setStatus(node, 'idle', RED._(`${i18n}.status.idle`));

    let sent = 0;
    node.on('input', (msg, send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error(`${type} needs a message from a Wasl source (msg.wasl missing)`));
        return;
      }
      const m = msg as unknown as WaslMsg;
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      const deliver = async (): Promise<void> => {
        if (!deps) {
          failMessage(runtime, m, setupError, done);
          return;
        }
        status.set('sending', RED._(`${i18n}.status.sending`));
        let outcome: Awaited<ReturnType<typeof submitNphies>>;
        try {
          // The row's receipt time makes a redelivery rebuild the identical Bundle (same ids, same timestamp).
          const row = await runtime.store.get(m.wasl.messageId).catch(() => undefined);
          outcome = await submitNphies(op, { payload: m.payload, seed: `${channel}:${m.wasl.messageId}`, at: row?.receivedAt }, deps);
        } catch (err) {
          const e = failMessage(runtime, m, err, done);
          runtime.metrics.destinationLatency.observe({ channel, destination: destinationName, result: e.kind }, seconds());
          if (e.code === 'TRANSIENT_NPHIES_CIRCUIT_OPEN' || client?.breakerState() === 'open') status.set('down', RED._(`${i18n}.status.circuitOpen`));
          else status.set(e.kind === 'transient' ? 'retrying' : 'rejected', RED._(`${i18n}.status.${e.kind}`));
          log.warn('NPHIES exchange failed', { code: e.code, correlationId: m.wasl.correlationId });
          return;
        }
        const { result, request, error } = outcome;
        runtime.metrics.destinationLatency.observe({ channel, destination: destinationName, result: error ? error.kind : 'ok' }, seconds());
        // The answer is recorded whatever it says: the bundle for the store, the parsed result on the message.
        const { bundle: responseBundle, ...summary } = result;
        try {
          await runtime.store.update(m.wasl.messageId, {
            status: error ? 'ERROR' : 'SENT',
            destination: destinationName,
            sent: JSON.stringify(request),
            response: JSON.stringify(responseBundle ?? summary),
            ...(error ? { error: error.toJSON() } : {}),
          });
        } catch (err) {
          // Answered but not recorded: fail so the queue redelivers; the ledger answers the resend without sending.
          failMessage(runtime, m, err, done);
          return;
        }
        m.nphies = summary;
        if (outcome.claim) m.nphiesClaim = { id: outcome.claim.id, state: outcome.claim.state };
        if (error) {
          status.set('rejected', RED._(`${i18n}.status.${error.kind}`));
          failMessage(runtime, m, error, done);
          return;
        }
        runtime.metrics.messages.inc({ channel, outcome: 'sent' });
        sent += 1;
        status.set('ok', `${sent} ${result.outcome}`);
        runtime.receipts.complete(m.wasl.receipt);
        send(m as never);
        done();
      };
      void deliver();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      client?.off('breaker', onBreaker);
      untrack?.();
      status.cancel();
      Promise.resolve(owned ? client?.close() : undefined).then(
        () => {
          clearStatus(node);
          done();
        },
        () => done(),
      );
    });
  }
  RED.nodes.registerType(type, NphiesDestinationNode);
}
