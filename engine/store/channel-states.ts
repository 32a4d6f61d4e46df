/**
 * The `channel_states` table (migration 0011): the state an operator last asked of each channel.
 * Every engine process on the database reads it (engine/runtime/channel-state-sync.ts), so a stop
 * sent to one process reaches the others, and a restarted process finds it again.
 */
import type { Knex } from 'knex';
import { fromDbTime, toDbTime, type Dialect } from './rows';

export type RequestedState = 'running' | 'paused' | 'stopped';

export interface ChannelStateRecord {
  channel: string;
  state: RequestedState;
  updatedAt: Date;
  /** Who asked (a username, or `anonymous`). */
  updatedBy: string;
}

export interface ChannelStateRow {
  channel: string;
  state: string;
  updated_at: Date | number | string;
  updated_by: string;
}

const STATES: readonly string[] = ['running', 'paused', 'stopped'];

/** The insert-or-replace of one channel's row: `on conflict (channel) do update` on both dialects. */
export function channelStateUpsert(knex: Knex, row: ChannelStateRow): Knex.QueryBuilder {
  return knex('channel_states').insert(row).onConflict('channel').merge(['state', 'updated_at', 'updated_by']);
}

export class ChannelStateStore {
  constructor(
    private readonly knex: Knex,
    private readonly dialect: Dialect,
  ) {}

  /** Records what was asked of `channel`, replacing what was asked before (one row per channel). */
  async save(channel: string, state: RequestedState, by: string, at = new Date()): Promise<ChannelStateRecord> {
    await channelStateUpsert(this.knex, { channel, state, updated_at: toDbTime(this.dialect, at), updated_by: by });
    return { channel, state, updatedAt: at, updatedBy: by };
  }

  /**
   * The requested state of every channel that has one: what each process reads on every poll.
   * The table holds one short row per channel, so reading it whole is cheaper than asking the
   * database what changed since (which would also trust every process's clock).
   */
  async states(): Promise<Map<string, RequestedState>> {
    const rows: Array<Pick<ChannelStateRow, 'channel' | 'state'>> = await this.knex('channel_states').select('channel', 'state');
    // The check constraint keeps other values out; skip one anyway rather than act on it.
    return new Map(rows.filter((r) => STATES.includes(r.state)).map((r) => [r.channel, r.state as RequestedState]));
  }

  /** One channel's row with who asked and when, or undefined when nobody asked. */
  async get(channel: string): Promise<ChannelStateRecord | undefined> {
    const row = await this.knex<ChannelStateRow>('channel_states').where({ channel }).first();
    return row && { channel: row.channel, state: row.state as RequestedState, updatedAt: fromDbTime(row.updated_at), updatedBy: row.updated_by };
  }
}
