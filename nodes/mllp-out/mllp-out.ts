/**
 * wasl-mllp-out: sends HL7 v2 text to an MLLP receiver (connectors/mllp/sender.ts) on a
 * persistent connection, plain or TLS, and waits for the ACK whose MSA-2 matches the MSH-10 sent.
 * AA/CA settles the receipt so the destination queue acks, and the ACK is stored as the
 * destination's response; AE/AR are integration errors (dead-lettered with the ERR text);
 * timeouts and connection failures are transient (retried by the queue, then dead-lettered).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { TransientError, ValidationError, type WaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import { MllpSender } from '../../connectors/mllp/sender';
import { readTlsFiles, type MllpTlsOptions } from '../../connectors/mllp/tls';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { destinationDelivery } from '../shared/destination';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { clearStatus, setStatus, throttledStatus } from '../shared/status';

interface MllpOutDef extends NodeDef {
  channel: string;
  destination: string;
  host: string;
  port: number | string;
  timeoutMs?: number | string;
  maxInFlight?: number | string;
  tls?: boolean | string;
  /** PEM file paths; `${ENV}` values are substituted by Node-RED. */
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsRejectUnauthorized?: boolean | string;
}

const isTrue = (v: boolean | string | undefined): boolean => v === true || v === 'true';

export = function register(RED: NodeAPI): void {
  function MllpOutNode(this: Node, config: MllpOutDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const destinationName = config.destination || 'mllp';
    const log = logger({ channel, stage: `dest.${destinationName}`, nodeId: node.id });

    // A TLS file that cannot be read is a configuration fault, not the message's: messages fail
    // as transient (retried, then dead-lettered and replayable once the file is fixed).
    let tls: MllpTlsOptions | undefined;
    let configError: WaslError | undefined;
    if (isTrue(config.tls)) {
      try {
        tls = readTlsFiles({
          ca: config.tlsCa,
          cert: config.tlsCert,
          key: config.tlsKey,
          rejectUnauthorized: config.tlsRejectUnauthorized === undefined ? true : isTrue(config.tlsRejectUnauthorized),
        });
      } catch (err) {
        configError = new TransientError('MLLP_TLS_CONFIG', (err as Error).message, { cause: err });
      }
    }
    const sender = new MllpSender({
      host: config.host,
      port: Number(config.port),
      timeoutMs: Number(config.timeoutMs) || 10_000,
      maxInFlight: Number(config.maxInFlight) || 1,
      tls,
      logger: log,
    });
    sender.on('connecting', () => setStatus(node, 'connecting', RED._('mllp-out.status.connecting')));
    sender.on('connected', () => setStatus(node, 'ok', RED._('mllp-out.status.connected')));
    sender.on('disconnected', ({ code }) => setStatus(node, code ? 'down' : 'idle', RED._(code ? 'mllp-out.status.down' : 'mllp-out.status.disconnected')));

    const status = throttledStatus(node);
    const deliver = destinationDelivery({ runtime, channel, destination: destinationName, status, statusText: (key) => RED._(`mllp-out.status.${key}`) });
    if (configError) {
      setStatus(node, 'down', RED._('mllp-out.status.tlsConfig'));
      node.error(configError.message);
    } else {
      setStatus(node, 'idle', destinationName);
      // Intake processes never receive destination messages: no connection to hold open there.
      if (runtime.role !== 'intake') sender.connect().catch(() => undefined);
    }

    node.on('input', (msg, send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error('wasl-mllp-out needs a message from a Wasl source (msg.wasl missing)'));
        return;
      }
      const m = msg as unknown as WaslMsg;
      if (configError) {
        failMessage(runtime, m, configError, done);
        return;
      }
      if (typeof m.payload !== 'string' && !Buffer.isBuffer(m.payload)) {
        failMessage(runtime, m, new ValidationError('MLLP_PAYLOAD', `wasl-mllp-out needs HL7 v2 text in msg.payload (message ${m.wasl.messageId})`), done);
        return;
      }
      const payload = m.payload;
      void deliver(m, send, done, {
        attempt: () => sender.send(payload),
        // Recorded as SENT or the message fails and is redelivered: the receiver dedupes on MSH-10.
        record: (result) => ({ sent: typeof payload === 'string' ? payload : payload.toString('utf8'), response: result.ack }),
        respond: (msg, result) => {
          msg.response = result.ack;
        },
      });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      sender.removeAllListeners();
      status.cancel();
      sender.close().then(
        () => {
          clearStatus(node);
          done();
        },
        () => done(),
      );
    });
  }
  RED.nodes.registerType('wasl-mllp-out', MllpOutNode);
};
