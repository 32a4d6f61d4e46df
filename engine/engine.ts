/**
 * The composition root: opens the store and transport, serves the demo FHIR server, compiles
 * channels.yaml into Node-RED flows, and starts Node-RED, the ops API and /metrics on one port.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { logger } from '../common/logger';
import { KnexAlertStore, startAlerting } from './alerts';
import { compileChannels } from './channels/compile';
import { buildFlowsFile } from './channels/flows-file';
import { ChannelsFileError, formatProblem, loadChannels, type ChannelConfig } from './channels/load';
import type { EngineConfig } from './config';
import { fhirConnectionRegistryFor } from './fhir-connections';
import { registerBuiltinAdapterKinds } from './providers/kinds';
import { startProviderJobs } from './providers/jobs';
import { adapterRegistryFromFiles, adaptersFilePath } from './providers/registry';
import { createFhirServer } from './fhir-server';
import { EngineMetrics } from './runtime/metrics';
import { ChannelControl } from './runtime/channel-control';
import { ChannelStateSync, channelStatePollFromEnv } from './runtime/channel-state-sync';
import { registerQueueGauges } from './runtime/queue-gauges';
import { Receipts } from './runtime/receipts';
import { StageStats } from './runtime/stage-stats';
import { secretBoxFrom } from '../common/secret-box';
import type { WaslRuntime } from './runtime/types';
import { apiRouter } from './server/api';
import { alertsRouter } from './server/alerts-api';
import { authSettingsFrom, createAuth } from './auth';
import { CREATE_ADMIN_HELP, ensureFirstAdmin, type FirstAdmin } from './auth/bootstrap';
import { claimsApi } from './server/claims-api';
import { claimsWorkbenchPage } from './server/claims-workbench-page';
import { integrationsRouter } from './server/integrations-api';
import { startNodeRed, type EmbeddedNodeRed } from './server/node-red';
import { opsPagesRouter } from './server/pages';
import { openStore } from './store';
import { ChannelStateStore } from './store/channel-states';
import { KnexMessageStore } from './store/knex-store';
import { createTransport } from './transport';
import { validateFhir } from '../transformers/fhir/validate';

/** production: PostgreSQL + RabbitMQ; embedded: SQLite + embedded queue; mixed: one of each. */
export type EngineMode = 'embedded' | 'production' | 'mixed';

export interface RunningEngine {
  role: EngineConfig['role'];
  port: number;
  mllpPort: number;
  mode: EngineMode;
  /** Channels whose source could not start (e.g. the MLLP port is taken), for the banner. */
  failedSources: Array<{ channel: string; code: string }>;
  /** Enabled channels an operator paused or stopped (channel_states), held so across the restart, for the banner. */
  heldChannels: Array<{ channel: string; state: 'paused' | 'stopped' }>;
  /** Whether anyone can sign in yet; `no-users` makes the banner say how to create the first admin. */
  firstAdmin: FirstAdmin;
  /** How to create the first admin (printed by the banner when firstAdmin is `no-users`). */
  createAdminHelp: string;
  /** e.g. `SQLite + embedded queue`, for the start-up banner. */
  runtimeParts: string;
  channels: ChannelConfig[];
  close(): Promise<void>;
}

/** Reads and validates channels.yaml; throws one error listing every problem (file:line:col path: message). */
export function loadChannelsOrThrow(file: string, env: NodeJS.ProcessEnv): ChannelConfig[] {
  try {
    return loadChannels(file, env).channels;
  } catch (err) {
    if (err instanceof ChannelsFileError) {
      throw new Error(`channels file is invalid:\n${err.problems.map(formatProblem).join('\n')}`);
    }
    throw err;
  }
}

