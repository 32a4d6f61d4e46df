/**
 * Defaults for every optional setting in channels.yaml: one source, used by the schema (as
 * `default` annotations an editor can show) and by the compiler (as the values it writes).
 */
export const DEFAULTS = {
  enabled: true,
  mllp: {
    host: '0.0.0.0',
    /** 16 MiB: large enough for ORU with embedded PDFs, small enough to stop a runaway sender. */
    maxMessageBytes: 16 * 1024 * 1024,
    ackAfter: 'stored' as const,
    ackTimeoutMs: 30_000,
    batchAck: 'batch' as const,
    /** How long an application ACK waits for the destinations (retries included). */
    applicationAckTimeoutMs: 300_000,
  },
  fhir: {
    timeoutMs: 10_000,
    /** Medplum's fhir-router limit for transactions with conditional entries. */
    builtinMaxTransactionEntries: 8,
  },
  /** FHIR sources (wasl-fhir-in). */
  fhirIn: {
    /** 16 MiB, as for MLLP: a large transaction Bundle fits, a runaway client does not. */
    maxBodyBytes: 16 * 1024 * 1024,
    /** Per upstream read after a Subscription notification. */
    upstreamTimeoutMs: 10_000,
    /** Attempts to fetch, store and queue a notified resource before it is stored as ERROR. */
    fetch: { maxAttempts: 5, initialDelayMs: 1_000, maxDelayMs: 30_000 },
  },
  /** MLLP destinations (wasl-mllp-out). */
  mllpOut: {
    /** Wait for each ACK this long; then the message is retried through its queue. */
    timeoutMs: 10_000,
    /** One message awaiting its ACK at a time, as original-mode receivers expect. */
    maxInFlight: 1,
  },
  /** NPHIES destinations and the poll source (wasl-nphies-*). */
  nphies: {
    /** NPHIES keeps a session at most 60 s (NPHIES.md §1); a reply later than this is retried. */
    timeoutMs: 30_000,
    /** Between poll-requests; NPHIES asks providers to poll sparingly (react to queued-messages). */
    pollIntervalS: 60,
    /** Messages asked for per poll (NPHIES allows 1..100, default 1). */
    pollCount: 10,
    /** `dft` on a claim destination: what an HL7 v2 DFT^P03 does not say (as wasl-nphies-claim's editor defaults). */
    dft: {
      claimType: 'institutional' as const,
      /** Outpatient; set `ip` for inpatient or `emr` for emergency feeds. */
      subType: 'op' as const,
      currency: 'SAR',
    },
  },
  /** The claims pipeline (wasl-db-poll, wasl-claims-*, wasl-sql-out). */
  claims: {
    stagingUrlEnv: 'CLAIMS_STAGING_URL',
    productionUrlEnv: 'CLAIMS_PRODUCTION_URL',
    stagingTable: 'claims_staging',
    /** Claims per queue message: large enough that 100,000 claims are ~50 messages. */
    batchSize: 2000,
    /** Idle poll interval; a full batch polls again at once. */
    intervalMs: 1000,
    /** A claimed row not finished in this time is claimed again (its process is presumed dead). */
    leaseS: 300,
    /** Claims of one staging row before it is left for an operator (its batch keeps failing). */
    maxAttempts: 5,
    /** Batches being stored and queued at once by one poller. */
    maxInFlight: 2,
    predictAction: 'hold' as const,
    /** The seed's conversion factor (USD per RVU). CMS values by year: ../shared/domain/CLAIMS.md §5. */
    conversionFactor: '36.04',
  },
  /** `tls` on an MLLP source or destination. */
  tls: {
    rejectUnauthorized: true,
  },
  queue: {
    prefetch: 50,
  },
  /** `alerts:` rules of a channel (engine/alerts/). */
  alerts: {
    /** Open (and close) as soon as one evaluation sees the change; raise it to ride out flapping. */
    forSeconds: 0,
    errorRate: {
      windowSeconds: 300,
      /** Finished messages the window needs before a ratio counts: one error in two is not an alert. */
      minMessages: 10,
    },
    destinationDown: {
      /** Finished deliveries in a row that all failed. */
      consecutiveFailures: 5,
    },
  },
  retry: {
    maxAttempts: 5,
    initialDelayMs: 1_000,
    maxDelayMs: 60_000,
  },
} as const;
