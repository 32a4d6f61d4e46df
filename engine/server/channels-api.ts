/**
 * `/api/v1/channels` (docs/operations.md "Channels"): every channel with its state, store
 * counters, queues, latency and throughput; one channel's detail with its last hour, per-status
 * counts and destinations; start, pause and stop.
 *
 * Sources of each figure, so a reader knows what it covers:
 * - counters and `stageCounts`: the message store (all processes);
 * - queue depths: the transport (all processes);
 * - oldest waiting message: the store (engine/store/channel-queues.ts);
 * - `latencyMs`, `throughput`, `series`, stage errors: this process (engine/runtime/channel-stats.ts);
 * - state: what an operator asked (the `channel_states` table, shared by every process and kept
 *   across restarts; this process reads it every few seconds, engine/runtime/channel-state-sync.ts)
 *   plus what this process's source reports.
 */
import express from 'express';
import { fhirClients } from '../../connectors/fhir/client-registry';
import { toWaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import { remoteOf } from '../auth/types';
import { DEFAULTS } from '../channels/defaults';
import type { ChannelConfig } from '../channels/load';
import type { RetryConfig } from '../channels/types';
import type { WaslRuntime } from '../runtime/types';
import { channelQueueQueriesOf, type OldestWaiting } from '../store/channel-queues';
import type { QueueDepth } from '../transport/types';
import { depthOf } from './queue-depth';

export interface ChannelsApiOptions {
  runtime: WaslRuntime;
  channels: () => ChannelConfig[];
}

export type ChannelState = 'running' | 'paused' | 'stopped' | 'error' | 'starting' | 'disabled';

const ACTIONS = { start: 'channel.start', pause: 'channel.pause', stop: 'channel.stop' } as const;
type Action = keyof typeof ACTIONS;
const REQUESTED = { start: 'running', pause: 'paused', stop: 'stopped' } as const;

const log = logger({ stage: 'channels-api' });

/**
 * The state shown for a channel. The config's `enabled: false` wins, then a source that failed
 * (a port taken), then what an operator asked for, then what the source reports (in a worker
 * process, which has no source: running).
 */
export function channelState(runtime: WaslRuntime, channel: Pick<ChannelConfig, 'id' | 'enabled'>): ChannelState {
  if (channel.enabled === false) return 'disabled';
  const health = runtime.channelHealth.get(channel.id);
  if (health?.state === 'error') return 'error';
  const wanted = runtime.channelControl?.state(channel.id) ?? 'running';
  if (wanted !== 'running') return wanted;
  // A worker process runs no source (WASL_ROLE=worker), so none reports: its consumers run.
  if (runtime.role === 'worker') return 'running';
  return health?.state ?? 'stopped';
}

export function channelsRouter(options: ChannelsApiOptions): express.Router {
  const { runtime } = options;
  const router = express.Router();
  const find = (id: string) => options.channels().find((c) => c.id === id);

  router.get('/', async (_req, res, next) => {
    try {
      const configs = options.channels();
      const [counters, oldest] = await Promise.all([runtime.store.counters(), oldestWaiting(runtime, configs)]);
      const now = Date.now();
      const channels = await Promise.all(configs.map(async (c) => summary(runtime, c, counters[c.id], await queuesOf(runtime, c), oldest.get(c.id), now)));
      res.json({ channels });
    } catch (err) {
      next(err);
    }
  });

  router.get('/:id', async (req, res, next) => {
    try {
      const channel = find(req.params.id);
      if (!channel) {
        res.status(404).json({ error: `no channel ${req.params.id}` });
        return;
      }
      const queries = channelQueueQueriesOf(runtime.store);
      const [counters, oldest, queues, stageCounts] = await Promise.all([
        runtime.store.counters(),
        oldestWaiting(runtime, [channel]),
        queuesOf(runtime, channel),
        queries ? queries.statusCounts(channel.id) : Promise.resolve(null),
      ]);
      const now = Date.now();
      const waiting = oldest.get(channel.id);
      const circuits = fhirClients.circuitsFor(channel.id);
      const names = Object.keys(channel.destinations ?? {});
      res.json({
        ...summary(runtime, channel, counters[channel.id], queues, waiting, now),
        series: runtime.metrics.channelStats.series(channel.id),
        stageCounts,
        destinations: names.map((name) => {
          const retry = (channel.destinations[name] as { retry?: RetryConfig }).retry;
          return {
            name,
            type: (channel.destinations[name] as { type?: string }).type,
            queue: { ...queues[`${channel.id}.dest.${name}`], oldestAgeSeconds: ageSeconds(waiting?.destinations[name], now) },
            retry: {
              maxAttempts: retry?.maxAttempts ?? DEFAULTS.retry.maxAttempts,
              initialDelayMs: retry?.initialDelayMs ?? DEFAULTS.retry.initialDelayMs,
              maxDelayMs: retry?.maxDelayMs ?? DEFAULTS.retry.maxDelayMs,
            },
            circuit: circuitOf(channel.id, name, names.length, circuits),
          };
        }),
      });
    } catch (err) {
      next(err);
    }
  });

  router.post('/:id/:action(start|pause|stop)', async (req, res, next) => {
    try {
      const action = req.params.action as Action;
      const channel = find(req.params.id);
      if (!channel) {
        res.status(404).json({ error: `no channel ${req.params.id}` });
        return;
      }
      if (channel.enabled === false) {
        res.status(409).json({ error: `channel ${channel.id} is disabled in the channels file; enable it there` });
        return;
      }
      const control = runtime.channelControl;
      if (!control) {
        res.status(503).json({ error: 'channel control is not available in this process' });
        return;
      }
      const actor = req.waslUser?.username ?? 'anonymous';
      // Audited before acting: a control request that cannot be recorded is not carried out.
      await runtime.audit?.record({
        actor,
        action: ACTIONS[action],
        target: channel.id,
        from: remoteOf(req),
        detail: { previous: channelState(runtime, channel) },
      });
      const shared = runtime.channelStates;
      if (!shared) {
        await control[action](channel.id);
        res.json({ id: channel.id, state: channelState(runtime, channel) });
        return;
      }
      // Stored, then applied here; the other processes follow on their next read of the table.
      await shared.request(channel.id, REQUESTED[action], actor);
      res.json({ id: channel.id, state: channelState(runtime, channel), keptAcrossRestarts: true, otherProcessesPollMs: shared.intervalMs });
    } catch (err) {
      next(err);
    }
  });

  return router;
}

/** Depth of the channel's `.in` queue and each destination queue. */
async function queuesOf(runtime: WaslRuntime, channel: ChannelConfig): Promise<Record<string, QueueDepth>> {
  const names = [`${channel.id}.in`, ...Object.keys(channel.destinations ?? {}).map((d) => `${channel.id}.dest.${d}`)];
  const depths = await Promise.all(names.map((q) => depthOf(runtime, q)));
  return Object.fromEntries(names.map((q, i) => [q, depths[i]]));
}

/**
 * Oldest waiting messages from the store. When the store cannot say (a store without SQL, a
 * query failing), the ages read null and the rest of the answer still goes out.
 */
async function oldestWaiting(runtime: WaslRuntime, channels: ChannelConfig[]): Promise<Map<string, OldestWaiting>> {
  const queries = channelQueueQueriesOf(runtime.store);
  if (!queries) return new Map();
  try {
    return await queries.oldestWaiting(channels.map((c) => ({ id: c.id, destinations: Object.keys(c.destinations ?? {}) })));
  } catch (err) {
    log.warn('oldest waiting messages could not be read', { code: toWaslError(err).code });
    return new Map();
  }
}

function summary(
  runtime: WaslRuntime,
  channel: ChannelConfig,
  counters: { received: number; filtered: number; queued: number; sent: number; errored: number } | undefined,
  queues: Record<string, QueueDepth>,
  waiting: OldestWaiting | undefined,
  now: number,
) {
  const stats = runtime.metrics.channelStats;
  const stages = runtime.stageStats?.of(channel.id);
  return {
    id: channel.id,
    name: channel.name,
    state: channelState(runtime, channel),
    lastError: lastErrorOf(runtime, channel.id),
    ...(counters ?? { received: 0, filtered: 0, queued: 0, sent: 0, errored: 0 }),
    queues,
    // Waiting to be worked on (ready or delayed for a retry); dead letters wait for a person.
    queueDepth: Object.values(queues).reduce((n, q) => n + q.ready + q.delayed, 0),
    oldestQueuedAgeSeconds: ageSeconds(waiting?.channel, now),
    latencyMs: stats.latency(channel.id),
    throughput: stats.throughput(channel.id),
    // Circuit breaker per FHIR connection this channel uses (connectors/fhir/client-registry.ts).
    circuit: fhirClients.circuitsFor(channel.id),
    // Batch channels (claims): items, failures and batch timings per stage.
    ...(stages ? { stages } : {}),
  };
}

/** The later of the source's last error and the last failed delivery of a queue stage. */
function lastErrorOf(runtime: WaslRuntime, channel: string): { code: string; message: string; at: string; stage?: string } | undefined {
  const source = runtime.channelHealth.get(channel)?.lastError;
  const stage = runtime.metrics.channelStats.lastError(channel);
  if (!source) return stage;
  if (!stage) return { ...source, stage: 'source' };
  return stage.at > source.at ? stage : { ...source, stage: 'source' };
}

function ageSeconds(since: Date | undefined, now: number): number | null {
  return since ? Math.max(0, Math.round((now - since.getTime()) / 100) / 10) : null;
}

/**
 * The breaker of one destination: a destination's own FHIR connection is named
 * `<channel>.<destination>` (wasl-fhir-out); a channel with one destination and one breaker
 * (a named connection) owns that one. Otherwise null: the channel-wide `circuit` lists them all.
 */
function circuitOf(channel: string, destination: string, destinations: number, circuits: Record<string, string>): string | null {
  const own = circuits[`${channel}.${destination}`];
  if (own) return own;
  const all = Object.values(circuits);
  return destinations === 1 && all.length === 1 ? all[0] : null;
}
