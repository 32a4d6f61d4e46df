/**
 * One error currency for all of Wasl. Every failure is one of three kinds, decided once by the
 * code that knows the protocol (a connector or transformer), and carried unchanged to nodes,
 * queues, the store and Catch nodes:
 *
 * - validation: the input is wrong. Never retried; answer with a NAK / 4xx and keep the reason.
 * - integration: the other side said no. Record its answer; retrying will not help.
 * - transient: timeouts, refused connections, 5xx, 429, a closed channel. Retry, then dead-letter.
 *
 * Messages name ids and field paths, never patient data: they reach logs, Catch and the debug panel.
 */
export type ErrorKind = 'validation' | 'integration' | 'transient';

export interface WaslErrorOptions {
  /** Where the problem is, e.g. `PID-7` or `entry[0].resource.birthDate`. */
  path?: string;
  cause?: unknown;
  /** Extra machine-readable detail (an HL7 0357 code, an HTTP status, an OperationOutcome). */
  details?: Record<string, unknown>;
  /** For transient errors: the delay the other side asked for (Retry-After). */
  retryAfterMs?: number;
}

export class WaslError extends Error {
  readonly kind: ErrorKind;
  /** Stable upper-case code, prefixed by kind so Catch-node flows can branch on `msg.error.code`. */
  readonly code: string;
  readonly path?: string;
  readonly details?: Record<string, unknown>;
  readonly retryAfterMs?: number;

  constructor(kind: ErrorKind, code: string, message: string, options: WaslErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WaslError';
    this.kind = kind;
    this.code = `${kind.toUpperCase()}_${code}`;
    this.path = options.path;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }

  /** Plain object for the store and the API (no stack, no cause chain). */
  toJSON(): Record<string, unknown> {
    return { kind: this.kind, code: this.code, message: this.message, path: this.path, details: this.details };
  }
}

export class ValidationError extends WaslError {
  constructor(code: string, message: string, options?: WaslErrorOptions) {
    super('validation', code, message, options);
    this.name = 'ValidationError';
  }
}

export class IntegrationError extends WaslError {
  constructor(code: string, message: string, options?: WaslErrorOptions) {
    super('integration', code, message, options);
    this.name = 'IntegrationError';
  }
}

export class TransientError extends WaslError {
  constructor(code: string, message: string, options?: WaslErrorOptions) {
    super('transient', code, message, options);
    this.name = 'TransientError';
  }
}

/** Socket-level error codes that mean "try again later". */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT',
]);

/**
 * Turns any thrown value into a WaslError. Unknown errors are transient: losing a message to a
 * misclassified bug is worse than retrying it into the dead-letter queue, where a person sees it.
 */
export function toWaslError(err: unknown): WaslError {
  if (err instanceof WaslError) return err;
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  const sysCode = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (sysCode && TRANSIENT_SYSTEM_CODES.has(sysCode)) {
    return new TransientError(sysCode, message, { cause: err });
  }
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return new TransientError('TIMEOUT', message, { cause: err });
  }
  return new TransientError('UNEXPECTED', message, { cause: err });
}
