/**
 * What the NPHIES nodes share: the endpoint settings (from a `wasl-nphies-endpoint` config node,
 * or inline fields as channels.yaml compiles them), and how they become an NphiesClient with the
 * lifecycle's durable submission ledger. Separate from nphies-endpoint.ts because a Node-RED node
 * file exports only its register function.
 *
 * Secrets: a config node keeps the OAuth client secret and the PFX passphrase in Node-RED
 * credentials; inline fields only name environment variables (`oauthClientSecretEnv`,
 * `tlsPassphraseEnv`), read here, so neither channels.yaml nor flows.json ever holds a secret.
 */
import { fhirClients } from '../../connectors/fhir/client-registry';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ValidationError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { NphiesClient } from '../../connectors/nphies/client';
import type { DftClaimDefaults } from '../../connectors/nphies/from-dft';
import type { NphiesEndpointConfig, NphiesParties } from '../../connectors/nphies/types';
import { claimLifecycleFor, type ClaimLifecycle } from '../../engine/nphies/lifecycle';
import type { WaslRuntime } from '../../engine/runtime/types';

/** The flat endpoint fields, on the config node and inline on every NPHIES node. */
export interface NphiesEndpointFields {
  url?: string;
  providerLicense?: string;
  payerLicense?: string;
  providerEndpoint?: string;
  timeoutMs?: number | string;
  oauthTokenUrl?: string;
  oauthClientId?: string;
  oauthScope?: string;
  /** Inline only: the environment variable holding the OAuth client secret. */
  oauthClientSecretEnv?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsPfx?: string;
  /** Inline only: the environment variable holding the PFX passphrase. */
  tlsPassphraseEnv?: string;
}

export interface NphiesEndpointSecrets {
  clientSecret?: string;
  passphrase?: string;
}

/** What the NPHIES nodes get from `RED.nodes.getNode(config.endpoint)`. */
export interface NphiesEndpointConfigNode extends Node<NphiesEndpointSecrets> {
  /** The one client of this endpoint, shared by every node that uses it. */
  client(): NphiesClient;
  parties(): NphiesParties;
}

/** The node's own fields plus, optionally, the config node id. */
export interface NphiesNodeDef extends NodeDef, NphiesEndpointFields {
  endpoint?: string;
  channel?: string;
  destination?: string;
  /** wasl-nphies-claim, HL7 v2 DFT^P03 payloads (connectors/nphies/from-dft.ts): set dftMemberIdSystem to accept them. */
  dftClaimType?: string;
  dftSubType?: string;
  dftProviderName?: string;
  dftMemberIdSystem?: string;
  dftSpecialty?: string;
  dftCurrency?: string;
}

/** The DFT^P03 claim defaults of a node, or undefined (DFT payloads refused) when dftMemberIdSystem is not set. */
export function dftDefaultsFrom(config: NphiesNodeDef): DftClaimDefaults | undefined {
  if (!config.dftMemberIdSystem) return undefined;
  return {
    claimType: (config.dftClaimType || 'institutional') as DftClaimDefaults['claimType'],
    subType: (config.dftSubType || 'op') as DftClaimDefaults['subType'],
    provider: { name: need(config.dftProviderName, 'dftProviderName') },
    memberIdSystem: config.dftMemberIdSystem,
    specialty: need(config.dftSpecialty, 'dftSpecialty'),
    ...(config.dftCurrency ? { currency: config.dftCurrency } : {}),
  };
}

const need = (value: string | undefined, path: string): string => {
  if (!value) throw new ValidationError('NPHIES_CONFIG', `NPHIES endpoint: ${path} is required`, { path });
  return value;
};

/** Parties from the fields. @throws ValidationError naming the missing field */
export function partiesFrom(f: NphiesEndpointFields, opts: { payerRequired: boolean }): NphiesParties {
  return {
    providerLicense: need(f.providerLicense, 'providerLicense'),
    payerLicense: opts.payerRequired ? need(f.payerLicense, 'payerLicense') : (f.payerLicense ?? ''),
    providerEndpoint: need(f.providerEndpoint, 'providerEndpoint'),
  };
}

