/**
 * MLLP listener (the source side of an HL7 v2 channel). It accepts many connections, hands each
 * frame to a handler and writes the handler's answer (the ACK) back on the same connection, in
 * frame order.
 *
 * Failure policy, and why:
 * - A handler that throws gets no response: the server logs the error code (never content), writes
 *   the ACKs owed for earlier frames, and closes the connection. A NAK would tell the sender the
 *   message is bad; an exception here usually means we could not store it (database, broker), so
 *   the honest answer is silence and a close, after which the sender resends (HL7V2.md §1). Frames
 *   that followed on that connection are not ACKed either and will be resent: dedupe on MSH-10.
 * - A frame over `maxMessageBytes` emits `oversize` with a ValidationError. If `onOversize` returns
 *   a response (an AR NAK built from the MSH at the start of the frame), it is sent in that
 *   frame's place and the connection stays open: a NAK stops the sender resending a message that
 *   can never fit. Otherwise the connection is closed like a handler failure.
 * - Socket errors (ECONNRESET, EPIPE) are logged at debug level and emitted as `error` only when
 *   someone listens, so a peer hanging up can never crash the process.
 */
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { TransientError, ValidationError, WaslError, toWaslError } from '../../common/errors';
import { logger as createLogger } from '../../common/logger';
import { ServerConnection } from './server-connection';
import type { MllpTlsOptions } from './tls';
import type { ConnectionInfo, MllpHandler, MllpLogger, MllpOversizeHandler } from './types';

export type { ConnectionInfo, MllpHandler, MllpLogger, MllpOversizeHandler } from './types';

/** Default largest frame: room for embedded documents (HL7V2.md §10.14) without unbounded memory. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Default time {@link MllpServer.close} waits for running handlers before dropping connections. */
export const DEFAULT_CLOSE_GRACE_MS = 5000;
/** Default frames awaiting a response on one connection before it stops reading. */
export const DEFAULT_MAX_PENDING_PER_CONNECTION = 1024;

export interface MllpServerOptions {
  /** TCP port; 0 picks a free one (see the value {@link MllpServer.listen} resolves with). */
  port: number;
  /** Interface to bind; defaults to all interfaces, as Node does. */
  host?: string;
  /** Largest payload per frame in bytes. Default 16 MiB. */
  maxMessageBytes?: number;
  /** Close a connection that sent nothing for this long and is owed no ACK. Default: never. */
  idleTimeoutMs?: number;
  /** Connections beyond this are refused at accept. Default: no limit. */
  maxConnections?: number;
  /** Frames awaiting a response on one connection before reading pauses. Default 1024. */
  maxPendingPerConnection?: number;
  /** How long {@link MllpServer.close} waits for running handlers. Default 5 s. */
  closeGraceMs?: number;
  /**
   * Listen with TLS (node:tls): `cert` and `key` are required. With `ca`, clients must present a
   * certificate signed by it (mutual TLS; `rejectUnauthorized: false` only asks for one).
   * Absent: plain TCP.
   */
  tls?: MllpTlsOptions;
  /** Defaults to the Wasl logger with `stage: 'mllp-server'`. */
  logger?: MllpLogger;
  handler: MllpHandler;
  /** Answer for an oversize frame; when absent the connection is closed instead. */
  onOversize?: MllpOversizeHandler;
}

/** Events for status dots and metrics. Payloads hold ids and sizes only. */
export interface MllpServerEvents {
  listening: [port: number];
  connection: [info: ConnectionInfo];
  disconnect: [info: ConnectionInfo];
  /** A frame was received and handed to the handler. */
  message: [info: ConnectionInfo & { bytes: number }];
  oversize: [info: ConnectionInfo & { bytes: number; error: ValidationError }];
  /** Handler failures and socket errors; emitted only when a listener is attached. */
  error: [err: WaslError, info?: ConnectionInfo];
  close: [];
}

/**
 * MLLP server. `listen()` starts it, `close()` drains it. See the file comment for what happens to
 * failures.
 *
 * @example
 * const server = new MllpServer({ port: 2575, handler: async (msg) => storeAndBuildAck(msg) });
 * const port = await server.listen();
 */
export class MllpServer extends EventEmitter<MllpServerEvents> {
  private readonly opts: MllpServerOptions;
  private readonly log: MllpLogger;
  private readonly server: Server;
  private readonly live = new Set<ServerConnection>();
  private nextId = 0;
  /** Distinguishes this process's connection ids from an earlier run's in the logs. */
  private readonly idPrefix = Date.now().toString(36);
  private closing: Promise<void> | undefined;

