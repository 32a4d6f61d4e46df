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

/**
 * A status setter for per-message counters: at most one update per interval, the latest one
 * winning. A status per message costs an i18n lookup and an editor comms event each, which showed
 * in bench:mllp profiles.
 */
export function throttledStatus(node: Node, intervalMs = 500): { set(status: WaslStatus, text: string): void; cancel(): void } {
  let pending: { status: WaslStatus; text: string } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  const flush = () => {
    timer = undefined;
    if (!pending) return;
    last = Date.now();
    setStatus(node, pending.status, pending.text);
    pending = undefined;
  };
  return {
    set(status, text) {
      pending = { status, text };
      if (timer) return;
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) flush();
      else {
        timer = setTimeout(flush, wait);
        timer.unref();
      }
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
    },
  };
}
