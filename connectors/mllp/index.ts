/**
 * MLLP (HL7 v2 over TCP): framing, a listener, a sender, and file splitting for `wasl mllp-send`.
 */
export { frame, MllpFramer, type FramerEvent, type MllpFramerOptions } from './framer';
export {
  MllpServer,
  DEFAULT_MAX_MESSAGE_BYTES,
  type MllpServerOptions,
  type MllpServerEvents,
} from './server';
export { MllpClient, type MllpClientOptions } from './client';
export {
  MllpSender,
  ackError,
  DEFAULT_SENDER_TIMEOUT_MS,
  type MllpSenderOptions,
  type MllpSendResult,
  type MllpSenderStats,
  type MllpSenderEvents,
  type MllpDiscardReason,
} from './sender';
export { readAck, isAckCode, type AckCode, type AckSummary, type AckErrorEntry } from './ack';
export { readTlsFiles, isCertificateError, type MllpTlsFiles, type MllpTlsOptions } from './tls';
export { splitHl7Messages } from './send-file';
export { startEchoServer } from './echo-server';
export type { ConnectionInfo, MllpHandler, MllpLogger, MllpOversizeHandler } from './types';
