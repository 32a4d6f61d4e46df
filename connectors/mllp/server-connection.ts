/**
 * One accepted MLLP connection: reads frames, runs the handler for each, and writes the responses
 * back in the order the frames arrived, whatever order the handlers finish in. A sender may
 * pipeline several messages before reading ACKs, and in original mode matches ACKs by position
 * (HL7V2.md §1), so order is part of the contract.
 */
import type { Socket } from 'node:net';
import { ValidationError, WaslError, toWaslError } from '../../common/errors';
import { frame, MllpFramer } from './framer';
import type { ConnectionInfo, MllpHandler, MllpLogger, MllpOversizeHandler, MllpResponse } from './types';

/** What the connection tells its server. */
export interface ConnectionHooks {
  message(info: ConnectionInfo, bytes: number): void;
  oversize(info: ConnectionInfo, bytes: number, error: ValidationError): void;
  error(err: WaslError, info: ConnectionInfo): void;
  closed(connection: ServerConnection): void;
}

export interface ServerConnectionOptions {
  maxMessageBytes: number;
  /** Frames awaiting a response before the connection stops reading (back-pressure). */
  maxPending: number;
  idleTimeoutMs?: number;
  handler: MllpHandler;
  onOversize?: MllpOversizeHandler;
  logger: MllpLogger;
  hooks: ConnectionHooks;
}

const PENDING = 0;
const READY = 1;
const FAILED = 2;

/** One frame's place in the response order. */
interface Slot {
  state: typeof PENDING | typeof READY | typeof FAILED;
  response?: Buffer;
}

