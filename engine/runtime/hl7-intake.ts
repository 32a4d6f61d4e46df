/**
 * The source side of an HL7 v2 channel: turns one received frame into a stored, queued message
 * and the ACK to answer with. It is where the engine's central promise lives: an AA (or CA) is
 * only ever returned after the message row is in the store AND the queue confirmed the message.
 *
 * Rejected input is stored too (status ERROR, with the reason), so nothing a sender gave us is
 * lost, and answered with AR/CR carrying an ERR segment that says what, where and why.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ValidationError, WaslError, toWaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { ackErrorFromValidation, buildAck, type AckError } from '../../transformers/hl7v2/ack';
import { checkAccepted } from '../../transformers/hl7v2/acceptance';
import { parseHl7, readHl7Header, type Hl7Header, type Hl7Message } from '../../transformers/hl7v2/parse';
import type { WaslRuntime } from './types';
import type { WaslMsg } from './wasl-msg';

export interface Hl7IntakeOptions {
  channel: string;
  /** Accepted `TYPE^TRIGGER` pairs, e.g. `ADT^A01`. Empty: accept every type. */
  acceptMessageTypes: string[];
  /** How long the flow may take to queue a message before the sender gets a "resend" NAK. */
  queueTimeoutMs?: number;
  logger: Logger;
  /** Hands the message to the flow (the node's `send`). */
  submit(msg: WaslMsg): void;
}

let ackSequence = 0;

/** A new control id for each ACK (never the inbound MSH-10), at most 20 characters (ST in v2.5). */
function newAckControlId(): string {
  ackSequence = (ackSequence + 1) % 1_000_000;
  return `W${Date.now().toString(36)}${ackSequence.toString(36).padStart(4, '0')}`.slice(0, 20);
}

export class Hl7Intake {
  /** Dedupe keys this process acknowledged recently (bounded; a miss only costs a second copy). */
  private readonly recentlyAccepted = new RecentKeys(10_000);

  constructor(
    private readonly runtime: WaslRuntime,
    private readonly options: Hl7IntakeOptions,
  ) {}

  /** Handles one MLLP frame and returns the ACK to send back. Never throws. */
  async handle(frame: Buffer): Promise<string> {
    const started = process.hrtime.bigint();
    const ack = await this.process(frame.toString('utf8'));
    const code = ack.split('\r')[1]?.split(ack.charAt(3))[1] ?? '';
    this.runtime.metrics.ackLatency.observe({ channel: this.options.channel, code }, Number(process.hrtime.bigint() - started) / 1e9);
    return ack;
  }

