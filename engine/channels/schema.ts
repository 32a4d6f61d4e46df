/**
 * JSON Schema (draft-07) of channels.yaml, checked with ajv after `${VAR}` substitution.
 *
 * - `additionalProperties: false` everywhere: a misspelt key is an error, not a silent default.
 * - Sources, transformers and destinations are `oneOf` lists discriminated on `type` (ajv's
 *   `discriminator` keyword), so a new kind is one more definition and one more `$ref`, and an
 *   unknown `type` gives one clear error instead of one per branch. Alert rules are discriminated
 *   the same way on `kind` (their API and notices call it the kind).
 * - `title` on a discriminated union names it in messages ("unknown source type").
 * - `x-hint` (an annotation registered with ajv) replaces ajv's "must match pattern ..." with a
 *   sentence an analyst understands.
 */
import { DEFAULT_CHARSET, SUPPORTED_CHARSETS } from '../../transformers/hl7v2/charset';
import { DEFAULTS } from './defaults';

/** Kebab-case: channel ids and destination names end up in queue names and node ids. */
const KEBAB_CASE = '^[a-z][a-z0-9]*(-[a-z0-9]+)*$';
const KEBAB_HINT = 'must be kebab-case (lower-case letters, digits and single dashes, e.g. adt-to-fhir)';

/**
 * An HL7 v2 field path as transformers/hl7v2/path.ts reads it, with the segment required:
 * SEG[occurrence]-field[repetition].component.subcomponent, e.g. MSH-9.1, PV1-2, OBX[2]-5[1].3.
 */
const HL7_FIELD = '^[A-Z0-9]{3}(\\[[1-9][0-9]*\\])?-[1-9][0-9]*(\\[[1-9][0-9]*\\])?(\\.[1-9][0-9]*(\\.[1-9][0-9]*)?)?$';

/** MSH-9 message type and optional trigger event, e.g. ADT or ADT^A01. */
const HL7_MESSAGE_TYPE = '^[A-Z0-9]{3}(\\^[A-Z0-9]{3})?$';

const retry = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxAttempts: { type: 'integer', minimum: 1, default: DEFAULTS.retry.maxAttempts },
    initialDelayMs: { type: 'integer', minimum: 0, default: DEFAULTS.retry.initialDelayMs },
    maxDelayMs: { type: 'integer', minimum: 0, default: DEFAULTS.retry.maxDelayMs },
  },
};

const prefetch = { type: 'integer', minimum: 1, default: DEFAULTS.queue.prefetch };

const rule = {
  type: 'object',
  additionalProperties: false,
  required: ['field'],
  properties: {
    field: { type: 'string', pattern: HL7_FIELD, 'x-hint': 'must be an HL7 field path such as MSH-9.1, PV1-2 or OBX[2]-5[1].3' },
    equals: { type: 'string' },
    in: { type: 'array', minItems: 1, items: { type: 'string' } },
    exists: { type: 'boolean' },
    matches: { type: 'string', minLength: 1 },
  },
  // Exactly one operator. The branches only name a key, so the message lists the operators.
  oneOf: [{ required: ['equals'] }, { required: ['in'] }, { required: ['exists'] }, { required: ['matches'] }],
};

/** PEM file paths (usually `${VAR}`) for `tls` on MLLP; see connectors/mllp/tls.ts. */
const tlsFileProperties = {
  ca: { type: 'string', minLength: 1 },
  cert: { type: 'string', minLength: 1 },
  key: { type: 'string', minLength: 1 },
  rejectUnauthorized: { type: 'boolean', default: DEFAULTS.tls.rejectUnauthorized },
};

/** A TLS listener needs its certificate and key; `ca` asks clients for certificates (mutual TLS). */
const mllpListenerTls = {
  type: 'object',
  additionalProperties: false,
  required: ['cert', 'key'],
  properties: tlsFileProperties,
};

/** A TLS sender may trust a `ca` and present a client `cert` + `key`; `{}` uses Node's CA store. */
const mllpSenderTls = {
  type: 'object',
  additionalProperties: false,
  dependencies: { cert: ['key'], key: ['cert'] },
  properties: tlsFileProperties,
};

