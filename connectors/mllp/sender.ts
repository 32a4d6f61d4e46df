/**
 * MLLP sender (the destination side): sends HL7 v2 messages on one persistent connection, plain
 * TCP or TLS, and settles each send with the acknowledgment whose MSA-2 equals the MSH-10 it sent.
 *
 * Why MSA-2 and not position (as {@link MllpClient} does): a send that timed out still gets its
 * ACK later, on the same connection. Matched by position, that late ACK would be taken as the
 * answer to the next message, which may have been rejected. Matched by MSA-2 it is recognised as
 * late, counted and dropped, and the connection can stay open (HAPI's initiator does the same).
 *
 * Outcomes, decided here once (STYLE.md "Errors"):
 * - AA / CA: resolved with the ACK text.
 * - AE / AR / CE / CR: IntegrationError `MLLP_NAK`, details = MSA-1, MSA-2, MSA-3, the ERR entries
 *   and the ACK text. Not retried: the receiver read the message and refused it.
 *   Exception: AR / CR whose ERR-3 is 206 (record locked) or 207 (application internal error) is
 *   a TransientError `MLLP_NAK_RETRY`: the receiver asks for a resend (a Wasl listener answers
 *   exactly this when it could not store a message; docs/architecture.md, "The ACK guarantee").
 * - No ACK within `timeoutMs`: TransientError `MLLP_TIMEOUT`. After `recycleAfterTimeouts` timeouts
 *   in a row with no ACK in between, the connection is presumed dead and recycled.
 * - Connection refused, reset or closed before the ACK: TransientError (`ECONNREFUSED`,
 *   `MLLP_CLOSED`, ...). The next send reconnects; failed connects back off exponentially, and
 *   sends during the back-off fail fast with `MLLP_UNAVAILABLE`.
 * - TLS: an untrusted certificate is TransientError `MLLP_TLS_CERT` (retried until the queue gives
 *   up: a renewed certificate or corrected `ca` lets the dead letters be replayed).
 * - An ACK message given to send: ValidationError `MLLP_SEND_ACK` ("never answer an ACK with an
 *   ACK", HL7V2.md §5). A message without a readable MSH: ValidationError `HL7_PARSE`.
 *
 * Frames the peer sends that answer nothing in flight (late, unknown MSA-2, unreadable, oversize)
 * are discarded and counted, never answered: the sender never acknowledges anything.
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { IntegrationError, TransientError, ValidationError, WaslError, toWaslError } from '../../common/errors';
import { logger as createLogger } from '../../common/logger';
import { readHl7Header } from '../../transformers/hl7v2/parse';
import { readAck, type AckSummary } from './ack';
import { frame, MllpFramer, type FramerEvent } from './framer';
import { isCertificateError, type MllpTlsOptions } from './tls';
import type { MllpLogger } from './types';

/** Default time to wait for each ACK (and for a connection). */
export const DEFAULT_SENDER_TIMEOUT_MS = 10_000;
/** Default largest ACK frame accepted. */
export const DEFAULT_SENDER_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Timed-out control ids remembered to tell a late ACK from an unknown one. */
const LATE_MEMORY = 1000;

export interface MllpSenderOptions {
  host: string;
  port: number;
  /** Time to wait for each ACK, in ms. Default 10 s. */
  timeoutMs?: number;
  /** Time to wait for the TCP connect and TLS handshake. Default `timeoutMs`. */
  connectTimeoutMs?: number;
  /**
   * Messages awaiting their ACK at once. Default 1: send the next message only after the ACK, as
   * original-mode receivers expect (HL7V2.md §1). More pipelines on the one connection; MSA-2
   * matching keeps that correct, but the receiver must accept it.
   */
  maxInFlight?: number;
  /** Consecutive ACK timeouts after which the connection is closed and reopened. Default 2. */
  recycleAfterTimeouts?: number;
  /** First wait after a failed connect; doubles per failure up to `reconnectMaxMs`. Default 500. */
  reconnectInitialMs?: number;
  /** Default 30 s. */
  reconnectMaxMs?: number;
  /** Largest ACK accepted, in bytes. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Connect with TLS (node:tls). Absent: plain TCP. */
  tls?: MllpTlsOptions;
  /** Defaults to the Wasl logger with `stage: 'mllp-sender'`. */
  logger?: MllpLogger;
}

/** A positive acknowledgment. */
export interface MllpSendResult {
  /** The ACK as received (UTF-8). */
  ack: string;
  /** MSA-1: `AA` or `CA`. */
  code: 'AA' | 'CA';
  /** MSH-10 of the message sent, equal to the ACK's MSA-2. */
  controlId: string;
  /** MSA-3, when given. */
  text?: string;
}

