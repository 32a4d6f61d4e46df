/**
 * MLLP sender: frames messages, writes them on one persistent connection and resolves each send
 * with the next response frame. Several sends may be in flight at once (pipelining); MLLP has no
 * correlation id at the transport level, so responses are matched to sends by position, as in
 * original-mode acknowledgment (HL7V2.md §1).
 *
 * Because matching is positional, a response that never comes poisons every later one: after a
 * timeout the connection is closed, the late send rejects with `MLLP_TIMEOUT` and the sends behind
 * it with `MLLP_CLOSED`. All are transient, so the caller reconnects and resends (the receiver
 * dedupes on MSH-10).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { TransientError, ValidationError, WaslError, toWaslError } from '../../common/errors';
import { frame, MllpFramer, type FramerEvent } from './framer';

/** Default time to wait for a connection or for each response. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 10_000;
/** Default largest response frame accepted. */
export const DEFAULT_CLIENT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export interface MllpClientOptions {
  host: string;
  port: number;
  /** Connect timeout and per-send response timeout, in ms. Default 10 s. */
  timeoutMs?: number;
  /** Largest response payload accepted, in bytes. Default 16 MiB. */
  maxMessageBytes?: number;
}

interface PendingSend {
  resolve(response: string): void;
  reject(err: WaslError): void;
  /** performance.now() after which the send times out. */
  deadline: number;
}

/**
 * Error codes (all prefixed `TRANSIENT_` by {@link TransientError}):
 * `MLLP_TIMEOUT` (no connection or no response in time), `MLLP_CLOSED` (the connection closed,
 * or was never open, before the response), and socket codes such as `ECONNREFUSED` from
 * {@link MllpClient.connect}. An oversize response rejects its send with the ValidationError
 * `MLLP_FRAME_TOO_LARGE`.
 */
export class MllpClient {
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;
  private readonly maxMessageBytes: number;
  private socket: Socket | undefined;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  /** FIFO of sends awaiting a response; the head owns the next response frame. */
  private pending: PendingSend[] = [];
  /** One timer for the head's deadline, re-armed lazily: no timer churn per response. */
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: MllpClientOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS;
    this.maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_CLIENT_MAX_MESSAGE_BYTES;
  }

  /** True while a connection is open and usable. */
  get connected(): boolean {
    return this.socket !== undefined && !this.connecting && !this.closing && !this.socket.destroyed;
  }

  /** Sends awaiting their response. */
  get inFlight(): number {
    return this.pending.length;
  }

  /**
   * Opens the connection. Resolves at once if already open; may be called again after a close
   * (or a timeout) to reconnect.
   *
   * @throws TransientError `MLLP_TIMEOUT`, or a socket code (`ECONNREFUSED`, ...).
   */
  connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    if (this.connected) return Promise.resolve();
    const socket = netConnect({ host: this.host, port: this.port, noDelay: true });
    const framer = new MllpFramer({ maxMessageBytes: this.maxMessageBytes });
    this.socket = socket;
    this.closing = undefined;
    let lastError: unknown;

    socket.on('data', (chunk: Buffer) => {
      // A socket we replaced by reconnecting must not answer the new connection's sends.
      if (this.socket === socket) this.onEvents(framer.push(chunk));
    });
    socket.on('error', (err) => {
      lastError = err;
    });

    const connecting = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        lastError = new TransientError('MLLP_TIMEOUT', `MLLP connect to ${this.where()} timed out after ${this.timeoutMs} ms`);
        socket.destroy();
      }, this.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.connecting = undefined;
        resolve();
      });
      socket.once('close', () => {
        clearTimeout(timer);
        if (this.socket === socket) this.connecting = undefined;
        // No-op when already connected; otherwise says why the connection never opened.
        reject(lastError === undefined ? this.closedError() : toWaslError(lastError));
      });
    });
    socket.once('close', () => {
      if (this.socket !== socket) return;
      this.failAll(undefined, this.closedError(lastError));
    });
    this.connecting = connecting;
    return connecting;
  }

  /**
   * Frames and writes one message, resolving with the payload of the response frame that answers
   * it, decoded as UTF-8. Many sends may be in flight; they resolve in order.
   *
   * @throws TransientError `MLLP_TIMEOUT` or `MLLP_CLOSED`; ValidationError `MLLP_FRAME_TOO_LARGE`.
   */
  send(message: string | Buffer): Promise<string> {
    if (this.connecting) return this.connecting.then(() => this.send(message));
    const socket = this.socket;
    if (!socket || !this.connected) {
      return Promise.reject(new TransientError('MLLP_CLOSED', `MLLP connection to ${this.where()} is not open`));
    }
    return new Promise<string>((resolve, reject) => {
      this.pending.push({ resolve, reject, deadline: performance.now() + this.timeoutMs });
      socket.write(frame(message));
      if (!this.timer) this.armTimer(this.timeoutMs);
    });
  }

  /**
   * Closes the connection; sends still awaiting a response reject with `MLLP_CLOSED`. Safe to
   * call more than once, and before `connect`.
   */
  close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return Promise.resolve();
    if (this.closing) return this.closing;
    this.failAll(undefined, new TransientError('MLLP_CLOSED', `MLLP connection to ${this.where()} closed by the client`));
    this.closing = new Promise<void>((resolve) => {
      if (socket.closed) return resolve();
      socket.once('close', () => resolve());
      // end() sends what is written and a FIN; if the peer never finishes its side, cut it.
      const cut = setTimeout(() => socket.destroy(), this.timeoutMs);
      cut.unref();
      socket.once('close', () => clearTimeout(cut));
      socket.end();
    });
    return this.closing;
  }

  private onEvents(events: readonly FramerEvent[]): void {
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      if (e.type === 'discard') continue;
      const head = this.pending.shift();
      if (!head) continue; // an unsolicited frame has nobody to go to
      if (e.type === 'message') {
        head.resolve(e.payload.toString('utf8'));
      } else {
        head.reject(
          new ValidationError('MLLP_FRAME_TOO_LARGE', `MLLP response over ${this.maxMessageBytes} bytes from ${this.where()}`, {
            details: { bytes: e.bytes, maxMessageBytes: this.maxMessageBytes },
          }),
        );
      }
    }
    if (this.pending.length === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private armTimer(ms: number): void {
    this.timer = setTimeout(() => this.onTimer(), Math.max(1, Math.ceil(ms)));
  }

  private onTimer(): void {
    this.timer = undefined;
    const head = this.pending[0];
    if (!head) return;
    const left = head.deadline - performance.now();
    if (left > 1) {
      this.armTimer(left);
      return;
    }
    const timeout = new TransientError('MLLP_TIMEOUT', `no MLLP response from ${this.where()} within ${this.timeoutMs} ms`);
    // Responses match sends by position, so a missing one leaves the connection unusable.
    this.failAll(timeout, this.closedError(timeout));
    this.socket?.destroy();
  }

  /** Rejects every pending send: the head with `first` (when given), the others with `rest`. */
  private failAll(first: WaslError | undefined, rest: WaslError): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const list = this.pending;
    if (list.length === 0) return;
    this.pending = [];
    for (let k = 0; k < list.length; k++) list[k].reject(k === 0 && first ? first : rest);
  }

  private closedError(cause?: unknown): TransientError {
    return new TransientError('MLLP_CLOSED', `MLLP connection to ${this.where()} closed before a response`, {
      cause,
    });
  }

  private where(): string {
    return `${this.host}:${this.port}`;
  }
}
