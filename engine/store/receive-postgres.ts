/**
 * `receive` on PostgreSQL, the hot path of every ACK, as group commit: the receives that arrive
 * while the previous statement runs go in together as ONE autocommit statement
 * (`insert ... select from unnest(...)`). Accept flags go with the message's other writes
 * (updates-postgres.ts).
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
import { withPgConnection } from './pg-connection';
import { fresh, receiveWithKnex, type ReceiveRow } from './receive';
import type { ReceiveResult } from './types';

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

const RECEIVE_LANES = 2;

/** Rows per statement: a batch is what queued during the previous one, so this is only a cap. */
const MAX_BATCH = 500;

interface PendingReceive {
  row: ReceiveRow;
  /** Set by the batch: the row went in (false: it collided, read what it collided with). */
  inserted?: boolean;
}

export class PostgresReceiver {
  /**
   * Two lanes, so a batch can start while the previous one waits for its commit to reach the disk
   * (PostgreSQL flushes both commits together): with one, receives that arrived during a flush
   * waited for it and then for their own.
   */
  private readonly receives = Array.from({ length: RECEIVE_LANES }, () => new GroupCommit<PendingReceive>((batch) => this.insertBatch(batch), MAX_BATCH));

  constructor(private readonly knex: Knex) {}

  async receive(row: ReceiveRow): Promise<ReceiveResult> {
    const pending: PendingReceive = { row };
    await (this.receives.find((lane) => lane.idle) ?? this.receives[0]).submit(pending);
    return pending.inserted ? fresh(row) : receiveWithKnex(this.knex, row);
  }

  /** Waits for queued statements to finish. */
  async close(): Promise<void> {
    await Promise.all(this.receives.map((lane) => lane.close()));
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

  private run(query: { name?: string; text: string; values: unknown[] }): Promise<Array<{ id: string }>> {
    return withPgConnection(this.knex, async (connection) => (await connection.query(query)).rows);
  }
}