/** Counters since construction (ids and counts only). */
export interface MllpSenderStats {
  sent: number;
  acked: number;
  nakked: number;
  timeouts: number;
  /** ACKs for a send that had already timed out. */
  late: number;
  /** Frames that answer nothing we sent: unknown MSA-2, no MSA, not HL7, or oversize. */
  unmatched: number;
  connects: number;
}

export type MllpDiscardReason = 'late' | 'unmatched' | 'unreadable' | 'oversize';

/** Events for status dots and metrics. Payloads hold ids and codes only. */
export interface MllpSenderEvents {
  connecting: [];
  connected: [];
  disconnected: [info: { code?: string }];
  discarded: [info: { reason: MllpDiscardReason; controlId?: string }];
}

interface Connection {
  socket: Socket;
  framer: MllpFramer;
}

interface Pending {
  controlId: string;
  conn: Connection;
  resolve(result: MllpSendResult): void;
  reject(err: WaslError): void;
  timer: NodeJS.Timeout;
}

interface Waiter {
  resolve(): void;
  reject(err: WaslError): void;
}

/**
 * @example
 * const sender = new MllpSender({ host: 'lab.example.org', port: 2575, tls: readTlsFiles({ ca: '/etc/wasl/lab-ca.pem' }) });
 * const { ack } = await sender.send(hl7Text); // throws IntegrationError MLLP_NAK on AE/AR
 */
export class MllpSender extends EventEmitter<MllpSenderEvents> {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly recycleAfterTimeouts: number;
  private readonly reconnectInitialMs: number;
  private readonly reconnectMaxMs: number;
  private readonly maxMessageBytes: number;
  private readonly tls: MllpTlsOptions | undefined;
  private readonly log: MllpLogger;

  private conn: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private readonly pending = new Map<string, Pending>();
  /** Control ids whose send timed out, oldest first (a Set keeps insertion order). */
  private readonly late = new Set<string>();
  private slotsInUse = 0;
  private waiters: Waiter[] = [];
  private consecutiveTimeouts = 0;
  private connectFailures = 0;
  private retryAt = 0;
  private lastConnectError: WaslError | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters: MllpSenderStats = { sent: 0, acked: 0, nakked: 0, timeouts: 0, late: 0, unmatched: 0, connects: 0 };

