/**
 * The shape of a Node-RED message inside a Wasl channel. `wasl` is plain data (ids only, no
 * patient data) so it survives cloning, the debug panel and Catch nodes.
 */
export interface WaslMeta {
  /** Same from source to last destination: logs, store and outbound headers carry it. */
  correlationId: string;
  /** Message store row id. */
  messageId: string;
  channel: string;
  /** Receipt the current stage waits on (see receipts.ts). */
  receipt?: string;
  /** Delivery attempt of the current stage, 1 for the first. */
  attempt: number;
  /**
   * When the source received the message (epoch ms), stamped by the first queue it crosses and
   * carried from there, for end-to-end latency (queue-stage.ts).
   */
  receivedAt?: number;
  /** Destinations the router sent the message to, so the last one to finish is known. */
  routes?: number;
}

export interface WaslMsg {
  _msgid?: string;
  payload: unknown;
  wasl: WaslMeta;
  /** The parsed HL7 v2 message, kept in memory between nodes of one stage (never queued). */
  hl7?: unknown;
  [key: string]: unknown;
}

export function isWaslMsg(msg: unknown): msg is WaslMsg {
  const m = msg as { wasl?: { correlationId?: unknown; messageId?: unknown } } | undefined;
  return typeof m?.wasl?.correlationId === 'string' && typeof m.wasl.messageId === 'string';
}
