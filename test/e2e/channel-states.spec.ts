/**
 * Channel start / pause / stop shared and durable (engine/runtime/channel-state-sync.ts,
 * migration 0011), with real engine processes from dist/ (`npm run build` first):
 * - PostgreSQL + RabbitMQ: an intake process and a worker process. A stop sent to the intake
 *   stops the worker's consumers within the poll interval; a start sent to the worker opens the
 *   intake's listener again; every message reaches the destination once.
 * - SQLite (embedded): a stopped channel stays stopped across an engine restart, and its queued
 *   messages wait for the start.
 * The channel is MLLP in, MLLP out to a receiver in this test that answers slowly, taking one
 * message at a time, so a stop always finds messages still queued.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startEngineProcess, tempDir, type EngineProcess } from '../support/engine-process';
import { waitUntil } from '../support/fhir-counts';
import { refused, sendEach, sleep, startReceiver, type Receiver } from '../support/mllp-channel';
import { freePort } from '../support/ports';
import { deleteAmqpQueues, requireProduction } from '../support/services';

const POLL_MS = 500;
/** A destination delivery takes this long at the receiver, so a backlog builds. */
const RECEIVER_DELAY_MS = 100;

/** One MLLP → MLLP channel whose queues take one message at a time. */
function writeChannels(dir: string, id: string, receiverPort: number): string {
  const file = path.join(dir, 'channels.yaml');
  fs.writeFileSync(
    file,
    `channels:
  - id: ${id}
    name: ${id}
    source:
      type: mllp
      port: \${MLLP_PORT}
      host: 127.0.0.1
    queue: { prefetch: 1 }
    destinations:
      lab:
        type: mllp
        host: 127.0.0.1
        port: ${receiverPort}
        prefetch: 1
        retry: { maxAttempts: 5, initialDelayMs: 50, maxDelayMs: 200 }
`,
  );
  return file;
}

interface ChannelView {
  state: string;
  queues: Record<string, { ready: number; delayed: number }>;
}

async function channelOf(engine: EngineProcess, id: string): Promise<ChannelView> {
  const res = await engine.api(`/api/v1/channels/${id}`);
  assert.equal(res.status, 200);
  return (await res.json()) as ChannelView;
}

async function control(engine: EngineProcess, id: string, action: 'start' | 'pause' | 'stop'): Promise<Record<string, unknown>> {
  const res = await engine.api(`/api/v1/channels/${id}/${action}`, { method: 'POST' });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}

