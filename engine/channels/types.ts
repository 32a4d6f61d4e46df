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
  /**
   * Outside-system adapters (NPPES, CAQH ProView, Plan-Net), as in adapters.yaml; their schema and
   * checks live in engine/providers/adapters-file.ts, which reads this list too.
   */
  adapters?: Array<Record<string, unknown>>;
}

/** One channel: source -> filters -> transformers -> router -> destinations. */
export interface ChannelConfig {
  /** Kebab-case, unique across the file; names the tab, the queues and the node ids. */
  id: string;
  /** Label of the Node-RED tab and of the ops pages. */
  name: string;
  /** Default true. A disabled channel compiles to a disabled tab. */
  enabled?: boolean;
  /**
   * A channel for test data (default false): analysts may view its message bodies unmasked
   * (engine/auth/roles.ts). Channels carrying real patients leave it false.
   */
  test?: boolean;
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
  /** Where this channel's alert rules notify when a rule has no `notify` of its own. */
  alertNotify?: AlertNotifyConfig;
  /** Conditions that open an alert (engine/alerts/): each opens once and closes once. */
  alerts?: AlertRuleConfig[];
}

/**
 * Notification targets of an alert rule. A rule's own `notify` replaces the channel's
 * `alertNotify` whole; `notify: {}` keeps a rule off every target (pages and metrics only).
 */
export interface AlertNotifyConfig {
  /** http(s) URL that gets a JSON POST when an alert opens and when it closes; empty: none. Usually `${VAR}`: it may hold a token. */
  webhook?: string;
  /** Addresses that get an e-mail at open and close (SMTP settings come from the environment). */
  email?: string[];
}

/** Discriminated on `kind`; each kind's threshold carries its unit in its key. */
export type AlertRuleConfig = ErrorRateAlertConfig | QueueDepthAlertConfig | OldestAgeAlertConfig | SilenceAlertConfig | DestinationDownAlertConfig;

/** What every alert rule has. */
export interface AlertRuleBaseConfig {
  /**
   * Kebab-case, unique in the channel; names the alert in the API, metrics and notices. Default:
   * the kind, with `-<destination>` when the rule names one (e.g. `destination-down-fhir`).
   */
  name?: string;
  /** The condition must hold (or stay cleared) this long before the alert opens (or closes). Default 0. */
  forSeconds?: number;
  /** Default: the channel's `alertNotify`. */
  notify?: AlertNotifyConfig;
}

/** Errored over finished (sent, filtered, errored) messages of the channel, over the last `windowSeconds`. */
export interface ErrorRateAlertConfig extends AlertRuleBaseConfig {
  kind: 'error-rate';
  /** Opens when the ratio reaches this, 0 < ratio <= 1 (e.g. 0.1 for one in ten). */
  thresholdRatio: number;
  /** Default 300. */
  windowSeconds?: number;
  /** Finished messages the window needs before it can open (default 10): one error in two messages is no alert. */
  minMessages?: number;
}

/** Ready + delayed (retrying) messages of the channel's `in` queue, or of a destination's queue. */
export interface QueueDepthAlertConfig extends AlertRuleBaseConfig {
  kind: 'queue-depth';
  /** A destination of this channel: its `<channel>.dest.<name>` queue. Absent: `<channel>.in`. */
  destination?: string;
  /** Opens when the depth reaches this. */
  thresholdMessages: number;
}

/** Age of the oldest message still waiting in the channel's `in` queue, or for a destination. */
export interface OldestAgeAlertConfig extends AlertRuleBaseConfig {
  kind: 'oldest-age';
  /** A destination of this channel. Absent: messages not yet past the `in` queue. */
  destination?: string;
  /** Opens when the oldest waiting message is this old (since it was received). */
  thresholdSeconds: number;
}

/** A silent feed: no message received for `periodSeconds`. */
export interface SilenceAlertConfig extends AlertRuleBaseConfig {
  kind: 'silence';
  periodSeconds: number;
}

/** A destination's circuit breaker is open, or its last `consecutiveFailures` deliveries all failed. */
export interface DestinationDownAlertConfig extends AlertRuleBaseConfig {
  kind: 'destination-down';
  destination: string;
  /** Default 5. A delivery queued for retry after a failure counts as failed. */
  consecutiveFailures?: number;
}

