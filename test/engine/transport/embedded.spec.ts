import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedTransport } from '../../../engine/transport/embedded';
import { Inbox, headersFor, silentLogger, transportContract, uniqueQueue } from './contract';

const CHILD = path.join(__dirname, 'fixtures', 'embedded-child.ts');

/**
 * Runs the child fixture and kills it with SIGKILL once `stop(lines)` says so.
 * Resolves with every stdout line it printed before dying.
 */
function runChildUntil(args: string[], stop: (lines: string[]) => boolean): Promise<{ lines: string[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    let partial = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (!killed && stop(lines)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (!killed) reject(new Error(`child exited (${code}) before it was killed: ${stderr}`));
      else resolve({ lines, signal });
    });
  });
}

describe('EmbeddedTransport', () => {
  let dir: string;
  let n = 0;
  const file = (): string => path.join(dir, `queue-${++n}.db`);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-transport-'));
  });

  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('contract', () => {
    transportContract(() => ({
      create: () => new EmbeddedTransport({ file: file(), pollIntervalMs: 50, logger: silentLogger() }),
    }));
  });

  it('works with synchronous=FULL too', async () => {
    const t = new EmbeddedTransport({ file: file(), synchronous: 'FULL', logger: silentLogger() });
    const q = uniqueQueue();
    await t.assertQueue(q);
    await t.publish(q, Buffer.from('x'), headersFor(1));
    const inbox = new Inbox();
    await t.consume(q, inbox.handler);
    await (await inbox.next()).ack();
    assert.deepEqual(await t.depth(q), { ready: 0, delayed: 0, dead: 0 });
    await t.close();
  });

  it('keeps queues, delayed and dead messages across a restart', async () => {
    const f = file();
    const q = uniqueQueue();
    const first = new EmbeddedTransport({ file: f, logger: silentLogger() });
    await first.assertQueue(q);
    await first.publish(q, Buffer.from('a'), headersFor(1));
    await first.publish(q, Buffer.from('b'), headersFor(2));
    const inbox = new Inbox();
    await first.consume(q, inbox.handler, { prefetch: 2 });
    const [a, b] = await inbox.take(2);
    await a.retry(3_600_000, 'later');
    await b.deadLetter('broken');
    await first.close();

    const second = new EmbeddedTransport({ file: f, logger: silentLogger() });
    assert.deepEqual(await second.depth(q), { ready: 0, delayed: 1, dead: 1 });
    await second.publish(q, Buffer.from('c'), headersFor(3)); // the queue is still declared
    await second.close();
  });

  it('loses no resolved publish when the process is killed with SIGKILL mid-way', async function () {
    this.timeout(60_000);
    const f = file();
    const q = uniqueQueue();
    const reportedTarget = 1000;
    const { lines, signal } = await runChildUntil(['publish', f, q], (ls) => ls.length >= reportedTarget);
    assert.equal(signal, 'SIGKILL');
    const resolved = lines.filter((l) => l.startsWith('ok ')).map((l) => `msg-${l.slice(3)}`);
    assert.ok(resolved.length >= reportedTarget);
    assert.ok(!lines.includes('done'), 'the child must die mid-way');

    const t = new EmbeddedTransport({ file: f, logger: silentLogger() });
    const { ready } = await t.depth(q);
    assert.ok(ready >= resolved.length, `${ready} stored < ${resolved.length} resolved`);
    const inbox = new Inbox();
    await t.consume(q, inbox.handler, { prefetch: 500 });
    const stored = new Set<string>();
    for (let i = 0; i < ready; i++) {
      const d = await inbox.next();
      stored.add(d.headers.messageId);
      await d.ack();
    }
    assert.equal(stored.size, ready, 'no duplicates');
    const missing = resolved.filter((id) => !stored.has(id));
    assert.deepEqual(missing, []);
    await t.close();
  });

  it('delivers again the messages a killed process held in flight', async function () {
    this.timeout(60_000);
    const f = file();
    const q = uniqueQueue();
    const total = 10;
    const producer = new EmbeddedTransport({ file: f, logger: silentLogger() });
    await producer.assertQueue(q);
    for (let i = 0; i < total; i++) await producer.publish(q, Buffer.from(`m${i}`), headersFor(i));
    await producer.close();

    const { lines } = await runChildUntil(['hold', f, q], (ls) => ls.filter((l) => l.startsWith('got ')).length >= 5);
    const held = lines.filter((l) => l.startsWith('got ')).map((l) => l.slice(4));
    assert.equal(held.length, 5);

    const t = new EmbeddedTransport({ file: f, logger: silentLogger() });
    assert.deepEqual(await t.depth(q), { ready: total, delayed: 0, dead: 0 });
    const inbox = new Inbox();
    await t.consume(q, inbox.handler, { prefetch: total });
    const seen = new Set<string>();
    for (const d of await inbox.take(total)) {
      seen.add(d.headers.messageId);
      await d.ack();
    }
    assert.equal(seen.size, total);
    for (const id of held) assert.ok(seen.has(id), `${id} was held by the dead process and must come again`);
    await t.close();
  });
});
