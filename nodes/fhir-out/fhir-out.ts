/**
 * wasl-fhir-out: posts a FHIR transaction Bundle to a FHIR server (connectors/fhir/client.ts).
 * Success settles the receipt so the destination queue acks; a 4xx outcome is an integration
 * error (dead-lettered with the server's answer); 5xx, 429 and timeouts are transient (retried).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Bundle } from '@medplum/fhirtypes';
import { FhirDestination } from '../../connectors/fhir/client';
import { logger } from '../../common/logger';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { clearStatus, throttledStatus } from '../shared/status';

interface FhirOutDef extends NodeDef {
  channel: string;
  destination: string;
  url: string;
  timeoutMs?: number | string;
  maxTransactionEntries?: number | string;
}

/** The built-in server is Medplum's fhir-router: it refuses conditional transactions over 8 entries. */
const BUILTIN_MAX_TRANSACTION_ENTRIES = 8;

export = function register(RED: NodeAPI): void {
  function FhirOutNode(this: Node, config: FhirOutDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const destinationName = config.destination || 'fhir';
    const builtin = !config.url || config.url === 'builtin';
    const baseUrl = builtin ? runtime.builtinFhirUrl : config.url;
    const client = new FhirDestination({
      baseUrl,
      maxTransactionEntries: Number(config.maxTransactionEntries) || (builtin ? BUILTIN_MAX_TRANSACTION_ENTRIES : undefined),
      timeoutMs: Number(config.timeoutMs) || 10_000,
      logger: logger({ channel, stage: `dest.${destinationName}`, nodeId: node.id }),
    });
    let sent = 0;
    const status = throttledStatus(node);
    status.set('idle', destinationName);

    node.on('input', (msg, send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error('wasl-fhir-out needs a message from a Wasl source (msg.wasl missing)'));
        return;
      }
      const m = msg as unknown as WaslMsg;
      status.set('sending', RED._('fhir-out.status.sending'));
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      const deliver = async (): Promise<void> => {
        let result;
        try {
          result = await client.postTransaction(m.payload as Bundle, { correlationId: m.wasl.correlationId });
        } catch (err) {
          const e = failMessage(runtime, m, err, done);
          runtime.metrics.destinationLatency.observe({ channel, destination: destinationName, result: e.kind }, seconds());
          status.set(e.kind === 'transient' ? 'retrying' : 'rejected', RED._(`fhir-out.status.${e.kind}`));
          return;
        }
        runtime.metrics.destinationLatency.observe({ channel, destination: destinationName, result: 'ok' }, seconds());
        try {
          await runtime.store.update(m.wasl.messageId, {
            status: 'SENT',
            destination: destinationName,
            sent: JSON.stringify(m.payload),
            response: JSON.stringify(result.bundle),
          });
        } catch (err) {
          // Sent but not recorded: fail so the queue redelivers; the conditional writes make the resend harmless.
          failMessage(runtime, m, err, done);
          return;
        }
        runtime.metrics.messages.inc({ channel, outcome: 'sent' });
        sent += 1;
        status.set('ok', `${sent}`);
        runtime.receipts.complete(m.wasl.receipt);
        m.payload = result.bundle;
        send(m as never);
        done();
      };
      void deliver();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(client.close()).then(
        () => {
          status.cancel();
          clearStatus(node);
          done();
        },
        () => done(),
      );
    });
  }
  RED.nodes.registerType('wasl-fhir-out', FhirOutNode);
};
