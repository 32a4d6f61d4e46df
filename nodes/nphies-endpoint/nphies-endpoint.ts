/**
 * wasl-nphies-endpoint: a config node for one NPHIES environment (production, OBA conformance, or
 * the simulator): the `$process-message` URL, our provider license and the payer's, our endpoint
 * URI, OAuth2 client credentials (the secret in Node-RED credentials) and mutual-TLS file paths.
 * It owns one NphiesClient (with the lifecycle's durable submission ledger) shared by every NPHIES
 * node that points at it, built on first use and closed when the config node closes.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import type { NphiesClient } from '../../connectors/nphies/client';
import type { NphiesParties } from '../../connectors/nphies/types';
import { getRuntime } from '../shared/runtime';
import { createClient, lifecycleOf, partiesFrom, type NphiesEndpointConfigNode, type NphiesEndpointFields, type NphiesEndpointSecrets } from './endpoint-config';

type NphiesEndpointDef = NodeDef & NphiesEndpointFields;

export = function register(RED: NodeAPI): void {
  function NphiesEndpointNode(this: Node<NphiesEndpointSecrets>, config: NphiesEndpointDef): void {
    RED.nodes.createNode(this, config);
    const node = this as NphiesEndpointConfigNode;
    let client: NphiesClient | undefined;
    node.client = () => {
      // Built lazily: the store (for the ledger) and the secrets are read only when a node needs them.
      client ??= createClient(config, node.credentials ?? {}, lifecycleOf(getRuntime(RED)), logger({ stage: 'nphies-endpoint', nodeId: node.id }), config.name || node.id);
      return client;
    };
    node.parties = (): NphiesParties => partiesFrom(config, { payerRequired: false });
    node.on('close', (_removed: boolean, done: () => void) => {
      Promise.resolve(client?.close()).then(
        () => done(),
        () => done(),
      );
      client = undefined;
    });
  }
  RED.nodes.registerType('wasl-nphies-endpoint', NphiesEndpointNode as never, {
    credentials: { clientSecret: { type: 'password' }, passphrase: { type: 'password' } },
  });
};
