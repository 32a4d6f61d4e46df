/**
 * wasl-hl7-to-fhir: HL7 v2 → FHIR R4 transaction Bundle (transformers/hl7v2/fhir/: `auto` picks
 * the mapping for the message's type and trigger; `adt` takes ADT only), validated against the FHIR R4 schema before it goes on. Bad input fails the message as a
 * validation error (dead-lettered, never retried) and reaches Catch nodes with its code.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ValidationError } from '../../common/errors';
import { adtToFhirTransaction } from '../../transformers/hl7v2/adt-to-fhir';
import { hl7ToFhirTransaction } from '../../transformers/hl7v2/fhir';
import { validateFhir } from '../../transformers/fhir/validate';
import { isWaslMsg, type WaslMsg } from '../../engine/runtime/wasl-msg';
import { hl7Of } from '../shared/hl7';
import { getRuntime } from '../shared/runtime';
import { failMessage } from '../shared/settle';
import { throttledStatus } from '../shared/status';

interface Hl7ToFhirDef extends NodeDef {
  channel: string;
  mapping: 'auto' | 'adt';
}

export = function register(RED: NodeAPI): void {
  function Hl7ToFhirNode(this: Node, config: Hl7ToFhirDef): void {
    RED.nodes.createNode(this, config);
    const node = this;
    const runtime = getRuntime(RED);
    let count = 0;
    const status = throttledStatus(node);
    const map = config.mapping === 'adt' ? adtToFhirTransaction : hl7ToFhirTransaction;

    node.on('input', (msg, send, done) => {
      if (!isWaslMsg(msg)) {
        done(new Error('wasl-hl7-to-fhir needs a message from a Wasl source (msg.wasl missing)'));
        return;
      }
      const m = msg as unknown as WaslMsg;
      let bundle;
      try {
        bundle = map(hl7Of(m));
        const result = validateFhir(bundle);
        if (!result.valid) {
          throw new ValidationError('FHIR_INVALID', `mapped Bundle is not valid FHIR R4 (${result.outcome.issue?.length ?? 0} issues)`, {
            path: result.outcome.issue?.[0]?.expression?.[0],
            details: { outcome: result.outcome },
          });
        }
      } catch (err) {
        status.set('rejected', RED._('hl7-to-fhir.status.rejected'));
        // The queue stage that delivered the message records the error and dead-letters it.
        failMessage(runtime, m, err, done);
        return;
      }
      m.payload = bundle;
      runtime.store.update(m.wasl.messageId, { status: 'TRANSFORMED', transformed: JSON.stringify(bundle) }).then(
        () => {
          count += 1;
          status.set('ok', `${count}`);
          send(m as never);
          done();
        },
        (err) => failMessage(runtime, m, err, done),
      );
    });

    node.on('close', () => status.cancel());
  }
  RED.nodes.registerType('wasl-hl7-to-fhir', Hl7ToFhirNode);
};
