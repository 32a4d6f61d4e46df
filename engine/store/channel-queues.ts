/**
 * What the store can say about a channel's waiting messages that the queues cannot: how old the
 * oldest one is (RabbitMQ does not tell a queue's oldest message; the answer must not depend on
 * the transport), and how many messages sit in each status. Every queued message has a row, so
 * the store answers both, for the ops API and the /metrics gauges.
 *
 * Each "oldest" is an `order by received_at limit 1` on one (channel, status): the
 * messages_channel_status index (channel, status, received_at, id; migration 0009) makes it one
 * index seek, so the cost does not grow with the backlog. All of them go in one statement.
 */
import type { Knex } from 'knex';
import { KnexMessageStore } from './knex-store';
import { fromDbTime } from './rows';
import type { MessageStatus, MessageStore } from './types';

export interface ChannelQueuesOf {
  id: string;
  destinations: string[];
}

export interface OldestWaiting {
  /** Oldest message of the channel not finished yet (accepted and RECEIVED, TRANSFORMED or QUEUED). */
  channel?: Date;
  /** Oldest not yet handed to a destination queue: the `<channel>.in` stage. */
  intake?: Date;
  /** Per destination: the oldest message QUEUED for it. */
  destinations: Record<string, Date | undefined>;
}

const STATUSES: readonly MessageStatus[] = ['RECEIVED', 'FILTERED', 'TRANSFORMED', 'QUEUED', 'SENT', 'ERROR'];

type Part = 'received' | 'transformed' | 'queued' | `dest:${string}`;

export class ChannelQueueQueries {
  constructor(private readonly knex: Knex) {}

  /** Messages of one channel per store status (every status present, 0 when none). */
  async statusCounts(channel: string): Promise<Record<MessageStatus, number>> {
    const rows: Array<{ status: string; n: number | string }> = await this.knex('messages').select('status').count({ n: '*' }).where({ channel }).groupBy('status');
    const out = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<MessageStatus, number>;
    for (const r of rows) if (r.status in out) out[r.status as MessageStatus] = Number(r.n);
    return out;
  }

  /** The oldest waiting messages of each channel, read together in one statement. */
  async oldestWaiting(channels: readonly ChannelQueuesOf[]): Promise<Map<string, OldestWaiting>> {
    const out = new Map<string, OldestWaiting>(channels.map((c) => [c.id, { destinations: Object.fromEntries(c.destinations.map((d) => [d, undefined])) }]));
    const branches: string[] = [];
    const bindings: string[] = [];
    const branch = (channel: string, part: Part, subquery: string, extra: string[] = []) => {
      branches.push(`select cast(? as text) as channel, cast(? as text) as part, (${subquery}) as oldest`);
      bindings.push(channel, part, channel, ...extra);
    };
    // Statuses are literals (constants), ids are bound. A RECEIVED row not accepted was never
    // queued (the sender got a NAK), so it waits for nothing.
    const oldest = (where: string) => `select m.received_at from messages m where m.channel = ? and ${where} order by m.received_at limit 1`;
    for (const c of channels) {
      branch(c.id, 'received', oldest(`m.status = 'RECEIVED' and m.accepted`));
      branch(c.id, 'transformed', oldest(`m.status = 'TRANSFORMED'`));
      branch(c.id, 'queued', oldest(`m.status = 'QUEUED'`));
      // A message failed at one destination and queued at another shows ERROR and is not seen
      // here: walking ERROR rows would grow with every failure ever kept.
      for (const d of c.destinations) {
        branch(
          c.id,
          `dest:${d}`,
          oldest(`m.status = 'QUEUED' and exists (select 1 from message_destinations d where d.message_id = m.id and d.destination = ? and d.status = 'QUEUED')`),
          [d],
        );
      }
    }
    if (branches.length === 0) return out;
    const rows = rowsOf(await this.knex.raw(branches.join(' union all '), bindings));
    const min = (a: Date | undefined, b: Date | undefined) => (!a ? b : !b ? a : a <= b ? a : b);
    for (const r of rows) {
      const entry = out.get(r.channel);
      if (!entry || r.oldest === null || r.oldest === undefined) continue;
      const at = fromDbTime(r.oldest);
      if (r.part.startsWith('dest:')) entry.destinations[r.part.slice(5)] = at;
      else {
        entry.channel = min(entry.channel, at);
        if (r.part !== 'queued') entry.intake = min(entry.intake, at);
      }
    }
    return out;
  }
}

type OldestRow = { channel: string; part: string; oldest: Date | number | string | null };

/** knex.raw answers `{rows}` on PostgreSQL and the rows themselves on SQLite. */
function rowsOf(result: unknown): OldestRow[] {
  return Array.isArray(result) ? (result as OldestRow[]) : ((result as { rows: OldestRow[] }).rows ?? []);
}

/** The queries for a knex-backed store; undefined for any other store (they then show null). */
export function channelQueueQueriesOf(store: MessageStore): ChannelQueueQueries | undefined {
  return store instanceof KnexMessageStore ? new ChannelQueueQueries(store.knex) : undefined;
}
