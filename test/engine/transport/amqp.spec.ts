import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import winston from 'winston';
import Transport from 'winston-transport';
import { AmqpTransport } from '../../../engine/transport/amqp';
import { topologyQueues } from '../../../engine/transport/amqp-topology';
import { headersFor, silentLogger, transportContract, uniqueQueue } from './contract';
import { restartLocalRabbitMq } from '../../support/services';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = promisify(execFile);

async function brokerReachable(): Promise<boolean> {
  try {
    const conn = await amqplib.connect(AMQP_URL, { timeout: 3000 });
    await conn.close();
    return true;
  } catch {
    return false;
  }
}

async function deleteQueues(queues: string[]): Promise<void> {
  if (queues.length === 0) return;
  const conn = await amqplib.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    for (const q of queues) for (const name of topologyQueues(q)) await ch.deleteQueue(name);
    await ch.close();
  } finally {
    await conn.close();
  }
}

/** Closes, from the broker side, only the connection with this name (other tests may share the broker). */
async function closeConnectionNamed(name: string): Promise<void> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q', '--no-table-headers']);
  const line = stdout.split('\n').find((l) => l.includes(`"${name}"`));
  assert.ok(line, `connection ${name} not listed by rabbitmqctl`);
  const pid = line.split('\t')[0].trim();
  await run('rabbitmqctl', ['close_connection', pid, 'test: forced close']);
}

/** A logger that records message texts, to see reconnects happen. */
function recordingLogger(): { logger: winston.Logger; messages: string[] } {
  const messages: string[] = [];
  class Recorder extends Transport {
    override log(info: { message: string }, next: () => void): void {
      messages.push(info.message);
      next();
    }
  }
  return { logger: winston.createLogger({ level: 'debug', transports: [new Recorder()] }), messages };
}

/**
 * Publishes 1,000 messages, starts `disrupt`, keeps publishing until it has finished, then
 * publishes 1,000 more, 32 publishes in flight throughout. Resolves with the number published
 * and the distinct ids the consumer (acking everything) has seen once all arrived.
 */
async function publishThroughDisruption(transport: AmqpTransport, disrupt: () => Promise<void>): Promise<{ published: number; seen: Set<string> }> {
  const q = uniqueQueue('wasl-reconnect');
  queuesToDelete.push(q);
  await transport.assertQueue(q);
  const seen = new Set<string>();
  let expected = Infinity;
  let allSeen!: () => void;
  const done = new Promise<void>((resolve) => (allSeen = resolve));
  await transport.consume(
    q,
    async (d) => {
      seen.add(d.headers.messageId);
      await d.ack();
      if (seen.size >= expected) allSeen();
    },
    { prefetch: 100 },
  );
  let next = 0;
  const publishUpTo = async (limit: () => number): Promise<void> => {
    const worker = async (): Promise<void> => {
      while (next < limit()) {
        const i = next++;
        await transport.publish(q, Buffer.from(`body-${i}`), headersFor(i));
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  };
  await publishUpTo(() => 1000);
  let disrupted = false;
  const disruption = disrupt().finally(() => (disrupted = true));
  await publishUpTo(() => (disrupted ? 0 : Number.MAX_SAFE_INTEGER));
  await disruption;
  const during = next;
  await publishUpTo(() => during + 1000);
  expected = next;
  if (seen.size >= expected) allSeen();
  await done;
  return { published: next, seen };
}

const queuesToDelete: string[] = [];

describe('AmqpTransport', function () {
  before(async function () {
    if (await brokerReachable()) return;
    if (process.env.CI === 'true') throw new Error(`RabbitMQ unreachable at ${AMQP_URL.replace(/\/\/[^@]*@/, '//')} and CI=true`);
    console.warn('\n  ************************************************************\n' +
      '  *  RabbitMQ unreachable: SKIPPING the AMQP transport tests  *\n' +
      '  *  start it (rabbitmq-server -detached) or set AMQP_URL      *\n' +
      '  ************************************************************\n');
    this.skip();
  });

  after(async () => {
    if (queuesToDelete.length > 0) await deleteQueues(queuesToDelete);
  });

  describe('contract', () => {
    transportContract(() => ({
      create: () => new AmqpTransport({ url: AMQP_URL, logger: silentLogger() }),
      cleanup: deleteQueues,
    }));
  });

  it('rejects start when the broker cannot be reached', async () => {
    const t = new AmqpTransport({ url: 'amqp://guest:guest@127.0.0.1:1', connectTimeoutMs: 500, logger: silentLogger() });
    await assert.rejects(t.start(), { code: 'TRANSIENT_AMQP_UNREACHABLE' });
    await t.close();
  });

  it('loses nothing when the broker closes the connection under load', async function () {
    this.timeout(60_000);
    const name = `wasl-test-${randomBytes(4).toString('hex')}`;
    const { logger, messages } = recordingLogger();
    const t = new AmqpTransport({ url: AMQP_URL, logger, connectionName: name, reconnectSeconds: 0.5 });
    try {
      const { published, seen } = await publishThroughDisruption(t, () => closeConnectionNamed(name));
      assert.equal(seen.size, published);
      assert.ok(messages.filter((m) => m === 'amqp connected').length >= 2, 'the transport reconnected');
    } finally {
      await t.close();
    }
  });

  // npm test runs the transport suites alone, before the others: the restart disturbs no other suite.
  it('loses nothing across a broker restart (stop_app/start_app)', async function () {
    this.timeout(120_000);
    const { logger, messages } = recordingLogger();
    const t = new AmqpTransport({ url: AMQP_URL, logger, reconnectSeconds: 0.5 });
    try {
      const { published, seen } = await publishThroughDisruption(t, () => restartLocalRabbitMq());
      assert.equal(seen.size, published);
      assert.ok(messages.filter((m) => m === 'amqp connected').length >= 2, 'the transport reconnected');
    } finally {
      await t.close();
    }
  });
});
