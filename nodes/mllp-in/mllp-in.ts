/**
 * wasl-mllp-in: an HL7 v2 MLLP listener. Each frame is parsed, stored and queued (through the
 * queue node it is wired to) before the ACK goes back; see engine/runtime/hl7-intake.ts.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import { MllpSender } from '../../connectors/mllp/sender';
import { MllpServer } from '../../connectors/mllp/server';
import { readTlsFiles, type MllpTlsOptions } from '../../connectors/mllp/tls';
import { toWaslError } from '../../common/errors';
import { Hl7Intake } from '../../engine/runtime/hl7-intake';
import { getRuntime } from '../shared/runtime';
import { clearStatus, setStatus, throttledStatus } from '../shared/status';

interface MllpInDef extends NodeDef {
  channel: string;
  port: number | string;
  host?: string;
  maxMessageBytes?: number | string;
  acceptMessageTypes?: string[] | string;
  ackAfter?: 'stored' | 'transformed' | 'sent';
  ackTimeoutMs?: number | string;
  /** Table 0211 charset for messages whose MSH-18 is empty. */
  charset?: string;
  batchAck?: 'batch' | 'per-message';
  /** Enhanced-mode application ACKs go to this MLLP listener (MSH-16). */
  appAckHost?: string;
  appAckPort?: number | string;
  appAckTimeoutMs?: number | string;
  /** Listen with TLS; PEM file paths (never the key's path in a log line). */
  tls?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsRejectUnauthorized?: boolean;
}

export = function register(RED: NodeAPI): void {
  function MllpInNode(this: Node, config: MllpInDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const log = logger({ channel, stage: 'source', nodeId: node.id });
    const accept = Array.isArray(config.acceptMessageTypes)
      ? config.acceptMessageTypes
      : String(config.acceptMessageTypes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    // The sender's own listener, for application ACKs; connected on first use.
    const appAck = config.appAckHost && Number(config.appAckPort)
      ? new MllpSender({ host: config.appAckHost, port: Number(config.appAckPort), logger: log })
      : undefined;
    const intake = new Hl7Intake(runtime, {
      applicationAck: appAck ? (ack) => appAck.notify(ack) : undefined,
      applicationAckTimeoutMs: Number(config.appAckTimeoutMs) || undefined,
      channel,
      acceptMessageTypes: accept,
      logger: log,
      submit: (msg) => node.send(msg),
      ackAfter: config.ackAfter ?? 'stored',
      ackTimeoutMs: Number(config.ackTimeoutMs) || undefined,
      charset: config.charset || undefined,
      batchAck: config.batchAck ?? 'batch',
    });
    let received = 0;
    const status = throttledStatus(node);
    const maxMessageBytes = Number(config.maxMessageBytes) || 16 * 1024 * 1024;
    let tls: MllpTlsOptions | undefined;
    const makeServer = (): MllpServer =>
      new MllpServer({
        tls,
        port: Number(config.port),
        host: config.host || '0.0.0.0',
        maxMessageBytes,
        logger: log,
        onOversize: (head, info) => intake.rejectOversize(head, info.bytes, maxMessageBytes),
        handler: async (frame) => {
          const ack = await intake.handle(frame);
          received += 1;
          status.set('ok', `${received}`);
          return ack;
        },
      });
    /** The listener; undefined while the channel is paused (a pause closes it, a resume opens a new one). */
    let server: MllpServer | undefined;
    try {
      tls = config.tls
        ? readTlsFiles({ ca: config.tlsCa, cert: config.tlsCert, key: config.tlsKey, rejectUnauthorized: config.tlsRejectUnauthorized })
        : undefined;
      server = makeServer();
    } catch (err) {
      // Unreadable TLS files or a TLS listener without cert/key: say so on the channel, start nothing.
      const e = toWaslError(err);
      runtime.channelHealth.set(channel, { state: 'error', lastError: { code: e.code, message: e.message, at: new Date().toISOString() } });
      setStatus(node, 'down', e.message);
      node.error(`MLLP listener not started: ${e.message}`);
      return;
    }
    if (runtime.role === 'worker') {
      // Worker processes leave the listening to the intake processes.
      setStatus(node, 'idle', RED._('mllp-in.status.worker'));
      return;
    }

    /** The bind in progress or done; a pause or close waits for it before closing the listener. */
    let opening: Promise<void> = Promise.resolve();
    /** The last bind failed (port taken): a start tries again. */
    let failed = false;
    /** Binds a listener; failures show on the channel's health (a resume may find the port taken). */
    const open = (listener: MllpServer): Promise<void> => {
      server = listener;
      failed = false;
      runtime.channelHealth.set(channel, { state: 'starting' });
      setStatus(node, 'connecting', RED._('mllp-in.status.starting'));
      opening = listener.listen().then(
        (port) => {
          if (server !== listener) return; // paused or closed while binding: that path closes it
          runtime.channelHealth.set(channel, { state: 'running' });
          setStatus(node, 'idle', RED._('mllp-in.status.listening', { port }));
          log.info('MLLP listener started', { port });
        },
        (err: Error & { code?: string }) => {
          failed = true;
          runtime.channelHealth.set(channel, {
            state: 'error',
            lastError: { code: err.code ?? 'LISTEN_FAILED', message: err.message, at: new Date().toISOString() },
          });
          setStatus(node, 'down', RED._('mllp-in.status.listenFailed'));
          const why = /EADDRINUSE/.test(`${err.code} ${err.message}`) ? 'the port is already in use' : err.message;
          node.error(`MLLP listener could not start on port ${config.port}: ${why}`);
        },
      );
      return opening;
    };
    /** Closes a listener once its bind settled (MllpServer.close before the bind would leave it bound). */
    const shut = async (listener: MllpServer | undefined): Promise<void> => {
      await opening;
      await listener?.close();
    };

    // Pause closes the listener rather than holding connections open: a sender then sees
    // "connection refused", which every interface engine treats as "receiver down, keep the
    // message and retry", and nothing is ACKed that this channel would not process. Frames
    // already being handled still get their ACK (MllpServer.close drains them first).
    let closed = false;
    let paused = false;
    const unregister = runtime.channelControl?.registerSource(channel, {
      pause: async () => {
        paused = true;
        const listener = server;
        server = undefined;
        if (!listener) return;
        setStatus(node, 'idle', RED._('mllp-in.status.paused'));
        await shut(listener);
        log.info('MLLP listener paused', {});
      },
      resume: async () => {
        if (closed) return;
        paused = false;
        if (!server || failed) await open(makeServer());
      },
    });
    if (paused) setStatus(node, 'idle', RED._('mllp-in.status.paused'));
    else void open(server);

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      unregister?.();
      runtime.channelHealth.set(channel, { state: 'stopped' });
      void appAck?.close();
      const listener = server;
      server = undefined;
      shut(listener).then(
        () => {
          status.cancel();
          clearStatus(node);
          done();
        },
        () => done(),
      );
    });
  }
  RED.nodes.registerType('wasl-mllp-in', MllpInNode);
};