/** Discriminated on `type`; add HTTP, file, DB poll and AMQP sources here and in the schema. */
export type SourceConfig = MllpSourceConfig | FhirSourceConfig | NphiesPollSourceConfig | DbPollSourceConfig;

/**
 * A FHIR R4 REST endpoint at `/channels/<id>/fhir` on the engine's port (wasl-fhir-in): create,
 * update, transaction/batch, `metadata`, and Subscription notifications. Each request is stored
 * and queued before the answer; a resend is recognised and not queued twice.
 */
export interface FhirSourceConfig {
  type: 'fhir';
  /** Accepted resource types, e.g. `[Patient, Encounter]`. Omitted or empty: any R4 type. */
  resourceTypes?: string[];
  /** Default 16 MiB; a larger body is refused with 413. */
  maxBodyBytes?: number;
  /** FHIR base URL that Subscription notifications fetch from. Absent: the hook answers 404. */
  upstream?: string;
  /** Per upstream read, in ms (default 10000). */
  upstreamTimeoutMs?: number;
  /** Attempts to fetch, store and queue a notified resource (default 5, 1 s to 30 s). */
  fetchRetry?: RetryConfig;
}

export interface MllpSourceConfig {
  type: 'mllp';
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Listen with TLS instead of plain TCP. */
  tls?: MllpListenerTlsConfig;
  /** Default 16 MiB; a larger frame is refused. */
  maxMessageBytes?: number;
  /** e.g. `ADT^A01`, or just `ADT`. Omitted or empty: any message type. */
  acceptMessageTypes?: string[];
  /**
   * When the sender gets its (original-mode) ACK; see {@link AckAfter}. In enhanced mode the
   * commit ACK always follows `stored`.
   */
  ackAfter?: AckAfter;
  /** How long an ACK waits for `transformed` / `sent` before answering AR 207 (default 30 s). */
  ackTimeoutMs?: number;
  /** Charset (HL7 table 0211) for messages whose MSH-18 is empty. Default `UNICODE UTF-8`. */
  charset?: string;
  /** A frame holding a batch (FHS/BHS): answer with one batch ACK, or with one ACK frame per message. */
  batchAck?: 'batch' | 'per-message';
  /**
   * Where enhanced-mode application ACKs go (MSH-16 AL/ER/SU): the sender's own MLLP listener.
   * They are sent once every destination is done. Absent: such requests are logged, not answered.
   */
  applicationAck?: { host: string; port: number; timeoutMs?: number };
}

/**
 * The guarantee an AA (or CA) carries:
 * - `stored`: the message row is written and the queue confirmed it; it will be delivered or
 *   dead-lettered, even if the engine dies right after the ACK. The fastest; the default.
 * - `transformed`: as `stored`, and the channel's transformers accepted it. Bad content gets AE
 *   with the transformer's ERR (what, where, why) instead of a later error only ops can see.
 * - `sent`: as `transformed`, and every destination accepted it (AE carries a destination's
 *   rejection). The sender waits for the destinations, retries included.
 * When the stage is not reached within `ackTimeoutMs` the answer is AR 207: the message stays
 * stored and queued, and a resend is deduplicated on MSH-10, so resending is safe.
 */
export type AckAfter = 'stored' | 'transformed' | 'sent';

/** Exactly one operator per rule; the unused ones are `never` so TypeScript enforces it too. */
export type RuleConfig =
  | { field: string; equals: string; in?: never; exists?: never; matches?: never }
  | { field: string; in: string[]; equals?: never; exists?: never; matches?: never }
  | { field: string; exists: boolean; equals?: never; in?: never; matches?: never }
  | { field: string; matches: string; equals?: never; in?: never; exists?: never };

/** Discriminated on `type`. */
export type TransformerConfig = Hl7ToFhirTransformerConfig | ClaimsValidateTransformerConfig | ClaimsPredictTransformerConfig | ClaimsPriceTransformerConfig;

export interface Hl7ToFhirTransformerConfig {
  type: 'hl7-to-fhir';
  /** `auto`: the mapping for the message's type and trigger; `adt`: ADT messages only. */
  mapping: 'auto' | 'adt';
}

export interface RouteConfig {
  /** A key of `destinations`. */
  destination: string;
  /** All rules must pass. Omitted or empty: always. */
  when?: RuleConfig[];
}

