/**
 * Alert notices to a webhook: one JSON POST per state change, a timeout per attempt and a few
 * attempts with exponential backoff (cockatiel), then give up: the evaluator records the failure
 * on the alert and carries on. Errors name the HTTP status or the socket code, never the URL,
 * which may carry a token (Slack- and Teams-style hooks put it in the path).
 */
import { ExponentialBackoff, TaskCancelledError, TimeoutStrategy, handleWhen, retry, timeout, wrap } from 'cockatiel';
import { IntegrationError, TransientError, WaslError, toWaslError } from '../../../common/errors';
import type { AlertNotice } from '../types';

export interface WebhookOptions {
  /** Per attempt (default 5000 ms). */
  timeoutMs?: number;
  /** Attempts, the first included (default 3). */
  maxAttempts?: number;
  /** First backoff (default 500 ms), doubling up to `maxDelayMs` (default 5000 ms). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

const DEFAULTS = { timeoutMs: 5000, maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 5000 };

/** Posts `notice` to `url`; resolves on a 2xx answer, else throws a WaslError (transient after every attempt failed). */
export async function postWebhook(url: string, notice: AlertNotice, options: WebhookOptions = {}): Promise<void> {
  const o = { ...DEFAULTS, ...options };
  const policy = wrap(
    // A 4xx other than 408/429 will not change on a resend: integration, not retried.
    retry(handleWhen((err) => err instanceof TaskCancelledError || (err instanceof WaslError && err.retryable)), {
      maxAttempts: Math.max(0, o.maxAttempts - 1), // cockatiel counts retries, not attempts
      backoff: new ExponentialBackoff({ initialDelay: o.initialDelayMs, maxDelay: o.maxDelayMs }),
    }),
    timeout(o.timeoutMs, TimeoutStrategy.Aggressive),
  );
  const body = JSON.stringify(notice);
  try {
    // The timeout policy rejects from outside the attempt (TaskCancelledError), so the retry sees
    // it raw; everything is classified once more on the way out.
    await policy.execute(async ({ signal }) => {
      try {
        await postOnce(url, body, signal);
      } catch (err) {
        throw classify(err);
      }
    });
  } catch (err) {
    throw classify(err);
  }
}

async function postOnce(url: string, body: string, signal: AbortSignal): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal, redirect: 'error' });
  // Read the answer so the connection goes back to the pool; its content is not used.
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return;
  const code = `WEBHOOK_HTTP_${res.status}`;
  const message = `webhook answered HTTP ${res.status}`;
  if (res.status === 408 || res.status === 429 || res.status >= 500) throw new TransientError(code, message, { details: { status: res.status } });
  throw new IntegrationError(code, message, { details: { status: res.status } });
}

/** fetch hides the socket code in `cause`; a cockatiel timeout surfaces as a cancellation. */
function classify(err: unknown): WaslError {
  if (err instanceof WaslError) return err;
  if (err instanceof TaskCancelledError || (err as { name?: string })?.name === 'AbortError') return new TransientError('WEBHOOK_TIMEOUT', 'webhook did not answer in time');
  const cause = (err as { cause?: { code?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return new TransientError(`WEBHOOK_${cause.code}`, `webhook unreachable (${cause.code})`);
  const e = toWaslError(err);
  // toWaslError keeps the original message, which for fetch may quote the URL: replace it.
  return new TransientError(`WEBHOOK_${e.code.replace(/^TRANSIENT_/, '')}`, 'webhook request failed');
}
