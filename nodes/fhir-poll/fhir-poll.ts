/**
 * wasl-fhir-poll: a source that syncs Encounters with their Patient and clinical notes from a FHIR
 * R4 server on an interval (connectors/fhir/sync), stores them (deduplicated by Encounter id and
 * version), and sends one message per created or updated Encounter on output 1 and the run
 * summary on output 2. An input message starts a run now.
 *
 * The FHIR connection comes from a `wasl-fhir-server` config node (auth, timeout, rate limit) or,
 * without one, from the base URL field (no auth).
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage } from 'node-red';
import { toWaslError, type WaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import { createAuthProvider } from '../../connectors/fhir/auth';
import type { AuthProvider } from '../../connectors/fhir/connection';
import { FhirConnectionClient } from '../../connectors/fhir/fhir-client';
import { connectionIdForUrl, EncounterSync } from '../../connectors/fhir/sync/encounter-sync';
import type { SyncedEncounter, SyncQuery, SyncRun } from '../../connectors/fhir/sync/types';
import { fhirSyncStoreFor } from '../../engine/store/fhir-sync-store';
import type { FhirServerConfigNode } from '../fhir-server/connection-config';
import { getRuntime } from '../shared/runtime';
import { clearStatus, setStatus } from '../shared/status';

interface FhirPollDef extends NodeDef {
  /** wasl-fhir-server config node id (preferred). */
  server?: string;
  /** Base URL when no config node is set. */
  url?: string;
  channel?: string;
  /** Seconds between runs; 0 = only on input. */
  intervalS?: number | string;
  runOnStart?: boolean;
  pageSize?: number | string;
  since?: string;
  status?: string;
  patient?: string;
}

/** The message per Encounter: ids in `topic` and `wasl`, the resources and notes in `payload`. */
interface FhirPollMessage extends NodeMessage {
  topic: string;
  payload: {
    outcome: 'created' | 'updated';
    encounter: SyncedEncounter['encounter'];
    patient?: SyncedEncounter['patient'];
    notes: SyncedEncounter['notes'];
  };
  wasl: { correlationId: string; channel: string; connectionId: string; runId?: string };
}

const positiveInt = (v: unknown, fallback: number): number => {
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
};

export = function register(RED: NodeAPI): void {
  function FhirPollNode(this: Node, config: FhirPollDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const log = logger({ channel, stage: 'fhir-poll', nodeId: node.id });
    const intervalMs = positiveInt(config.intervalS, 300) * 1000;
    const query: SyncQuery = {
      pageSize: positiveInt(config.pageSize, 100) || 100,
      since: config.since || undefined,
      status: config.status || undefined,
      patient: config.patient || undefined,
    };
    const serverNode = config.server ? (RED.nodes.getNode(config.server) as FhirServerConfigNode | null) : null;

    let client: FhirConnectionClient | undefined;
    let sync: EncounterSync | undefined;
    let connectionId = '';
    let running: Promise<WaslError | undefined> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const abort = new AbortController();

    /** Built on first use: the config node resolves its connection (and secrets) asynchronously. */
    const syncer = async (): Promise<EncounterSync> => {
      if (sync) return sync;
      let baseUrl: string;
      let auth: AuthProvider;
      let extra: { timeoutMs?: number; rateLimitPerSecond?: number } = {};
      if (serverNode) {
        const connection = await serverNode.getConnection();
        baseUrl = connection.baseUrl;
        connectionId = connection.id;
        auth = await serverNode.getAuthProvider();
        extra = { timeoutMs: connection.timeoutMs, rateLimitPerSecond: connection.rateLimitPerSecond };
      } else {
        if (!config.url) throw toWaslError(new Error('wasl-fhir-poll: no FHIR server and no base URL'));
        baseUrl = config.url;
        connectionId = connectionIdForUrl(baseUrl);
        auth = createAuthProvider({ type: 'none' });
      }
      client = new FhirConnectionClient({ connection: { id: connectionId, baseUrl, ...extra }, auth, logger: log });
      sync = new EncounterSync({ connectionId, reader: client, store: fhirSyncStoreFor(runtime.store), baseUrl, logger: log });
      return sync;
    };

    /** Resolves with the error of a run that could not happen (store, config), else undefined. */
    const runOnce = async (): Promise<WaslError | undefined> => {
      setStatus(node, 'sending', RED._('fhir-poll.status.syncing'));
      let run: SyncRun;
      try {
        const s = await syncer();
        run = await s.run(query, {
          signal: abort.signal,
          onEncounter: (e, outcome) => {
            if (outcome === 'skipped' || closed) return;
            const out: FhirPollMessage = {
              _msgid: RED.util.generateId(),
              topic: `Encounter/${e.encounterId}`,
              payload: { outcome, encounter: e.encounter, patient: e.patient, notes: e.notes },
              wasl: { correlationId: randomUUID(), channel, connectionId },
            };
            node.send([out, null]);
          },
        });
      } catch (err) {
        const e = toWaslError(err);
        setStatus(node, 'down', RED._('fhir-poll.status.failed'));
        log.error('fhir poll failed', { code: e.code });
        return e;
      }
      const { id, fetched, created, updated, skipped, failed, durationMs, pages, complete, errors } = run;
      node.send([null, { _msgid: RED.util.generateId(), topic: 'fhir-sync', payload: { runId: id, connectionId, fetched, created, updated, skipped, failed, durationMs, pages, complete, errors } }]);
      if (!complete || failed > 0) setStatus(node, 'retrying', `${created + updated}/${fetched}, ${failed} ${RED._('fhir-poll.status.failedShort')}`);
      else setStatus(node, 'ok', `${created + updated}/${fetched}`);
      return undefined;
    };

    /** One run at a time: a tick or input during a run joins it. */
    const trigger = (): Promise<WaslError | undefined> => {
      if (closed) return Promise.resolve(undefined);
      running ??= runOnce().finally(() => {
        running = undefined;
      });
      return running;
    };

    setStatus(node, 'idle', RED._('fhir-poll.status.idle'));
    // A timed run has no message to fail: its error is logged and shown as a red dot.
    if (intervalMs > 0) {
      timer = setInterval(() => void trigger(), intervalMs);
      timer.unref();
    }
    if (config.runOnStart) setImmediate(() => void trigger());

    // done(err) reaches Catch nodes with the error's code (the message names codes and ids only).
    node.on('input', (_msg, _send, done) => {
      void trigger().then((err) => (err ? done(err) : done()));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearInterval(timer);
      abort.abort();
      // Let the current page finish (the sync stops after it), then release the client.
      Promise.resolve(running)
        .catch(() => undefined)
        .then(() => client?.close())
        .then(
          () => {
            clearStatus(node);
            done();
          },
          () => done(),
        );
    });
  }
  RED.nodes.registerType('wasl-fhir-poll', FhirPollNode);
};
