/**
 * Retries for the FHIR source's background work (fetching a notified resource, then storing and
 * queueing it): a cockatiel retry policy, as connectors/fhir/fhir-client.ts uses for requests.
 * The upstream client's own retries are off (fhir-intake-upstream.ts), so this is the one loop.
 * Only retryable (transient) failures are tried again; a validation or integration failure, or
 * a channel that stopped, gives up at once.
 */
import { DelegateBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import { TransientError, WaslError, toWaslError } from '../../common/errors';

export interface FetchRetryOptions {
  /** Attempts, the first included. */
  attempts: number;
  /** First retry delay; doubles per attempt with jitter, at most `maxDelayMs` (a Retry-After too). */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Aborted when the channel stops: a backoff wait ends at once and nothing more is tried. */
  signal: AbortSignal;
  /** Called before each wait. */
  onRetry?(retry: { error: WaslError; attempt: number; delayMs: number }): void;
}

/**
 * Runs `work` (given its attempt number, from 1) until it succeeds or gives up, and throws the
 * last failure as a WaslError (`TRANSIENT_SHUTDOWN` when the channel stopped before any attempt).
 * An attempt under way when the signal aborts is finished, not cut short.
 */
export async function withFetchRetries<T>(o: FetchRetryOptions, work: (attempt: number) => Promise<T>): Promise<T> {
  let last: WaslError = new TransientError('SHUTDOWN', 'the channel stopped before the notified resource was fetched');
  let waiting = false;
  const policy = fetchRetryPolicy(o);
  const listener = policy.onRetry((r) => {
    waiting = true;
    if ('error' in r) o.onRetry?.({ error: r.error as WaslError, attempt: r.attempt, delayMs: r.delay });
  });
  let onAbort = (): void => undefined;
  const stopped = new Promise<never>((_resolve, reject) => {
    onAbort = () => waiting && reject(last);
    o.signal.addEventListener('abort', onAbort, { once: true });
  });
  const run = policy.execute(async ({ attempt }) => {
    waiting = false;
    if (o.signal.aborted) throw last;
    try {
      return await work(attempt + 1);
    } catch (err) {
      throw (last = toWaslError(err));
    }
  }, o.signal);
  run.catch(() => undefined); // after a stop during a wait, `stopped` answers and this settles later
  try {
    return await Promise.race([run, stopped]);
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    listener.dispose();
  }
}

function fetchRetryPolicy(o: FetchRetryOptions): RetryPolicy {
  return retry(
    handleWhen((err) => err instanceof WaslError && err.retryable && !o.signal.aborted),
    {
      maxAttempts: Math.max(0, o.attempts - 1), // cockatiel counts retries
      backoff: new DelegateBackoff((context) => {
        const err = 'error' in context.result ? (context.result.error as WaslError) : undefined;
        const ceiling = Math.min(o.maxDelayMs, o.initialDelayMs * 2 ** (context.attempt - 1));
        const jittered = ceiling / 2 + Math.random() * (ceiling / 2);
        return Math.max(jittered, Math.min(err?.retryAfterMs ?? 0, o.maxDelayMs));
      }),
    },
  ).dangerouslyUnref(); // a wait never holds the process open by itself (the serving engine does)
}