  constructor(opts: MllpSenderOptions) {
    super();
    this.host = opts.host;
    this.port = opts.port;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_SENDER_TIMEOUT_MS;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? this.timeoutMs;
    this.maxInFlight = Math.max(1, Math.floor(opts.maxInFlight ?? 1));
    this.recycleAfterTimeouts = Math.max(1, Math.floor(opts.recycleAfterTimeouts ?? 2));
    this.reconnectInitialMs = opts.reconnectInitialMs ?? 500;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 30_000;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_SENDER_MAX_MESSAGE_BYTES;
    this.tls = opts.tls;
    this.log = opts.logger ?? createLogger({ stage: 'mllp-sender' });
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** Sends awaiting their ACK. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** A copy of the counters. */
  get stats(): MllpSenderStats {
    return { ...this.counters };
  }

  /**
   * Opens the connection now rather than on the first send (to show status early). Resolves at
   * once when open.
   *
   * @throws TransientError as for a send's connect.
   */
  async connect(): Promise<void> {
    await this.ensureConnected();
  }

  /**
   * Sends one HL7 message and resolves with its positive ACK. The message is sent as given
   * (a Buffer byte for byte; a string as UTF-8).
   *
   * @throws ValidationError `MLLP_SEND_ACK` or `HL7_PARSE` (nothing sent); IntegrationError
   *   `MLLP_NAK`; TransientError `MLLP_NAK_RETRY`, `MLLP_TIMEOUT`, `MLLP_CLOSED`,
   *   `MLLP_UNAVAILABLE`, `MLLP_TLS_CERT`, `MLLP_TLS_HANDSHAKE` or a socket code.
   */
  async send(message: string | Buffer): Promise<MllpSendResult> {
    if (this.closed) throw this.closedByClient();
    const text = typeof message === 'string' ? message : message.toString('utf8');
    const header = readHl7Header(text);
    if (header.messageType.toUpperCase() === 'ACK') {
      throw new ValidationError(
        'MLLP_SEND_ACK',
        `never answer an ACK with an ACK: message ${header.controlId} is an acknowledgment (MSH-9 ACK) and was not sent`,
        { path: 'MSH-9' },
      );
    }
    const controlId = header.controlId;
    await this.acquire();
    try {
      if (this.pending.has(controlId)) {
        // Two messages with one MSH-10 in flight could not be told apart by their ACKs.
        throw new TransientError('MLLP_CONTROL_ID_IN_FLIGHT', `a message with MSH-10 ${controlId} is already awaiting its ACK from ${this.where()}`);
      }
      const conn = await this.ensureConnected();
      return await this.exchange(conn, controlId, message);
    } finally {
      this.release();
    }
  }

  /**
   * Sends an acknowledgment message that expects no answer: an enhanced-mode application ACK,
   * which carries MSH-15/16 = NE so the receiver sends nothing back (HL7V2.md §5). Resolves once
   * the frame is handed to the socket. This is the one way an ACK goes out through a sender.
   *
   * @throws ValidationError `MLLP_NOT_ACK` when the message is not an ACK; TransientError as for
   *   a send's connect, or `MLLP_CLOSED` when the write fails.
   */
  async notify(ack: string | Buffer): Promise<void> {
    if (this.closed) throw this.closedByClient();
    const header = readHl7Header(typeof ack === 'string' ? ack : ack.toString('utf8'));
    if (header.messageType.toUpperCase() !== 'ACK') {
      throw new ValidationError('MLLP_NOT_ACK', `notify sends acknowledgments only; message ${header.controlId} is ${header.messageType}`, { path: 'MSH-9' });
    }
    await this.acquire();
    try {
      const conn = await this.ensureConnected();
      this.counters.sent += 1;
      await new Promise<void>((resolve, reject) => {
        conn.socket.write(frame(ack), (err) => {
          if (err) reject(new TransientError('MLLP_CLOSED', `MLLP connection to ${this.where()} failed while writing an acknowledgment`, { cause: err }));
          else resolve();
        });
      });
    } finally {
      this.release();
    }
  }

  /**
   * Closes the connection; sends awaiting an ACK, and sends waiting their turn, reject with
   * `MLLP_CLOSED`. Safe to call more than once, and before any send.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    const err = this.closedByClient();
    this.failWaiters(err);
    const conn = this.conn;
    this.conn = undefined;
    this.closing = (async () => {
      // A connect in progress finishes (or fails) first, then is closed like the open one.
      const opening = this.connecting?.catch(() => undefined);
      const open = conn ?? (await opening);
      if (!open) return;
      this.failPending(open, err);
      await endSocket(open.socket, this.timeoutMs);
    })();
    return this.closing;
  }

  private exchange(conn: Connection, controlId: string, message: string | Buffer): Promise<MllpSendResult> {
    return new Promise<MllpSendResult>((resolve, reject) => {
      const p: Pending = {
        controlId,
        conn,
        resolve,
        reject,
        timer: setTimeout(() => this.onTimeout(p), this.timeoutMs),
      };
      this.pending.set(controlId, p);
      this.late.delete(controlId); // a resend's ACK is this send's answer, not a late one
      this.counters.sent += 1;
      conn.socket.write(frame(message));
    });
  }

  private ensureConnected(): Promise<Connection> {
    if (this.closed) return Promise.reject(this.closedByClient());
    if (this.conn) return Promise.resolve(this.conn);
    if (this.connecting) return this.connecting;
    const wait = this.retryAt - performance.now();
    if (wait > 0 && this.lastConnectError) {
      return Promise.reject(
        new TransientError(
          'MLLP_UNAVAILABLE',
          `MLLP destination ${this.where()} unavailable (${this.lastConnectError.code}); next connect in ${Math.ceil(wait)} ms`,
          { cause: this.lastConnectError, retryAfterMs: Math.ceil(wait) },
        ),
      );
    }
    this.connecting = this.open();
    return this.connecting;
  }

  private open(): Promise<Connection> {
    const tls = this.tls;
    const socket = tls
      ? tlsConnect({
          host: this.host,
          port: this.port,
          ca: tls.ca,
          cert: tls.cert,
          key: tls.key,
          rejectUnauthorized: tls.rejectUnauthorized ?? true,
          // SNI and name checks use the host name; an IP address is checked against IP SANs.
          servername: tls.servername ?? (isIP(this.host) ? undefined : this.host),
        })
      : netConnect({ host: this.host, port: this.port, noDelay: true });
    const conn: Connection = { socket, framer: new MllpFramer({ maxMessageBytes: this.maxMessageBytes }) };
    let lastError: unknown;
    let ready = false;
    this.emit('connecting');

    socket.on('data', (chunk: Buffer) => {
      if (this.conn === conn) this.onEvents(conn, conn.framer.push(chunk));
    });
    socket.on('error', (err) => {
      lastError = err;
    });

    return new Promise<Connection>((resolve, reject) => {
      const timer = setTimeout(() => {
        lastError = new TransientError('MLLP_TIMEOUT', `MLLP connect to ${this.where()} timed out after ${this.connectTimeoutMs} ms`);
        socket.destroy();
      }, this.connectTimeoutMs);
      socket.once(tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        ready = true;
        this.connecting = undefined;
        this.connectFailures = 0;
        this.lastConnectError = undefined;
        this.counters.connects += 1;
        socket.setNoDelay(true); // a message waits on its ACK: no Nagle delay
        socket.setKeepAlive(true, 30_000); // finds a peer that vanished without a FIN
        if (this.closed) {
          socket.destroy();
          reject(this.closedByClient());
          return;
        }
        this.conn = conn;
        this.log.info('mllp sender connected', { host: this.host, port: this.port, tls: Boolean(tls) });
        this.emit('connected');
        resolve(conn);
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (!ready) {
          this.connecting = undefined;
          const err = this.connectError(lastError);
          this.connectFailures += 1;
          this.lastConnectError = err;
          this.retryAt = performance.now() + Math.min(this.reconnectMaxMs, this.reconnectInitialMs * 2 ** (this.connectFailures - 1));
          this.log.warn('mllp sender connect failed', { host: this.host, port: this.port, code: err.code, failures: this.connectFailures });
          this.emit('disconnected', { code: err.code });
          reject(err);
          return;
        }
        if (this.conn !== conn) return; // recycled or closed on purpose: already handled
        const code = lastError === undefined ? undefined : toWaslError(lastError).code;
        this.drop(conn, new TransientError('MLLP_CLOSED', `MLLP connection to ${this.where()} closed before the ACK`, { cause: lastError }), code);
      });
    });
  }

  private onEvents(conn: Connection, events: readonly FramerEvent[]): void {
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      if (e.type === 'message') this.onResponse(conn, e.payload);
      else if (e.type === 'oversize') this.discard('oversize', undefined, { bytes: e.bytes });
    }
  }

  private onResponse(conn: Connection, payload: Buffer): void {
    const text = payload.toString('utf8');
    const ack = readAck(text);
    if (!ack) {
      this.discard('unreadable', undefined, { bytes: payload.length });
      return;
    }
    const p = this.pending.get(ack.controlId);
    if (!p || p.conn !== conn) {
      const wasLate = this.late.delete(ack.controlId);
      this.discard(wasLate ? 'late' : 'unmatched', ack.controlId, { ackCode: ack.code });
      return;
    }
    this.pending.delete(ack.controlId);
    clearTimeout(p.timer);
    this.consecutiveTimeouts = 0;
    const err = ackError(ack, text, this.where());
    if (err) {
      this.counters.nakked += 1;
      this.log.warn('mllp destination answered a negative ACK', { controlId: ack.controlId, ackCode: ack.code, code: err.code });
      p.reject(err);
      return;
    }
    this.counters.acked += 1;
    const result: MllpSendResult = { ack: text, code: ack.code as 'AA' | 'CA', controlId: ack.controlId };
    if (ack.text !== undefined) result.text = ack.text;
    p.resolve(result);
  }

  private onTimeout(p: Pending): void {
    if (this.pending.get(p.controlId) !== p) return;
    this.pending.delete(p.controlId);
    this.counters.timeouts += 1;
    this.consecutiveTimeouts += 1;
    this.late.add(p.controlId);
    if (this.late.size > LATE_MEMORY) this.late.delete(this.late.values().next().value as string);
    this.log.warn('mllp ACK timed out', { controlId: p.controlId, timeoutMs: this.timeoutMs, consecutive: this.consecutiveTimeouts });
    p.reject(new TransientError('MLLP_TIMEOUT', `no ACK for MSH-10 ${p.controlId} from ${this.where()} within ${this.timeoutMs} ms`));
    if (this.consecutiveTimeouts >= this.recycleAfterTimeouts && this.conn === p.conn) {
      this.consecutiveTimeouts = 0;
      this.log.warn('mllp destination unresponsive; recycling the connection', { host: this.host, port: this.port });
      const err = new TransientError('MLLP_PEER_UNRESPONSIVE', `MLLP destination ${this.where()} stopped answering; connection recycled`);
      this.drop(p.conn, err, 'MLLP_PEER_UNRESPONSIVE');
      // Sends waiting their turn would each wait a full timeout on the next connection too:
      // hand them back to their queue, which retries with backoff.
      this.failWaiters(err);
    }
  }

  /** Forgets a connection: fails its sends, destroys the socket, tells listeners. */
  private drop(conn: Connection, err: WaslError, code: string | undefined): void {
    if (this.conn === conn) this.conn = undefined;
    this.failPending(conn, err);
    conn.socket.destroy();
    this.log.info('mllp sender disconnected', { host: this.host, port: this.port, code });
    this.emit('disconnected', { code });
  }

  private failPending(conn: Connection, err: WaslError): void {
    for (const [id, p] of this.pending) {
      if (p.conn !== conn) continue;
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  private discard(reason: MllpDiscardReason, controlId: string | undefined, meta: Record<string, unknown>): void {
    if (reason === 'late') this.counters.late += 1;
    else this.counters.unmatched += 1;
    this.log.warn('mllp response discarded', { reason, controlId, host: this.host, port: this.port, ...meta });
    this.emit('discarded', controlId === undefined ? { reason } : { reason, controlId });
  }

  private acquire(): Promise<void> {
    if (this.slotsInUse < this.maxInFlight) {
      this.slotsInUse += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve(); // the slot passes straight to the next waiter
    else this.slotsInUse -= 1;
  }

  private failWaiters(err: WaslError): void {
    const waiters = this.waiters;
    this.waiters = [];
    // Each rejected waiter never ran, so it never holds the slot it was waiting for.
    for (const w of waiters) w.reject(err);
  }

  private connectError(err: unknown): WaslError {
    if (err instanceof WaslError) return err;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (this.tls && isCertificateError(code)) {
      return new TransientError('MLLP_TLS_CERT', `TLS certificate of ${this.where()} not trusted (${code})`, { cause: err, details: { tlsCode: code } });
    }
    if (this.tls && code !== undefined && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || code === 'EPROTO')) {
      return new TransientError('MLLP_TLS_HANDSHAKE', `TLS handshake with ${this.where()} failed (${code})`, { cause: err, details: { tlsCode: code } });
    }
    if (err === undefined) return new TransientError('MLLP_CLOSED', `MLLP connection to ${this.where()} closed during connect`);
    return toWaslError(err);
  }

  private closedByClient(): TransientError {
    return new TransientError('MLLP_CLOSED', `MLLP sender to ${this.where()} is closed`);
  }

  private where(): string {
    return `${this.host}:${this.port}`;
  }
}

/** HL7 table 0357 codes that ask the sender to try again later. */
const RETRY_ERROR_CODES = new Set(['206', '207']);

/**
 * The error for a non-positive ACK, or undefined for AA / CA. Exported for tests and for other
 * senders of HL7 (file, HTTP) that get the same ACKs.
 */
export function ackError(ack: AckSummary, response: string, where: string): WaslError | undefined {
  if (ack.code === 'AA' || ack.code === 'CA') return undefined;
  const errCode = ack.errors.find((e) => e.code)?.code;
  const details = {
    msa1: ack.code,
    msa2: ack.controlId,
    msa3: ack.text,
    errors: ack.errors,
    errText: ack.errors.map((e) => e.text).filter(Boolean).join('; ') || undefined,
    response,
  };
  const why = errCode ? ` (ERR-3 ${errCode})` : '';
  if ((ack.code === 'AR' || ack.code === 'CR') && errCode && RETRY_ERROR_CODES.has(errCode)) {
    return new TransientError('MLLP_NAK_RETRY', `MLLP destination ${where} answered ${ack.code} to MSH-10 ${ack.controlId}${why}: resend later`, { details });
  }
  const known = ['AE', 'AR', 'CE', 'CR'].includes(ack.code);
  return new IntegrationError(
    'MLLP_NAK',
    known
      ? `MLLP destination ${where} answered ${ack.code} to MSH-10 ${ack.controlId}${why}`
      : `MLLP destination ${where} answered MSH-10 ${ack.controlId} with an unknown MSA-1 code`,
    { details },
  );
}

/** Ends a socket gracefully, cutting it if the peer never finishes its side. */
function endSocket(socket: Socket, graceMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.destroyed || socket.closed) return resolve();
    const cut = setTimeout(() => socket.destroy(), graceMs);
    cut.unref();
    socket.once('close', () => {
      clearTimeout(cut);
      resolve();
    });
    socket.end();
  });
}
