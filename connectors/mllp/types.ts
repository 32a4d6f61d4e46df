/**
 * Types shared by the MLLP server and its per-connection reader.
 */

/** Who sent a frame. Safe to log: no message content. */
export interface ConnectionInfo {
  remoteAddress: string;
  remotePort: number;
  /** Unique per accepted connection for the life of the process; ties log lines together. */
  connectionId: string;
}

/**
 * Receives one frame's payload and returns the response to frame and send back (the ACK), or an
 * empty string to send nothing (enhanced mode with MSH-15 NE, ER or SU asks for that).
 * It should resolve only once the message is durably stored: the ACK is a promise to the sender.
 * Throwing (or resolving with something that is not a string or Buffer) closes the connection
 * without a response; see {@link MllpServer}.
 */
export type MllpHandler = (message: Buffer, info: ConnectionInfo) => Promise<MllpResponse>;

/** One response frame, several (in order; e.g. one ACK per message of a batch), or '' for none. */
export type MllpResponse = string | Buffer | readonly (string | Buffer)[];

/**
 * Builds the answer to a frame that crossed `maxMessageBytes`, typically an AR NAK built from the
 * MSH segment at the start of `head`. Return `undefined` to close the connection instead.
 */
export type MllpOversizeHandler = (
  head: Buffer,
  info: ConnectionInfo & { bytes: number },
) => string | Buffer | undefined | Promise<string | Buffer | undefined>;

/**
 * The logging the MLLP connectors need. A winston `Logger` (common/logger.ts) fits; tests pass a
 * plain object. Meta carries ids, byte counts and codes only, never message content.
 */
export interface MllpLogger {
  debug(message: string, meta?: object): unknown;
  info(message: string, meta?: object): unknown;
  warn(message: string, meta?: object): unknown;
  error(message: string, meta?: object): unknown;
}
