/**
 * wasl-fhir-out: posts a FHIR transaction Bundle to a FHIR server (connectors/fhir/client.ts).
 * Success settles the receipt so the destination queue acks; a 4xx outcome is an integration
 * error (dead-lettered with the server's answer); 5xx, 429 and timeouts are transient (retried).
 *
 * With `writeBack` it writes what a channel produced back to an EHR (draft Claims,
 * DocumentReferences; connectors/fhir/write-back.ts): one resource or a transaction Bundle, each
 * resource validated first (invalid: VALIDATION_FHIR_WRITE_BACK_INVALID with the OperationOutcome,
 * dead-lettered, never sent), creates made conditional on the business identifier so a resend
 * never duplicates. It goes through FhirConnectionClient (connectors/fhir/fhir-client.ts).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { Bundle } from '@medplum/fhirtypes';
import { FhirDestination } from '../../connectors/fhir/client';
import { fhirClients } from '../../connectors/fhir/client-registry';
import type { AuthProvider } from '../../connectors/fhir/connection';
import { FhirConnectionClient } from '../../connectors/fhir/fhir-client';
import { planWriteBack } from '../../connectors/fhir/write-back';
import { validateFhir } from '../../transformers/fhir/validate';
import { logger } from '../../common/logger';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { destinationDelivery } from '../shared/destination';
import { getRuntime } from '../shared/runtime';
import { clearStatus, throttledStatus } from '../shared/status';
import type { FhirServerConfigNode } from '../fhir-server/connection-config';

interface FhirOutDef extends NodeDef {
  channel: string;
  destination: string;
  url: string;
  timeoutMs?: number | string;
  maxTransactionEntries?: number | string;
  /** Write-back mode: a resource or transaction Bundle, validated and sent with conditional creates. */
  writeBack?: boolean | string;
  /** A `wasl-fhir-server` config node (URL, auth, timeout, rate limit) used instead of `url`. */
  server?: string;
}

/** What a write-back returns: the server's resource (or transaction-response) and status. */
interface WriteBackResult {
  status: number;
  body: unknown;
}

/** No credentials: the URL form reaches servers on a trusted network (a `server` config node carries auth). */
const NO_AUTH: AuthProvider = { headers: async () => ({}), invalidate: async () => false };

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
    const writeBack = config.writeBack === true || config.writeBack === 'true';
    const maxTransactionEntries = Number(config.maxTransactionEntries) || (builtin ? BUILTIN_MAX_TRANSACTION_ENTRIES : undefined);
    const log = logger({ channel, stage: `dest.${destinationName}`, nodeId: node.id });
    const timeoutMs = Number(config.timeoutMs) || 10_000;
    const server = config.server ? (RED.nodes.getNode(config.server) as FhirServerConfigNode | null) : null;
    // Without a config node, the URL form keeps the FhirDestination it always had for transactions.
    const client = server ? undefined : new FhirDestination({ baseUrl, maxTransactionEntries, timeoutMs, logger: log });

    // Write-back, or any send through a config node, goes through FhirConnectionClient: one attempt
    // per delivery, because the destination queue owns the backoff and Retry-After (retrying here
    // too would multiply the attempts); the breaker still fails fast while the EHR is down.
    let writer: Promise<FhirConnectionClient> | undefined;
    const releases: Array<() => void> = [];
    let closed = false;
    const getWriter = (): Promise<FhirConnectionClient> => {
      if (writer) return writer;
      const building = (async () => {
        const connection = server ? await server.getConnection() : { id: `${channel}.${destinationName}`, baseUrl, timeoutMs };
        const auth = server ? await server.getAuthProvider() : NO_AUTH;
        const w = new FhirConnectionClient({ connection, auth, retry: { maxAttempts: 1 }, maxTransactionEntries, logger: log });
        releases.push(fhirClients.bind(channel, w), runtime.metrics.observeFhirClient(w), () => void w.close());
        if (closed) while (releases.length) releases.pop()?.(); // closed while it was being built
        return w;
      })();
      // A config that failed (a missing secret) is not cached: the next delivery tries again after a fix.
      building.catch(() => {
        if (writer === building) writer = undefined;
      });
      writer = building;
      return building;
    };
    if (config.server && !server) node.warn(RED._('fhir-out.errors.noServer'));
    if (writeBack || server) void getWriter().catch(() => undefined); // show the circuit in the API from the start

    /** Validates a write-back payload (throws ValidationError before sending anything) and sends it. */
    const sendWithClient = async (payload: unknown, correlationId: string): Promise<WriteBackResult> => {
      const ctx = { correlationId };
      if (!writeBack) {
        const r = await (await getWriter()).transaction(payload as Bundle, ctx);
        return { status: r.status, body: r.bundle };
      }
      const plan = planWriteBack(payload, validateFhir);
      const w = await getWriter();
      if (plan.kind === 'transaction') {
        const r = await w.transaction(plan.bundle, ctx);
        return { status: r.status, body: r.bundle };
      }
      const r = plan.kind === 'create' ? await w.create(plan.resource, { ifNoneExist: plan.ifNoneExist }, ctx) : await w.update(plan.resource, {}, ctx);
      return { status: r.status, body: r.resource };
    };
    const status = throttledStatus(node);
    status.set('idle', destinationName);
    const deliver = destinationDelivery({ runtime, channel, destination: destinationName, status, statusText: (key) => RED._(`fhir-out.status.${key}`) });

    node.on('input', (msg, send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error('wasl-fhir-out needs a message from a Wasl source (msg.wasl missing)'));
        return;
      }
      const m = msg as unknown as WaslMsg;
      void deliver<WriteBackResult>(m, send, done, {
        attempt: async () => {
          if (writeBack || !client) return sendWithClient(m.payload, m.wasl.correlationId);
          const r = await client.postTransaction(m.payload as Bundle, { correlationId: m.wasl.correlationId });
          return { status: r.status, body: r.bundle };
        },
        // Recorded as SENT or the message fails and is redelivered: the conditional writes make the resend harmless.
        record: (result) => ({ sent: JSON.stringify(m.payload), response: JSON.stringify(result.body) }),
        respond: (msg, result) => {
          msg.payload = result.body;
        },
        failureStatus: (e) => (e.code === 'TRANSIENT_FHIR_CIRCUIT_OPEN' ? ['down', RED._('fhir-out.status.circuitOpen')] : undefined),
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      while (releases.length) releases.pop()?.();
      writer = undefined;
      Promise.resolve(client?.close()).then(
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