const mllpSource = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'port'],
  properties: {
    type: { const: 'mllp' },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    host: { type: 'string', minLength: 1, default: DEFAULTS.mllp.host },
    tls: { $ref: '#/definitions/mllpListenerTls' },
    maxMessageBytes: { type: 'integer', minimum: 1024, default: DEFAULTS.mllp.maxMessageBytes },
    acceptMessageTypes: {
      type: 'array',
      items: { type: 'string', pattern: HL7_MESSAGE_TYPE, 'x-hint': 'must be an HL7 message type such as ADT^A01 or ADT' },
    },
    ackAfter: { enum: ['stored', 'transformed', 'sent'], default: DEFAULTS.mllp.ackAfter },
    ackTimeoutMs: { type: 'integer', minimum: 100, default: DEFAULTS.mllp.ackTimeoutMs },
    charset: { enum: [...SUPPORTED_CHARSETS], default: DEFAULT_CHARSET },
    batchAck: { enum: ['batch', 'per-message'], default: DEFAULTS.mllp.batchAck },
    applicationAck: {
      type: 'object',
      additionalProperties: false,
      required: ['host', 'port'],
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 1, maximum: 65535 },
        timeoutMs: { type: 'integer', minimum: 1000, default: DEFAULTS.mllp.applicationAckTimeoutMs },
      },
    },
  },
};

/** A FHIR R4 REST endpoint at /channels/<id>/fhir on the engine's port (wasl-fhir-in). */
const fhirSource = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'fhir' },
    resourceTypes: {
      type: 'array',
      items: { type: 'string', pattern: '^[A-Z][A-Za-z]+$', 'x-hint': 'must be a FHIR resource type such as Patient or Encounter' },
    },
    maxBodyBytes: { type: 'integer', minimum: 1024, default: DEFAULTS.fhirIn.maxBodyBytes },
    upstream: { type: 'string', pattern: '^https?://[^\\s]+$', 'x-hint': 'must be an http(s) FHIR base URL' },
    upstreamTimeoutMs: { type: 'integer', minimum: 1, default: DEFAULTS.fhirIn.upstreamTimeoutMs },
    fetchRetry: { $ref: '#/definitions/retry' },
  },
};

const hl7ToFhirTransformer = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'mapping'],
  properties: {
    type: { const: 'hl7-to-fhir' },
    mapping: { enum: ['auto', 'adt'] },
  },
};

const fhirDestination = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'url'],
  properties: {
    type: { const: 'fhir' },
    url: {
      type: 'string',
      pattern: '^(builtin|https?://[^\\s]+)$',
      'x-hint': "must be 'builtin' or an http(s) URL",
    },
    timeoutMs: { type: 'integer', minimum: 1, default: DEFAULTS.fhir.timeoutMs },
    maxTransactionEntries: { type: 'integer', minimum: 1 },
    writeBack: { type: 'boolean' },
    prefetch,
    retry: { $ref: '#/definitions/retry' },
  },
};

const mllpDestination = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'host', 'port'],
  properties: {
    type: { const: 'mllp' },
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    timeoutMs: { type: 'integer', minimum: 1, default: DEFAULTS.mllpOut.timeoutMs },
    maxInFlight: { type: 'integer', minimum: 1, default: DEFAULTS.mllpOut.maxInFlight },
    tls: { $ref: '#/definitions/mllpSenderTls' },
    prefetch,
    retry: { $ref: '#/definitions/retry' },
  },
};

/**
 * NPHIES endpoint settings shared by the `nphies` destination and the `nphies-poll` source. Secrets
 * are never written here: `oauth.clientSecretEnv` and `tls.passphraseEnv` name environment
 * variables the node reads at start, so the compiled flows file never holds them.
 */