export async function startEngine(config: EngineConfig): Promise<RunningEngine> {
  const log = logger({ stage: 'engine' });
  const mode: EngineMode = config.databaseUrl && config.amqpUrl ? 'production' : config.databaseUrl || config.amqpUrl ? 'mixed' : 'embedded';
  fs.mkdirSync(config.dataDir, { recursive: true });
  const channels = loadChannelsOrThrow(config.channelsFile, { ...process.env, MLLP_PORT: String(config.mllpPort) });
  const channelStatePollMs = channelStatePollFromEnv(process.env);
  // Outside-system adapters from adapters.yaml (WASL_ADAPTERS_FILE; missing = none), built before
  // anything opens so a bad file stops the start with its problems; metrics attach below.
  registerBuiltinAdapterKinds();
  const adapters = await adapterRegistryFromFiles([{ file: config.channelsFile, alongside: ['channels'] }, { file: adaptersFilePath(process.env) }], { env: process.env });

  const authSettings = authSettingsFrom(process.env);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  if (!(store instanceof KnexMessageStore)) throw new Error('the store must be the knex store: users and the audit log live in its database');
  const auth = createAuth(store.knex, authSettings);
  const firstAdmin = await ensureFirstAdmin(auth.users, auth.audit, { adminUser: config.adminUser, adminPassword: config.adminPassword }).catch(async (err: Error) => {
    await store.close();
    throw new Error(`WASL_ADMIN_USER / WASL_ADMIN_PASSWORD: ${err.message}`);
  });
  const transport = createTransport({ amqpUrl: config.amqpUrl, dataDir: config.dataDir });
  await transport.start();
  const fhir = await createFhirServer();
  // Compile the FHIR R4 schema now (about a second) rather than on the first message.
  validateFhir({ resourceType: 'Basic', code: {} });

  const app = express();
  app.disable('x-powered-by');
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const metrics = new EngineMetrics();
  if (config.role !== 'all' && mode === 'embedded') {
    throw new Error(`WASL_ROLE=${config.role} needs DATABASE_URL and AMQP_URL: the embedded store and queue belong to one process`);
  }
  const channelControl = new ChannelControl();
  const channelStates = new ChannelStateSync({
    control: channelControl,
    store: new ChannelStateStore(store.knex, store.dialect),
    intervalMs: channelStatePollMs,
  });
  const runtime: WaslRuntime = {
    role: config.role,
    transport,
    store,
    receipts: new Receipts(),
    metrics,
    builtinFhirUrl: `http://127.0.0.1:${port}/fhir/R4`,
    channelHealth: new Map(),
    fhirConnections: fhirConnectionRegistryFor(store, config.secretKey, config.previousSecretKeys),
    secretBox: secretBoxFrom(config.secretKey, config.previousSecretKeys),
    stageStats: new StageStats(),
    channelControl,
    channelStates,
    adapters,
    audit: auth.audit,
  };
  adapters.attachMetrics(metrics);
  // Scheduled provider work (NPPES revalidation) belongs to a process that runs sources, not to workers.
  const providerJobs = config.role === 'worker' ? undefined : startProviderJobs(store.knex, adapters);
  // Alert rules of channels.yaml are evaluated there too (engine/alerts/); state is in the store.
  const alerting = config.role === 'worker' ? undefined : startAlerting({ knex: store.knex, dialect: store.dialect, transport, channels, registry: metrics.registry });
  registerQueueGauges(metrics, runtime, channels);

  let ready = false;
  // Sign-in first: every route below is guarded by engine/auth/route-permissions.ts.
  app.use(auth.authenticator.middleware);
  app.use('/api/v1', ...auth.apiRouters);
  app.use('/fhir/R4', fhir.router);
  app.use('/api/v1/integrations', integrationsRouter(() => runtime.adapters));
  app.use('/api/v1/alerts', alertsRouter(new KnexAlertStore(store.knex, store.dialect)));
  app.use('/api/v1', apiRouter({ runtime, channels: () => channels, ready: () => ready, mode, startedAt: new Date() }));
  // Failed-claims workbench over CLAIMS_PRODUCTION_URL (503 until it and WASL_SECRET_KEY are set).
  const claimsWorkbench = claimsApi({ sealer: runtime.secretBox, channels: () => channels, audit: auth.audit });
  app.use('/api/v1/claims', claimsWorkbench.router);
  app.get('/claims/failed', (_req, res) => res.type('html').send(claimsWorkbenchPage()));
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  // The ops pages and /assets/uplot (engine/server/pages/); before Node-RED's /channels/<id>/... endpoints.
  app.use(opsPagesRouter());

  const flows = buildFlowsFile(compileChannels(channels, { builtinFhirUrl: runtime.builtinFhirUrl }), config.flowsDir);
  let nodeRed: EmbeddedNodeRed | undefined;
  try {
    // Before Node-RED: ChannelControl then holds each stored state, and the sources and consumers
    // Node-RED creates come up paused or stopped rather than taking input for a moment.
    await channelStates.start();
    nodeRed = await startNodeRed({
      server,
      app,
      userDir: path.join(config.dataDir, 'node-red'),
      flows,
      runtime,
      credentialSecret: config.secretKey,
      adminAuth: auth.nodeRedAdminAuth,
      audit: auth.audit,
    });
  } catch (err) {
    server.close();
    await channelStates.stop();
    await providerJobs?.stop();
    await alerting?.stop();
    await adapters.closeAll();
    await transport.close();
    await store.close();
    throw err;
  }
  // Node-RED has started the flows, but listeners bind asynchronously: "running" must mean a
  // sender can connect.
  if (config.role !== 'worker') await waitForSources(runtime, channels, 15_000);
  ready = true;
  log.info('engine started', { port, mode, role: config.role, channels: channels.length });

  let closing: Promise<void> | undefined;
  return {
    port,
    mllpPort: config.mllpPort,
    role: config.role,
    firstAdmin,
    createAdminHelp: CREATE_ADMIN_HELP,
    failedSources: [...runtime.channelHealth].filter(([, h]) => h.state === 'error').map(([channel, h]) => ({ channel, code: h.lastError?.code ?? 'UNKNOWN' })),
    heldChannels: channels
      .filter((c) => c.enabled !== false)
      .map((c) => ({ channel: c.id, state: channelControl.state(c.id) }))
      .filter((h): h is { channel: string; state: 'paused' | 'stopped' } => h.state !== 'running'),
    mode,
    runtimeParts: `${store.dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} + ${transport.kind === 'amqp' ? 'RabbitMQ' : 'embedded queue'}`,
    channels,
    close: () =>
      (closing ??= (async () => {
        ready = false;
        // First, so no state read during the shutdown restarts a part Node-RED is closing.
        await channelStates.stop();
        await nodeRed?.stop();
        await providerJobs?.stop();
        await alerting?.stop();
        await adapters.closeAll();
        runtime.receipts.failAll('engine stopping');
        await transport.close();
        await store.close();
        await claimsWorkbench.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}

/**
 * Waits until every enabled channel's source reports running (or failed: then it says why).
 * Channels held paused or stopped (channel_states) are skipped: their sources do not open.
 */
async function waitForSources(runtime: WaslRuntime, channels: ChannelConfig[], timeoutMs: number): Promise<void> {
  const log = logger({ stage: 'engine' });
  const until = Date.now() + timeoutMs;
  const held = (id: string) => (runtime.channelControl?.state(id) ?? 'running') !== 'running';
  for (const channel of channels.filter((c) => c.enabled !== false && !held(c.id))) {
    for (;;) {
      const health = runtime.channelHealth.get(channel.id);
      if (health?.state === 'running') break;
      if (health?.state === 'error' || Date.now() > until) {
        log.error('channel source did not start', { channel: channel.id, error: health?.lastError?.code ?? 'TIMEOUT' });
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

