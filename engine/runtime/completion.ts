/**
 * Waits for a stored message to reach a stage, for ACKs sent after `transformed` or `sent`
 * (channels.yaml `ackAfter`). It reads the store, not in-process events, so it works when the
 * stages run in another process (WASL_ROLE=intake + worker).
 */
import type { MessageStore, StoredMessage } from '../store/types';

export type AckStage = 'transformed' | 'sent';

export type StageOutcome =
  | { outcome: 'reached' }
  /** A stage rejected the message for good (status ERROR): the error says why. */
  | { outcome: 'failed'; error: Record<string, unknown> | null }
  /** A filter or router dropped it: nothing further will happen, which is a success. */
  | { outcome: 'filtered' }
  | { outcome: 'timeout' };

/** First poll after this many ms, doubling up to the cap: fast stages answer fast, slow ones cost little. */
const FIRST_POLL_MS = 5;
const MAX_POLL_MS = 200;

export async function waitForStage(store: MessageStore, id: string, stage: AckStage, timeoutMs: number): Promise<StageOutcome> {
  const deadline = Date.now() + timeoutMs;
  let wait = FIRST_POLL_MS;
  for (;;) {
    const row = await store.get(id);
    const outcome = row && outcomeOf(row, stage);
    if (outcome) return outcome;
    const left = deadline - Date.now();
    if (left <= 0) return { outcome: 'timeout' };
    await new Promise((resolve) => setTimeout(resolve, Math.min(wait, left)));
    wait = Math.min(wait * 2, MAX_POLL_MS);
  }
}

function outcomeOf(row: StoredMessage, stage: AckStage): StageOutcome | undefined {
  switch (row.status) {
    case 'ERROR':
      return { outcome: 'failed', error: row.error ?? row.destinations?.find((d) => d.status === 'ERROR')?.error ?? null };
    case 'FILTERED':
      return { outcome: 'filtered' };
    case 'SENT':
      return { outcome: 'reached' };
    case 'TRANSFORMED':
      return stage === 'transformed' ? { outcome: 'reached' } : undefined;
    case 'QUEUED':
      // Queued for a destination means the transformers are done (a retry carries an error, but
      // it is still on its way, so `sent` keeps waiting).
      return stage === 'transformed' ? { outcome: 'reached' } : undefined;
    default:
      return undefined;
  }
}