const nphiesEndpointProperties = {
  url: { type: 'string', pattern: '^https?://[^\\s]+$', 'x-hint': 'must be the http(s) URL of the $process-message endpoint' },
  providerLicense: { type: 'string', minLength: 1 },
  payerLicense: { type: 'string', minLength: 1 },
  providerEndpoint: { type: 'string', minLength: 1 },
  timeoutMs: { type: 'integer', minimum: 1, default: DEFAULTS.nphies.timeoutMs },
  oauth: {
    type: 'object',
    additionalProperties: false,
    required: ['tokenUrl', 'clientId', 'clientSecretEnv'],
    properties: {
      tokenUrl: { type: 'string', pattern: '^https?://[^\\s]+$', 'x-hint': 'must be an http(s) token URL' },
      clientId: { type: 'string', minLength: 1 },
      clientSecretEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', 'x-hint': 'must name an environment variable (the secret itself never goes in this file)' },
      scope: { type: 'string', minLength: 1 },
    },
  },
  tls: {
    type: 'object',
    additionalProperties: false,
    dependencies: { cert: ['key'], key: ['cert'] },
    properties: {
      ca: { type: 'string', minLength: 1 },
      cert: { type: 'string', minLength: 1 },
      key: { type: 'string', minLength: 1 },
      pfx: { type: 'string', minLength: 1 },
      passphraseEnv: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', 'x-hint': 'must name an environment variable' },
    },
  },
};

/**
 * `dft` on a claim destination: what an HL7 v2 DFT^P03 lacks for an NPHIES claim
 * (connectors/nphies/from-dft.ts); compiled to wasl-nphies-claim's dft* fields.
 */
const nphiesDft = {
  type: 'object',
  additionalProperties: false,
  required: ['memberIdSystem', 'providerName', 'specialty'],
  properties: {
    memberIdSystem: { type: 'string', pattern: '^https?://[^\\s]+$', 'x-hint': "must be the payer's member-id system, an http(s) URI such as http://payer.example/identifiers/memberid" },
    providerName: { type: 'string', minLength: 1 },
    specialty: { type: 'string', minLength: 1 },
    claimType: { enum: ['institutional', 'professional', 'pharmacy', 'oral', 'vision'], default: DEFAULTS.nphies.dft.claimType },
    subType: { enum: ['ip', 'op', 'emr'], default: DEFAULTS.nphies.dft.subType },
    currency: { type: 'string', pattern: '^[A-Z]{3}$', 'x-hint': 'must be an ISO 4217 currency code such as SAR', default: DEFAULTS.nphies.dft.currency },
  },
};

/** NPHIES `$process-message` (wasl-nphies-eligibility | -preauth | -claim | -cancel). */
const nphiesDestination = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'operation', 'url', 'providerLicense', 'payerLicense', 'providerEndpoint'],
  properties: {
    type: { const: 'nphies' },
    operation: { enum: ['eligibility', 'preauth', 'claim', 'cancel'] },
    ...nphiesEndpointProperties,
    dft: nphiesDft,
    prefetch,
    retry: { $ref: '#/definitions/retry' },
  },
};

/** A scheduled NPHIES poll-request (wasl-nphies-poll): deferred responses into the channel. */
const nphiesPollSource = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'url', 'providerLicense', 'providerEndpoint'],
  properties: {
    type: { const: 'nphies-poll' },
    ...nphiesEndpointProperties,
    intervalS: { type: 'integer', minimum: 1, default: DEFAULTS.nphies.pollIntervalS },
    count: { type: 'integer', minimum: 1, maximum: 100, default: DEFAULTS.nphies.pollCount },
  },
};

/** An environment variable's name: database URLs hold passwords, so the file names the variable. */
const ENV_NAME = { type: 'string', pattern: '^[A-Z_][A-Z0-9_]*$', 'x-hint': 'must name an environment variable (upper-case letters, digits and _), e.g. CLAIMS_STAGING_URL' };

/** Claims from a PostgreSQL staging table, in batches (wasl-db-poll). */
const dbPollSource = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'db-poll' },
    urlEnv: { ...ENV_NAME, default: DEFAULTS.claims.stagingUrlEnv },
    table: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', default: DEFAULTS.claims.stagingTable },
    batchSize: { type: 'integer', minimum: 1, maximum: 50000, default: DEFAULTS.claims.batchSize },
    intervalMs: { type: 'integer', minimum: 10, default: DEFAULTS.claims.intervalMs },
    leaseS: { type: 'integer', minimum: 1, default: DEFAULTS.claims.leaseS },
    maxAttempts: { type: 'integer', minimum: 1, default: DEFAULTS.claims.maxAttempts },
    maxInFlight: { type: 'integer', minimum: 1, maximum: 16, default: DEFAULTS.claims.maxInFlight },
    createTable: { type: 'boolean', default: false },
  },
};

