/**
 * Group commit: callers submit writes one at a time; the writes queued while the database is busy
 * go in together, in one transaction. A lone write waits at most one event-loop turn
 * (`setImmediate`); under load, the next batch is whatever queued up during the previous commit.
 * One fsync then covers hundreds of writes, which is what lets `markAccepted` and `update` keep
 * up with thousands of messages a second. Each submit resolves only after its batch committed.
 */

/**
 * Writes one batch in one transaction. Returns, per item in order, `undefined` when it was
 * written or the error for that item alone (e.g. an unknown message id); a thrown error means the
 * transaction as a whole failed.
 */
export type CommitBatch<T> = (items: T[]) => Promise<Array<Error | undefined>>;

interface Entry<T> {
  item: T;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class GroupCommit<T> {
  private pending: Entry<T>[] = [];
  private running = false;
  /** The pending start of the next batch, and when it is due (performance.now()). */
  private timer: { cancel: () => void; dueAt: number } | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  /**
   * @param commit writes a batch in one transaction
   * @param maxBatch caps a batch so one transaction never holds the (single SQLite) connection long
   */
  constructor(
    private readonly commit: CommitBatch<T>,
    private readonly maxBatch = 1000,
  ) {}

  /** No batch is being written or waiting to start: a write submitted now starts at once. */
  get idle(): boolean {
    return !this.running && !this.timer;
  }

  /**
   * Queues one write; resolves once the transaction holding it committed.
   * @param waitMs how long the write may wait for others to share its batch: a write nobody is
   *   waiting for (a flag) can ride along with the next one instead of costing a statement of
   *   its own. 0 (the default): the batch starts at the next turn of the event loop, taking every
   *   write queued by then along.
   */
  submit(item: T, waitMs = 0): Promise<void> {
    if (this.closed) return Promise.reject(new Error('Message store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule(waitMs);
    });
  }

  /** Refuses new writes and resolves once every queued write has been committed (or failed). */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.running && !this.timer && this.pending.length === 0) return;
    // Writes that were allowed to wait go now.
    if (this.timer) this.schedule(0);
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(waitMs: number): void {
    // A running drain picks up what queued meanwhile; it re-checks `pending` after each commit.
    if (this.running) return;
    const dueAt = performance.now() + waitMs;
    if (this.timer && this.timer.dueAt <= dueAt) return;
    this.timer?.cancel();
    const start = () => {
      this.timer = undefined;
      void this.drain();
    };
    if (waitMs > 0) {
      const handle = setTimeout(start, waitMs);
      this.timer = { cancel: () => clearTimeout(handle), dueAt };
    } else {
      const handle = setImmediate(start);
      this.timer = { cancel: () => clearImmediate(handle), dueAt };
    }
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        await this.commitBatch(batch);
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters.splice(0);
      for (const w of waiters) w();
    }
  }

  private async commitBatch(batch: Entry<T>[]): Promise<void> {
    let results: Array<Error | undefined>;
    try {
      results = await this.commit(batch.map((e) => e.item));
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(asError(err));
        return;
      }
      // One bad write must not fail its neighbours: retry each alone, so only it rejects.
      for (const entry of batch) await this.commitBatch([entry]);
      return;
    }
    batch.forEach((entry, i) => {
      const error = results[i];
      if (error) entry.reject(error);
      else entry.resolve();
    });
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
