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
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  /**
   * @param commit writes a batch in one transaction
   * @param maxBatch caps a batch so one transaction never holds the (single SQLite) connection long
   */
  constructor(
    private readonly commit: CommitBatch<T>,
    private readonly maxBatch = 1000,
    /** Wait this long before a batch starts, to gather more writes (0: the next turn of the loop). */
    private readonly lingerMs = 0,
  ) {}

  /** No batch is being written or waiting to start: a write submitted now starts at once. */
  get idle(): boolean {
    return !this.running && !this.scheduled;
  }

  /** Queues one write; resolves once the transaction holding it committed. */
  submit(item: T): Promise<void> {
    if (this.closed) return Promise.reject(new Error('Message store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Refuses new writes and resolves once every queued write has been committed (or failed). */
  async close(): Promise<void> {
    this.closed = true;
    if (!this.running && !this.scheduled && this.pending.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    // A running drain picks up what queued meanwhile; it re-checks `pending` after each commit.
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    const start = () => {
      this.scheduled = false;
      void this.drain();
    };
    if (this.lingerMs > 0) setTimeout(start, this.lingerMs);
    else setImmediate(start);
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
