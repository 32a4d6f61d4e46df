/**
 * What to do with a delivery that failed: retry after a delay, or dead-letter. Validation and
 * integration errors are never retried (retrying cannot fix bad input or a "no" from the other
 * side); transient ones back off exponentially with full jitter, honouring a Retry-After the
 * other side sent, until the attempt budget is spent.
 */
import type { WaslError } from '../../common/errors';

export interface RetrySettings {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export type RetryDecision = { action: 'retry'; delayMs: number } | { action: 'dead-letter'; reason: string };

export function decideRetry(
  err: WaslError,
  attempt: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): RetryDecision {
  const reason = `${err.code}: ${err.message}`;
  if (!err.retryable) return { action: 'dead-letter', reason };
  if (attempt >= settings.maxAttempts) {
    return { action: 'dead-letter', reason: `gave up after ${attempt} attempts; last error ${reason}` };
  }
  const ceiling = Math.min(settings.maxDelayMs, settings.initialDelayMs * 2 ** (attempt - 1));
  // "Full jitter" keeps many failed messages from retrying in lock-step against a recovering peer,
  // but never below half the ceiling so the backoff still grows.
  const jittered = Math.round(ceiling / 2 + random() * (ceiling / 2));
  const delayMs = Math.max(jittered, Math.min(err.retryAfterMs ?? 0, settings.maxDelayMs));
  return { action: 'retry', delayMs };
}
