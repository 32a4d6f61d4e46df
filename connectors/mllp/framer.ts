/**
 * MLLP release 1 framing: `<SB 0x0B> payload <EB 0x1C><CR 0x0D>` (HL7V2.md §1).
 *
 * A TCP read may hold half a frame, several frames, or bytes that belong to no frame, so the
 * reader is a small state machine fed chunk by chunk. Rules, and why:
 *
 * - Bytes outside a frame (before a start block, after an end block) are discarded and counted.
 *   Senders often add a stray LF after `<EB><CR>`, and a reconnecting peer may replay a tail.
 * - A frame ends only at 0x1C immediately followed by 0x0D. A lone 0x1C is kept as payload; it is
 *   never legal in HL7 text, so the handler sees it and can reject the message, rather than the
 *   framer guessing where the message ends.
 * - A 0x0B inside a frame restarts the frame (HL7V2.md §10.13): 0x0B may not appear in HL7 text,
 *   so it means the sender abandoned the previous frame (a write cut short, then a resend). The
 *   partial frame is discarded and counted; the new one is read normally.
 * - A frame larger than `maxMessageBytes` yields one `oversize` event as soon as the limit is
 *   crossed, and everything up to the next end block (or start block) is skipped, so memory stays
 *   bounded whatever the peer sends.
 *
 * The framer only slices and counts: no I/O, no logging, no knowledge of HL7 beyond the bytes.
 */

/** Start block (VT). */
export const START_BLOCK = 0x0b;
/** First byte of the end block (FS). */
export const END_BLOCK = 0x1c;
/** Second byte of the end block (CR). */
export const CARRIAGE_RETURN = 0x0d;

/** How much of an oversize frame's start is kept, enough for a long MSH segment (to build a NAK). */
export const OVERSIZE_HEAD_BYTES = 4096;

/** One complete frame's payload, without start and end blocks. */
export interface FrameMessage {
  type: 'message';
  payload: Buffer;
}

/** A frame crossed the size limit; its remaining bytes are being skipped. */
export interface FrameOversize {
  type: 'oversize';
  /** Payload bytes seen when the limit was crossed (always more than the limit). */
  bytes: number;
  /** The first bytes of the frame (at most {@link OVERSIZE_HEAD_BYTES}), which hold the MSH segment. */
  head: Buffer;
}

/** Bytes thrown away in one `push`: outside any frame, or an abandoned partial frame. */
export interface FrameDiscard {
  type: 'discard';
  bytes: number;
}

export type FramerEvent = FrameMessage | FrameOversize | FrameDiscard;

export interface MllpFramerOptions {
  /** Largest payload accepted, in bytes; larger frames yield `oversize` instead of being buffered. */
  maxMessageBytes: number;
}

const enum State {
  /** Between frames: waiting for a start block. */
  Idle,
  /** Inside a frame, collecting payload. */
  Frame,
  /** Inside an oversize frame: skipping until the end block. */
  Skip,
}

const FS_ONLY = Buffer.from([END_BLOCK]);
/** Shared result for chunks that complete nothing: most chunks of a large frame. */
const NO_EVENTS: readonly FramerEvent[] = Object.freeze([]);

/**
 * Streaming MLLP decoder. Feed it every chunk a socket reads; it returns what those bytes
 * completed. Payloads of frames that fit in one chunk are views into that chunk (no copy).
 */
export class MllpFramer {
  private readonly maxMessageBytes: number;
  private state = State.Idle;
  /** Payload pieces of the current frame that arrived in earlier chunks. */
  private parts: Buffer[] = [];
  private size = 0;
  /** The previous chunk ended with 0x1C inside a frame: the next byte decides whether it ends it. */
  private pendingEndBlock = false;
  /** Events of the `push` in progress; allocated only when something happens. */
  private out: FramerEvent[] | undefined;

  constructor(opts: MllpFramerOptions) {
    if (!Number.isInteger(opts.maxMessageBytes) || opts.maxMessageBytes < 1) {
      throw new RangeError('maxMessageBytes must be a positive integer');
    }
    this.maxMessageBytes = opts.maxMessageBytes;
  }

