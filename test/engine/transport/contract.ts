/**
 * The behaviour every Transport must show, run against each implementation by its spec file.
 * Each test uses its own queue names; the target cleans them up afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import winston from 'winston';
import type { Logger } from '../../../common/logger';
import type { Delivery, DeliveryHandler, MessageHeaders, QueueDepth, Transport } from '../../../engine/transport/types';

export interface ContractTarget {
  /** A new, not yet started transport. */
  create(): Transport;
  /** Removes the queues a test declared (broker side); optional. */
  cleanup?(queues: string[]): Promise<void>;
}

/** Deliveries in arrival order; `next()` waits for the next one (no sleeps). */
export class Inbox {
  private readonly items: Delivery[] = [];
  private readonly waiters: Array<(d: Delivery) => void> = [];

  readonly handler: DeliveryHandler = async (d) => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(d);
    else this.items.push(d);
  };

  next(): Promise<Delivery> {
    const d = this.items.shift();
    return d ? Promise.resolve(d) : new Promise((resolve) => this.waiters.push(resolve));
  }

  async take(n: number): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }
}

export function headersFor(i: number, extra: Record<string, string | number> = {}): MessageHeaders {
  return { correlationId: `corr-${i}`, messageId: `msg-${i}`, channel: 'contract', attempt: 1, ...extra };
}

