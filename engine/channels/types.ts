/**
 * The shape of channels.yaml after validation, written by hand beside `schema.ts`.
 *
 * Optional fields stay optional here: defaults live in `defaults.ts` and are applied by whoever
 * reads a value (the compiler), so a config read back from the file is exactly what the analyst
 * wrote. `test/engine/channels/schema-sync.spec.ts` keeps these types and the schema in step.
 */

/** The whole file: a list of channels. */
export interface ChannelsFile {
  channels: ChannelConfig[];
}

/** One channel: source -> filters -> transformers -> router -> destinations. */
export interface ChannelConfig {
  /** Kebab-case, unique across the file; names the tab, the queues and the node ids. */
  id: string;
  /** Label of the Node-RED tab and of the ops pages. */
  name: string;
  /** Default true. A disabled channel compiles to a disabled tab. */
  enabled?: boolean;
  source: SourceConfig;
  /** All rules must pass; a message that fails one is settled as FILTERED. */
  filters?: RuleConfig[];
  /** Applied in order. */
  transformers?: TransformerConfig[];
  /** Default: every destination receives every message. */
  router?: RouteConfig[];
  /** Keyed by destination name (kebab-case), which names the destination's queue. */
  destinations: Record<string, DestinationConfig>;
  /** Settings of the `<channel>.in` queue. */
  queue?: QueueConfig;
}

/** Discriminated on `type`; add HTTP, file, DB poll and AMQP sources here and in the schema. */
export type SourceConfig = MllpSourceConfig;

export interface MllpSourceConfig {
  type: 'mllp';
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 16 MiB; a larger frame is refused. */
  maxMessageBytes?: number;
  /** e.g. `ADT^A01`, or just `ADT`. Omitted or empty: any message type. */
  acceptMessageTypes?: string[];
  /** When the sender gets its ACK. Only `stored` (queue confirm and store row) exists today. */
  ackAfter?: 'stored';
}

/** Exactly one operator per rule; the unused ones are `never` so TypeScript enforces it too. */
export type RuleConfig =
  | { field: string; equals: string; in?: never; exists?: never; matches?: never }
  | { field: string; in: string[]; equals?: never; exists?: never; matches?: never }
  | { field: string; exists: boolean; equals?: never; in?: never; matches?: never }
  | { field: string; matches: string; equals?: never; in?: never; exists?: never };

/** Discriminated on `type`. */
export type TransformerConfig = Hl7ToFhirTransformerConfig;

export interface Hl7ToFhirTransformerConfig {
  type: 'hl7-to-fhir';
  mapping: 'adt';
}

export interface RouteConfig {
  /** A key of `destinations`. */
  destination: string;
  /** All rules must pass. Omitted or empty: always. */
  when?: RuleConfig[];
}

/** Discriminated on `type`; add NPHIES, MLLP, HTTP, SQL destinations here and in the schema. */
export type DestinationConfig = FhirDestinationConfig;

export interface FhirDestinationConfig {
  type: 'fhir';
  /** FHIR base URL, or `builtin` for the engine's demo FHIR server. */
  url: string;
  /** Default 10000. */
  timeoutMs?: number;
  /** Settings of the `<channel>.dest.<name>` queue. */
  prefetch?: number;
  retry?: RetryConfig;
}

export interface QueueConfig {
  prefetch?: number;
  retry?: RetryConfig;
}

/** Exponential backoff with jitter, then the dead-letter queue. */
export interface RetryConfig {
  /** Deliveries before dead-lettering, the first one included. */
  maxAttempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}