const waiting = (c: ChannelView) => Object.values(c.queues).reduce((n, q) => n + q.ready + q.delayed, 0);
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('channel states shared and durable, end to end', function () {
  this.timeout(180_000);
  let rx: Receiver;
  let channel: string;
  const engines: EngineProcess[] = [];
  const dirs: string[] = [];

  beforeEach(async () => {
    rx = await startReceiver();
    rx.delayMs = RECEIVER_DELAY_MS;
    channel = `cs-${randomBytes(4).toString('hex')}`;
  });

  afterEach(async () => {
    for (const e of engines.splice(0)) await e.stop();
    await rx.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  const dir = (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };

  describe('PostgreSQL + RabbitMQ, an intake and a worker process', () => {
    let production: { databaseUrl: string; amqpUrl: string };
    let schema: { drop(): Promise<void> } | undefined;

    before(async function () {
      const services = await requireProduction(this);
      schema = services;
      production = services.production;
    });

    after(async () => {
      await schema?.drop();
    });

    afterEach(async () => {
      await deleteAmqpQueues([`${channel}.in`, `${channel}.dest.lab`]);
    });

    it('a stop sent to the intake stops the worker within the poll interval; a start sent to the worker resumes both; each message arrives once', async () => {
      const channelsFile = writeChannels(dir('cs-files'), channel, rx.port);
      const env = { WASL_CHANNEL_STATE_POLL_MS: String(POLL_MS) };
      const intake = await startEngineProcess({ dataDir: dir('cs-intake'), channelsFile, production, env: { ...env, WASL_ROLE: 'intake' } });
      engines.push(intake);
      const worker = await startEngineProcess({ dataDir: dir('cs-worker'), channelsFile, production, env: { ...env, WASL_ROLE: 'worker' } });
      engines.push(worker);

      const first = ids('W', 20);
      assert.deepEqual(await sendEach(intake.mllpPort, first), first.map(() => 'AA'));
      await waitUntil(async () => rx.received.length >= 2, 'the worker to deliver the first messages');

      const answer = await control(intake, channel, 'stop');
      const stoppedAt = Date.now();
      assert.deepEqual(answer, { id: channel, state: 'stopped', keptAcrossRestarts: true, otherProcessesPollMs: POLL_MS });
      assert.equal(await refused(intake.mllpPort), true, 'the intake that answered stopped its listener at once');

      // The worker reads the table within one interval; its consumers then let the delivery in
      // flight finish (one at RECEIVER_DELAY_MS) and close.
      await waitUntil(async () => (await channelOf(worker, channel)).state === 'stopped', 'the worker to follow the stop', 10_000);
      const followedMs = Date.now() - stoppedAt;
      assert.ok(followedMs <= POLL_MS + 1000, `the worker followed after ${followedMs} ms (poll ${POLL_MS} ms)`);
      await sleep(RECEIVER_DELAY_MS + 400);
      const delivered = rx.received.length;
      assert.ok(delivered < first.length, `the stop came before the destination had everything (${delivered})`);
      // Running, the worker would deliver one every RECEIVER_DELAY_MS: give it time to show it does not.
      await sleep(1000);
      assert.equal(rx.received.length, delivered, 'the worker delivers nothing while stopped');
      await waitUntil(async () => waiting(await channelOf(worker, channel)) === first.length - delivered, 'the rest to wait in the queues');

      const started = await control(worker, channel, 'start');
      const startedAt = Date.now();
      assert.equal(started.state, 'running');
      await waitUntil(async () => !(await refused(intake.mllpPort)), 'the intake to open its listener again', 10_000);
      const reopenedMs = Date.now() - startedAt;
      assert.ok(reopenedMs <= POLL_MS + 1000, `the intake followed after ${reopenedMs} ms (poll ${POLL_MS} ms)`);
      assert.equal((await channelOf(intake, channel)).state, 'running');

      const second = ids('X', 5);
      assert.deepEqual(await sendEach(intake.mllpPort, second), second.map(() => 'AA'));
      const all = [...first, ...second];
      await waitUntil(async () => rx.received.length >= all.length, 'every message at the destination', 30_000);
      await sleep(300);
      assert.deepEqual([...rx.received].sort(), [...all].sort(), 'each message reached the destination exactly once');
    });
  });

  describe('SQLite, one engine restarted', () => {
    it('a channel stopped before a restart stays stopped after it, and starts with everything it had', async () => {
      const dataDir = dir('cs-embedded');
      const channelsFile = writeChannels(dataDir, channel, rx.port);
      const mllpPort = await freePort();
      const first = await startEngineProcess({ dataDir, channelsFile, mllpPort });
      engines.push(first);

      const sent = ids('R', 8);
      assert.deepEqual(await sendEach(mllpPort, sent), sent.map(() => 'AA'));
      await waitUntil(async () => rx.received.length >= 1, 'the first delivery');
      assert.deepEqual(await control(first, channel, 'stop'), { id: channel, state: 'stopped', keptAcrossRestarts: true, otherProcessesPollMs: 2000 });
      const delivered = rx.received.length;
      assert.ok(delivered < sent.length, `the stop came before the destination had everything (${delivered})`);
      await engines.pop()!.stop();

      const again = await startEngineProcess({ dataDir, channelsFile, mllpPort });
      engines.push(again);
      assert.match(again.output(), new RegExp(`NOTE: channel ${channel} is stopped, as an operator left it`));
      assert.doesNotMatch(again.output(), /channel source did not start/, 'a held channel is not waited for');
      assert.equal((await channelOf(again, channel)).state, 'stopped');
      assert.equal(await refused(mllpPort), true, 'the listener stayed closed');
      // Running, the destination would take a message every RECEIVER_DELAY_MS: give it time to show it does not.
      await sleep(1000);
      assert.equal(rx.received.length, delivered, 'nothing is delivered after the restart while stopped');
      assert.equal(waiting(await channelOf(again, channel)), sent.length - delivered, 'the rest wait in the queues');

      assert.equal((await control(again, channel, 'start')).state, 'running');
      await waitUntil(async () => !(await refused(mllpPort)), 'the listener to open');
      assert.deepEqual(await sendEach(mllpPort, ['R8']), ['AA']);
      await waitUntil(async () => rx.received.length >= sent.length + 1, 'every message at the destination', 30_000);
      await sleep(300);
      assert.deepEqual([...rx.received].sort(), [...sent, 'R8'].sort(), 'each message reached the destination exactly once');
    });
  });
});
