/**
 * wasl-filter: passes a message on when every rule holds; otherwise records it as FILTERED and
 * settles it (a filtered message is done, not lost).
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { evaluateRules, type FieldRule } from '../../transformers/rules/evaluate';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { hl7Of } from '../shared/hl7';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { throttledStatus } from '../shared/status';

interface FilterDef extends NodeDef {
  channel: string;
  rules: FieldRule[] | string;
}

export = function register(RED: NodeAPI): void {
  function FilterNode(this: Node, config: FilterDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    const rules: FieldRule[] = typeof config.rules === 'string' ? JSON.parse(config.rules || '[]') : config.rules ?? [];
    let passed = 0;
    const status = throttledStatus(node);
    let filtered = 0;

    node.on('input', (msg, send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error('wasl-filter needs a message from a Wasl source (msg.wasl missing)'));
        return;
      }
      const m = msg as unknown as WaslMsg;
      try {
        const hl7 = hl7Of(m);
        if (evaluateRules(rules, (path) => hl7.get(path))) {
          passed += 1;
          status.set('ok', `${passed} / ${filtered}`);
          send(m as never);
          done();
          return;
        }
      } catch (err) {
        status.set('rejected', RED._('filter.status.error'));
        failMessage(runtime, m, err, done);
        return;
      }
      filtered += 1;
      status.set('ok', `${passed} / ${filtered}`);
      runtime.store.update(m.wasl.messageId, { status: 'FILTERED' }).then(
        () => {
          runtime.receipts.complete(m.wasl.receipt, 'FILTERED');
          done();
        },
        (err) => failMessage(runtime, m, err, done),
      );
    });

    node.on('close', () => status.cancel());
  }
  RED.nodes.registerType('wasl-filter', FilterNode);
};