const claimsValidateTransformer = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'claims-validate' },
    rulesFile: { type: 'string', minLength: 1 },
    duplicatesAgainst: { type: 'string', 'x-hint': 'must name one of the channel\'s sql destinations' },
  },
};

const claimsPredictTransformer = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'claims-predict' },
    modelFile: { type: 'string', minLength: 1 },
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    action: { enum: ['flag', 'hold'], default: DEFAULTS.claims.predictAction },
  },
};

const claimsPriceTransformer = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'claims-price' },
    conversionFactor: { type: 'string', pattern: '^(cms|[0-9]+(\\.[0-9]{1,4})?)$', 'x-hint': 'must be dollars per RVU with up to 4 decimals (e.g. "36.04") or cms', default: DEFAULTS.claims.conversionFactor },
    gpci: { type: 'boolean', default: false },
  },
};

/** Claims to a production database (wasl-sql-out): PostgreSQL or SQL Server. */
const sqlDestination = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'sql' },
    urlEnv: { ...ENV_NAME, default: DEFAULTS.claims.productionUrlEnv },
    createTables: { type: 'boolean', default: false },
    prefetch,
    retry: { $ref: '#/definitions/retry' },
  },
};

/**
 * Where an alert rule's open and close notices go (engine/alerts/notify/). The webhook URL may
 * carry a token, so it usually comes from the environment (`${VAR}`); empty means none, so
 * `${WASL_ALERT_WEBHOOK:-}` leaves it off where the variable is unset.
 */
const alertNotify = {
  type: 'object',
  additionalProperties: false,
  properties: {
    webhook: { type: 'string', pattern: '^(https?://[^\\s]+)?$', 'x-hint': 'must be an http(s) URL (usually from the environment, as it may hold a token), or empty for none' },
    email: { type: 'array', items: { type: 'string', pattern: '^[^\\s@]+@[^\\s@]+$', 'x-hint': 'must be an e-mail address such as oncall@hospital.example' } },
  },
};

/** Keys every alert rule has besides its `kind` and its own settings. */
const alertCommonProperties = {
  name: { type: 'string', maxLength: 64, pattern: KEBAB_CASE, 'x-hint': KEBAB_HINT },
  forSeconds: { type: 'integer', minimum: 0, default: DEFAULTS.alerts.forSeconds },
  notify: { $ref: '#/definitions/alertNotify' },
};

/** Names one of the channel's destinations (checked in semantic-checks.ts). */
const alertDestination = { type: 'string', minLength: 1 };

const errorRateAlert = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'thresholdRatio'],
  properties: {
    kind: { const: 'error-rate' },
    ...alertCommonProperties,
    thresholdRatio: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    windowSeconds: { type: 'integer', minimum: 10, default: DEFAULTS.alerts.errorRate.windowSeconds },
    minMessages: { type: 'integer', minimum: 1, default: DEFAULTS.alerts.errorRate.minMessages },
  },
};

const queueDepthAlert = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'thresholdMessages'],
  properties: {
    kind: { const: 'queue-depth' },
    ...alertCommonProperties,
    destination: alertDestination,
    thresholdMessages: { type: 'integer', minimum: 1 },
  },
};

const oldestAgeAlert = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'thresholdSeconds'],
  properties: {
    kind: { const: 'oldest-age' },
    ...alertCommonProperties,
    destination: alertDestination,
    thresholdSeconds: { type: 'integer', minimum: 1 },
  },
};

const silenceAlert = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'periodSeconds'],
  properties: {
    kind: { const: 'silence' },
    ...alertCommonProperties,
    periodSeconds: { type: 'integer', minimum: 1 },
  },
};

