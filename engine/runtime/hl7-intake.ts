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
import { ackErrorFromValidation, buildAck, type AckCode, type AckError, type BuildAckOptions } from '../../transformers/hl7v2/ack';
import { buildBatchAck, splitHl7Batch } from '../../transformers/hl7v2/batch';
import { checkAccepted } from '../../transformers/hl7v2/acceptance';
import { DEFAULT_CHARSET, decodeHl7Bytes, encodeHl7Bytes } from '../../transformers/hl7v2/charset';
import { parseHl7, readHl7Header, type Hl7Header, type Hl7Message } from '../../transformers/hl7v2/parse';
import { ackModeOf, commitCode, conditionAllows } from './ack-policy';
import { waitForStage, type AckStage } from './completion';
import { RecentKeys } from './recent-keys';
import type { WaslRuntime } from './types';
import type { WaslMsg } from './wasl-msg';

export interface Hl7IntakeOptions {
  channel: string;
  /** Accepted `TYPE^TRIGGER` pairs, e.g. `ADT^A01`. Empty: accept every type. */
  acceptMessageTypes: string[];
  /** How long the flow may take to queue a message before the sender gets a "resend" NAK. */
  queueTimeoutMs?: number;
  /**
   * When an original-mode ACK goes out (channels.yaml `ackAfter`, whose doc states each
   * guarantee). Default `stored`. Enhanced-mode commit ACKs always follow `stored`.
   */
  ackAfter?: 'stored' | AckStage;
  /** How long an `ackAfter` of `transformed`/`sent` waits before AR 207. Default 30 s. */
  ackTimeoutMs?: number;
  /** Charset for messages whose MSH-18 is empty. Default `UNICODE UTF-8`. */
  charset?: string;
  /**
   * A frame holding a batch (FHS/BHS ... BTS/FTS): `batch` answers one acknowledgement batch
   * (BHS, an ACK for each message not accepted, BTS); `per-message` one ACK frame per message.
   */
  batchAck?: 'batch' | 'per-message';
  logger: Logger;
  /** Hands the message to the flow (the node's `send`). */
  submit(msg: WaslMsg): void;
  /**
   * Delivers an enhanced-mode application ACK (MSH-16 AL/ER/SU) to the sender's system, e.g. an
   * MLLP sender's `notify`. Absent: such requests are logged and left unanswered.
   */
  applicationAck?: (ack: Buffer) => Promise<void>;
  /** How long an application ACK waits for the destinations. Default 5 minutes. */
  applicationAckTimeoutMs?: number;
}

