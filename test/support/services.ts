/**
 * Real services for tests. `npm test` (scripts/run-tests.js) sets TEST_DATABASE_URL and
 * TEST_AMQP_URL and says loudly which suites skip when a service is down; with CI=true a missing
 * service fails the run instead.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { promisify } from 'node:util';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_AMQP_URL = process.env.TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
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

/** In a mocha `before`: skip the suite (loudly) when the service is down, unless CI=true. */
export async function requireService(ctx: Mocha.Context, name: 'PostgreSQL' | 'RabbitMQ'): Promise<void> {
  const port = name === 'PostgreSQL' ? 5432 : 5672;
  if (await reachable(port)) return;
  if (process.env.CI === 'true') throw new Error(`${name} is not reachable on 127.0.0.1:${port} and CI=true`);
  console.warn(`\n  !!! ${name} is not reachable on 127.0.0.1:${port}: SKIPPING "${ctx.test?.parent?.fullTitle()}"\n`);
  ctx.skip();
}

/**
 * Production mode for an end-to-end suite: PostgreSQL and RabbitMQ are required (a skip, or a
 * failure in CI, when one is missing), with a fresh schema of its own; `drop` removes the schema.
 */
export async function requireProduction(ctx: Mocha.Context): Promise<{ production: { databaseUrl: string; amqpUrl: string }; drop(): Promise<void> }> {
  await requireService(ctx, 'PostgreSQL');
  await requireService(ctx, 'RabbitMQ');
  const schema = await freshPostgresSchema();
  return { production: { databaseUrl: schema.url, amqpUrl: TEST_AMQP_URL }, drop: () => schema.drop() };
}

/** A fresh PostgreSQL schema, and a DATABASE_URL whose search_path points at it. */
export async function freshPostgresSchema(): Promise<{ url: string; drop(): Promise<void> }> {
  const { Client } = await import('pg');
  const schema = `wasl_e2e_${Math.random().toString(16).slice(2, 10)}`;
  const run = async (sql: string) => {
    const client = new Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`create schema ${schema}`);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), drop: () => run(`drop schema if exists ${schema} cascade`) };
}

/** Deletes a work queue with its dead-letter and delay queues (what AmqpTransport declares). */
export async function deleteAmqpQueues(queues: string[]): Promise<void> {
  const amqp = await import('amqplib');
  const { topologyQueues } = await import('../../engine/transport/amqp-topology');
  const connection = await amqp.connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of queues) for (const q of topologyQueues(queue)) await channel.deleteQueue(q);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/**
 * Restarts the local RabbitMQ node's application (`rabbitmqctl stop_app`, then `start_app`): every
 * client connection drops, and new ones are refused until the broker is back. `whileDown` runs in
 * between. Only for a broker on this machine (rabbitmqctl talks to the local node), which is what
 * TEST_AMQP_URL points at here.
 */
export async function restartLocalRabbitMq(whileDown?: () => Promise<void> | void): Promise<void> {
  const host = new URL(TEST_AMQP_URL).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`cannot restart the broker at ${host}: rabbitmqctl restarts the local node only`);
  const rabbitmqctl = (command: string) => promisify(execFile)('rabbitmqctl', [command], { timeout: 60_000 });
  await rabbitmqctl('stop_app');
  try {
    await whileDown?.();
  } finally {
    await rabbitmqctl('start_app');
  }
}

/**
 * Stops the local PostgreSQL cluster (fast shutdown: every connection is cut), runs `whileDown`,
 * and starts it again; resolves once it accepts connections. Only for a server on this machine,
 * which is what TEST_DATABASE_URL points at here.
 */
export async function restartLocalPostgres(whileDown?: () => Promise<void> | void): Promise<void> {
  const host = new URL(TEST_DATABASE_URL).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`cannot restart the database at ${host}: pg_ctlcluster restarts a local cluster only`);
  const exec = promisify(execFile);
  const versions = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql') : [];
  if (versions.length !== 1) throw new Error(`expected one PostgreSQL cluster version in /etc/postgresql, found: ${versions.join(', ') || 'none'}`);
  const ctl = (action: string, ...extra: string[]) => exec('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0], 'main', action, ...extra], { timeout: 60_000 });
  await ctl('stop', '-m', 'fast');
  try {
    await whileDown?.();
  } finally {
    await ctl('start');
    for (let i = 0; i < 100 && !(await reachable(5432)); i += 1) await new Promise((r) => setTimeout(r, 100));
  }
}