const destinationDownAlert = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'destination'],
  properties: {
    kind: { const: 'destination-down' },
    ...alertCommonProperties,
    destination: alertDestination,
    consecutiveFailures: { type: 'integer', minimum: 1, default: DEFAULTS.alerts.destinationDown.consecutiveFailures },
  },
};

const channel = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'source', 'destinations'],
  properties: {
    id: { type: 'string', maxLength: 64, pattern: KEBAB_CASE, 'x-hint': KEBAB_HINT },
    name: { type: 'string', minLength: 1 },
    enabled: { type: 'boolean', default: DEFAULTS.enabled },
    test: { type: 'boolean', description: 'Test data only: analysts may view message bodies unmasked.' },
    source: { $ref: '#/definitions/source' },
    filters: { $ref: '#/definitions/rules' },
    transformers: { type: 'array', items: { $ref: '#/definitions/transformer' } },
    router: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['destination'],
        properties: {
          destination: { type: 'string' },
          when: { $ref: '#/definitions/rules' },
        },
      },
    },
    destinations: {
      type: 'object',
      minProperties: 1,
      propertyNames: { maxLength: 64, pattern: KEBAB_CASE, 'x-hint': KEBAB_HINT },
      additionalProperties: { $ref: '#/definitions/destination' },
    },
    queue: {
      type: 'object',
      additionalProperties: false,
      properties: { prefetch, retry: { $ref: '#/definitions/retry' } },
    },
    alertNotify: { $ref: '#/definitions/alertNotify' },
    alerts: { type: 'array', items: { $ref: '#/definitions/alert' } },
  },
};

/** The schema object; compile it with `createChannelsValidator` (it needs ajv options). */
export const channelsSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Wasl channels.yaml',
  type: 'object',
  additionalProperties: false,
  required: ['channels'],
  properties: {
    channels: { type: 'array', items: { $ref: '#/definitions/channel' } },
    // Outside-system adapters (NPPES, CAQH, Plan-Net): checked by engine/providers/adapters-file.ts.
    adapters: { type: 'array', items: { type: 'object' } },
  },
  definitions: {
    channel,
    retry,
    rule,
    rules: { type: 'array', items: { $ref: '#/definitions/rule' } },
    source: {
      title: 'source',
      type: 'object',
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [{ $ref: '#/definitions/mllpSource' }, { $ref: '#/definitions/fhirSource' }, { $ref: '#/definitions/nphiesPollSource' }, { $ref: '#/definitions/dbPollSource' }],
    },
    mllpSource,
    fhirSource,
    nphiesPollSource,
    dbPollSource,
    transformer: {
      title: 'transformer',
      type: 'object',
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [
        { $ref: '#/definitions/hl7ToFhirTransformer' },
        { $ref: '#/definitions/claimsValidateTransformer' },
        { $ref: '#/definitions/claimsPredictTransformer' },
        { $ref: '#/definitions/claimsPriceTransformer' },
      ],
    },
    hl7ToFhirTransformer,
    claimsValidateTransformer,
    claimsPredictTransformer,
    claimsPriceTransformer,
    destination: {
      title: 'destination',
      type: 'object',
      required: ['type'],
      discriminator: { propertyName: 'type' },
      oneOf: [{ $ref: '#/definitions/fhirDestination' }, { $ref: '#/definitions/mllpDestination' }, { $ref: '#/definitions/nphiesDestination' }, { $ref: '#/definitions/sqlDestination' }],
    },
    fhirDestination,
    mllpDestination,
    nphiesDestination,
    sqlDestination,
    mllpListenerTls,
    mllpSenderTls,
    alert: {
      title: 'alert',
      type: 'object',
      required: ['kind'],
      discriminator: { propertyName: 'kind' },
      oneOf: [
        { $ref: '#/definitions/errorRateAlert' },
        { $ref: '#/definitions/queueDepthAlert' },
        { $ref: '#/definitions/oldestAgeAlert' },
        { $ref: '#/definitions/silenceAlert' },
        { $ref: '#/definitions/destinationDownAlert' },
      ],
    },
    alertNotify,
    errorRateAlert,
    queueDepthAlert,
    oldestAgeAlert,
    silenceAlert,
    destinationDownAlert,
  },
} as const;
