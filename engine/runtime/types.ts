/**
 * What the engine hands to its Node-RED nodes (through `RED.settings.waslRuntime`): the
 * composition root. Nodes stay thin and never build these themselves, so a node test can pass a
 * runtime made of real parts on a temp directory.
 */
import type { MessageStore } from '../store/types';
import type { Transport } from '../transport/types';
import type { EngineMetrics } from './metrics';
import type { Receipts } from './receipts';

export interface ChannelHealth {
  state: 'starting' | 'running' | 'stopped' | 'error';
  lastError?: { code: string; message: string; at: string };
}

export interface WaslRuntime {
  transport: Transport;
  store: MessageStore;
  receipts: Receipts;
  metrics: EngineMetrics;
  /** Base URL of the built-in demo FHIR server, used where a destination says `url: builtin`. */
  builtinFhirUrl: string;
  /** Channel state reported by the source nodes, read by the ops API. */
  channelHealth: Map<string, ChannelHealth>;
}
