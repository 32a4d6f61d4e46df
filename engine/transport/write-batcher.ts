/**
 * Groups the writes issued in one turn of the event loop into a single SQLite transaction.
 * A commit costs far more than an insert (and an fsync under synchronous=FULL), so a burst of
 * publishes and acks shares one commit; each caller's promise resolves only after that commit.
 */
import { TransientError } from '../../common/errors';
import type { SqliteDatabase } from './sqlite';

interface Pending {
  op: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

export class WriteBatcher {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly runAll: (ops: Array<() => unknown>) => unknown[];

  constructor(private readonly db: SqliteDatabase) {
    this.runAll = db.transaction((ops: Array<() => unknown>) => ops.map((op) => op()));
  }

  /** Queues `op` (synchronous SQL) for the next commit; resolves with its result once committed. */
  run<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ op, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate, not nextTick: it lets every promise continuation of this turn join.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Resolves once everything queued before this call is committed. */
  drain(): Promise<void> {
    return this.pending.length === 0 && !this.scheduled ? Promise.resolve() : this.run(() => undefined);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    try {
      const results = this.runAll(batch.map((p) => p.op));
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch {
      // One failing statement rolled the whole batch back; run each alone so only it fails.
      for (const p of batch) {
        try {
          p.resolve(this.db.transaction(p.op)());
        } catch (err) {
          p.reject(new TransientError('EMBEDDED_QUEUE_WRITE', `queue database write failed: ${(err as Error).message}`, { cause: err }));
        }
      }
    }
  }
}
