/**
 * What alert rules measure, behind one small interface so the evaluator can be tested against
 * real store rows and a real transport. {@link StoreSignals} reads:
 * - the message store (knex, both dialects: SQLite keeps epoch-ms times, PostgreSQL timestamptz,
 *   so every time bound goes through `toDbTime` and every time read through `fromDbTime`);
 * - the transport's queue depths;
 * - the circuit breakers of this process's FHIR clients (connectors/fhir/client-registry.ts).
 *   Breakers live in the process that delivers: in an `intake` process, which runs no
 *   destinations, only the store's delivery outcomes say a destination is down.
 * The queries walk indexes of migrations 0009 (channel + received_at, channel + status) and 0010
 * (channel + updated_at, destination + updated_at).
 */
import type { Knex } from 'knex';
import { WaslError } from '../../common/errors';
import type { BreakerState } from '../../connectors/fhir/connection';
import { fromDbTime, toDbTime, type Dialect } from '../store/rows';
import type { QueueDepth, Transport } from '../transport/types';

/** One finished delivery of a message to a destination, newest first. */
export type DeliveryOutcome = 'sent' | 'failed';

export interface AlertSignals {
  /** Messages of the channel that finished (SENT, FILTERED, ERROR) since `since`, and how many of those errored. */
  finishedSince(channel: string, since: Date): Promise<{ finished: number; errored: number }>;
  /** Depth of a queue (`<channel>.in`, `<channel>.dest.<name>`). */
  queueDepth(queue: string): Promise<QueueDepth>;
  /**
   * When the oldest message still waiting was received: waiting for the channel's `in` stage
   * (accepted, not yet transformed or routed), or, with `destination`, queued for that destination.
   */
  oldestWaiting(channel: string, destination?: string): Promise<Date | undefined>;
  /** When the channel last received a message. */
  lastReceived(channel: string): Promise<Date | undefined>;
  /**
   * The last `limit` finished deliveries to a destination, newest first: one per message, SENT is
   * `sent`; ERROR, or QUEUED again after a failed attempt (retrying), is `failed`.
   */
  lastDeliveries(channel: string, destination: string, limit: number): Promise<DeliveryOutcome[]>;
  /** The destination's circuit breaker in this process, when it has one. */
  circuit(channel: string, destination: string): BreakerState | undefined;
}

/** What {@link StoreSignals} needs of the circuit registry (the process-wide `fhirClients`). */
export interface CircuitSource {
  circuitsFor(channel: string): Record<string, BreakerState>;
}

export interface StoreSignalsOptions {
  knex: Knex;
  dialect: Dialect;
  transport: Pick<Transport, 'depth'>;
  circuits: CircuitSource;
}

/** Statuses of a message that is done with (see engine/store/types.ts). */
const FINISHED = ['SENT', 'FILTERED', 'ERROR'];
/** A message still before or in the `in` stage: nothing has been routed to a destination yet. */
const BEFORE_ROUTING = ['RECEIVED', 'TRANSFORMED'];

export class StoreSignals implements AlertSignals {
  constructor(private readonly opts: StoreSignalsOptions) {}

  async finishedSince(channel: string, since: Date): Promise<{ finished: number; errored: number }> {
    const { knex, dialect } = this.opts;
    // (channel, updated_at) index: only the window's rows are read.
    const rows: Array<{ status: string; n: number | string }> = await knex('messages')
      .select('status')
      .count({ n: '*' })
      .where('channel', channel)
      .where('updated_at', '>=', toDbTime(dialect, since))
      .whereIn('status', FINISHED)
      .groupBy('status');
    let finished = 0;
    let errored = 0;
    for (const r of rows) {
      finished += Number(r.n);
      if (r.status === 'ERROR') errored += Number(r.n);
    }
    return { finished, errored };
  }

  async queueDepth(queue: string): Promise<QueueDepth> {
    try {
      return await this.opts.transport.depth(queue);
    } catch (err) {
      // Not declared yet (the first round runs before the flows start) or never (a disabled
      // channel): a queue that does not exist holds nothing. Both transports use this code.
      if (err instanceof WaslError && err.code === 'INTEGRATION_QUEUE_NOT_FOUND') return { ready: 0, delayed: 0, dead: 0 };
      throw err;
    }
  }

  async oldestWaiting(channel: string, destination?: string): Promise<Date | undefined> {
    const { knex } = this.opts;
    if (destination === undefined) {
      // Not accepted: the source never queued it (it answered with a NAK), so it waits nowhere.
      const row: { t?: Date | number | string | null } | undefined = await knex('messages')
        .min({ t: 'received_at' })
        .where('channel', channel)
        .whereIn('status', BEFORE_ROUTING)
        .where('accepted', true)
        .first();
      return timeOrUndefined(row?.t);
    }
    const row: { t?: Date | number | string | null } | undefined = await knex('message_destinations as d')
      .join('messages as m', 'm.id', 'd.message_id')
      .min({ t: 'm.received_at' })
      .where('m.channel', channel)
      .where('d.destination', destination)
      .where('d.status', 'QUEUED')
      .first();
    return timeOrUndefined(row?.t);
  }

  async lastReceived(channel: string): Promise<Date | undefined> {
    const row: { t?: Date | number | string | null } | undefined = await this.opts.knex('messages').max({ t: 'received_at' }).where('channel', channel).first();
    return timeOrUndefined(row?.t);
  }

  async lastDeliveries(channel: string, destination: string, limit: number): Promise<DeliveryOutcome[]> {
    // Destination names repeat across channels, so the message row says whose it is.
    const rows: Array<{ status: string }> = await this.opts
      .knex('message_destinations as d')
      .join('messages as m', 'm.id', 'd.message_id')
      .select('d.status')
      .where('d.destination', destination)
      .where('m.channel', channel)
      // QUEUED without an error is a first enqueue, not yet an attempt (knex-store countsAsAttempt).
      .where((q) => q.whereIn('d.status', ['SENT', 'ERROR']).orWhere((qq) => qq.where('d.status', 'QUEUED').whereNotNull('d.error')))
      .orderBy('d.updated_at', 'desc')
      .limit(limit);
    return rows.map((r) => (r.status === 'SENT' ? 'sent' : 'failed'));
  }

  circuit(channel: string, destination: string): BreakerState | undefined {
    return this.opts.circuits.circuitsFor(channel)[destinationConnectionId(channel, destination)];
  }
}

/**
 * The connection id a `fhir` destination's client registers under when channels.yaml gives it a
 * URL (nodes/fhir-out/fhir-out.ts): `<channel>.<destination>`.
 */
export function destinationConnectionId(channel: string, destination: string): string {
  return `${channel}.${destination}`;
}

function timeOrUndefined(value: Date | number | string | null | undefined): Date | undefined {
  return value === null || value === undefined ? undefined : fromDbTime(value);
}
