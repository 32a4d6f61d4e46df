/**
 * Queue depth for the ops API, shared by the channel list and the dead-letter views.
 */
import type { WaslRuntime } from '../runtime/types';
import type { QueueDepth } from '../transport/types';

/** Whether the transport said the queue does not exist (either transport's wording). */
export function isQueueNotFound(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === 'INTEGRATION_QUEUE_NOT_FOUND' || /never declared|NOT_FOUND/.test(`${e.code} ${e.message}`);
}

/**
 * A channel's queue depth. Right after start a queue node may not have declared its queue yet:
 * a queue that does not exist holds nothing, so that reads as empty rather than as an error.
 */
export async function depthOf(runtime: WaslRuntime, queue: string): Promise<QueueDepth> {
  try {
    return await runtime.transport.depth(queue);
  } catch (err) {
    if (isQueueNotFound(err)) return { ready: 0, delayed: 0, dead: 0 };
    throw err;
  }
}
