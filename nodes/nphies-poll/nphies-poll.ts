/**
 * wasl-nphies-poll: a source that sends an NPHIES poll-request on an interval (and on any input
 * message), applies each delivered message (deferred ClaimResponses, CommunicationRequests,
 * PaymentReconciliations) to the claim lifecycle, then stores and queues it into the channel
 * (engine/nphies/submit.ts `pollNphies`, engine/nphies/poll-intake.ts). One poll at a time; a
 * full answer (as many messages as asked for) polls again at once, since more are waiting.
 */
import type { Node, NodeAPI } from 'node-red';
import { toWaslError, type WaslError } from '../../common/errors';
import { logger } from '../../common/logger';
import type { NphiesClient } from '../../connectors/nphies/client';
import { intakePolled } from '../../engine/nphies/poll-intake';
import { pollNphies, type NphiesSubmitDeps } from '../../engine/nphies/submit';
import { lifecycleOf, resolveEndpoint, trackBreaker, type NphiesNodeDef } from '../nphies-endpoint/endpoint-config';
import { getRuntime } from '../shared/runtime';
import { clearStatus, setStatus } from '../shared/status';

interface NphiesPollDef extends NphiesNodeDef {
  /** Seconds between polls; 0 = only on input. */
  intervalS?: number | string;
  /** Messages asked for per poll, 1..100. */
  count?: number | string;
  /** Poll once right after deploy. Default true. */
  runOnStart?: boolean | string;
}

/** Polls in a row while NPHIES keeps answering full pages; then wait for the next tick. */
const MAX_ROUNDS = 10;

export = function register(RED: NodeAPI): void {
  function NphiesPollNode(this: Node, config: NphiesPollDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    const log = logger({ channel, stage: 'nphies-poll', nodeId: node.id });
    const intervalS = Number(config.intervalS);
    const intervalMs = (Number.isFinite(intervalS) && intervalS >= 0 ? intervalS : 60) * 1000;
    const count = Math.min(100, Math.max(1, Number(config.count) || 10));
    if (runtime.role === 'worker') {
      // Polling is a source's job: intake processes do it, workers only consume queues.
      setStatus(node, 'idle', RED._('nphies-poll.status.worker'));
      return;
    }

    let deps: NphiesSubmitDeps | undefined;
    let client: NphiesClient | undefined;
    let owned = false;
    let setupError: WaslError | undefined;
    try {
      const ep = resolveEndpoint(RED, config, runtime, log, { payerRequired: false });
      ({ client, owned } = ep);
      deps = { sender: ep.client, lifecycle: lifecycleOf(runtime), parties: ep.parties, actor: `node:${node.id}` };
    } catch (err) {
      setupError = toWaslError(err);
      setStatus(node, 'down', RED._('nphies-poll.status.misconfigured'));
      node.error(`NPHIES endpoint not usable: ${setupError.message}`);
    }

    const untrack = client ? trackBreaker(channel, client) : undefined;
    let running: Promise<WaslError | undefined> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    /** Channel paused (channel-control.ts): no polls until resumed; one running finishes. */
    let paused = false;
    let received = 0;
    let seq = 0;

    /** Resolves with the error of a poll that failed (NPHIES down, store), else undefined. */
    const runOnce = async (): Promise<WaslError | undefined> => {
      if (!deps) return setupError;
      setStatus(node, 'sending', RED._('nphies-poll.status.polling'));
      try {
        for (let round = 0; round < MAX_ROUNDS && !closed; round++) {
          // Each poll is a new request: a fresh seed (node, start, counter) for its ids.
          const polled = await pollNphies({ seed: `${node.id}:${Date.now()}:${seq++}`, count }, deps);
          for (const p of polled) {
            if (p.lifecycleError) log.warn('polled message not applied to the lifecycle', { code: p.lifecycleError.code, requestId: p.result.requestId });
            if (closed) break;
            if (await intakePolled(p, { runtime, channel, logger: log, submit: (msg) => node.send(msg as never) })) received += 1;
          }
          if (polled.length < count) break;
        }
      } catch (err) {
        const e = toWaslError(err);
        runtime.channelHealth.set(channel, { state: 'error', lastError: { code: e.code, message: e.message, at: new Date().toISOString() } });
        setStatus(node, e.kind === 'transient' ? 'down' : 'rejected', RED._(`nphies-poll.status.${e.kind}`));
        log.warn('NPHIES poll failed', { code: e.code });
        return e;
      }
      runtime.channelHealth.set(channel, { state: 'running' });
      setStatus(node, 'ok', `${received}`);
      return undefined;
    };

    /** One poll at a time: a tick or input during a poll joins it. */
    const trigger = (): Promise<WaslError | undefined> => {
      if (closed || paused) return Promise.resolve(undefined);
      running ??= runOnce().finally(() => {
        running = undefined;
      });
      return running;
    };

    const schedule = (): void => {
      if (intervalMs <= 0) return;
      timer = setInterval(() => void trigger(), intervalMs);
      timer.unref();
    };
    const unregister = deps
      ? runtime.channelControl?.registerSource(channel, {
          pause: async () => {
            paused = true;
            clearInterval(timer);
            setStatus(node, 'idle', RED._('nphies-poll.status.paused'));
            await Promise.resolve(running).catch(() => undefined);
          },
          resume: async () => {
            if (!paused || closed) return;
            paused = false;
            setStatus(node, 'idle', RED._('nphies-poll.status.idle'));
            schedule();
            // Messages waited at NPHIES while paused: fetch them now rather than at the next tick.
            void trigger();
          },
        })
      : undefined;

    if (deps) {
      runtime.channelHealth.set(channel, { state: 'running' });
      if (!paused) {
        setStatus(node, 'idle', RED._('nphies-poll.status.idle'));
        schedule();
        if (config.runOnStart !== false && config.runOnStart !== 'false') setImmediate(() => void trigger());
      }
    }

    // A timed poll has no message to fail: its error is logged and shown. An input's poll reports through done(err).
    node.on('input', (_msg, _send, done) => {
      void trigger().then((err) => (err ? done(err) : done()));
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      unregister?.();
      untrack?.();
      clearInterval(timer);
      Promise.resolve(running)
        .catch(() => undefined)
        .then(() => (owned ? client?.close() : undefined))
        .then(
          () => {
            clearStatus(node);
            done();
          },
          () => done(),
        );
    });
  }
  RED.nodes.registerType('wasl-nphies-poll', NphiesPollNode);
};
