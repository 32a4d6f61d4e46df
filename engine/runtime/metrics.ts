/**
 * Prometheus metrics (prom-client). One registry per engine so tests can start several.
 * Labels are channel, stage and destination names: never anything from a message.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type CounterConfiguration, type LabelValues } from 'prom-client';
import type { ErrorKind } from '../../common/errors';
import { breakerStateValue, fhirClients } from '../../connectors/fhir/client-registry';
import type { FhirRequestEvent } from '../../connectors/fhir/fhir-client';
import type { AdapterCallEvent } from '../../connectors/adapters/types';
import { ChannelStats, type CountedOutcome } from './channel-stats';

/** What the adapter gauges read at scrape time (an Adapter, without importing the registry). */
export interface AdapterGaugeSource {
  readonly id: string;
  breakerState(): 'closed' | 'open' | 'half-open';
  rateLimitHeadroom(): number | undefined;
}

/** A gauge per adapter whose value is read from the live adapters when Prometheus scrapes. */
function adapterGauge(
  registry: Registry,
  sources: ReadonlySet<() => Iterable<AdapterGaugeSource>>,
  name: string,
  help: string,
  read: (a: AdapterGaugeSource) => number | undefined,
): Gauge<'adapter'> {
  return new Gauge({
    name,
    help,
    labelNames: ['adapter'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const source of sources) {
        for (const adapter of source()) {
          let value: number | undefined;
          try {
            value = read(adapter);
          } catch {
            value = undefined; // an adapter that cannot say is left out, not a failed scrape
          }
          if (value !== undefined) this.set({ adapter: adapter.id }, value);
        }
      }
    },
  });
}

/**
 * A counter that also hands each increment to `tap`: wasl_messages_total is counted wherever an
 * outcome happens (sources, queue stages, destinations), so the channel windows and the source
 * stage counts hook in here instead of at each of those places.
 */
class TappedCounter<T extends string> extends Counter<T> {
  constructor(config: CounterConfiguration<T>, tap: (labels: LabelValues<T>, value: number) => void) {
    super(config);
    // prom-client puts `inc` on the instance in its constructor (it picks the exemplar variant
    // or not), so overriding the method would be bypassed: wrap the instance's function instead.
    const inc = this.inc.bind(this) as (labels?: LabelValues<T> | number, value?: number) => void;
    this.inc = ((labels?: LabelValues<T> | number, value?: number) => {
      inc(labels, value);
      if (typeof labels === 'object' && labels !== null) tap(labels, value ?? 1);
    }) as Counter<T>['inc'];
  }
}

/** Outcomes of wasl_messages_total that the channel windows count (channel-stats.ts). */
const WINDOWED = new Set<string>(['received', 'filtered', 'sent', 'errored']);
/** Outcomes of wasl_messages_total that happen at the source, counted as stage `source`. */
const SOURCE_OUTCOMES = new Set<string>(['received', 'duplicate', 'rejected']);

/** How a queue stage settled one delivery (queue-stage.ts), for {@link EngineMetrics.recordStage}. */
export interface StageSettled {
  channel: string;
  /** `in` or `dest.<destination>` (the queue name without the channel). */
  stage: string;
  destination?: string;
  status: 'done' | 'filtered' | 'retried' | 'dead_lettered';
  /** From the queue handing the delivery over to the stage settling it. */
  seconds: number;
  messageId: string;
  /** Destinations the router chose for this message (1 when unknown). */
  routes: number;
  /** When the source received the message, epoch ms. */
  receivedAt?: number;
  error?: { kind: ErrorKind; code: string; message: string };
}

export class EngineMetrics {
  readonly registry = new Registry();

  /** Per-process windows behind the ops pages (counts per 10 s, latency percentiles), fed from here. */
  readonly channelStats = new ChannelStats();

  readonly messages: Counter<'channel' | 'outcome'> = new TappedCounter(
    {
      name: 'wasl_messages_total',
      help: 'Messages by channel and outcome (received, filtered, queued, sent, errored, rejected, duplicate); sent and errored count per destination',
      labelNames: ['channel', 'outcome'] as const,
      registers: [this.registry],
    },
    (labels, n) => {
      const channel = String(labels.channel ?? '');
      const outcome = String(labels.outcome ?? '');
      if (WINDOWED.has(outcome)) this.channelStats.count(channel, outcome as CountedOutcome, n);
      if (SOURCE_OUTCOMES.has(outcome)) this.stageMessages.inc({ channel, stage: 'source', status: outcome }, n);
    },
  );