  constructor(opts: MllpServerOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger ?? createLogger({ stage: 'mllp-server' });
    this.server = opts.tls ? this.createTlsServer(opts.tls) : createServer({ noDelay: true }, (socket) => this.accept(socket));
    if (opts.maxConnections !== undefined) this.server.maxConnections = opts.maxConnections;
    this.server.on('drop', (data) => {
      this.log.warn('mllp connection refused: maxConnections reached', {
        remotePort: data?.remotePort,
        maxConnections: opts.maxConnections,
      });
    });
  }

  /** Open connections. */
  get connections(): number {
    return this.live.size;
  }

  /**
   * Starts listening and resolves with the bound port.
   *
   * @throws TransientError when the port cannot be bound (EADDRINUSE, EACCES).
   */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        const code = (err as NodeJS.ErrnoException).code ?? 'LISTEN';
        reject(new TransientError(`MLLP_LISTEN_${code}`, `MLLP listen on port ${this.opts.port} failed`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(this.opts.port, this.opts.host, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.report(toWaslError(err)));
        const port = (this.server.address() as { port: number }).port;
        this.log.info('mllp server listening', { port, tls: this.opts.tls !== undefined });
        this.emit('listening', port);
        resolve(port);
      });
    });
  }

  /**
   * Stops accepting, lets running handlers finish and their ACKs go out (up to `closeGraceMs`),
   * then closes every connection. Frames that arrive meanwhile are not handled and get no ACK, so
   * their senders resend. Safe to call more than once; later calls return the same promise.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
    const conns = [...this.live];
    const drained = Promise.all(conns.map((c) => c.drain()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS);
    });
    const outcome = await Promise.race([drained, grace]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const unanswered = conns.reduce((n, c) => n + c.pending, 0);
      this.log.warn('mllp close grace period over; dropping unanswered frames', { unanswered });
    }
    // Drained connections flush and end; the rest are cut (their handlers' ACKs cannot be sent).
    await Promise.all(conns.map((c) => (c.pending === 0 ? c.end() : c.destroy())));
    await stopped;
    this.log.info('mllp server closed', {});
    this.emit('close');
  }

  private createTlsServer(tls: MllpTlsOptions): Server {
    if (!tls.cert || !tls.key) {
      throw new ValidationError('MLLP_TLS_CONFIG', 'an MLLP listener with TLS needs tls.cert and tls.key');
    }
    const server = createTlsServer(
      {
        cert: tls.cert,
        key: tls.key,
        ca: tls.ca,
        requestCert: tls.ca !== undefined,
        rejectUnauthorized: tls.ca !== undefined && (tls.rejectUnauthorized ?? true),
        noDelay: true,
      },
      (socket: TLSSocket) => this.accept(socket),
    );
    // A failed handshake (untrusted client certificate, plain TCP on a TLS port) never becomes a
    // connection: log its code, and never let it throw.
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      this.log.warn('mllp tls handshake failed', { code: err.code, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort });
      this.report(toWaslError(err));
    });
    return server;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const id = `${this.idPrefix}-${++this.nextId}`;
    const conn = new ServerConnection(socket, id, {
      maxMessageBytes: this.opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxPending: this.opts.maxPendingPerConnection ?? DEFAULT_MAX_PENDING_PER_CONNECTION,
      idleTimeoutMs: this.opts.idleTimeoutMs,
      handler: this.opts.handler,
      onOversize: this.opts.onOversize,
      logger: this.log,
      hooks: {
        message: (info, bytes) => {
          // Hot path: build the event object only when someone counts messages.
          if (this.listenerCount('message') > 0) this.emit('message', { ...info, bytes });
        },
        oversize: (info, bytes, error) => this.emit('oversize', { ...info, bytes, error }),
        error: (err, info) => this.report(err, info),
        closed: (c) => {
          this.live.delete(c);
          this.log.debug('mllp connection closed', c.info);
          this.emit('disconnect', c.info);
        },
      },
    });
    this.live.add(conn);
    this.log.debug('mllp connection accepted', conn.info);
    this.emit('connection', conn.info);
  }

  /** An 'error' event with no listener would throw and crash the process, hence the check. */
  private report(err: WaslError, info?: ConnectionInfo): void {
    if (this.listenerCount('error') > 0) this.emit('error', err, info);
  }
}
