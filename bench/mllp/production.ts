/**
 * Production services for the benchmark: PostgreSQL and RabbitMQ on loopback, when they are up.
 * Each run gets its own PostgreSQL schema (through the connection's search_path, as the store
 * tests do) and its own queues, and removes both afterwards, so runs never see each other's rows
 * and the broker is not left with a dozen quorum queues per run.
 */
import net from 'node:net';
import amqplib from 'amqplib';
import { Client } from 'pg';
import { topologyQueues } from '../../engine/transport/amqp-topology';
import { TEST_AMQP_URL, TEST_DATABASE_URL } from '../../test/support/services';

export interface ProductionServices {
  databaseUrl: string;
  amqpUrl: string;
  /** Drops the schema and deletes the channel's queues; never throws. */
  cleanup(channelId: string, destinations: string[]): Promise<void>;
}

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: u.hostname, port: Number(u.port) || defaultPort });
    socket.setTimeout(1500);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The URL without its password, for messages. */
function where(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

/**
 * Prepares a fresh schema and checks the broker. Resolves with the services, or with the reason
 * they cannot be used (the report prints it and leaves the production figures null).
 */
export async function prepareProduction(tag: string): Promise<ProductionServices | { skipped: string }> {
  if (!(await reachable(TEST_DATABASE_URL, 5432))) return { skipped: `PostgreSQL not reachable on ${where(TEST_DATABASE_URL)}` };
  if (!(await reachable(TEST_AMQP_URL, 5672))) return { skipped: `RabbitMQ not reachable on ${where(TEST_AMQP_URL)}` };
  const schema = `wasl_bench_${tag}`;
  try {
    await withPg((c) => c.query(`create schema if not exists "${schema}"`));
  } catch (err) {
    return { skipped: `PostgreSQL refused the bench schema: ${(err as Error).message}` };
  }
  try {
    const conn = await amqplib.connect(TEST_AMQP_URL);
    await conn.close();
  } catch (err) {
    await withPg((c) => c.query(`drop schema if exists "${schema}" cascade`)).catch(() => undefined);
    return { skipped: `RabbitMQ refused the connection: ${(err as Error).message}` };
  }
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    databaseUrl: url.toString(),
    amqpUrl: TEST_AMQP_URL,
    cleanup: async (channelId, destinations) => {
      await withPg((c) => c.query(`drop schema if exists "${schema}" cascade`)).catch(() => undefined);
      const queues = [`${channelId}.in`, ...destinations.map((d) => `${channelId}.dest.${d}`)].flatMap(topologyQueues);
      try {
        const conn = await amqplib.connect(TEST_AMQP_URL);
        const ch = await conn.createChannel();
        // RabbitMQ deletes a missing queue without complaint, so one channel does for all.
        for (const q of queues) await ch.deleteQueue(q);
        await conn.close().catch(() => undefined);
      } catch {
        // Leftover queues are clutter, not a wrong figure: do not fail the bench for them.
      }
    },
  };
}

async function withPg<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
