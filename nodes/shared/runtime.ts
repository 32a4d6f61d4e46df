/**
 * Nodes get the engine's parts (transport, store, receipts, metrics) from the composition root,
 * which puts them in Node-RED's settings as `waslRuntime`. A node never builds them itself.
 */
import type { NodeAPI } from 'node-red';
import type { WaslRuntime } from '../../engine/runtime/types';

export function getRuntime(RED: NodeAPI): WaslRuntime {
  const runtime = (RED.settings as unknown as { waslRuntime?: WaslRuntime }).waslRuntime;
  if (!runtime) {
    throw new Error('Wasl runtime missing: start Node-RED through Wasl (npm start), which provides settings.waslRuntime');
  }
  return runtime;
}
