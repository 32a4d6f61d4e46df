/**
 * The submission ledger: what the NPHIES client remembers about each submission, so that a retry
 * or a crash-and-redeliver never submits the same claim twice (issue 6, "Idempotency").
 *
 * The client calls `find` before sending, `begin` just before the first HTTP attempt and `finish`
 * once NPHIES answered. A record left in `sending` means the process may have died between the
 * send and the record: the client then asks NPHIES (status-check) instead of sending again.
 *
 * The durable implementation lives on the store; {@link InMemorySubmissionLedger} is for tests
 * and for single-process tools that accept losing the ledger on restart.
 */
import type { NphiesResult } from './types';

export type SubmissionState = 'sending' | 'answered';

export interface SubmissionRecord {
  state: SubmissionState;
  /** The request's MessageHeader.id. */
  requestId: string;
  /** Set once `finish` was called. */
  result?: NphiesResult;
}

/** Keyed by the idempotency key: the claim's business identifier + the request Bundle id. */
export interface SubmissionLedger {
  find(key: string): Promise<SubmissionRecord | undefined>;
  /** Records that `requestId` is about to be sent for `key` (state `sending`). */
  begin(key: string, requestId: string): Promise<void>;
  /** Records NPHIES's answer (state `answered`). */
  finish(key: string, result: NphiesResult): Promise<void>;
}

/** A ledger in a Map. Not durable: a restart forgets everything. */
export class InMemorySubmissionLedger implements SubmissionLedger {
  readonly records = new Map<string, SubmissionRecord>();

  async find(key: string): Promise<SubmissionRecord | undefined> {
    const r = this.records.get(key);
    return r ? { ...r } : undefined;
  }

  async begin(key: string, requestId: string): Promise<void> {
    this.records.set(key, { state: 'sending', requestId });
  }

  async finish(key: string, result: NphiesResult): Promise<void> {
    const prev = this.records.get(key);
    this.records.set(key, { state: 'answered', requestId: prev?.requestId ?? result.requestId, result });
  }
}
