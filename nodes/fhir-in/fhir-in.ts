/**
 * wasl-fhir-in: a FHIR R4 REST endpoint on the engine's port, `/channels/<channel>/fhir/...`.
 * Each create, update, transaction or batch (and each resource a Subscription notification names,
 * fetched from `upstream`) is validated, stored and queued (through the queue node it is wired
 * to) before the answer goes back; see engine/runtime/fhir-intake.ts.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import { toWaslError } from '../../common/errors';
import { channelEndpointsOf } from '../../engine/runtime/channel-endpoints';
import { FhirIntake, type FhirUpstreamReader } from '../../engine/runtime/fhir-intake';
import { fhirIntakeRouter } from '../../engine/runtime/fhir-intake-http';
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
      unregister = channelEndpointsOf(runtime).register(channel, 'fhir', router);
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
    setStatus(node, 'idle', RED._('fhir-in.status.serving', { channel }));
    log.info('FHIR endpoint serving', { path: `/channels/${channel}/fhir` });

    node.on('close', (_removed: boolean, done: () => void) => {
      unregister?.();
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
