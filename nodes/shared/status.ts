/**
 * One status vocabulary for every Wasl node (Mirth's dashboard states are the model). The text is
 * an i18n key or a short count, never patient data.
 */
import type { Node } from 'node-red';

export type WaslStatus = 'idle' | 'connecting' | 'sending' | 'ok' | 'retrying' | 'rejected' | 'down';

const LOOK: Record<WaslStatus, { fill: 'grey' | 'yellow' | 'blue' | 'green' | 'red'; shape: 'ring' | 'dot' }> = {
  idle: { fill: 'grey', shape: 'ring' },
  connecting: { fill: 'yellow', shape: 'ring' },
  sending: { fill: 'blue', shape: 'dot' },
  ok: { fill: 'green', shape: 'dot' },
  retrying: { fill: 'yellow', shape: 'dot' },
  rejected: { fill: 'red', shape: 'ring' },
  down: { fill: 'red', shape: 'dot' },
};

export function setStatus(node: Node, status: WaslStatus, text: string): void {
  node.status({ ...LOOK[status], text });
}

export function clearStatus(node: Node): void {
  node.status({});
}
