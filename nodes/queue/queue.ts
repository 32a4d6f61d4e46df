/**
 * wasl-queue: a durable stage boundary. Input: publish to the queue (the receipt completes once
 * the transport confirmed). Output: what the queue delivers, acknowledged when the next nodes
 * settle it; failures retry with backoff or go to the dead-letter queue. See queue-stage.ts.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { logger } from '../../common/logger';
import { QueueStage } from '../../engine/runtime/queue-stage';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { clearStatus, setStatus } from '../shared/status';

interface QueueDef extends NodeDef {
  channel: string;
  queue: string;
  destination?: string;
  prefetch?: number | string;
  maxAttempts?: number | string;
  initialDelayMs?: number | string;
  maxDelayMs?: number | string;
}

/** A number from the editor form (which may hold a string), or the default when blank; 0 stays 0. */
function numberOr(value: number | string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  return Number.isFinite(n) ? n : fallback;
}

export = function register(RED: NodeAPI): void {
  function QueueNode(this: Node, config: QueueDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const channel = config.channel || node.z || node.id;
    // A destination queue is named <channel>.dest.<destination>; its outcomes are stored per destination.
    const destination = config.destination || /\.dest\.(.+)$/.exec(config.queue)?.[1];
    const stage = new QueueStage(runtime, {
      channel,
      queue: config.queue,
      destination,
      prefetch: numberOr(config.prefetch, 50),
      retry: {
        maxAttempts: numberOr(config.maxAttempts, 5),
        initialDelayMs: numberOr(config.initialDelayMs, 1000),
        maxDelayMs: numberOr(config.maxDelayMs, 60_000),
      },
      logger: logger({ channel, stage: config.queue, nodeId: node.id }),
      emit: (msg) => node.send(msg),
    });
    setStatus(node, 'connecting', RED._('queue.status.starting'));
    stage.start().then(
      () => setStatus(node, 'ok', config.queue),
      (err: Error) => {
        setStatus(node, 'down', RED._('queue.status.down'));
        node.error(`queue ${config.queue} could not start: ${err.message}`);
      },
    );

    node.on('input', (msg, _send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error('wasl-queue needs a message from a Wasl source (msg.wasl missing)'));
        return;
      }
      const m = msg as unknown as WaslMsg;
      stage.publish(m).then(
        () => {
          runtime.receipts.complete(m.wasl.receipt);
          done();
        },
        (err) => {
          setStatus(node, 'down', RED._('queue.status.publishFailed'));
          failMessage(runtime, m, err, done);
        },
      );
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      stage.close().then(
        () => {
          clearStatus(node);
          done();
        },
        () => done(),
      );
    });
  }
  RED.nodes.registerType('wasl-queue', QueueNode);
};
