/**
 * `receive` and `markAccepted` on PostgreSQL, the hot path of every ACK, as group commit: the
 * receives that arrive while the previous statement runs go in together as ONE autocommit
 * statement (`insert ... select from unnest(...)`), and accept flags likewise as one `update`.
 *
 * Why: at eight connections bench:mllp spent more of the engine's CPU in socket writes than in
 * anything else (one Bind/Execute/Sync per message, each a write to PostgreSQL's socket and a
 * commit there), and PostgreSQL itself 0.3 ms of CPU per message. One statement per batch pays
 * the round trip, the commit and the fsync once for all of it. A lone message still goes at the
 * next turn of the event loop, so a single connection waits no longer than before.
 *
 * A row that does not come back from the insert collided with an existing one (a resend, or a
 * copy that the other lane's statement inserted first): it takes `receiveWithKnex`, which reads
 * the row it collided with. Two copies of one message in the same batch share an id, so only the
 * first goes into the statement and the others follow it through `receiveWithKnex` once it
 * committed: they are duplicates of it.
 */
import type { Knex } from 'knex';
import { GroupCommit } from './group-commit';
import { fresh, receiveWithKnex, type ReceiveRow } from './receive';
import type { ReceiveResult } from './types';

/** The part of a node-postgres client used here. */
interface PgConnection {
  query(config: { name?: string; text: string; values: unknown[] }): Promise<{ rows: Array<{ id: string }> }>;
}
interface KnexClientPool {
  acquireConnection(): Promise<PgConnection>;
  releaseConnection(connection: PgConnection): Promise<unknown>;
}

/** Per-row columns, with the array type each is sent as. `received_at`/`updated_at` are one value per batch. */
const ROW_COLUMNS = [
  ['id', 'text'],
  ['channel', 'text'],
  ['correlation_id', 'text'],
  ['sender', 'text'],
  ['control_id', 'text'],
  ['message_type', 'text'],
  ['patient_key', 'text'],
  ['status', 'text'],
  ['accepted', 'boolean'],
  ['raw', 'text'],
  ['attempts', 'integer'],
] as const;

const TIME_PARAM = ROW_COLUMNS.length + 1;

const RECEIVE_BATCH = {
  // Named: node-postgres parses it once per connection and then only binds values.
  name: 'wasl_receive_batch',
  text:
    `insert into messages (${ROW_COLUMNS.map(([c]) => c).join(', ')}, received_at, updated_at) ` +
    `select u.*, $${TIME_PARAM}::timestamptz, $${TIME_PARAM}::timestamptz ` +
    `from unnest(${ROW_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) as u ` +
    'on conflict do nothing returning id',
};

/**
 * Not a named statement on purpose: a prepared statement's generic plan, made while the table was
 * small, kept scanning the whole table as it grew (bench:mllp: 60% of PostgreSQL's time). Planned
 * afresh, `id = any(...)` always takes the primary key.
 */
const ACCEPT_BATCH = {
  // No `updated_at`: the flag is bookkeeping, not progress, and leaving the indexed columns alone
  // lets PostgreSQL update the row in place (a HOT update) where the page has room.
  text: 'update messages set accepted = true where id = any($1::text[]) returning id',
};

const RECEIVE_LANES = 2;

/** Rows per statement: a batch is what queued during the previous one, so this is only a cap. */
const MAX_BATCH = 500;

interface PendingReceive {
  row: ReceiveRow;
  /** Set by the batch: the row went in (false: it collided, read what it collided with). */
  inserted?: boolean;
}

interface PendingAccept {
  id: string;
  found?: boolean;
}

export class PostgresReceiver {
  /**
   * Two lanes, so a batch can start while the previous one waits for its commit to reach the disk
   * (PostgreSQL flushes both commits together): with one, receives that arrived during a flush
   * waited for it and then for their own.
   */
  private readonly receives = Array.from({ length: RECEIVE_LANES }, () => new GroupCommit<PendingReceive>((batch) => this.insertBatch(batch), MAX_BATCH));
  private readonly accepts: GroupCommit<PendingAccept>;

  /**
   * @param acceptLingerMs how long accept flags wait to share a statement: nothing waits on them
   *   (only a resend's dedupe shortcut reads them), so they can afford to.
   */
  constructor(
    private readonly knex: Knex,
    acceptLingerMs: number,
  ) {
    this.accepts = new GroupCommit<PendingAccept>((batch) => this.acceptBatch(batch), MAX_BATCH, acceptLingerMs);
  }

  async receive(row: ReceiveRow): Promise<ReceiveResult> {
    const pending: PendingReceive = { row };
    await (this.receives.find((lane) => lane.idle) ?? this.receives[0]).submit(pending);
    return pending.inserted ? fresh(row) : receiveWithKnex(this.knex, row);
  }

  /** Resolves once the flag is written; rejects (per id) when no such message exists. */
  async markAccepted(id: string): Promise<boolean> {
    const pending: PendingAccept = { id };
    await this.accepts.submit(pending);
    return pending.found === true;
  }

  /** Waits for queued statements to finish. */
  async close(): Promise<void> {
    await Promise.all([...this.receives, this.accepts].map((lane) => lane.close()));
  }

  private async insertBatch(batch: PendingReceive[]): Promise<Array<Error | undefined>> {
    // First copy of each id only; later copies of it are resolved as collisions (see top).
    const seen = new Set<string>();
    const rows = batch.filter((p) => !seen.has(p.row.id) && seen.add(p.row.id)).map((p) => p.row);
    // In id order, so two lanes inserting the same ids take their index locks in the same order
    // (in any other order they could deadlock).
    rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const values: unknown[] = ROW_COLUMNS.map(([column]) => rows.map((r) => r[column]));
    values.push(rows[0].received_at);
    const inserted = new Set((await this.run({ ...RECEIVE_BATCH, values })).map((r) => r.id));
    for (const p of batch) {
      // An id inserted by this batch counts once: for its first copy.
      p.inserted = inserted.delete(p.row.id);
    }
    return batch.map(() => undefined);
  }

  private async acceptBatch(batch: PendingAccept[]): Promise<Array<Error | undefined>> {
    const ids = [...new Set(batch.map((p) => p.id))];
    const found = new Set((await this.run({ ...ACCEPT_BATCH, values: [ids] })).map((r) => r.id));
    for (const p of batch) p.found = found.has(p.id);
    return batch.map(() => undefined);
  }

  private async run(query: { name?: string; text: string; values: unknown[] }): Promise<Array<{ id: string }>> {
    const pool = this.knex.client as unknown as KnexClientPool;
    const connection = await pool.acquireConnection();
    try {
      return (await connection.query(query)).rows;
    } finally {
      await pool.releaseConnection(connection);
    }
  }
}
