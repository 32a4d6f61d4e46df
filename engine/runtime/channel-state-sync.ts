/**
 * Keeps this process's ChannelControl in step with the `channel_states` table (migration 0011),
 * so start / pause / stop are shared by every engine process on one database and survive a
 * restart (docs/operations.md "Channels").
 *
 * - A request (the API) writes the row first, then applies the state here at once. A request the
 *   database did not take is not applied anywhere.
 * - Every `intervalMs` the process reads the table (one select of one short row per channel) and
 *   applies each state that differs from what it last applied. Other processes therefore follow a
 *   request within one interval, plus the time their parts take to pause (a stop lets deliveries
 *   in flight finish first).
 * - `start()` applies the stored states before the engine starts Node-RED: ChannelControl keeps
 *   them, so sources and consumers created afterwards come up paused or stopped instead of taking
 *   input for a moment.
 *
 * Polling rather than a notification (PostgreSQL LISTEN, a broker fanout) because it needs nothing
 * but the table, works the same on SQLite, and cannot miss a change while a connection is down: a
 * process that could not read the table keeps its last state and catches up on the next read.
 */
import { intervalMsFromEnv } from '../../common/env';
import { toWaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import type { ChannelStateStore } from '../store/channel-states';
import type { ChannelControl, ControlState } from './channel-control';

export const DEFAULT_CHANNEL_STATE_POLL_MS = 2000;

/** WASL_CHANNEL_STATE_POLL_MS, default 2000; at least 100 so a typo cannot spin the database. */
export function channelStatePollFromEnv(env: NodeJS.ProcessEnv): number {
  return intervalMsFromEnv(env, 'WASL_CHANNEL_STATE_POLL_MS', DEFAULT_CHANNEL_STATE_POLL_MS);
}

export interface ChannelStateSyncOptions {
  control: ChannelControl;
  store: Pick<ChannelStateStore, 'save' | 'states'>;
  /** Between the end of one read and the next (WASL_CHANNEL_STATE_POLL_MS). */
  intervalMs: number;
  logger?: Logger;
}

export class ChannelStateSync {
  /** What this process last applied per channel (from a request or a read); absent: running. */
  private readonly applied = new Map<string, ControlState>();
  /**
   * Bumped when a request starts and when its write lands, and a request in progress is counted:
   * a read that overlapped a request may predate its write, so it must not undo it (the next read
   * sees the row).
   */
  private readonly generation = new Map<string, number>();
  private readonly requesting = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private stopped = false;
  /** The code of the failure the last read ended with, so an outage logs once, not every interval. */
  private failing: string | undefined;
  private readonly log: Logger;

  constructor(private readonly options: ChannelStateSyncOptions) {
    this.log = options.logger ?? createLogger({ stage: 'channel-state-sync' });
  }

  get intervalMs(): number {
    return this.options.intervalMs;
  }

  /**
   * Applies the stored states (throws when the table cannot be read: starting with a stopped
   * channel running would be worse than not starting), then reads again every interval.
   */
  async start(): Promise<void> {
    const stored = await this.options.store.states();
    await Promise.all([...stored].map(([channel, state]) => this.apply(channel, state)));
    const held = [...stored].filter(([, state]) => state !== 'running').map(([channel, state]) => `${channel}=${state}`);
    if (held.length) this.log.info('channels held as requested before the start', { channels: held.join(',') });
    this.schedule();
  }

  /** Stops reading; waits for a read under way. States already applied stay. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.reading;
  }

  /**
   * An operator's request: writes the row (`by` is who asked), then applies the state in this
   * process and resolves once its parts followed. Rejects, applying nothing, when the write fails.
   */
  async request(channel: string, state: ControlState, by: string): Promise<ControlState> {
    this.bump(channel);
    this.requesting.set(channel, (this.requesting.get(channel) ?? 0) + 1);
    try {
      await this.options.store.save(channel, state, by);
    } finally {
      this.bump(channel);
      const left = (this.requesting.get(channel) ?? 1) - 1;
      if (left > 0) this.requesting.set(channel, left);
      else this.requesting.delete(channel);
    }
    return this.apply(channel, state);
  }

  /** One read of the table, applying what changed. Exposed for tests; the timer calls it. */
  async poll(): Promise<void> {
    const before = new Map(this.generation);
    const stored = await this.options.store.states();
    for (const [channel, state] of stored) {
      if (this.requesting.has(channel) || this.generation.get(channel) !== before.get(channel)) continue;
      if ((this.applied.get(channel) ?? this.options.control.state(channel)) === state) continue;
      this.log.info('channel state changed by another process', { channel, state });
      // Not awaited: a stop may wait up to 30 s for deliveries in flight, and other channels'
      // changes must not wait behind it. ChannelControl runs one operation per channel at a time.
      this.apply(channel, state).catch((err) => this.log.error('channel state could not be applied', { channel, state, code: toWaslError(err).code }));
    }
  }

  private apply(channel: string, state: ControlState): Promise<ControlState> {
    this.applied.set(channel, state);
    return this.options.control.set(channel, state);
  }

  private bump(channel: string): void {
    this.generation.set(channel, (this.generation.get(channel) ?? 0) + 1);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.options.intervalMs).unref();
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    this.reading = this.poll().then(
      () => {
        if (this.failing) this.log.info('channel states readable again', {});
        this.failing = undefined;
      },
      (err) => {
        const code = toWaslError(err).code;
        if (this.failing !== code) this.log.warn('channel states could not be read; keeping the last ones and trying again', { code });
        this.failing = code;
      },
    );
    await this.reading;
    this.reading = undefined;
    this.schedule();
  }
}