/** Internal to the server: owns one socket from accept to close. */
export class ServerConnection {
  readonly info: ConnectionInfo;
  private readonly framer: MllpFramer;
  private slots: Slot[] = [];
  /** Once set, no new frame is handed to the handler (failure, oversize without answer, or shutdown). */
  private stopped = false;
  private closed = false;
  private writeBlocked = false;
  private paused = false;
  private drainWaiters: Array<() => void> = [];
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: Socket,
    connectionId: string,
    private readonly opts: ServerConnectionOptions,
  ) {
    this.info = {
      connectionId,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
    };
    this.framer = new MllpFramer({ maxMessageBytes: opts.maxMessageBytes });
    socket.setNoDelay(true); // ACKs are small and a sender waits on each one
    if (opts.idleTimeoutMs) {
      socket.setTimeout(opts.idleTimeoutMs, () => this.onIdle());
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    // Resets and broken pipes are routine on MLLP links: report them, never let them throw.
    socket.on('error', (err) => this.onSocketError(err));
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.stopped = true;
        this.slots = [];
        this.resolveDrainWaiters();
        this.opts.hooks.closed(this);
        resolve();
      });
    });
  }

  /** Frames received whose response has not been written yet. */
  get pending(): number {
    return this.slots.length;
  }

  /**
   * Stops handing new frames to the handler and resolves once every frame already taken has
   * been answered (or failed). Used by the server's graceful close.
   */
  drain(): Promise<void> {
    this.stopped = true;
    if (this.slots.length === 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Flushes what was written, then closes. Resolves when the socket is closed. */
  end(): Promise<void> {
    this.stopped = true;
    if (!this.closed) {
      // end() flushes queued ACKs; destroy once flushed so a peer that never closes its side
      // cannot hold the server open.
      this.socket.end(() => this.socket.destroy());
    }
    return this.closedPromise;
  }

  /** Closes now, dropping unwritten responses (their senders will resend). */
  destroy(): Promise<void> {
    this.stopped = true;
    this.socket.destroy();
    return this.closedPromise;
  }

  private onData(chunk: Buffer): void {
    const events = this.framer.push(chunk);
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      if (e.type === 'message') this.onFrame(e.payload);
      else if (e.type === 'oversize') this.onOversizeFrame(e.head, e.bytes);
      else this.opts.logger.debug('mllp bytes outside a frame discarded', { ...this.info, bytes: e.bytes });
    }
    if (this.slots.length >= this.opts.maxPending) this.updateFlow();
  }

  private onFrame(payload: Buffer): void {
    if (this.stopped) return; // no ACK will follow: the sender resends elsewhere or later
    if (payload.length === 0) {
      // Nothing to acknowledge and no MSH to build an ACK from; some peers send these as keep-alives.
      this.opts.logger.debug('mllp empty frame ignored', this.info);
      return;
    }
    this.opts.hooks.message(this.info, payload.length);
    let result: Promise<MllpResponse>;
    try {
      result = this.opts.handler(payload, this.info);
    } catch (err) {
      result = Promise.reject(err);
    }
    this.track(result, 'handler');
  }

  private onOversizeFrame(head: Buffer, bytes: number): void {
    if (this.stopped) return;
    const error = new ValidationError(
      'MLLP_FRAME_TOO_LARGE',
      `MLLP frame over ${this.opts.maxMessageBytes} bytes on connection ${this.info.connectionId}`,
      { details: { bytes, maxMessageBytes: this.opts.maxMessageBytes } },
    );
    this.opts.logger.warn('mllp frame too large', { ...this.info, bytes, code: error.code });
    this.opts.hooks.oversize(this.info, bytes, error);
    const onOversize = this.opts.onOversize;
    let result: Promise<string | Buffer | undefined>;
    try {
      result = Promise.resolve(onOversize ? onOversize(head, { ...this.info, bytes }) : undefined);
    } catch (err) {
      result = Promise.reject(err);
    }
    this.track(result, 'oversize');
  }

  /** Reserves the next place in the response order and fills it when `result` settles. */
  private track(result: Promise<MllpResponse | undefined>, source: 'handler' | 'oversize'): void {
    const slot: Slot = { state: PENDING };
    this.slots.push(slot);
    result.then(
      (response) => {
        if (typeof response === 'string' || Buffer.isBuffer(response)) {
          slot.state = READY;
          // Empty means "answer nothing" (enhanced mode, MSH-15 NE/ER/SU): keep the order, write nothing.
          slot.response = response.length === 0 ? undefined : frame(response);
        } else if (Array.isArray(response) && response.every((r) => typeof r === 'string' || Buffer.isBuffer(r))) {
          // Several answers to one frame (one ACK per message of a batch): one write, in order.
          slot.state = READY;
          const frames = (response as readonly (string | Buffer)[]).filter((r) => r.length > 0).map((r) => frame(r));
          slot.response = frames.length === 0 ? undefined : Buffer.concat(frames);
        } else {
          slot.state = FAILED;
          if (source === 'handler') {
            this.reportFailure(new TypeError('MLLP handler resolved without a string or Buffer'));
          }
        }
        this.flush();
      },
      (err: unknown) => {
        slot.state = FAILED;
        this.reportFailure(err);
        this.flush();
      },
    );
  }

  private reportFailure(err: unknown): void {
    if (this.closed) return;
    const w = toWaslError(err);
    // WaslError messages name ids only (common/errors.ts); any other error text might quote the
    // message, so only its code reaches the log.
    const text = err instanceof WaslError ? w.message : undefined;
    this.opts.logger.error('mllp handler failed; closing connection without ACK', {
      ...this.info,
      code: w.code,
      error: text,
    });
    this.opts.hooks.error(w, this.info);
  }

  /** Writes every response that is next in order; stops at the first one still pending. */
  private flush(): void {
    if (this.closed) return;
    const slots = this.slots;
    let n = 0;
    while (n < slots.length && slots[n].state === READY) n++;
    const failed = n < slots.length && slots[n].state === FAILED;
    if (n > 0) {
      if (n > 1) this.socket.cork(); // one write for a burst of pipelined ACKs
      for (let k = 0; k < n; k++) {
        // shift() is O(1) on V8's packed arrays (left-trimming), so a deep pipeline stays linear.
        const slot = slots.shift() as Slot;
        if (slot.response && !this.socket.write(slot.response)) this.writeBlocked = true;
      }
      if (n > 1) this.socket.uncork();
    }
    if (failed) {
      // No ACK for this frame nor any after it: closing tells the sender to resend them all.
      // Handlers of later frames may already have stored their messages, hence dedupe on MSH-10.
      this.slots = [];
      void this.end();
    }
    this.updateFlow();
    if (this.slots.length === 0) this.resolveDrainWaiters();
  }

  /** Pauses reading while the peer does not read our ACKs or too many frames await a response. */
  private updateFlow(): void {
    if (this.closed) return;
    const shouldPause = this.writeBlocked || this.slots.length >= this.opts.maxPending;
    if (shouldPause && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!shouldPause && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private onIdle(): void {
    if (this.slots.length > 0) return; // we owe the sender ACKs: not idle
    this.opts.logger.info('mllp idle connection closed', this.info);
    void this.end();
  }

  private onSocketError(err: Error): void {
    const w = toWaslError(err);
    this.opts.logger.debug('mllp socket error', { ...this.info, code: w.code });
    this.opts.hooks.error(w, this.info);
  }

  private resolveDrainWaiters(): void {
    const waiters = this.drainWaiters;
    if (waiters.length === 0) return;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
