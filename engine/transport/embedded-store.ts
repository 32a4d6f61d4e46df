/**
 * The SQL of the embedded transport: every statement prepared once, all synchronous. Callers
 * decide which run inside a batched transaction (see write-batcher.ts).
 */
import type { DeadLetter, MessageHeaders, QueueDepth } from './types';
import type { SqliteDatabase, Statement } from './sqlite';

/** A message claimed by a consumer; `lease` proves the claim is still its own when it settles. */
export interface ClaimedMessage {
  id: number;
  body: Buffer;
  headers: MessageHeaders;
  lease: number;
}

interface MessageRow {
  id: number;
  body: Buffer;
  headers: string;
  attempt: number;
  reason?: string | null;
}

/** The `attempt` column is authoritative; the JSON copy is refreshed on retry and replay. */
function toHeaders(row: MessageRow): MessageHeaders {
  return { ...(JSON.parse(row.headers) as MessageHeaders), attempt: row.attempt };
}

export class QueueStore {
  private readonly s: Record<string, Statement>;

  constructor(db: SqliteDatabase) {
    this.s = {
      addQueue: db.prepare('INSERT OR IGNORE INTO queues (name) VALUES (?)'),
      queues: db.prepare('SELECT name FROM queues'),
      insert: db.prepare(
        "INSERT INTO messages (queue, body, headers, attempt, available_at, state) VALUES (?, ?, ?, ?, ?, 'ready')",
      ),
      claim: db.prepare(
        `UPDATE messages SET state = 'inflight', lease = ?
         WHERE id IN (SELECT id FROM messages WHERE queue = ? AND state = 'ready' AND available_at <= ?
                      ORDER BY available_at, id LIMIT ?)
         RETURNING id, body, headers, attempt`,
      ),
      ack: db.prepare("DELETE FROM messages WHERE id = ? AND lease = ? AND state = 'inflight'"),
      retry: db.prepare(
        `UPDATE messages SET state = 'ready', lease = NULL, headers = ?, attempt = ?, available_at = ?
         WHERE id = ? AND lease = ? AND state = 'inflight'`,
      ),
      deadLetter: db.prepare(
        "UPDATE messages SET state = 'dead', lease = NULL, reason = ? WHERE id = ? AND lease = ? AND state = 'inflight'",
      ),
      release: db.prepare("UPDATE messages SET state = 'ready', lease = NULL WHERE id = ? AND lease = ? AND state = 'inflight'"),
      recover: db.prepare("UPDATE messages SET state = 'ready', lease = NULL WHERE state = 'inflight'"),
      nextDue: db.prepare("SELECT MIN(available_at) AS due FROM messages WHERE queue = ? AND state = 'ready'"),
      depth: db.prepare(
        `SELECT
           COALESCE(SUM(state = 'inflight' OR (state = 'ready' AND available_at <= ?)), 0) AS ready,
           COALESCE(SUM(state = 'ready' AND available_at > ?), 0) AS delayed,
           COALESCE(SUM(state = 'dead'), 0) AS dead
         FROM messages WHERE queue = ?`,
      ),
      peekDead: db.prepare(
        "SELECT id, body, headers, attempt, reason FROM messages WHERE queue = ? AND state = 'dead' ORDER BY id LIMIT ?",
      ),
      replayDead: db.prepare(
        `UPDATE messages SET state = 'ready', reason = NULL, attempt = 1, available_at = ?,
                headers = json_set(headers, '$.attempt', 1)
         WHERE queue = ? AND state = 'dead'`,
      ),
    };
  }

  addQueue(name: string): void {
    this.s.addQueue.run(name);
  }

  queueNames(): string[] {
    return (this.s.queues.all() as Array<{ name: string }>).map((r) => r.name);
  }

  insert(queue: string, body: Buffer, headers: MessageHeaders, availableAt: number): void {
    this.s.insert.run(queue, body, JSON.stringify(headers), headers.attempt, availableAt);
  }

  claim(queue: string, now: number, limit: number, lease: number): ClaimedMessage[] {
    const rows = this.s.claim.all(lease, queue, now, limit) as MessageRow[];
    // RETURNING gives no order guarantee; hand them out oldest first.
    rows.sort((a, b) => a.id - b.id);
    return rows.map((r) => ({ id: r.id, body: r.body, headers: toHeaders(r), lease }));
  }

  /** The settle statements return false when the claim is gone (released by cancel or restart). */
  ack(id: number, lease: number): boolean {
    return this.s.ack.run(id, lease).changes === 1;
  }

  retry(id: number, lease: number, headers: MessageHeaders, availableAt: number): boolean {
    return this.s.retry.run(JSON.stringify(headers), headers.attempt, availableAt, id, lease).changes === 1;
  }

  deadLetter(id: number, lease: number, reason: string): boolean {
    return this.s.deadLetter.run(reason, id, lease).changes === 1;
  }

  release(id: number, lease: number): boolean {
    return this.s.release.run(id, lease).changes === 1;
  }

  /** Claims left by a process that died hold nobody's lease: make them deliverable again. */
  recoverInflight(): number {
    return this.s.recover.run().changes;
  }

  /** Earliest `available_at` of a waiting message, or undefined when none waits. */
  nextDue(queue: string): number | undefined {
    const row = this.s.nextDue.get(queue) as { due: number | null };
    return row.due ?? undefined;
  }

  depth(queue: string, now: number): QueueDepth {
    const row = this.s.depth.get(now, now, queue) as QueueDepth;
    return { ready: row.ready, delayed: row.delayed, dead: row.dead };
  }

  peekDead(queue: string, limit: number): DeadLetter[] {
    const rows = this.s.peekDead.all(queue, limit) as MessageRow[];
    return rows.map((r) => ({ body: r.body, headers: toHeaders(r), reason: r.reason ?? '' }));
  }

  replayDead(queue: string, now: number): number {
    return this.s.replayDead.run(now, queue).changes;
  }
}