/** Discriminated on `type`; add NPHIES, HTTP, SQL destinations here and in the schema. */
export type DestinationConfig = FhirDestinationConfig | MllpDestinationConfig | NphiesDestinationConfig | SqlDestinationConfig;

export interface FhirDestinationConfig {
  type: 'fhir';
  /** FHIR base URL, or `builtin` for the engine's demo FHIR server. */
  url: string;
  /** Default 10000. */
  timeoutMs?: number;
  /**
   * Largest transaction the server takes: bigger Bundles of conditional writes are posted in
   * chunks (connectors/fhir/split-transaction.ts). Default: no limit; 8 for `builtin` (Medplum).
   */
  maxTransactionEntries?: number;
  /**
   * Write-back (draft Claims, DocumentReferences): the payload is one resource or a transaction
   * Bundle, validated before sending, creates conditional on the business identifier
   * (connectors/fhir/write-back.ts). Default false.
   */
  writeBack?: boolean;
  /** Settings of the `<channel>.dest.<name>` queue. */
  prefetch?: number;
  retry?: RetryConfig;
}

/** HL7 v2 to an MLLP receiver (wasl-mllp-out); the message sent is the channel's HL7 text. */
export interface MllpDestinationConfig {
  type: 'mllp';
  host: string;
  port: number;
  /** Wait for each ACK this long, in ms (default 10000); then the queue retries. */
  timeoutMs?: number;
  /** Messages awaiting their ACK at once on the connection. Default 1. */
  maxInFlight?: number;
  /** Connect with TLS instead of plain TCP; `{}` trusts Node's public CAs. */
  tls?: MllpSenderTlsConfig;
  /** Settings of the `<channel>.dest.<name>` queue. */
  prefetch?: number;
  retry?: RetryConfig;
}

/**
 * Where NPHIES (or the simulator) is and who we are there. Secrets stay in the environment:
 * `oauth.clientSecretEnv` and `tls.passphraseEnv` name variables read by the node at start.
 */
export interface NphiesEndpointSettings {
  /** Full `$process-message` URL. */
  url: string;
  /** Our CHI provider license (http://nphies.sa/license/provider-license). */
  providerLicense: string;
  /** The payer's license (http://nphies.sa/license/payer-license). Optional on a poll source. */
  payerLicense?: string;
  /**
   * Our own base URI (e.g. `http://hospital.example.sa`): MessageHeader.source.endpoint, the
   * fullUrls and the provider-owned identifier systems hang off it (NPHIES.md §6, §9).
   */
  providerEndpoint: string;
  /** Per exchange, in ms (default 30000). */
  timeoutMs?: number;
  /** OAuth2 client credentials, when the environment uses them (not confirmed publicly). */
  oauth?: { tokenUrl: string; clientId: string; clientSecretEnv: string; scope?: string };
  /** Mutual TLS: PEM (or PKCS#12 `pfx`) file paths, usually `${VAR}`. */
  tls?: { ca?: string; cert?: string; key?: string; pfx?: string; passphraseEnv?: string };
}

/**
 * NPHIES `$process-message`: the payload (a FHIR Claim / CoverageEligibilityRequest, a Bundle
 * holding one with its parties, or a cancel request) is built into a message Bundle, validated,
 * sent once per idempotency key, and the claim lifecycle is updated from the answer.
 */
export interface NphiesDestinationConfig extends NphiesEndpointSettings {
  type: 'nphies';
  operation: 'eligibility' | 'preauth' | 'claim' | 'cancel';
  payerLicense: string;
  /**
   * `operation: claim` only: take HL7 v2 DFT^P03 text (an MLLP channel without hl7-to-fhir) and
   * map it to the claim (connectors/nphies/from-dft.ts). Absent: HL7 text is refused.
   */
  dft?: NphiesDftConfig;
  /** Settings of the `<channel>.dest.<name>` queue. */
  prefetch?: number;
  retry?: RetryConfig;
}

/**
 * What a DFT^P03 does not carry for an NPHIES claim, the same for every message of the channel
 * (wasl-nphies-claim's "DFT" fields). PID, PV1, IN1, FT1 and DG1 give the rest; a DFT lacking
 * what a claim needs fails with HL7 error 101 naming the segment and field.
 */
