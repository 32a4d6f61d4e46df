/**
 * `wasl replay <queue>`: moves a queue's dead letters back onto the queue.
 * With RabbitMQ any process may do it. The embedded queue belongs to the one engine process that
 * has it open (opening it again would hand that engine's in-flight messages out a second time),
 * so while an engine runs, the replay goes through its API; only when none runs is the file opened.
 */
import { configFromEnv } from '../config';
import { createTransport } from '../transport';
import type { CliIo } from './io';

export async function replayCommand(queue: string, io: CliIo): Promise<number> {
  const config = configFromEnv();
  if (!config.amqpUrl) {
    const viaEngine = await replayThroughEngine(`http://127.0.0.1:${config.port}`, queue);
    if (viaEngine !== undefined) {
      io.stdout(JSON.stringify({ queue, replayed: viaEngine }) + '\n');
      return 0;
    }
  }
  const transport = createTransport({ amqpUrl: config.amqpUrl, dataDir: config.dataDir });
  try {
    await transport.start();
    const replayed = await transport.replayDeadLetters(queue);
    io.stdout(JSON.stringify({ queue, replayed }) + '\n');
    return 0;
  } catch (err) {
    io.stderr(`wasl: replay of ${queue} failed: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await transport.close();
  }
}

/** The replayed count, or undefined when no engine answers on that port. */
async function replayThroughEngine(baseUrl: string, queue: string): Promise<number | undefined> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/api/v1/queues/${encodeURIComponent(queue)}/replay`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
  } catch {
    return undefined;
  }
  const body = (await res.json().catch(() => ({}))) as { replayed?: number; error?: string };
  if (!res.ok || typeof body.replayed !== 'number') throw new Error(`engine answered HTTP ${res.status}: ${body.error ?? 'no result'}`);
  return body.replayed;
}