/** Attempts to deliver one application ACK before it is given up (logged). */
const APPLICATION_ACK_ATTEMPTS = 3;

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

  /**
   * Handles one MLLP frame and returns the ACK to send back, encoded in the message's charset,
   * or '' when the sender asked for no ACK in this case (enhanced mode, MSH-15 NE/ER/SU).
   * Never throws.
   */
  async handle(frame: Buffer): Promise<string | Buffer | Buffer[]> {
    const started = process.hrtime.bigint();
    const acks = await this.handleText(frame);
    const sent = acks.filter((a) => a.send);
    for (const ack of acks) {
      this.runtime.metrics.ackLatency.observe({ channel: this.options.channel, code: ack.code }, Number(process.hrtime.bigint() - started) / 1e9);
    }
    if (sent.length === 0) return '';
    return sent.length === 1 ? encodeAck(sent[0]) : sent.map(encodeAck);
  }

  /** Decodes the frame per MSH-18 (or the channel's charset) and processes its message or batch. */
  private async handleText(frame: Buffer): Promise<Ack[]> {
    let decoded;
    try {
      decoded = decodeHl7Bytes(frame, this.options.charset ?? DEFAULT_CHARSET);
    } catch (err) {
      // Latin-1 maps every byte to one character, so the stored copy keeps the bytes as sent.
      const text = frame.toString('latin1');
      return [await this.reject(text, safeHeader(text), toWaslError(err), undefined)];
    }
    if (BATCH_START.test(decoded.text)) return this.processBatch(decoded.text, decoded.charset);
    return [await this.process(decoded.text, decoded.charset)];
  }

  /**
   * A batch in one frame: the envelope is checked first (a trailer count that disagrees means a
   * cut or lost part, so nothing of it is taken: one AR for the frame), then each message is
   * processed in order, exactly as if it had come alone, and the answer is the batch ACK or one
   * ACK per message as the channel says.
   */
  private async processBatch(text: string, charset: string): Promise<Ack[]> {
    let file;
    try {
      file = splitHl7Batch(text);
    } catch (err) {
      return [await this.reject(text, undefined, toWaslError(err), undefined, charset)];
    }
    for (const warning of file.warnings) this.options.logger.warn('batch accepted with a warning', { warning });
    const answers: Ack[] = [];
    for (const batch of file.batches) {
      const acks: Ack[] = [];
      // In order: a batch of ADT events for one patient must reach the queue in the order sent.
      for (const message of batch.messages) acks.push(await this.process(message, charset));
      if (this.options.batchAck === 'per-message') {
        answers.push(...acks);
        continue;
      }
      const batchText = buildBatchAck(batch.header ?? file.header, acks.map((a) => ({ inbound: a.inbound, ack: a.options })), {
        controlId: newAckControlId(),
        timestamp: new Date(),
      });
      const code = acks.find((a) => a.code !== 'AA' && a.code !== 'CA')?.code ?? 'AA';
      answers.push({ text: batchText, code, send: true, charset, options: { code, controlId: newAckControlId(), timestamp: new Date() } });
    }
    return answers;
  }

  /**
   * A frame over the size limit was skipped, not buffered: answer from its first bytes so the
   * sender stops resending it (the content is gone, so it cannot be stored).
   */
  rejectOversize(head: Buffer, bytes: number, limit: number): string {
    const header = safeHeader(head.toString('latin1'));
    this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'rejected' });
    this.options.logger.warn('oversize message rejected', { controlId: header?.controlId, bytes, limit });
    const ack = this.ackFor(header, 'AR', [{ code: 207, severity: 'E', diagnostic: `message of ${bytes} bytes exceeds this listener's limit of ${limit} bytes` }]);
    return ack.send ? ack.text : '';
  }

  /**
   * The ACK for an outcome, in the mode the header asks for: `code` is the original-mode code;
   * enhanced mode answers the matching commit code, only when MSH-15 allows it.
   */
  private ackFor(header: Hl7Header | undefined, code: 'AA' | 'AE' | 'AR', errors?: AckError[], charset?: string): Ack {
    const mode = ackModeOf(header);
    const sent: AckCode = mode.enhanced ? commitCode(code) : code;
    const options: BuildAckOptions = { code: sent, controlId: newAckControlId(), timestamp: new Date(), errors };
    return {
      text: buildAck(header, options),
      code: sent,
      send: !mode.enhanced || conditionAllows(mode.accept, sent),
      charset: charset ?? DEFAULT_CHARSET,
      inbound: header,
      options,
    };
  }

  private async process(text: string, charset: string): Promise<Ack> {
    const { channel, logger } = this.options;
    let message: Hl7Message;
    try {
      message = parseHl7(text);
    } catch (err) {
      return this.reject(text, safeHeader(text), toWaslError(err), undefined, charset);
    }
    const header = message.header;
    const enhanced = ackModeOf(header).enhanced;
    const notAccepted = this.options.acceptMessageTypes.length ? checkAccepted(header, this.options.acceptMessageTypes) : undefined;
    if (notAccepted) {
      const err = new ValidationError('HL7_UNSUPPORTED', notAccepted.diagnostic, { details: { hl7ErrorCode: notAccepted.code } });
      return this.reject(text, header, err, notAccepted, charset);
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
    const accepted = async (): Promise<Ack> => {
      this.recentlyAccepted.add(key);
      const stage = this.options.ackAfter ?? 'stored';
      // Enhanced mode: the commit ACK means "stored"; the application result is another message.
      if (enhanced) this.scheduleApplicationAck(header, id, charset, log);
      if (stage === 'stored' || enhanced) return this.ackFor(header, 'AA', undefined, charset);
      return this.ackAfterStage(header, id, stage, charset, log);
    };

    // A resend of a message this process accepted a moment ago (the sender missed our ACK):
    // confirm it from the store alone rather than queueing a second copy.
    if (this.recentlyAccepted.has(key)) {
      let again;
      try {
        again = await this.runtime.store.receive(newMessage);
      } catch (err) {
        log.error('message store read failed; answering with a resend NAK', { error: toWaslError(err).code });
        return this.internalError(header, charset, 'message could not be stored; resend it');
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
      return this.internalError(header, charset, 'message could not be stored; resend it');
    }
    const received = stored.value;
    if (received.id !== id) {
      // A row stored before ids followed the key (a resend across an upgrade): queue that row's own id.
      return this.queueExisting(received, text, message, header, charset, accepted);
    }
    if (queued.status === 'rejected') {
      log.warn('message not queued; answering with a resend NAK', { error: toWaslError(queued.reason).code });
      return this.internalError(header, charset, 'message could not be queued; resend it');
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
    charset: string,
    accepted: () => Promise<Ack>,
  ): Promise<Ack> {
    const { channel } = this.options;
    const log = this.options.logger.child({ correlationId: received.correlationId, controlId: header.controlId });
    this.runtime.metrics.messages.inc({ channel, outcome: 'duplicate' });
    if (received.accepted) return accepted();
    const receipt = this.openAndSubmit(text, message, { correlationId: received.correlationId, messageId: received.id });
    try {
      await receipt.settled;
    } catch (err) {
      log.warn('message not queued; answering with a resend NAK', { error: toWaslError(err).code });
      return this.internalError(header, charset, 'message could not be queued; resend it');
    }
    this.runtime.store.markAccepted(received.id).catch(() => undefined);
    return accepted();
  }

  /**
   * Waits for the message to pass `stage`, then answers AA (reached, or filtered: nothing more
   * to do), AE with the stage's error (rejected for good), or AR 207 (not there in time: the
   * message stays queued; a resend is deduplicated, so the sender may resend safely).
   */
  private async ackAfterStage(header: Hl7Header, id: string, stage: AckStage, charset: string, log: Logger): Promise<Ack> {
    let result;
    try {
      result = await waitForStage(this.runtime.store, id, stage, this.options.ackTimeoutMs ?? 30_000);
    } catch (err) {
      log.error('message store read failed while waiting to acknowledge', { error: toWaslError(err).code });
      return this.ackFor(header, 'AR', [{ code: 207, severity: 'E', diagnostic: 'message stored but its progress could not be read; resending is safe' }], charset);
    }
    switch (result.outcome) {
      case 'reached':
      case 'filtered':
        return this.ackFor(header, 'AA', undefined, charset);
      case 'failed':
        return this.ackFor(header, 'AE', [ackErrorFromStored(result.error)], charset);
      case 'timeout':
        return this.ackFor(header, 'AR', [{ code: 207, severity: 'E', diagnostic: `message stored but not ${stage} in time; it stays queued and a resend is deduplicated` }], charset);
    }
  }

  /**
   * Enhanced mode, MSH-16 AL/ER/SU: once the destinations are done (or failed, or the wait timed
   * out), sends AA/AE/AR as a message of its own when MSH-16 allows that code. In memory only:
   * a restart forgets pending application ACKs (the commit ACK, the one that guards the data,
   * has already gone out).
   */
  private scheduleApplicationAck(header: Hl7Header, id: string, charset: string, log: Logger): void {
    const condition = ackModeOf(header).application;
    if (condition === 'NE') return;
    const deliver = this.options.applicationAck;
    if (!deliver) {
      log.warn('MSH-16 asks for an application ACK but the channel has no applicationAck destination; none sent', { condition });
      return;
    }
    void (async () => {
      const result = await waitForStage(this.runtime.store, id, 'sent', this.options.applicationAckTimeoutMs ?? 300_000).catch(() => ({ outcome: 'timeout' as const }));
      const code = result.outcome === 'failed' ? 'AE' : result.outcome === 'timeout' ? 'AR' : 'AA';
      if (!conditionAllows(condition, code)) return;
      const errors =
        result.outcome === 'failed'
          ? [ackErrorFromStored(result.error)]
          : result.outcome === 'timeout'
            ? [{ code: 207, severity: 'E' as const, diagnostic: 'not delivered to every destination in time; it stays queued' }]
            : undefined;
      const options: BuildAckOptions = { code, controlId: newAckControlId(), timestamp: new Date(), errors };
      const ack = encodeAck({ text: buildAck(header, options), code, send: true, charset, inbound: header, options });
      for (let attempt = 1; attempt <= APPLICATION_ACK_ATTEMPTS; attempt++) {
        try {
          await deliver(ack);
          log.info('application ACK sent', { code });
          return;
        } catch (err) {
          if (attempt === APPLICATION_ACK_ATTEMPTS) {
            log.error('application ACK could not be delivered', { code, error: toWaslError(err).code });
          } else {
            await new Promise((resolve) => setTimeout(resolve, 1000 * 2 ** (attempt - 1)));
          }
        }
      }
    })();
  }

  private async reject(text: string, header: Hl7Header | undefined, err: WaslError, ackError: AckError | undefined, charset?: string): Promise<Ack> {
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
    // A message we cannot read or do not take is rejected (AR/CR) whatever the ERR code: the
    // sender must not expect it to be processed. AE is for content a later stage refused.
    return this.ackFor(header, 'AR', error ? [error] : [{ code: 207, severity: 'E', diagnostic: err.message }], charset);
  }

  private internalError(header: Hl7Header, charset: string, diagnostic: string): Ack {
    this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'errored' });
    // AR/CR with 207: the sender may retry (HL7V2.md §7 mapping).
    return this.ackFor(header, 'AR', [{ code: 207, severity: 'E', diagnostic }], charset);
  }
}

