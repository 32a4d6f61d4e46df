/**
 * wasl-fhir-in: a FHIR R4 REST endpoint on the engine's port, `/channels/<channel>/fhir/...`.
 * Each create, update, transaction or batch (and each resource a Subscription notification names,
 * fetched from `upstream`) is validated, stored and queued (through the queue node it is wired
 * to) before the answer goes back; see engine/runtime/fhir-intake.ts.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import { TransientError, toWaslError } from '../../common/errors';
import { channelEndpointsOf } from '../../engine/runtime/channel-endpoints';
import { FhirIntake, type FhirUpstreamReader } from '../../engine/runtime/fhir-intake';
import { fhirIntakeRouter } from '../../engine/runtime/fhir-intake-http';
import { unavailableResponse } from '../../engine/runtime/fhir-intake-outcomes';
import { fhirUpstreamReader } from '../../engine/runtime/fhir-intake-upstream';
import { getRuntime } from '../shared/runtime';
import { clearStatus, setStatus, throttledStatus } from '../shared/status';

interface FhirInDef extends NodeDef {
  channel: string;
  /** Accepted resource types; empty: any R4 type. */
  resourceTypes?: string[] | string;
  maxBodyBytes?: number | string;
  /** Base URL Subscription notifications fetch from; '' disables the hook. */
  upstream?: string;
  upstreamTimeoutMs?: number | string;
  fetchAttempts?: number | string;
  fetchInitialDelayMs?: number | string;
  fetchMaxDelayMs?: number | string;
}

/** Retry-After of the 503 a paused channel answers with. */
const PAUSED_RETRY_AFTER_S = 30;

export = function register(RED: NodeAPI): void {
  function FhirInNode(this: Node, config: FhirInDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const log = logger({ channel, stage: 'source', nodeId: node.id });
    const resourceTypes = Array.isArray(config.resourceTypes)
      ? config.resourceTypes
      : String(config.resourceTypes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (runtime.role === 'worker') {
      // Worker processes leave the serving to the intake processes.
      setStatus(node, 'idle', RED._('fhir-in.status.worker'));
      return;
    }
    let upstream: FhirUpstreamReader | undefined;
    let unregister: (() => void) | undefined;
    let intake: FhirIntake | undefined;
    let unregisterControl: (() => void) | undefined;
    /** A paused channel answers 503 with Retry-After: the client keeps the resource and sends it again. */
    let paused = false;
    const status = throttledStatus(node);
    try {
      upstream = config.upstream
        ? fhirUpstreamReader({ channel, id: `${channel}-upstream`, baseUrl: config.upstream, timeoutMs: Number(config.upstreamTimeoutMs) || undefined, logger: log })
        : undefined;
      intake = new FhirIntake(runtime, {
        channel,
        resourceTypes,
        upstream,
        fetchAttempts: Number(config.fetchAttempts) || undefined,
        fetchInitialDelayMs: Number(config.fetchInitialDelayMs) || undefined,
        fetchMaxDelayMs: Number(config.fetchMaxDelayMs) || undefined,
        logger: log,
        submit: (msg) => node.send(msg as never),
      });
      let answered = 0;
      const router = fhirIntakeRouter(intake, {
        maxBodyBytes: Number(config.maxBodyBytes) || undefined,
        onAnswer: (code) => {
          answered += 1;
          status.set(code < 300 ? 'ok' : code < 500 ? 'rejected' : 'retrying', code < 300 ? `${answered}` : RED._(`fhir-in.status.${code < 500 ? 'rejected' : 'unavailable'}`));
        },
      });
      const pausedAnswer = unavailableResponse(new TransientError('CHANNEL_PAUSED', `channel ${channel} is paused`), PAUSED_RETRY_AFTER_S);
      unregister = channelEndpointsOf(runtime).register(channel, 'fhir', (req, res, next) => {
        if (!paused) return router(req, res, next);
        res.status(pausedAnswer.status).set(pausedAnswer.headers).send(JSON.stringify(pausedAnswer.body));
      });
      // Requests already inside the intake finish and are answered; later ones get the 503.
      unregisterControl = runtime.channelControl?.registerSource(channel, {
        pause: async () => {
          paused = true;
          setStatus(node, 'idle', RED._('fhir-in.status.paused'));
        },
        resume: async () => {
          if (!paused) return;
          paused = false;
          setStatus(node, 'idle', RED._('fhir-in.status.serving', { channel }));
        },
      });
    } catch (err) {
      // A bad upstream URL or a second node for the same channel: say so on the channel, serve nothing.
      const e = toWaslError(err);
      void upstream?.close();
      runtime.channelHealth.set(channel, { state: 'error', lastError: { code: e.code, message: e.message, at: new Date().toISOString() } });
      setStatus(node, 'down', RED._('fhir-in.status.failed'));
      node.error(`FHIR endpoint not started: ${e.message}`);
      return;
    }
    runtime.channelHealth.set(channel, { state: 'running' });
    if (!paused) setStatus(node, 'idle', RED._('fhir-in.status.serving', { channel }));
    log.info('FHIR endpoint serving', { path: `/channels/${channel}/fhir` });

    node.on('close', (_removed: boolean, done: () => void) => {
      unregister?.();
      unregisterControl?.();
      runtime.channelHealth.set(channel, { state: 'stopped' });
      status.cancel();
      clearStatus(node);
      Promise.resolve(intake?.close()).then(
        () => done(),
        () => done(),
      );
    });
  }
  RED.nodes.registerType('wasl-fhir-in', FhirInNode);
};
