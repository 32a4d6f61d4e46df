import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { channelsSchema } from '../../../engine/channels/schema';
import type { ChannelsFile, RuleConfig } from '../../../engine/channels/types';
import { channelsValidator } from '../../../engine/channels/validator';

/**
 * Every field the TypeScript types allow, set once. The compiler checks it against the types;
 * the tests below check it against the schema both ways, so neither can gain a field alone.
 */
const EVERY_RULE = [
  { field: 'MSH-9.1', equals: 'ADT' },
  { field: 'MSH-9.2', in: ['A01'] },
  { field: 'PID-3', exists: true },
  { field: 'MSH-4', matches: '^LAB' },
] as const satisfies RuleConfig[];

const EVERY_FIELD: ChannelsFile = {
  // Entries are checked by engine/providers/adapters-file.ts (test/engine/providers/registry.spec.ts).
  adapters: [],
  channels: [
    {
      id: 'every-field',
      name: 'Every field',
      enabled: true,
      test: false,
      source: { type: 'mllp', port: 2575, host: '127.0.0.1', tls: { ca: '/etc/wasl/clients-ca.pem', cert: '/etc/wasl/mllp.pem', key: '/etc/wasl/mllp.key', rejectUnauthorized: true }, maxMessageBytes: 1048576, acceptMessageTypes: ['ADT^A01', 'ORU'], ackAfter: 'sent', ackTimeoutMs: 5000, charset: '8859/6', batchAck: 'per-message', applicationAck: { host: 'his.example', port: 2576, timeoutMs: 60000 } },
      filters: [...EVERY_RULE],
      transformers: [{ type: 'hl7-to-fhir', mapping: 'adt' }],
      router: [{ destination: 'fhir', when: [...EVERY_RULE] }],
      destinations: {
        fhir: { type: 'fhir', url: 'http://localhost:8080/fhir', timeoutMs: 5000, maxTransactionEntries: 8, writeBack: true, prefetch: 10, retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000 } },
        lab: {
          type: 'mllp',
          host: 'lab.example.org',
          port: 2575,
          timeoutMs: 5000,
          maxInFlight: 1,
          tls: { ca: '/etc/wasl/lab-ca.pem', cert: '/etc/wasl/client.pem', key: '/etc/wasl/client.key', rejectUnauthorized: true },
          prefetch: 10,
          retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000 },
        },
      },
      queue: { prefetch: 20, retry: { maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60000 } },
      alertNotify: { webhook: 'https://hooks.example/wasl', email: ['oncall@hospital.example'] },
      alerts: [
        { kind: 'error-rate', name: 'errors', forSeconds: 60, notify: { webhook: 'https://hooks.example/wasl', email: ['oncall@hospital.example'] }, thresholdRatio: 0.1, windowSeconds: 300, minMessages: 10 },
        { kind: 'queue-depth', destination: 'fhir', thresholdMessages: 1000 },
        { kind: 'oldest-age', destination: 'lab', thresholdSeconds: 600 },
        { kind: 'silence', periodSeconds: 3600 },
        { kind: 'destination-down', destination: 'fhir', consecutiveFailures: 5 },
      ],
    },
    {
      id: 'every-fhir-source-field',
      name: 'Every FHIR source field',
      source: {
        type: 'fhir',
        resourceTypes: ['Patient', 'Encounter'],
        maxBodyBytes: 1048576,
        upstream: 'https://ehr.example/fhir/R4',
        upstreamTimeoutMs: 5000,
        fetchRetry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000 },
      },
      destinations: { fhir: { type: 'fhir', url: 'builtin' } },
    },
    {
      id: 'every-nphies-field',
      name: 'Every NPHIES field',
      source: {
        type: 'nphies-poll',
        url: 'https://hsb.nphies.sa/$process-message',
        providerLicense: 'PR-FHIR',
        payerLicense: 'INS-FHIR',
        providerEndpoint: 'http://provider.example',
        timeoutMs: 30000,
        oauth: { tokenUrl: 'https://sso.example/token', clientId: 'wasl', clientSecretEnv: 'NPHIES_CLIENT_SECRET', scope: 'nphies' },
        tls: { ca: '/etc/wasl/nphies-ca.pem', cert: '/etc/wasl/nphies.pem', key: '/etc/wasl/nphies.key', pfx: '/etc/wasl/nphies.p12', passphraseEnv: 'NPHIES_PFX_PASSPHRASE' },
        intervalS: 60,
        count: 10,
      },
      destinations: {
        nphies: {
          type: 'nphies',
          operation: 'claim',
          url: 'https://hsb.nphies.sa/$process-message',
          providerLicense: 'PR-FHIR',
          payerLicense: 'INS-FHIR',
          providerEndpoint: 'http://provider.example',
          timeoutMs: 30000,
          oauth: { tokenUrl: 'https://sso.example/token', clientId: 'wasl', clientSecretEnv: 'NPHIES_CLIENT_SECRET', scope: 'nphies' },
          tls: { ca: '/etc/wasl/nphies-ca.pem', cert: '/etc/wasl/nphies.pem', key: '/etc/wasl/nphies.key', pfx: '/etc/wasl/nphies.p12', passphraseEnv: 'NPHIES_PFX_PASSPHRASE' },
          dft: { memberIdSystem: 'http://payer.example/identifiers/memberid', providerName: 'Test Hospital', specialty: '08.00', claimType: 'institutional', subType: 'op', currency: 'SAR' },
          prefetch: 10,
          retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000 },
        },
      },
    },
    {
      id: 'every-claims-field',
      name: 'Every claims field',
      source: { type: 'db-poll', urlEnv: 'CLAIMS_STAGING_URL', table: 'claims_staging', batchSize: 2000, intervalMs: 1000, leaseS: 300, maxAttempts: 5, maxInFlight: 2, createTable: true },
      transformers: [
        { type: 'claims-validate', rulesFile: '/etc/wasl/rules.yaml', duplicatesAgainst: 'production' },
        { type: 'claims-predict', modelFile: '/etc/wasl/model.json', threshold: 0.5, action: 'hold' },
        { type: 'claims-price', conversionFactor: '36.04', gpci: true },
      ],
      destinations: { production: { type: 'sql', urlEnv: 'CLAIMS_PRODUCTION_URL', createTables: true, prefetch: 4, retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 1000 } } },
    },
  ],
};

