/**
 * wasl-router: sends the message to the output of every route whose rules hold (one output per
 * destination). The receipt then waits for every chosen destination queue to confirm; a message
 * no route takes is recorded as FILTERED.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { evaluateRules, type FieldRule } from '../../transformers/rules/evaluate';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { hl7Of } from '../shared/hl7';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { setStatus } from '../shared/status';

interface Route {
  destination: string;
  rules?: FieldRule[];
}

interface RouterDef extends NodeDef {
  channel: string;
  routes: Route[] | string;
}

export = function register(RED: NodeAPI): void {
  function RouterNode(this: Node, config: RouterDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const routes: Route[] = typeof config.routes === 'string' ? JSON.parse(config.routes || '[]') : config.routes ?? [];
    const needsHl7 = routes.some((r) => (r.rules ?? []).length > 0);

    node.on('input', (msg, send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error('wasl-router needs a message from a Wasl source (msg.wasl missing)'));
        return;
      }
      const m = msg as unknown as WaslMsg;
      let chosen: boolean[];
      try {
        const hl7 = needsHl7 ? hl7Of(m) : undefined;
        chosen = routes.map((r) => evaluateRules(r.rules ?? [], (path) => hl7?.get(path)));
      } catch (err) {
        setStatus(node, 'rejected', RED._('router.status.error'));
        failMessage(runtime, m, err, done);
        return;
      }
      const count = chosen.filter(Boolean).length;
      if (count === 0) {
        runtime.store.update(m.wasl.messageId, { status: 'FILTERED' }).then(
          () => {
            runtime.receipts.complete(m.wasl.receipt, 'FILTERED');
            done();
          },
          (err) => failMessage(runtime, m, err, done),
        );
        return;
      }
      runtime.receipts.fanOut(m.wasl.receipt, count);
      // End-to-end latency ends when the last of these destinations is done (channel-stats.ts).
      if (count > 1) m.wasl.routes = count;
      // The parsed HL7 stays behind: destination queues carry the transformed payload only.
      delete m.hl7;
      // Node-RED clones a message sent to more than one output; with one route there is no clone.
      send(chosen.map((take) => (take ? m : null)) as never);
      done();
    });
  }
  RED.nodes.registerType('wasl-router', RouterNode);
};
