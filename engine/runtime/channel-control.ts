/**
 * Start, pause and stop of channels (docs/operations.md) in this process.
 *
 * - pause: the source stops taking input; queued messages keep flowing to the destinations.
 * - stop: the source stops, then every queue consumer of the channel stops; queued messages wait.
 * - start: consumers run again, then the source takes input again.
 *
 * Source nodes register how to pause and resume their intake; queue stages register how to stop
 * and start their consumer. The registry remembers what the operator asked for, so a part that
 * registers later (a redeploy creates new nodes) comes up in that state instead of running.
 *
 * This registry is the process's own copy. In the engine, channel-state-sync.ts keeps it in step
 * with the `channel_states` table, so a request made to any process reaches every process on the
 * same database and outlives a restart; without it (node tests) the state lives here only.
 */
import { toWaslError } from '../../common/errors';
import { logger } from '../../common/logger';

export type ControlState = 'running' | 'paused' | 'stopped';

/** One part of a channel that can be held and let go again. Both calls must be idempotent. */
export interface ControlledPart {
  /** Stops taking work. Resolves once work already taken is settled (or handed back). */
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export class ChannelControl {
  private readonly wanted = new Map<string, ControlState>();
  private readonly sources = new Map<string, Set<ControlledPart>>();
  private readonly consumers = new Map<string, Set<ControlledPart>>();
  /** One operation at a time per channel: a start must not overtake a stop still draining. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly log = logger({ stage: 'channel-control' });

  /** What the operator last asked for (`running` when nobody asked). */
  state(channel: string): ControlState {
    return this.wanted.get(channel) ?? 'running';
  }

  /**
   * A source's intake (listener, endpoint, poll loop). It is paused at once when the channel is
   * paused or stopped. Returns the function that removes it (call it when the node closes).
   */
  registerSource(channel: string, part: ControlledPart): () => void {
    return this.register(this.sources, channel, part, this.state(channel) !== 'running');
  }

  /** A queue consumer of the channel. It is stopped at once when the channel is stopped. */
  registerConsumer(channel: string, part: ControlledPart): () => void {
    return this.register(this.consumers, channel, part, this.state(channel) === 'stopped');
  }

  pause(channel: string): Promise<ControlState> {
    return this.run(channel, 'paused', async () => {
      await this.each(this.sources, channel, 'pause');
      // From stopped to paused: queued messages flow again.
      await this.each(this.consumers, channel, 'resume');
    });
  }

  stop(channel: string): Promise<ControlState> {
    return this.run(channel, 'stopped', async () => {
      // Source first, so nothing new is queued behind consumers that are already gone.
      await this.each(this.sources, channel, 'pause');
      await this.each(this.consumers, channel, 'pause');
    });
  }

  /** Applies `state` by name: `running` starts, `paused` pauses, `stopped` stops. */
  set(channel: string, state: ControlState): Promise<ControlState> {
    if (state === 'paused') return this.pause(channel);
    if (state === 'stopped') return this.stop(channel);
    return this.start(channel);
  }

  start(channel: string): Promise<ControlState> {
    return this.run(channel, 'running', async () => {
      await this.each(this.consumers, channel, 'resume');
      await this.each(this.sources, channel, 'resume');
    });
  }

  private register(parts: Map<string, Set<ControlledPart>>, channel: string, part: ControlledPart, holdNow: boolean): () => void {
    let set = parts.get(channel);
    if (!set) parts.set(channel, (set = new Set()));
    set.add(part);
    // Called synchronously: the part sets its flag before it could take its first message.
    if (holdNow) this.settle(part.pause(), channel, 'pause');
    return () => {
      const current = parts.get(channel);
      current?.delete(part);
      if (current?.size === 0) parts.delete(channel);
    };
  }

  private run(channel: string, state: ControlState, apply: () => Promise<void>): Promise<ControlState> {
    const previous = this.chains.get(channel) ?? Promise.resolve();
    const next = previous.then(async () => {
      this.wanted.set(channel, state);
      this.log.info('channel state requested', { channel, state });
      await apply();
    });
    const tail = next.catch(() => undefined);
    this.chains.set(channel, tail);
    void tail.then(() => {
      if (this.chains.get(channel) === tail) this.chains.delete(channel);
    });
    return next.then(() => this.state(channel));
  }

  /**
   * Applies one call to every part of a kind, in parallel. A part that fails (a listener that
   * cannot bind again) reports on the channel's health itself; the others still get the call.
   */
  private async each(parts: Map<string, Set<ControlledPart>>, channel: string, call: 'pause' | 'resume'): Promise<void> {
    await Promise.all([...(parts.get(channel) ?? [])].map((p) => this.settle(p[call](), channel, call)));
  }

  private settle(p: Promise<void>, channel: string, call: string): Promise<void> {
    return p.catch((err) => {
      this.log.error('channel part did not follow the requested state', { channel, call, code: toWaslError(err).code });
    });
  }
}