  /**
   * A frame over the size limit was skipped, not buffered: answer from its first bytes so the
   * sender stops resending it (the content is gone, so it cannot be stored).
   */
  rejectOversize(head: Buffer, bytes: number, limit: number): string {
    const header = safeHeader(head.toString('utf8'));
    this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'rejected' });
    this.options.logger.warn('oversize message rejected', { controlId: header?.controlId, bytes, limit });
    const enhanced = header !== undefined && header.acceptAckType !== '';
    return buildAck(header, {
      code: enhanced ? 'CR' : 'AR',
      controlId: newAckControlId(),
      timestamp: new Date(),
      errors: [{ code: 207, severity: 'E', diagnostic: `message of ${bytes} bytes exceeds this listener's limit of ${limit} bytes` }],
    });
  }

  private async process(text: string): Promise<string> {
    const { channel, logger } = this.options;
    let message: Hl7Message;
    try {
      message = parseHl7(text);
    } catch (err) {
      return this.reject(text, safeHeader(text), toWaslError(err));
    }
    const header = message.header;
    const enhanced = header.acceptAckType !== '';
    const notAccepted = this.options.acceptMessageTypes.length ? checkAccepted(header, this.options.acceptMessageTypes) : undefined;
    if (notAccepted) {
      const err = new ValidationError('HL7_UNSUPPORTED', notAccepted.diagnostic, { details: { hl7ErrorCode: notAccepted.code } });
      return this.reject(text, header, err, notAccepted);
    }

    const sender = `${header.sendingApplication}^${header.sendingFacility}`;
    const key = `${sender}\u0000${header.controlId}`;
    // The row id follows from the dedupe key, so the queued copy and the row always share it,
    // even when they are written at the same time (below) or the message is resent.
    const id = messageIdFor(channel, sender, header.controlId);
    const newMessage = {
      id,
      channel,
      correlationId: id,
      sender,
      controlId: header.controlId,
      messageType: `${header.messageType}^${header.triggerEvent}`,
      patientKey: message.get('PID-3.1') || undefined,
      raw: text,
    };
    const log = logger.child({ correlationId: id, controlId: header.controlId });
    const accepted = () => {
      this.recentlyAccepted.add(key);
      return buildAck(header, { code: enhanced ? 'CA' : 'AA', controlId: newAckControlId(), timestamp: new Date() });
    };

    // A resend of a message this process accepted a moment ago (the sender missed our ACK):
    // confirm it from the store alone rather than queueing a second copy.
    if (this.recentlyAccepted.has(key)) {
      let again;
      try {
        again = await this.runtime.store.receive(newMessage);
      } catch (err) {
        log.error('message store read failed; answering with a resend NAK', { error: toWaslError(err).code });
        return this.internalError(header, enhanced, 'message could not be stored; resend it');
      }
      // This process answered AA for the key, so the copy is queued; the store's `accepted`
      // flag may not be written yet (it is not awaited).
      if (again.duplicate) {
        this.runtime.metrics.messages.inc({ channel, outcome: 'duplicate' });
        log.info('duplicate control id, already accepted; acknowledging again');
        return accepted();
      }
    }

    // The store row and the queued copy are written at the same time, and the ACK waits for
    // both: this halves the ACK latency. A stage that gets the copy before the row committed
    // finds no row, which the store reports as transient, so the copy is simply retried.
    const receipt = this.openAndSubmit(text, message, { correlationId: id, messageId: id });
    const [stored, queued] = await Promise.allSettled([this.runtime.store.receive(newMessage), receipt.settled]);
    if (stored.status === 'rejected') {
      // The queued copy, if any, waits (retrying) for the row the sender's resend will write.
      log.error('message store write failed; answering with a resend NAK', { error: toWaslError(stored.reason).code });
      return this.internalError(header, enhanced, 'message could not be stored; resend it');
    }
    const received = stored.value;
    if (received.id !== id) {
      // A row stored before ids followed the key (a resend across an upgrade): queue that row's own id.
      return this.queueExisting(received, text, message, header, enhanced, accepted);
    }
    if (queued.status === 'rejected') {
      log.warn('message not queued; answering with a resend NAK', { error: toWaslError(queued.reason).code });
      return this.internalError(header, enhanced, 'message could not be queued; resend it');
    }
    if (received.duplicate) {
      // Queued again (idempotent downstream): safe whether or not the first copy made it.
      this.runtime.metrics.messages.inc({ channel, outcome: 'duplicate' });
      log.info('duplicate control id; queued again and acknowledged');
    } else {
      this.runtime.metrics.messages.inc({ channel, outcome: 'received' });
    }
    this.runtime.store.markAccepted(id).catch((err) => {
      // Only the dedupe shortcut depends on this flag: a resend would be queued again, and
      // destinations are idempotent, so this is worth a warning, not a NAK.
      log.warn('could not mark message accepted', { error: toWaslError(err).code });
    });
    return accepted();
  }

  /**
   * Opens a receipt and hands the message to the flow. A flow that throws while taking it fails
   * the receipt, so the caller's await settles (a NAK) instead of an unhandled rejection later.
   */
  private openAndSubmit(text: string, message: Hl7Message, ids: { correlationId: string; messageId: string }) {
    const receipt = this.runtime.receipts.open(this.options.queueTimeoutMs ?? 30_000);
    try {
      this.options.submit({ payload: text, hl7: message, wasl: { ...ids, channel: this.options.channel, receipt: receipt.id, attempt: 1 } });
    } catch (err) {
      this.runtime.receipts.fail(receipt.id, err);
    }
    return receipt;
  }

  /** The sequential path for a duplicate whose row has an id of its own. */
  private async queueExisting(
    received: { id: string; correlationId: string; accepted: boolean },
    text: string,
    message: Hl7Message,
    header: Hl7Header,
    enhanced: boolean,
    accepted: () => string,
  ): Promise<string> {
    const { channel } = this.options;
    const log = this.options.logger.child({ correlationId: received.correlationId, controlId: header.controlId });
    this.runtime.metrics.messages.inc({ channel, outcome: 'duplicate' });
    if (received.accepted) return accepted();
    const receipt = this.openAndSubmit(text, message, { correlationId: received.correlationId, messageId: received.id });
    try {
      await receipt.settled;
    } catch (err) {
      log.warn('message not queued; answering with a resend NAK', { error: toWaslError(err).code });
      return this.internalError(header, enhanced, 'message could not be queued; resend it');
    }
    this.runtime.store.markAccepted(received.id).catch(() => undefined);
    return accepted();
  }

  private async reject(text: string, header: Hl7Header | undefined, err: WaslError, ackError?: AckError): Promise<string> {
    const { channel, logger } = this.options;
    this.runtime.metrics.messages.inc({ channel, outcome: 'rejected' });
    const error = ackError ?? (err instanceof ValidationError ? ackErrorFromValidation(err) : undefined);
    const id = randomUUID();
    logger.warn('message rejected', { correlationId: id, controlId: header?.controlId, error: err.code, path: err.path });
    try {
      // A distinct dedupe key: a corrected resend with the same MSH-10 must not look like a duplicate.
      await this.runtime.store.receive({
        id,
        channel,
        correlationId: id,
        sender: header ? `${header.sendingApplication}^${header.sendingFacility}` : '',
        controlId: `rejected:${id}`,
        messageType: header ? `${header.messageType}^${header.triggerEvent}` : undefined,
        raw: text,
      });
      await this.runtime.store.update(id, { status: 'ERROR', error: err.toJSON() });
    } catch (storeErr) {
      logger.error('could not store a rejected message', { correlationId: id, error: toWaslError(storeErr).code });
    }
    const enhanced = header !== undefined && header.acceptAckType !== '';
    return buildAck(header, {
      code: enhanced ? 'CR' : 'AR',
      controlId: newAckControlId(),
      timestamp: new Date(),
      errors: error ? [error] : [{ code: 207, severity: 'E', diagnostic: err.message }],
    });
  }

  private internalError(header: Hl7Header, enhanced: boolean, diagnostic: string): string {
    this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'errored' });
    // AR/CR with 207: the sender may retry (HL7V2.md §7 mapping).
    return buildAck(header, {
      code: enhanced ? 'CR' : 'AR',
      controlId: newAckControlId(),
      timestamp: new Date(),
      errors: [{ code: 207, severity: 'E', diagnostic }],
    });
  }
}

/** A bounded set that forgets its oldest keys first. */
class RecentKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(key: string): boolean {
    return this.keys.has(key);
  }
  add(key: string): void {
    this.keys.delete(key);
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
  }
}

/**
 * The message id for a dedupe key (channel, sender, MSH-10), shaped like a UUID. Hashing is the
 * point: the same key always gives the same id, in every process.
 */
export function messageIdFor(channel: string, sender: string, controlId: string): string {
  const h = createHash('sha256').update(`${channel}\u0000${sender}\u0000${controlId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The header when at least MSH is readable, so even a NAK goes back to the right party. */
function safeHeader(text: string): Hl7Header | undefined {
  try {
    return readHl7Header(text);
  } catch {
    return undefined;
  }
}