export interface NphiesDftConfig {
  /** The payer-owned system of the member id (IN1-36), an http(s) URI (NPHIES.md §6). */
  memberIdSystem: string;
  /** Our name on the claim's provider Organization (the license comes from `providerLicense`). */
  providerName: string;
  /** NPHIES practice-codes specialty of the care team, e.g. "08.00" (quoted: unquoted YAML reads a number). */
  specialty: string;
  /** HL7 claim-type; default institutional. */
  claimType?: 'institutional' | 'professional' | 'pharmacy' | 'oral' | 'vision';
  /** NPHIES claim-subtype: ip (inpatient), op (outpatient) or emr (emergency); default op. */
  subType?: 'ip' | 'op' | 'emr';
  /** ISO 4217 code of the claim; default SAR. FT1 amounts in another currency are refused. */
  currency?: string;
}

/** A scheduled NPHIES poll-request; each returned message updates the lifecycle and enters the channel. */
export interface NphiesPollSourceConfig extends NphiesEndpointSettings {
  type: 'nphies-poll';
  /** Seconds between polls (default 60). */
  intervalS?: number;
  /** Messages asked for per poll, 1..100 (default 10). */
  count?: number;
}

/** PEM file paths, usually `${VAR}`. Key paths are never logged. */
export interface MllpTlsFilesConfig {
  /** CA certificate(s) to trust: the receiver's for a destination, the clients' for a source (mutual TLS). */
  ca?: string;
  cert?: string;
  key?: string;
  /** Default true: refuse a peer whose certificate does not verify. */
  rejectUnauthorized?: boolean;
}

/** A TLS listener needs its own certificate and key. */
export interface MllpListenerTlsConfig extends MllpTlsFilesConfig {
  cert: string;
  key: string;
}

/** A client certificate (`cert` + `key`, both or neither) is optional for a sender. */
export type MllpSenderTlsConfig = MllpTlsFilesConfig;

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

/**
 * Claims from a PostgreSQL staging table (wasl-db-poll): rows are claimed in batches with
 * FOR UPDATE SKIP LOCKED and a lease; each batch is one queue message.
 */
export interface DbPollSourceConfig {
  type: 'db-poll';
  /** Environment variable holding the staging database URL (default CLAIMS_STAGING_URL). */
  urlEnv?: string;
  /** Default claims_staging. */
  table?: string;
  /** Claims per batch (default 2000). */
  batchSize?: number;
  /** Idle poll interval in ms (default 1000); a full batch polls again at once. */
  intervalMs?: number;
  /** Seconds before a claimed, unfinished row is claimed again (default 300). */
  leaseS?: number;
  /** Claims of one row before it is left for an operator: its batch keeps failing (default 5). */
  maxAttempts?: number;
  /** Batches being stored and queued at once (default 2). */
  maxInFlight?: number;
  /** Create the staging table when missing (demo, bench). Default false. */
  createTable?: boolean;
}

/** The declarative claim rules (transformers/claims/data/rules.yaml unless `rulesFile`). */
export interface ClaimsValidateTransformerConfig {
  type: 'claims-validate';
  rulesFile?: string;
  /** A `sql` destination of this channel: duplicates are also checked against what it holds. */
  duplicatesAgainst?: string;
}

/** Denial prediction: the shipped model, or the rule fallback when it cannot be used. */
export interface ClaimsPredictTransformerConfig {
  type: 'claims-predict';
  modelFile?: string;
  /** Probability at which a claim counts as likely denied; default: the model's own. */
  threshold?: number;
  /** `hold` (default): likely denials go to failed_claims for review; `flag`: scored only. */
  action?: 'flag' | 'hold';
}

/** Medicare PFS pricing: RVU × (GPCI) × conversion factor × units, integer cents. */
export interface ClaimsPriceTransformerConfig {
  type: 'claims-price';
  /** USD per RVU as a decimal string (default "36.04"), or `cms` for the CMS value by date of service. */
  conversionFactor?: string;
  /** Adjust by the claim's locality GPCIs (default false: national). */
  gpci?: boolean;
}

/** Priced claims to PostgreSQL or SQL Server; failed ones to failed_claims (wasl-sql-out). */
export interface SqlDestinationConfig {
  type: 'sql';
  /** Environment variable holding the production URL, postgres:// or mssql:// (default CLAIMS_PRODUCTION_URL). */
  urlEnv?: string;
  /** Create missing production tables at start. Default false. */
  createTables?: boolean;
  prefetch?: number;
  retry?: RetryConfig;
}
