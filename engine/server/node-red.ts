/**
 * Node-RED embedded on Wasl's HTTP server: the editor at /editor, Wasl's nodes loaded from
 * dist/nodes, the flows file written from channels.yaml at start, and Node-RED's own log routed
 * to winston. Node-RED is a process-wide singleton: one engine per process.
 */
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import type express from 'express';
import { logger } from '../../common/logger';
import type { AuditLog } from '../audit/types';
import type { NodeRedFlow } from '../channels/flow-types';
import { mergeEditorFlows, readPreviousFlows } from './editor-flows';
import { compiledNodesDir } from '../paths';
import type { WaslRuntime } from '../runtime/types';
import { channelEndpointsOf } from '../runtime/channel-endpoints';

// node-red ships no types for its embedding API; this is the part we use.
interface NodeRedApi {
  init(server: http.Server, settings: Record<string, unknown>): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  httpAdmin: express.Express;
  httpNode: express.Express;
  events: { once(event: string, fn: () => void): void; on(event: string, fn: (...a: unknown[]) => void): void };
}

export interface EmbeddedNodeRed {
  stop(): Promise<void>;
}

const NODE_RED_LEVELS: Record<number, string> = { 10: 'error', 20: 'error', 30: 'warn', 40: 'info', 50: 'debug', 60: 'debug' };

export interface NodeRedOptions {
  server: http.Server;
  app: express.Express;
  userDir: string;
  flows: NodeRedFlow[];
  runtime: WaslRuntime;
  credentialSecret?: string;
  adminAuth?: Record<string, unknown>;
  /** Deploys from the editor are written here (Node-RED's own audit events, level 98). */
  audit?: AuditLog;
}

const AUDIT_LEVEL = 98;

interface NodeRedLogRecord {
  level: number;
  msg?: unknown;
  id?: string;
  type?: string;
  z?: string;
  event?: string;
  user?: { username?: string };
  ip?: string;
}

/** Starts Node-RED and resolves once the flows run (RED.start resolves earlier than that). */
export async function startNodeRed(options: NodeRedOptions): Promise<EmbeddedNodeRed> {
  const RED = require('node-red') as NodeRedApi;
  fs.mkdirSync(options.userDir, { recursive: true });
  const flowsFile = path.join(options.userDir, 'flows.json');
  const flows = mergeEditorFlows(readPreviousFlows(flowsFile), options.flows);
  fs.writeFileSync(flowsFile, JSON.stringify(flows, null, 2));
  const log = logger({ stage: 'node-red' });
  const settings: Record<string, unknown> = {
    userDir: options.userDir,
    flowFile: 'flows.json',
    flowFilePretty: true,
    httpAdminRoot: '/editor',
    httpNodeRoot: '/http',
    nodesDir: [compiledNodesDir()],
    // false keeps credentials unencrypted; Node-RED would otherwise invent a key and store it in userDir.
    credentialSecret: options.credentialSecret ?? false,
    adminAuth: options.adminAuth,
    waslRuntime: options.runtime,
    editorTheme: { projects: { enabled: false }, tours: false, header: { title: 'Wasl' }, page: { title: 'Wasl' } },
    externalModules: { palette: { allowInstall: false } },
    // A healthcare engine does not phone home, and a first visit should not open with a consent prompt.
    telemetry: { enabled: false, updateNotification: false },
    paletteCategories: ['Wasl', 'subflows', 'common', 'function', 'network', 'sequence', 'parser', 'storage'],
    logging: {
      console: { level: 'off' },
      wasl: {
        level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'info',
        metrics: false,
        audit: !!options.audit,
        handler: () => (rec: NodeRedLogRecord) => {
          if (rec.level === AUDIT_LEVEL) {
            // Node-RED audits every admin call; a deploy is the one that changes what runs.
            if (rec.event === 'flows.set') {
              options.audit?.record({ actor: rec.user?.username ?? 'anonymous', action: 'flows.deploy', target: 'flows', from: rec.ip, detail: { type: rec.type ?? 'full' } })
                .catch((err: Error) => log.error('audit write failed', { error: err.message }));
            }
            return;
          }
          const level = NODE_RED_LEVELS[rec.level] ?? 'info';
          // Node-RED messages name nodes and flows; node.error texts from Wasl nodes carry ids only.
          log.log(level, typeof rec.msg === 'string' ? rec.msg : String(rec.msg), { nodeId: rec.id, nodeType: rec.type, flow: rec.z });
        },
      },
    },
  };
  RED.init(options.server, settings);
  options.app.use('/editor', RED.httpAdmin);
  options.app.use('/http', RED.httpNode);
  // Channel sources that speak HTTP (wasl-fhir-in) on the engine's port: /channels/<id>/fhir/...
  options.app.use('/channels', channelEndpointsOf(options.runtime).router());
  const started = new Promise<void>((resolve) => RED.events.once('flows:started', resolve));
  await RED.start();
  await started;
  return { stop: () => RED.stop() };
}
