/**
 * The durability floor: what the two services behind a durable ACK can do by themselves on this
 * machine, with no MLLP, no parsing and no engine. Each "message" is the demo ADT's bytes, and
 * 1 or 8 of them are in flight at a time, as with 1 or 8 MLLP senders that each wait for their ACK:
 *
 * - broker:   publish to a quorum queue on a confirm channel, wait for the confirm;
 * - database: INSERT of the message into a table, one autocommit statement (one commit each);
 * - both:     the two at once per message, waiting for both (what the engine's ACK waits for).
 *
 * No engine can acknowledge durably faster than `both` at the same number in flight: the
 * production figures are read against it.
 */
import amqp from 'amqplib';
import { Client } from 'pg';

export interface FloorFigures {
  inFlight: number;
  messages: number;
  brokerMsgsPerS: number;
  databaseMsgsPerS: number;
  bothMsgsPerS: number;
  bothP50Ms: number;
}

interface FloorPlan {
  databaseUrl: string;
  amqpUrl: string;
  /** Messages per figure (after a warm-up of 200). */
  messages: number;
  body: string;
}

/** Runs `one` with `inFlight` callers until `messages` are done; returns messages/s and p50 ms. */
async function drive(inFlight: number, messages: number, one: (seq: number, lane: number) => Promise<void>): Promise<{ perS: number; p50Ms: number }> {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async (_, lane) => {
      for (let seq = next++; seq < messages; seq = next++) {
        const t = performance.now();
        await one(seq, lane);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const ms = performance.now() - started;
  latencies.sort((a, b) => a - b);
  return { perS: Math.round((messages / ms) * 1000), p50Ms: Number((latencies[latencies.length >> 1] ?? 0).toFixed(2)) };
}

/** Measures 1 and 8 in flight. The queue and table are the bench's own and removed afterwards. */
export async function measureDurabilityFloor(plan: FloorPlan): Promise<FloorFigures[]> {
  const queue = `bench.floor.${process.pid}`;
  const table = `bench_floor_${process.pid}`;
  const connection = await amqp.connect(plan.amqpUrl);
  const clients: Client[] = [];
  try {
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    for (let i = 0; i < 8; i += 1) {
      const client = new Client({ connectionString: plan.databaseUrl });
      await client.connect();
      clients.push(client);
    }
    await clients[0].query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, body text NOT NULL)`);
    const body = Buffer.from(plan.body);
    const publish = () =>
      new Promise<void>((resolve, reject) => channel.sendToQueue(queue, body, { persistent: true }, (err) => (err ? reject(err) : resolve())));
    const insert = (lane: number) => clients[lane].query(`INSERT INTO ${table} (body) VALUES ($1)`, [plan.body]).then(() => undefined);
    const both = (lane: number) => Promise.all([publish(), insert(lane)]).then(() => undefined);

    await drive(8, 200, (_, lane) => both(lane)); // warm-up: JIT, broker segment files, table pages
    const figures: FloorFigures[] = [];
    for (const inFlight of [1, 8]) {
      const broker = await drive(inFlight, plan.messages, () => publish());
      const database = await drive(inFlight, plan.messages, (_, lane) => insert(lane));
      const together = await drive(inFlight, plan.messages, (_, lane) => both(lane));
      figures.push({
        inFlight,
        messages: plan.messages,
        brokerMsgsPerS: broker.perS,
        databaseMsgsPerS: database.perS,
        bothMsgsPerS: together.perS,
        bothP50Ms: together.p50Ms,
      });
      await channel.purgeQueue(queue);
    }
    await channel.deleteQueue(queue);
    await clients[0].query(`DROP TABLE ${table}`);
    return figures;
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    await connection.close().catch(() => undefined);
  }
}