/** One ACK to answer with. */
interface Ack {
  text: string;
  code: AckCode;
  /** False when the sender asked not to get this one (MSH-15 NE/ER/SU). */
  send: boolean;
  /** The charset the ACK is written in: the inbound message's. */
  charset: string;
  /** What it answers and how it was built: a batch ACK is made of these. */
  inbound?: Hl7Header;
  options: BuildAckOptions;
}

/** A frame that starts (after a BOM or blank lines) with a file or batch header. */
const BATCH_START = /^[\ufeff\s]*(FHS|BHS)/;

function encodeAck(ack: Ack): Buffer {
  try {
    return encodeHl7Bytes(ack.text, ack.charset);
  } catch {
    return Buffer.from(ack.text, 'utf8'); // an echoed header field the charset cannot hold: UTF-8 beats no ACK
  }
}

/** The ERR entry for a stage's stored error (a WaslError's JSON): its HL7 code and location when it has them. */
function ackErrorFromStored(error: Record<string, unknown> | null): AckError {
  const details = (error?.details ?? {}) as Record<string, unknown>;
  const code = typeof details.hl7ErrorCode === 'number' ? details.hl7ErrorCode : 207;
  const segment = typeof details.segmentId === 'string' && details.segmentId !== '' ? details.segmentId : undefined;
  return {
    code,
    severity: 'E',
    location: segment
      ? { segment, sequence: typeof details.sequence === 'number' ? details.sequence : 1, field: typeof details.field === 'number' ? details.field : undefined }
      : undefined,
    diagnostic: typeof error?.message === 'string' ? error.message : 'processing failed',
  };
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
