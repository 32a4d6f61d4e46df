/**
 * Wasl nodes under node-red-node-test-helper with real parts: a WaslRuntime on the embedded SQLite
 * store and transport in a temp folder, handed to the helper's settings. Call `helper.init` first.
 */
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import helper from 'node-red-node-test-helper';
import { ChannelControl } from '../../engine/runtime/channel-control';
import { EngineMetrics } from '../../engine/runtime/metrics';
import { Receipts } from '../../engine/runtime/receipts';
import type { WaslRuntime } from '../../engine/runtime/types';
import { openStore } from '../../engine/store';
import { createTransport } from '../../engine/transport';
import { tempDir } from './engine-process';

export interface NodeRuntime {
  runtime: WaslRuntime;
  dataDir: string;
}

/**
 * In a `beforeEach`: a fresh runtime in a temp folder (prefix `prefix`) and the helper's server
 * started on it. With `amqpUrl` the transport is RabbitMQ (give each test its own queue names).
 */
export async function startNodeRuntime(prefix: string, builtinFhirUrl = 'http://127.0.0.1:1/fhir/R4', options: { amqpUrl?: string } = {}): Promise<NodeRuntime> {
  const dataDir = tempDir(prefix);
  const store = await openStore({ dataDir });
  const transport = createTransport({ dataDir, amqpUrl: options.amqpUrl });
  await transport.start();
  const runtime: WaslRuntime = {
    role: 'all',
    store,
    transport,
    receipts: new Receipts(),
    metrics: new EngineMetrics({ defaultMetrics: false }),
    builtinFhirUrl,
    channelHealth: new Map(),
    channelControl: new ChannelControl(),
  };
  helper.settings({ waslRuntime: runtime } as never);
  await helper.startServer();
  return { runtime, dataDir };
}

/** In an `afterEach`: unloads the flows, stops the helper's server, closes the runtime and removes its folder. */
export async function stopNodeRuntime({ runtime, dataDir }: NodeRuntime): Promise<void> {
  await helper.unload();
  await helper.stopServer();
  await runtime.transport.close();
  await runtime.store.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

/** The helper node as a plain emitter of the messages it receives. */
export function nodeEvents(id: string): EventEmitter {
  return helper.getNode(id) as unknown as EventEmitter;
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

type StoredRow = NonNullable<Awaited<ReturnType<WaslRuntime['store']['get']>>>;

/** Waits until the stored row `id` exists and matches. */
export async function waitForRow(runtime: WaslRuntime, id: string, match: (r: StoredRow) => boolean): Promise<StoredRow> {
  let row: Awaited<ReturnType<WaslRuntime['store']['get']>>;
  await waitFor(async () => {
    row = await runtime.store.get(id);
    return row !== undefined && match(row);
  });
  return row!;
}