interface SchemaLike {
  $ref?: string;
  properties?: Record<string, SchemaLike>;
  additionalProperties?: SchemaLike | boolean;
  items?: SchemaLike;
  oneOf?: SchemaLike[];
}

const definitions = channelsSchema.definitions as unknown as Record<string, SchemaLike>;
const deref = (s: SchemaLike): SchemaLike => (s.$ref ? deref(definitions[s.$ref.split('/').pop() as string]) : s);

/** Every property path the schema declares, `*` for map values and `[]` for list items. */
function schemaPaths(s: SchemaLike, prefix: string, out: Set<string>): Set<string> {
  const node = deref(s);
  for (const branch of node.oneOf ?? []) schemaPaths(branch, prefix, out);
  for (const [key, sub] of Object.entries(node.properties ?? {})) {
    out.add(`${prefix}.${key}`);
    schemaPaths(sub, `${prefix}.${key}`, out);
  }
  if (typeof node.additionalProperties === 'object') schemaPaths(node.additionalProperties, `${prefix}.*`, out);
  if (node.items) schemaPaths(node.items, `${prefix}[]`, out);
  return out;
}

/** Every property path set in a value, in the same notation. */
function valuePaths(value: unknown, prefix: string, out: Set<string>, mapsAt: Set<string>): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => valuePaths(v, `${prefix}[]`, out, mapsAt));
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const name = mapsAt.has(prefix) ? '*' : key;
      if (name !== '*') out.add(`${prefix}.${key}`);
      valuePaths(v, `${prefix}.${name}`, out, mapsAt);
    }
  }
  return out;
}

describe('engine/channels/schema and types stay in sync', () => {
  it('accepts a config that sets every typed field', () => {
    const validate = channelsValidator();
    assert.ok(validate(EVERY_FIELD), JSON.stringify(validate.errors));
  });

  it('declares exactly the fields the types allow', () => {
    const fromSchema = schemaPaths(channelsSchema as unknown as SchemaLike, '', new Set());
    const fromTypes = valuePaths(EVERY_FIELD, '', new Set(), new Set(['.channels[].destinations']));
    assert.deepEqual([...fromSchema].sort(), [...fromTypes].sort());
  });

  it('accepts the example channels.yaml without variables', () => {
    const text = readFileSync(path.join(__dirname, '../../../channels.yaml'), 'utf8')
      .replace('${MLLP_PORT:-2575}', '2575')
      .replace('${FHIR_BASE_URL:-builtin}', 'builtin')
      .replaceAll('${NPHIES_URL:-http://127.0.0.1:8091/$process-message}', 'http://127.0.0.1:8091/$process-message')
      .replaceAll('${WASL_NPHIES_DEMO:-false}', 'false')
      .replaceAll('${WASL_CLAIMS_DEMO:-false}', 'false');
    const validate = channelsValidator();
    assert.ok(validate(parse(text)), JSON.stringify(validate.errors));
  });
});