export function uniqueQueue(prefix = 'wasl-test'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function transportContract(target: () => ContractTarget): void {
  let transport: Transport;
  const queues: string[] = [];
  const queue = (): string => {
    const q = uniqueQueue();
    queues.push(q);
    return q;
  };

  beforeEach(async () => {
    transport = target().create();
    await transport.start();
  });

  afterEach(async () => {
    await transport.close();
  });

  after(async () => {
    await target().cleanup?.(queues);
  });

  it('delivers every published message once (order-insensitive) and ack removes it', async function () {
    // 200 confirmed publishes and acks, then up to 30 s for quorum-queue counts to catch up on a
    // busy broker (eventuallyDepth): more than mocha's default 30 s in all.
    this.timeout(90_000);
    const q = queue();
    await transport.assertQueue(q);
    const n = 200;
    await Promise.all(Array.from({ length: n }, (_, i) => transport.publish(q, Buffer.from(`body-${i}`), headersFor(i))));
    const inbox = new Inbox();
    const consumer = await transport.consume(q, inbox.handler, { prefetch: 50 });
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const d = await inbox.next();
      seen.add(d.headers.messageId);
      assert.equal(d.body.toString(), `body-${d.headers.messageId.slice(4)}`);
      await d.ack();
    }
    assert.equal(seen.size, n);
    // Checked while the consumer is still open: on a RabbitMQ quorum queue, closing the channel
    // right after the last acks can return messages whose acks the queue had not applied yet
    // (the close and the acks reach the queue by different paths): a redelivery, never a loss,
    // and not what this test is about (docs/architecture.md, Transport).
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: 0, delayed: 0, dead: 0 }), { ready: 0, delayed: 0, dead: 0 });
    await consumer.cancel();
  });

  it('preserves body bytes and headers exactly', async () => {
    const q = queue();
    await transport.assertQueue(q);
    const body = Buffer.from([0, 1, 2, 255, 254, 0x0d, 0x0a, 0]);
    const headers = headersFor(1, { destination: 'fhir-server', retries: 42, note: 'café ☕' });
    await transport.publish(q, body, headers);
    const inbox = new Inbox();
    await transport.consume(q, inbox.handler);
    const d = await inbox.next();
    assert.deepEqual(d.body, body);
    assert.deepEqual(d.headers, headers);
    assert.equal(d.queue, q);
    await d.ack();
  });

  it('rejects a publish to an undeclared queue and invalid headers', async () => {
    const q = queue();
    await assert.rejects(transport.publish(q, Buffer.from('x'), headersFor(1)), { code: 'INTEGRATION_QUEUE_NOT_FOUND' });
    await transport.assertQueue(q);
    const bad = { ...headersFor(1), attempt: 0 };
    await assert.rejects(transport.publish(q, Buffer.from('x'), bad), { code: 'VALIDATION_TRANSPORT_HEADERS' });
  });

  it('retry brings the message back after the delay with attempt + 1 and the reason', async () => {
    const q = queue();
    await transport.assertQueue(q);
    const headers = headersFor(7, { destination: 'nphies' });
    await transport.publish(q, Buffer.from('payload'), headers);
    const inbox = new Inbox();
    await transport.consume(q, inbox.handler);
    const first = await inbox.next();
    assert.equal(first.headers.attempt, 1);
    await first.retry(200, 'timeout from payer');
    const second = await inbox.next();
    assert.deepEqual(second.headers, { ...headers, attempt: 2, 'x-wasl-last-error': 'timeout from payer' });
    assert.equal(second.body.toString(), 'payload');
    await second.retry(0, 'again');
    const third = await inbox.next();
    assert.deepEqual(third.headers, { ...headers, attempt: 3, 'x-wasl-last-error': 'again' });
    await third.ack();
    await third.ack(); // a second settle is ignored
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: 0, delayed: 0, dead: 0 }), { ready: 0, delayed: 0, dead: 0 });
  });

  it('deadLetter moves the message to the DLQ with its reason', async () => {
    const q = queue();
    await transport.assertQueue(q);
    const headers = headersFor(3);
    await transport.publish(q, Buffer.from('bad'), headers);
    const inbox = new Inbox();
    await transport.consume(q, inbox.handler);
    await (await inbox.next()).deadLetter('VALIDATION_PID: PID-7 invalid');
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: 0, delayed: 0, dead: 1 }), { ready: 0, delayed: 0, dead: 1 });
    const [letter] = await transport.peekDeadLetters(q, 10);
    assert.equal(letter.reason, 'VALIDATION_PID: PID-7 invalid');
    assert.equal(letter.body.toString(), 'bad');
    assert.deepEqual(letter.headers, headers);
  });

  it('depth counts ready (with in-flight), delayed and dead', async () => {
    const q = queue();
    await transport.assertQueue(q);
    for (let i = 0; i < 4; i++) await transport.publish(q, Buffer.from(`m${i}`), headersFor(i));
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: 4, delayed: 0, dead: 0 }), { ready: 4, delayed: 0, dead: 0 });
    const inbox = new Inbox();
    await transport.consume(q, inbox.handler, { prefetch: 3 });
    const [a, b, c] = await inbox.take(3);
    await a.deadLetter('dead');
    await b.retry(60_000, 'later');
    // c stays in flight (unacked); the fourth waits in the queue.
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: 2, delayed: 1, dead: 1 }), { ready: 2, delayed: 1, dead: 1 });
    await c.ack();
    await (await inbox.next()).ack();
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: 0, delayed: 1, dead: 1 }), { ready: 0, delayed: 1, dead: 1 });
  });

  it('peeks dead letters without removing them and replays them with attempt 1', async () => {
    const q = queue();
    await transport.assertQueue(q);
    const n = 5;
    for (let i = 0; i < n; i++) await transport.publish(q, Buffer.from(`m${i}`), headersFor(i));
    const inbox = new Inbox();
    const consumer = await transport.consume(q, inbox.handler, { prefetch: n });
    for (const d of await inbox.take(n)) {
      await d.retry(0, 'first failure');
    }
    for (const d of await inbox.take(n)) {
      assert.equal(d.headers.attempt, 2);
      await d.deadLetter(`reason ${d.headers.messageId}`);
    }
    await consumer.cancel();

    const peeked = await transport.peekDeadLetters(q, 3);
    assert.equal(peeked.length, 3);
    for (const p of peeked) {
      assert.equal(p.reason, `reason ${p.headers.messageId}`);
      assert.equal(p.headers.attempt, 2);
    }
    assert.equal((await transport.peekDeadLetters(q, 100)).length, n);
    // A quorum queue takes peeked (nacked) messages back asynchronously: the count catches up.
    assert.equal((await eventuallyDepth(transport, q, { ready: 0, delayed: 0, dead: n })).dead, n);

    assert.equal(await transport.replayDeadLetters(q), n);
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: n, delayed: 0, dead: 0 }), { ready: n, delayed: 0, dead: 0 });
    const again = new Inbox();
    await transport.consume(q, again.handler, { prefetch: n });
    const ids = new Set<string>();
    for (const d of await again.take(n)) {
      assert.equal(d.headers.attempt, 1);
      assert.equal(d.headers['x-wasl-last-error'], 'first failure');
      ids.add(d.headers.messageId);
      await d.ack();
    }
    assert.equal(ids.size, n);
    assert.equal(await transport.replayDeadLetters(q), 0);
  });

  it('never holds more than prefetch unacknowledged deliveries', async () => {
    const q = queue();
    await transport.assertQueue(q);
    const prefetch = 4;
    const n = 20;
    await Promise.all(Array.from({ length: n }, (_, i) => transport.publish(q, Buffer.from('x'), headersFor(i))));
    let held: Delivery[] = [];
    let maxHeld = 0;
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      void transport.consume(
        q,
        async (d) => {
          held.push(d);
          received++;
          maxHeld = Math.max(maxHeld, held.length);
          if (held.length === prefetch || received === n) {
            const batch = held;
            held = [];
            // Ack in a later turn so the transport had every chance to over-deliver meanwhile.
            setImmediate(() => {
              Promise.all(batch.map((x) => x.ack()))
                .then(() => received === n && resolve())
                .catch(reject);
            });
          }
        },
        { prefetch },
      );
    });
    assert.equal(maxHeld, prefetch);
    assert.equal(received, n);
  });

  it('a handler that throws gets its delivery retried with attempt + 1', async () => {
    const q = queue();
    await transport.assertQueue(q);
    await transport.publish(q, Buffer.from('x'), headersFor(1));
    const inbox = new Inbox();
    await transport.consume(q, async (d) => {
      await inbox.handler(d);
      if (d.headers.attempt === 1) throw new Error('bug in a transformer');
    });
    const first = await inbox.next();
    assert.equal(first.headers.attempt, 1);
    const second = await inbox.next();
    assert.equal(second.headers.attempt, 2);
    assert.match(String(second.headers['x-wasl-last-error']), /bug in a transformer/);
    await second.ack();
  });

  it('returning without settling keeps the delivery; cancel puts it back in the queue', async () => {
    const q = queue();
    await transport.assertQueue(q);
    await transport.publish(q, Buffer.from('x'), headersFor(9));
    const inbox = new Inbox();
    const consumer = await transport.consume(q, inbox.handler);
    const held = await inbox.next();
    assert.equal((await transport.depth(q)).ready, 1);
    await consumer.cancel();
    await consumer.cancel();
    const again = new Inbox();
    await transport.consume(q, again.handler);
    const d = await again.next();
    assert.equal(d.headers.messageId, 'msg-9');
    await held.ack(); // stale: its consumer is gone; must not throw or remove the redelivery
    await d.ack();
    assert.deepEqual(await eventuallyDepth(transport, q, { ready: 0, delayed: 0, dead: 0 }), { ready: 0, delayed: 0, dead: 0 });
  });

  it('close is safe twice and later calls reject as transient', async () => {
    const q = queue();
    await transport.assertQueue(q);
    await transport.close();
    await transport.close();
    await assert.rejects(transport.publish(q, Buffer.from('x'), headersFor(1)), { code: 'TRANSIENT_TRANSPORT_CLOSED' });
  });
}

/** A logger that drops everything (tests assert on behaviour, not log lines). */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true });
}

/**
 * The queue's depth once it equals `expected`, or the last one read after 30 s. RabbitMQ quorum
 * queues apply acks, nacks and requeues asynchronously, so counts catch up a moment later; right
 * after the end-to-end suites have deleted dozens of quorum queues, seconds later (seen: a count
 * still 16 high after 10 s in two full `npm test` runs, never in the suite alone).
 */
async function eventuallyDepth(transport: Transport, queue: string, expected: QueueDepth): Promise<QueueDepth> {
  const until = Date.now() + 30_000;
  let depth = await transport.depth(queue);
  while (JSON.stringify(depth) !== JSON.stringify(expected) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    depth = await transport.depth(queue);
  }
  return depth;
}
