/**
 * The shape every claims stage node shares (validate, predict, price): take a claim batch, run
 * the stage (engine/claims/stages.ts), record its figures (ops API stages, Prometheus), pass the
 * batch on. A batch that cannot be processed (not a batch, key missing, database down) fails the
 * message: the queue stage retries it or dead-letters it, and the claims stay leased in staging.
 */
import type { Node, NodeAPI } from 'node-red';
import { IntegrationError, ValidationError } from '../../common/errors';
import { isClaimBatch, type ClaimBatch } from '../../connectors/claims/batch';
import type { StageReport } from '../../engine/claims/stages';
import type { WaslRuntime } from '../../engine/runtime/types';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { failMessage } from './settle';
import { throttledStatus } from './status';

/** Records one stage's batch in the ops figures and in Prometheus. */
export function recordStage(runtime: WaslRuntime, channel: string, stage: string, report: StageReport): void {
  runtime.stageStats?.record(channel, stage, report.items, report.failed, report.ms);
  runtime.metrics.claimStageSeconds.observe({ channel, stage }, report.ms / 1000);
  for (const rule of report.rules) runtime.metrics.claimRuleFailures.inc({ channel, rule });
}

/** The batch on a message, or a validation error naming what arrived instead. */
export function batchOf(msg: unknown, nodeType: string): { m: WaslMsg; batch: ClaimBatch } {
  if (!isWaslMsg(msg)) throw new Error(`${nodeType} needs a message from a Wasl source (msg.wasl missing)`);
  const m = msg as unknown as WaslMsg;
  if (!isClaimBatch(m.payload)) throw new ValidationError('CLAIMS_NOT_A_BATCH', `${nodeType} takes claim batches (from wasl-db-poll); got ${typeof m.payload}`);
  return { m, batch: m.payload };
}

/**
 * Wires a stage node: `run` does the work (sync or async). Batches are processed as they come;
 * ordering between batches does not matter (each claim is written once by staging id).
 */
export function handleStage(
  RED: NodeAPI,
  node: Node,
  runtime: WaslRuntime,
  nodeType: string,
  channel: string,
  stage: string,
  run: (batch: ClaimBatch) => StageReport | Promise<StageReport>,
): void {
  const status = throttledStatus(node);
  let claims = 0;
  node.on('input', (msg, send, done) => {
    let m: WaslMsg | undefined;
    void (async () => {
      const got = batchOf(msg, nodeType);
      m = got.m;
      const report = await run(got.batch);
      recordStage(runtime, channel, stage, report);
      claims += report.items;
      status.set('ok', `${claims} claims`);
      send(got.m as never);
      done();
    })().catch((err: unknown) => {
      status.set('rejected', RED._('claims.status.failed'));
      if (m) failMessage(runtime, m, err, done);
      else done(err as Error);
    });
  });
  node.on('close', () => status.cancel());
}

/**
 * A stage node whose configuration is unusable (rule file, fee schedule, conversion factor):
 * every batch fails at once as an integration error, straight to the dead-letter queue with the
 * reason, instead of waiting out its receipt. The claims stay leased in staging meanwhile.
 */
export function refuseAll(node: Node, runtime: WaslRuntime, nodeType: string, code: string, reason: string): void {
  node.error(reason);
  node.on('input', (msg, _send, done) => {
    try {
      failMessage(runtime, batchOf(msg, nodeType).m, new IntegrationError(code, reason), done);
    } catch (err) {
      settleBadInput(runtime, msg, err, done);
    }
  });
}

/**
 * Input that is not a claim batch: a Wasl message fails at once (a validation error goes to the
 * dead-letter queue with its reason instead of waiting out its receipt); anything else only
 * reaches Catch nodes.
 */
export function settleBadInput(runtime: WaslRuntime, msg: unknown, err: unknown, done: (err?: Error) => void): void {
  if (isWaslMsg(msg)) failMessage(runtime, msg as unknown as WaslMsg, err, done);
  else done(err as Error);
}