/** The client's endpoint settings from the fields and secrets. @throws ValidationError naming the missing field */
export function endpointFrom(f: NphiesEndpointFields, secrets: NphiesEndpointSecrets): NphiesEndpointConfig {
  const url = need(f.url, 'url');
  const oauth = f.oauthTokenUrl
    ? { tokenUrl: f.oauthTokenUrl, clientId: need(f.oauthClientId, 'oauthClientId'), clientSecret: need(secrets.clientSecret, 'clientSecret'), ...(f.oauthScope ? { scope: f.oauthScope } : {}) }
    : undefined;
  const tlsFiles = { caFile: f.tlsCa || undefined, certFile: f.tlsCert || undefined, keyFile: f.tlsKey || undefined, pfxFile: f.tlsPfx || undefined };
  const anyTls = Object.values(tlsFiles).some(Boolean);
  return {
    url,
    ...(oauth ? { oauth } : {}),
    ...(anyTls ? { tls: { ...tlsFiles, ...(secrets.passphrase ? { passphrase: secrets.passphrase } : {}) } } : {}),
    timeoutMs: Number(f.timeoutMs) || undefined,
  };
}

/** Inline secrets come from the environment variables the fields name. */
export function secretsFromEnv(f: NphiesEndpointFields, env: NodeJS.ProcessEnv = process.env): NphiesEndpointSecrets {
  return {
    clientSecret: f.oauthClientSecretEnv ? env[f.oauthClientSecretEnv] : undefined,
    passphrase: f.tlsPassphraseEnv ? env[f.tlsPassphraseEnv] : undefined,
  };
}

/** The lifecycle on the engine's store (its ledger makes every submission idempotent). */
export function lifecycleOf(runtime: WaslRuntime): ClaimLifecycle {
  return claimLifecycleFor(runtime.store);
}

/**
 * A client for the fields, with the lifecycle's durable ledger. One attempt per call: the
 * destination queue owns the backoff and the dead-letter queue (retrying here too would multiply
 * the attempts), while the client's breaker still fails fast while NPHIES is down.
 */
export function createClient(f: NphiesEndpointFields, secrets: NphiesEndpointSecrets, lifecycle: ClaimLifecycle, log: Logger, endpointId: string): NphiesClient {
  return new NphiesClient({ endpoint: endpointFrom(f, secrets), endpointId, ledger: lifecycle.ledger, retry: { maxAttempts: 1 }, logger: log });
}

/**
 * Puts the client's circuit breaker where ops look for breakers: the channel's `circuit` in
 * /api/v1/channels (and a destination's, when the client's id is `<channel>.<destination>`),
 * `wasl_fhir_circuit_state{connection}` on /metrics, and the `destination-down` alert. Call the
 * returned function when the node closes.
 */
export function trackBreaker(channel: string, client: NphiesClient): () => void {
  const source = { connectionId: client.endpointId, breakerState: () => client.breakerState() };
  fhirClients.add(source);
  const unbind = fhirClients.bind(channel, source);
  return () => {
    unbind();
    fhirClients.remove(source);
  };
}

/**
 * The client and parties a node uses: the config node's when set, else its own from inline
 * fields. `owned` says whether the node must close the client itself.
 */
export function resolveEndpoint(
  RED: NodeAPI,
  config: NphiesNodeDef,
  runtime: WaslRuntime,
  log: Logger,
  opts: { payerRequired: boolean },
): { client: NphiesClient; parties: NphiesParties; owned: boolean } {
  if (config.endpoint) {
    const ep = RED.nodes.getNode(config.endpoint) as NphiesEndpointConfigNode | null;
    if (!ep) throw new ValidationError('NPHIES_CONFIG', 'NPHIES endpoint config node not found', { path: 'endpoint' });
    return { client: ep.client(), parties: ep.parties(), owned: false };
  }
  const parties = partiesFrom(config, opts);
  const client = createClient(config, secretsFromEnv(config), lifecycleOf(runtime), log, `${config.channel || config.z || config.id}.${config.destination || 'nphies'}`);
  return { client, parties, owned: true };
}