  readonly stageMessages = new Counter({
    name: 'wasl_stage_messages_total',
    help: 'Messages by channel, stage (source, in, dest.<destination>) and status (source: received, duplicate, rejected; queue stages: done, filtered, retried, dead_lettered)',
    labelNames: ['channel', 'stage', 'status'] as const,
    registers: [this.registry],
  });

  readonly stageLatency = new Histogram({
    name: 'wasl_stage_latency_seconds',
    help: 'Time a queue stage (in, dest.<destination>) took for one delivery, from the queue handing it over to the stage settling it',
    labelNames: ['channel', 'stage'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
    registers: [this.registry],
  });

  readonly endToEndLatency = new Histogram({
    name: 'wasl_end_to_end_latency_seconds',
    help: 'Time from the source receiving a message to its last destination sending it, queueing and retries included',
    labelNames: ['channel'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly destinationErrors = new Counter({
    name: 'wasl_destination_errors_total',
    help: 'Failed destination delivery attempts by error kind (validation, integration, transient); each retry counts',
    labelNames: ['channel', 'destination', 'kind'] as const,
    registers: [this.registry],
  });

  /**
   * Counts one settled delivery of a queue stage: stage counts and timing, destination errors by
   * kind, the channel's last error, and, when it finishes a message, throughput and end-to-end
   * latency. Cheap enough for every delivery: counter increments and an array write.
   */
  recordStage(e: StageSettled): void {
    const { channel, stage, destination, status, error } = e;
    this.stageMessages.inc({ channel, stage, status });
    this.stageLatency.observe({ channel, stage }, e.seconds);
    if (error) {
      if (destination) this.destinationErrors.inc({ channel, destination, kind: error.kind });
      this.channelStats.recordError(channel, { code: error.code, message: error.message, stage });
    }
    if (destination && (status === 'done' || status === 'dead_lettered')) {
      const seconds = this.channelStats.destinationFinished(channel, { messageId: e.messageId, routes: e.routes, receivedAt: e.receivedAt, ok: status === 'done' });
      if (seconds !== undefined) this.endToEndLatency.observe({ channel }, seconds);
    } else if (status === 'filtered' || status === 'dead_lettered') {
      this.channelStats.finished(channel);
    }
  }

  readonly ackLatency = new Histogram({
    name: 'wasl_ack_latency_seconds',
    help: 'Time from receiving a message to sending its ACK',
    labelNames: ['channel', 'code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly destinationLatency = new Histogram({
    name: 'wasl_destination_latency_seconds',
    help: 'Time an outside system took to answer a destination call',
    labelNames: ['channel', 'destination', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly claims = new Counter({
    name: 'wasl_claims_total',
    help: 'Claims finished by a claims channel, by outcome (written to production, failed to failed_claims, replayed: already held)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly claimRuleFailures = new Counter({
    name: 'wasl_claims_rule_failures_total',
    help: 'Claims failing a validation or pricing rule, by rule id (a claim failing two rules counts under both)',
    labelNames: ['channel', 'rule'] as const,
    registers: [this.registry],
  });

  readonly claimStageSeconds = new Histogram({
    name: 'wasl_claims_batch_stage_seconds',
    help: 'Time one claims batch spent in a stage (poll, validate, predict, price, write)',
    labelNames: ['channel', 'stage'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly retries = new Counter({
    name: 'wasl_retries_total',
    help: 'Deliveries put back on a delay queue after a transient failure',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  readonly deadLetters = new Counter({
    name: 'wasl_dead_letters_total',
    help: 'Deliveries moved to a dead-letter queue',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  /** Read at scrape time from the live FHIR clients (connectors/fhir/client-registry.ts). */
  readonly fhirCircuitState = new Gauge({
    name: 'wasl_fhir_circuit_state',
    help: 'Circuit breaker state per FHIR connection (NPHIES endpoints included): 0 closed, 1 half-open, 2 open',
    labelNames: ['connection'] as const,
    registers: [this.registry],
    collect() {
      this.reset();
      for (const [connection, state] of Object.entries(fhirClients.states())) this.set({ connection }, breakerStateValue(state));
    },
  });

  readonly fhirRequests = new Counter({
    name: 'wasl_fhir_requests_total',
    help: 'HTTP requests to FHIR connections (each attempt) by operation and outcome (ok, integration, transient, validation)',
    labelNames: ['connection', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly fhirRequestDuration = new Histogram({
    name: 'wasl_fhir_request_duration_seconds',
    help: 'Time a FHIR connection took to answer one request attempt',
    labelNames: ['connection', 'operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly fhirRetries = new Counter({
    name: 'wasl_fhir_retries_total',
    help: 'FHIR requests retried in-process after a transient failure',
    labelNames: ['connection', 'operation'] as const,
    registers: [this.registry],
  });

  /** Where the adapter gauges find adapters: one function per registry ({@link observeAdapters}). */
  private readonly adapterSources = new Set<() => Iterable<AdapterGaugeSource>>();

  readonly adapterCalls = new Counter({
    name: 'wasl_adapter_calls_total',
    help: 'Calls of outside-system adapters (each HTTP attempt, cache hit, breaker refusal or refused input) by outcome (ok, cached, transient, integration, validation, breaker-open)',
    labelNames: ['adapter', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly adapterCallDuration = new Histogram({
    name: 'wasl_adapter_call_duration_seconds',
    help: 'Time an outside system took to answer one adapter HTTP attempt (cache hits and calls not sent are left out)',
    labelNames: ['adapter', 'operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly adapterCircuitState = adapterGauge(
    this.registry,
    this.adapterSources,
    'wasl_adapter_circuit_state',
    'Circuit breaker state per adapter: 0 closed, 1 half-open, 2 open',
    (a) => breakerStateValue(a.breakerState()),
  );

  readonly adapterRateLimitHeadroom = adapterGauge(
    this.registry,
    this.adapterSources,
    'wasl_adapter_rate_limit_headroom',
    'Requests an adapter may still send in its current rate-limit window (adapters without a rate limit are left out)',
    (a) => a.rateLimitHeadroom(),
  );

  /** Counts one adapter call event (the registry's event sink calls this). */
  recordAdapterCall(e: AdapterCallEvent): void {
    this.adapterCalls.inc({ adapter: e.adapter, operation: e.operation, outcome: e.outcome });
    if (e.outcome === 'ok' || e.outcome === 'transient' || e.outcome === 'integration') {
      this.adapterCallDuration.observe({ adapter: e.adapter, operation: e.operation }, Math.max(0, e.latencyMs) / 1000);
    }
  }

  /** Reads the circuit and headroom gauges from `source` at each scrape; the returned function stops it. */
  observeAdapters(source: () => Iterable<AdapterGaugeSource>): () => void {
    this.adapterSources.add(source);
    return () => {
      this.adapterSources.delete(source);
    };
  }

  /**
   * Counts a FhirConnectionClient's requests and retries (its `request` and `retry` events).
   * Whoever builds the client calls this once; the returned function stops counting.
   */
  observeFhirClient(client: {
    on(event: 'request' | 'retry', fn: (e: FhirRequestEvent) => void): unknown;
    off(event: 'request' | 'retry', fn: (e: FhirRequestEvent) => void): unknown;
  }): () => void {
    const onRequest = (e: FhirRequestEvent) => {
      const labels = { connection: e.connection, operation: e.operation, outcome: e.outcome };
      this.fhirRequests.inc(labels);
      if (e.durationMs > 0) this.fhirRequestDuration.observe(labels, e.durationMs / 1000);
    };
    const onRetry = (e: FhirRequestEvent) => this.fhirRetries.inc({ connection: e.connection, operation: e.operation });
    client.on('request', onRequest);
    client.on('retry', onRetry);
    return () => {
      client.off('request', onRequest);
      client.off('retry', onRetry);
    };
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'wasl_' });
  }
}
