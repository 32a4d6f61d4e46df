/**
 * What the engine hands to its Node-RED nodes (through `RED.settings.waslRuntime`): the
 * composition root. Nodes stay thin and never build these themselves, so a node test can pass a
 * runtime made of real parts on a temp directory.
 */
import type { FhirConnectionRegistry } from '../fhir-connections/registry';
import type { AdapterRegistry } from '../providers/registry';
import type { MessageStore } from '../store/types';
import type { Transport } from '../transport/types';
import type { ChannelControl } from './channel-control';
import type { ChannelStateSync } from './channel-state-sync';
import type { ChannelEndpoints } from './channel-endpoints';
import type { EngineMetrics } from './metrics';
import type { Receipts } from './receipts';
import type { StageStats } from './stage-stats';
import type { SecretBox } from '../../common/secret-box';
import type { AuditLog } from '../audit/types';

export interface ChannelHealth {
  state: 'starting' | 'running' | 'stopped' | 'error';
  lastError?: { code: string; message: string; at: string };
}

/**
 * What this process does (WASL_ROLE). `all`: sources and stage consumers. `intake`: only the
 * sources (listen, store, queue, ACK). `worker`: only the stage consumers. Several processes on
 * the same PostgreSQL + RabbitMQ share the work; intake and workers no longer compete for one
 * event loop. Embedded mode is one process, so it always runs `all`.
 */
export type EngineRole = 'all' | 'intake' | 'worker';

export interface WaslRuntime {
  role: EngineRole;
  transport: Transport;
  store: MessageStore;
  receipts: Receipts;
  metrics: EngineMetrics;
  /** Base URL of the built-in demo FHIR server, used where a destination says `url: builtin`. */
  builtinFhirUrl: string;
  /** Channel state reported by the source nodes, read by the ops API. */
  channelHealth: Map<string, ChannelHealth>;
  /** HTTP endpoints of channel sources under `/channels` (wasl-fhir-in); created on first use. */
  channelEndpoints?: ChannelEndpoints;
  /** FHIR connections (engine/fhir-connections/): the API manages them, nodes resolve them. */
  fhirConnections?: FhirConnectionRegistry;
  /** AES-256-GCM under WASL_SECRET_KEY; absent when the key is not set (claims channels then refuse to start). */
  secretBox?: SecretBox;
  /** Per-stage counts and timings of batch channels (claims), shown by /api/v1/channels. */
  stageStats?: StageStats;
  /** Outside-system adapters (NPPES, CAQH, Plan-Net) from adapters.yaml, by id (engine/providers/registry.ts). */
  adapters?: AdapterRegistry;
  /** The hash-chained audit log (engine/audit/); absent in node tests that do not need it. */
  audit?: AuditLog;
  /**
   * Start / pause / stop of channels in this process (channel-control.ts): sources and queue
   * stages register with it. Absent: channels always run (node tests that do not need it).
   */
  channelControl?: ChannelControl;
  /**
   * Shares requests with every process on the store and keeps them across restarts
   * (channel-state-sync.ts). The engine always sets it; absent, a request acts on this process only.
   */
  channelStates?: ChannelStateSync;
}