  /**
   * Decodes one chunk. The returned array must not be modified (it may be shared when empty).
   */
  push(chunk: Buffer): readonly FramerEvent[] {
    let discarded = 0;
    const len = chunk.length;
    let i = 0;

    if (this.pendingEndBlock && len > 0) {
      this.pendingEndBlock = false;
      if (chunk[0] === CARRIAGE_RETURN) {
        i = 1;
        if (this.state === State.Frame) this.emit(this.complete(undefined));
        this.state = State.Idle;
      } else if (this.state === State.Frame) {
        // The 0x1C was payload after all.
        this.append(FS_ONLY);
      }
    }

    while (i < len) {
      if (this.state === State.Idle) {
        const sb = chunk.indexOf(START_BLOCK, i);
        if (sb === -1) {
          discarded += len - i;
          break;
        }
        discarded += sb - i;
        this.state = State.Frame;
        i = sb + 1;
        continue;
      }

      // Inside a frame (collecting or skipping): the next 0x1C or 0x0B decides what happens.
      const eb = chunk.indexOf(END_BLOCK, i);
      const sbLimit = eb === -1 ? len : eb;
      const sb = chunk.indexOf(START_BLOCK, i);
      if (sb !== -1 && sb < sbLimit) {
        // Resync: the sender started over. Drop what we had of the old frame.
        discarded += (this.state === State.Frame ? this.size : 0) + (sb - i);
        this.reset();
        this.state = State.Frame;
        i = sb + 1;
        continue;
      }
      if (eb === -1) {
        if (this.state === State.Frame) this.append(chunk.subarray(i, len));
        break;
      }
      if (eb + 1 === len) {
        // 0x1C is the last byte: keep what precedes it and wait for the next chunk.
        if (this.state === State.Frame) this.append(chunk.subarray(i, eb));
        this.pendingEndBlock = true;
        break;
      }
      if (chunk[eb + 1] !== CARRIAGE_RETURN) {
        // A lone 0x1C is payload, not an end block.
        if (this.state === State.Frame) this.append(chunk.subarray(i, eb + 1));
        i = eb + 1;
        continue;
      }
      if (this.state === State.Frame) {
        const piece = chunk.subarray(i, eb);
        if (this.size + piece.length > this.maxMessageBytes) {
          this.append(piece); // emits oversize; the skip ends right here
          this.reset();
        } else {
          this.emit(this.complete(piece));
        }
      } else {
        this.reset();
      }
      this.state = State.Idle;
      i = eb + 2;
    }

    if (discarded > 0) this.emit({ type: 'discard', bytes: discarded });
    const out = this.out;
    this.out = undefined;
    return out ?? NO_EVENTS;
  }

  /** Payload bytes buffered for the frame in progress (for tests and metrics). */
  get bufferedBytes(): number {
    return this.size;
  }

  private emit(e: FramerEvent): void {
    (this.out ??= []).push(e);
  }

  private append(piece: Buffer): void {
    if (this.state !== State.Frame || piece.length === 0) return;
    const next = this.size + piece.length;
    if (next > this.maxMessageBytes) {
      this.parts.push(piece);
      const head = Buffer.concat(this.parts, Math.min(OVERSIZE_HEAD_BYTES, next));
      this.emit({ type: 'oversize', bytes: next, head });
      this.reset();
      this.state = State.Skip;
      return;
    }
    this.parts.push(piece);
    this.size = next;
  }

  /** Ends the current frame with `last` as its final piece (if any) and returns its payload. */
  private complete(last: Buffer | undefined): FrameMessage {
    let payload: Buffer;
    if (this.parts.length === 0) {
      payload = last ?? Buffer.alloc(0);
    } else {
      if (last && last.length > 0) this.parts.push(last);
      const total = this.size + (last ? last.length : 0);
      payload = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, total);
    }
    this.reset();
    return { type: 'message', payload };
  }

  private reset(): void {
    if (this.parts.length > 0) this.parts = [];
    this.size = 0;
  }
}

/**
 * Wraps one message in an MLLP frame. Strings are encoded as UTF-8: the receiver reads MSH-18 to
 * know the character set, and UTF-8 is what Wasl sends and expects.
 */
export function frame(payload: string | Buffer): Buffer {
  if (typeof payload === 'string') {
    const n = Buffer.byteLength(payload, 'utf8');
    const out = Buffer.allocUnsafe(n + 3);
    out[0] = START_BLOCK;
    out.write(payload, 1, n, 'utf8');
    out[n + 1] = END_BLOCK;
    out[n + 2] = CARRIAGE_RETURN;
    return out;
  }
  const out = Buffer.allocUnsafe(payload.length + 3);
  out[0] = START_BLOCK;
  payload.copy(out, 1);
  out[payload.length + 1] = END_BLOCK;
  out[payload.length + 2] = CARRIAGE_RETURN;
  return out;
}
