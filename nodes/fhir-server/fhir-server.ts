/**
 * wasl-fhir-server: a config node for one EHR's FHIR R4 server. Settings are node properties;
 * secrets (password, API key, client secret, private key, refresh token) are Node-RED credentials
 * (encrypted in flows_cred.json with credentialSecret, never sent back to the editor).
 *
 * Users (fhir-poll, fhir-out, ...) get it with `RED.nodes.getNode(id) as FhirServerConfigNode`
 * (connection-config.ts) and call:
 * - `getConnection()`: the {@link FhirConnection}, secrets included (never log or send it);
 * - `getAuthProvider()`: ONE provider per config node, shared by every user, so they share one
 *   token cache and one refresh after a 401.
 *
 * With `registryId` set the node takes the connection from the registry managed through
 * `/api/v1/fhir-connections` instead (secrets then live encrypted in the database, and a rotated
 * refresh token is stored there).
 */
import type { NodeAPI } from 'node-red';
import { ValidationError } from '../../common/errors';
import { logger } from '../../common/logger';
import { createAuthProvider } from '../../connectors/fhir/auth';
import type { AuthProvider, FhirConnection } from '../../connectors/fhir/connection';
import type { WaslRuntime } from '../../engine/runtime/types';
import { authFromConfig, connectionIdFor, positive, type FhirServerConfigNode, type FhirServerDef } from './connection-config';

export = function register(RED: NodeAPI): void {
  function FhirServerNode(this: FhirServerConfigNode, config: FhirServerDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const log = logger({ stage: 'fhir-server', nodeId: node.id });
    const runtime = (RED.settings as unknown as { waslRuntime?: WaslRuntime }).waslRuntime;
    const registryId = (config.registryId ?? '').trim() || undefined;
    const id = connectionIdFor(node.id, registryId);
    let provider: Promise<AuthProvider> | undefined;

    node.getConnection = async (): Promise<FhirConnection> => {
      if (registryId) {
        if (!runtime?.fhirConnections) throw new ValidationError('FHIR_CONNECTION_REGISTRY', 'wasl-fhir-server: no connection registry in this runtime', { path: 'registryId' });
        return runtime.fhirConnections.resolve(registryId);
      }
      return {
        id,
        name: config.name || config.baseUrl,
        baseUrl: config.baseUrl,
        fhirVersion: 'R4',
        auth: authFromConfig(config, node.credentials ?? {}),
        timeoutMs: positive(config.timeoutMs),
        rateLimitPerSecond: positive(config.rateLimitPerSecond),
        enabled: true,
      };
    };

    node.getAuthProvider = (): Promise<AuthProvider> => {
      provider ??= node.getConnection().then((c) =>
        createAuthProvider(c.auth, {
          logger: log,
          onRefreshTokenRotated: async (refreshToken) => {
            if (registryId && runtime?.fhirConnections) {
              await runtime.fhirConnections.saveRotatedRefreshToken(registryId, refreshToken);
              return;
            }
            // Node-RED writes credentials with the next deploy only; until then a restart would reuse the old token.
            await RED.nodes.addCredentials(node.id, { ...(node.credentials ?? {}), refreshToken });
            log.warn('FHIR refresh token rotated: redeploy to keep it across restarts, or use a registry connection', { connection: id });
          },
        }),
      );
      // A failed build (bad key) is not cached: a later call after a fix tries again.
      provider.catch(() => {
        provider = undefined;
      });
      return provider;
    };

    node.on('close', (done: () => void) => {
      provider = undefined;
      done();
    });
  }

  RED.nodes.registerType('wasl-fhir-server', FhirServerNode as never, {
    credentials: {
      password: { type: 'password' },
      apiKey: { type: 'password' },
      clientSecret: { type: 'password' },
      privateKeyPem: { type: 'password' },
      refreshToken: { type: 'password' },
    },
  });
};
