/**
 * What wasl-fhir-server's users import: the config node's type and how its settings become a
 * {@link FhirAuth}. Separate from fhir-server.ts because a Node-RED node file exports only its
 * register function.
 *
 * ```ts
 * const server = RED.nodes.getNode(config.server) as FhirServerConfigNode | null;
 * const connection = await server.getConnection();
 * const auth = await server.getAuthProvider();
 * ```
 */
import type { Node, NodeDef } from 'node-red';
import { ValidationError } from '../../common/errors';
import type { AuthProvider, FhirAuth, FhirAuthType, FhirConnection } from '../../connectors/fhir/connection';

export interface FhirServerDef extends NodeDef {
  baseUrl: string;
  authType: FhirAuthType;
  username?: string;
  apiKeyHeader?: string;
  tokenUrl?: string;
  clientId?: string;
  scope?: string;
  clientAuth?: 'basic' | 'post';
  algorithm?: 'RS384' | 'ES384';
  keyId?: string;
  timeoutMs?: number | string;
  rateLimitPerSecond?: number | string;
  /** Use the API-managed connection with this id instead of the settings above. */
  registryId?: string;
}

export interface FhirServerCredentials {
  password?: string;
  apiKey?: string;
  clientSecret?: string;
  privateKeyPem?: string;
  refreshToken?: string;
}

/** What other nodes get from `RED.nodes.getNode(config.server)`. */
export interface FhirServerConfigNode extends Node<FhirServerCredentials> {
  /** The connection with its secrets: for connectors only. */
  getConnection(): Promise<FhirConnection>;
  /** The auth provider shared by every user of this config node. */
  getAuthProvider(): Promise<AuthProvider>;
}

/** Connection id for metrics and sync marks: the registry id, or one derived from the node id. */
export function connectionIdFor(nodeId: string, registryId?: string): string {
  return registryId || `node-${nodeId.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '')}`;
}

const need = (value: string | undefined, path: string, authType: string): string => {
  if (value === undefined || value === '') throw new ValidationError('FHIR_AUTH_CONFIG', `wasl-fhir-server: ${path} is required for auth type ${authType}`, { path });
  return value;
};

/** Builds the auth settings from properties and credentials. @throws ValidationError naming the missing field */
export function authFromConfig(config: FhirServerDef, creds: FhirServerCredentials): FhirAuth {
  const t = config.authType || 'none';
  const opt = (v: string | undefined) => (v ? v : undefined);
  switch (t) {
    case 'none':
      return { type: 'none' };
    case 'basic':
      return { type: 'basic', username: need(config.username, 'username', t), password: need(creds.password, 'credentials.password', t) };
    case 'api-key':
      return { type: 'api-key', header: config.apiKeyHeader || 'x-api-key', key: need(creds.apiKey, 'credentials.apiKey', t) };
    case 'client-credentials':
      return {
        type: t, tokenUrl: need(config.tokenUrl, 'tokenUrl', t), clientId: need(config.clientId, 'clientId', t),
        clientSecret: need(creds.clientSecret, 'credentials.clientSecret', t), scope: opt(config.scope), clientAuth: config.clientAuth === 'post' ? 'post' : 'basic',
      };
    case 'smart-backend':
      return {
        type: t, tokenUrl: need(config.tokenUrl, 'tokenUrl', t), clientId: need(config.clientId, 'clientId', t),
        privateKeyPem: need(creds.privateKeyPem, 'credentials.privateKeyPem', t), algorithm: config.algorithm === 'ES384' ? 'ES384' : 'RS384',
        keyId: opt(config.keyId), scope: opt(config.scope),
      };
    case 'refresh-token':
      return {
        type: t, tokenUrl: need(config.tokenUrl, 'tokenUrl', t), clientId: need(config.clientId, 'clientId', t),
        clientSecret: opt(creds.clientSecret), refreshToken: need(creds.refreshToken, 'credentials.refreshToken', t),
      };
    default:
      throw new ValidationError('FHIR_AUTH_CONFIG', `wasl-fhir-server: unknown auth type ${String(t)}`, { path: 'authType' });
  }
}

export const positive = (v: number | string | undefined): number | undefined => {
  const n = Number(v);
  return v === undefined || v === '' || !Number.isFinite(n) || n <= 0 ? undefined : n;
};
