/**
 * End to end, in both modes (embedded: SQLite + embedded queue; production: PostgreSQL +
 * RabbitMQ): the real engine process, real MLLP senders, and a real FHIR server (Medplum) that
 * the test can stop and start. Each run uses its own channel id, so queues and store rows of one
 * run never meet another's.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { startFhirServer, type RunningFhirServer } from '../../engine/fhir-server';
import { adtMessage } from '../support/adt';
import { startEngineProcess, tempDir, writeTestChannels, type EngineProcess } from '../support/engine-process';
import { fhirSearchAll, identifierValues, waitUntil } from '../support/fhir-counts';
import { freePort } from '../support/ports';
import { sendAll, type Outbound, type SendResult } from '../support/sender';
import { deleteAmqpQueues, requireProduction, restartLocalRabbitMq } from '../support/services';

const MODES = [
  { name: 'embedded', production: false },
  { name: 'production (PostgreSQL + RabbitMQ)', production: true },
] as const;

function batch(prefix: string, count: number, patients: number): Outbound[] {
  return Array.from({ length: count }, (_, i) => {
    const controlId = `${prefix}${i}`;
    return { controlId, text: adtMessage({ controlId, patientId: `${prefix}P${i % patients}`, visitNumber: `${prefix}V${i}` }) };
  });
}

async function channelQueues(engine: EngineProcess): Promise<Record<string, { ready: number; delayed: number; dead: number }>> {
  const res = await engine.api(`/api/v1/channels`);
  const body = (await res.json()) as { channels: Array<{ queues: Record<string, { ready: number; delayed: number; dead: number }> }> };
  return body.channels[0].queues;
}

/**
 * Streams `messages` on 4 connections and, once `after` answers are in, takes a service down with
 * `outage` (which calls back when it is down). Resolves with the first pass's answers and how
 * many had come back when the service went down.
 */
async function streamThroughOutage(
  port: number,
  messages: Outbound[],
  after: number,
  outage: (down: () => void) => Promise<void>,
): Promise<{ first: SendResult; answersWhenDown: number }> {
  let running: Promise<void> | undefined;
  let answers = 0;
  let answersWhenDown = -1;
  const first = await sendAll(port, messages, {
    connections: 4,
    timeoutMs: 90_000,
    onAck: (count) => {
      answers = count;
      if (count < after || running) return;
      running = outage(() => (answersWhenDown = answers));
    },
  });
  assert.ok(running, 'the outage started');
  await running;
  assert.ok(answersWhenDown >= 0, 'the service went down');
  return { first, answersWhenDown };
}

/** Each of `n` messages reached the FHIR server exactly once (one Encounter, one Patient each), stored once and sent. */
async function expectEachDeliveredOnce(engine: EngineProcess, fhirUrl: string, n: number): Promise<void> {
  await waitUntil(async () => (await fhirSearchAll(fhirUrl, 'Encounter')).length >= n, `all ${n} Encounters`, 180_000);
  const encounters = identifierValues(await fhirSearchAll(fhirUrl, 'Encounter'));
  assert.equal(encounters.length, n, 'exactly one Encounter per message');
  assert.equal(new Set(encounters).size, n);
  assert.equal((await fhirSearchAll(fhirUrl, 'Patient')).length, n, 'exactly one Patient per message');
  await waitUntil(async () => {
    const r = await engine.api(`/api/v1/channels`);
    return ((await r.json()) as { channels: Array<{ sent: number }> }).channels[0].sent === n;
  }, 'sent counter', 120_000);
  const { channels } = (await (await engine.api(`/api/v1/channels`)).json()) as { channels: Array<{ received: number; errored: number }> };
  assert.equal(channels[0].received, n, 'each message stored once');
  assert.equal(channels[0].errored, 0);
}

for (const mode of MODES) {
  describe(`end to end, ${mode.name}`, function () {
    this.timeout(240_000);
    let fhir: RunningFhirServer;
    let dataDir: string;
    let channelId: string;
    const engines: EngineProcess[] = [];
    let production: { databaseUrl: string; amqpUrl: string } | undefined;
    let schema: { drop(): Promise<void> } | undefined;

    before(async function () {
      if (mode.production) {
        const services = await requireProduction(this);
        schema = services;
        production = services.production;
      }
    });

    after(async () => {
      await schema?.drop();
    });

    beforeEach(async () => {
      fhir = await startFhirServer(0);
      dataDir = tempDir('e2e');
      channelId = `e2e-${randomBytes(4).toString('hex')}`;
    });

    afterEach(async () => {
      for (const e of engines.splice(0)) await e.stop();
      await fhir.close();
      if (production) await deleteAmqpQueues([`${channelId}.in`, `${channelId}.dest.fhir`, `${channelId}.dest.broken`]);
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    async function start(options: { mllpPort?: number; fhirUrl?: string; extraDestinations?: string; maxAttempts?: number } = {}) {
      const channelsFile = writeTestChannels(dataDir, {
        id: channelId,
        fhirUrl: options.fhirUrl ?? fhir.url,
        maxAttempts: options.maxAttempts,
        extraDestinations: options.extraDestinations,
      });
      const engine = await startEngineProcess({ dataDir, channelsFile, mllpPort: options.mllpPort, production });
      engines.push(engine);
      return engine;
    }

    it('takes 1,000 ADT messages on 4 connections: each gets AA with its MSA-2, the FHIR server holds exactly the expected resources', async () => {
      const engine = await start();
      const messages = batch('L', 1000, 250);
      const { acks, failed } = await sendAll(engine.mllpPort, messages, { connections: 4 });
      assert.deepEqual(failed, []);
      assert.equal(acks.size, 1000);
      for (const m of messages) {
        const ack = acks.get(m.controlId);
        assert.equal(ack?.code, 'AA', `ACK for ${m.controlId}`);
        assert.equal(ack?.ackedId, m.controlId);
      }
      await waitUntil(async () => (await fhirSearchAll(fhir.url, 'Encounter')).length >= 1000, '1,000 Encounters');
      const encounters = identifierValues(await fhirSearchAll(fhir.url, 'Encounter'));
      const patients = identifierValues(await fhirSearchAll(fhir.url, 'Patient'));
      assert.equal(encounters.length, 1000);
      assert.equal(new Set(encounters).size, 1000);
      assert.equal(patients.length, 250);
      assert.deepEqual(new Set(patients), new Set(Array.from({ length: 250 }, (_, i) => `LP${i}`)));
      const res = await engine.api(`/api/v1/channels`);
      const { channels } = (await res.json()) as { channels: Array<{ received: number; sent: number; errored: number; state: string }> };
      assert.equal(channels[0].state, 'running');
      await waitUntil(async () => {
        const r = await engine.api(`/api/v1/channels`);
        return ((await r.json()) as { channels: Array<{ sent: number }> }).channels[0].sent === 1000;
      }, 'sent counter');
      assert.equal(channels[0].received, 1000);
      assert.equal(channels[0].errored, 0);
    });

    it('answers a resent MSH-10 from the same sender again without storing or sending it twice', async () => {
      const engine = await start();
      const [m] = batch('D', 1, 1);
      const first = await sendAll(engine.mllpPort, [m], { connections: 1 });
      const second = await sendAll(engine.mllpPort, [m], { connections: 1 });
      assert.equal(first.acks.get(m.controlId)?.code, 'AA');
      assert.equal(second.acks.get(m.controlId)?.code, 'AA');
      await waitUntil(async () => (await fhirSearchAll(fhir.url, 'Encounter')).length === 1, 'the Encounter');
      const res = await engine.api(`/api/v1/channels`);
      const { channels } = (await res.json()) as { channels: Array<{ received: number }> };
      assert.equal(channels[0].received, 1);
    });

    it('loses nothing it acknowledged when killed -9 mid-stream and restarted: each reaches the FHIR server exactly once', async () => {
      const mllpPort = await freePort();
      const messages = batch('K', 1000, 1000);
      let engine = await start({ mllpPort });
      let killed = false;
      const firstRun = sendAll(mllpPort, messages, {
        connections: 4,
        timeoutMs: 5000,
        onAck: (count) => {
          if (count === 300 && !killed) {
            killed = true;
            void engine.kill9();
          }
        },
      });
      const first = await firstRun;
      assert.ok(killed, 'engine was killed mid-stream');
      const acked = new Set([...first.acks.entries()].filter(([, a]) => a.code === 'AA').map(([id]) => id));
      assert.ok(acked.size >= 300 && acked.size < 1000, `acked before the crash: ${acked.size}`);

      engine = await start({ mllpPort });
      // The sender resends everything it has no ACK for, as an MLLP sender does after a timeout.
      const rest = messages.filter((m) => !acked.has(m.controlId));
      const second = await sendAll(mllpPort, rest, { connections: 4 });
      assert.deepEqual(second.failed, []);
      for (const m of rest) {
        const ack = second.acks.get(m.controlId);
        // On failure, show the ERR segment (codes and our diagnostic, no patient data).
        assert.equal(ack?.code, 'AA', `${m.controlId}: ${ack?.raw.split('\r').find((seg) => seg.startsWith('ERR')) ?? 'no ERR'}`);
      }

      await waitUntil(async () => (await fhirSearchAll(fhir.url, 'Encounter')).length >= 1000, 'all Encounters', 120_000);
      const encounters = identifierValues(await fhirSearchAll(fhir.url, 'Encounter'));
      assert.equal(encounters.length, 1000, 'exactly one Encounter per message');
      assert.equal(new Set(encounters).size, 1000);
      for (const id of acked) assert.ok(encounters.includes(`KV${id.slice(1)}`), `acknowledged ${id} reached the FHIR server`);
      assert.equal(engine.output().includes('Wasl is running'), true);
    });

    it('queues and retries while the FHIR server is down, delivers everything when it is back, and dead-letters a message that always fails', async () => {
      // A second destination that always answers 503: its copies must end in its DLQ with the reason.
      const broken = await import('node:http').then((http) =>
        http.createServer((_req, res) => {
          res.writeHead(503, { 'content-type': 'application/fhir+json' });
          res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] }));
        }),
      );
      await new Promise<void>((resolve) => broken.listen(0, '127.0.0.1', resolve));
      const brokenPort = (broken.address() as { port: number }).port;
      const fhirPort = fhir.port;
      try {
        const engine = await start({
          maxAttempts: 100,
          extraDestinations: `      broken:
        type: fhir
        url: http://127.0.0.1:${brokenPort}/fhir/R4
        timeoutMs: 2000
        retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 200 }
`,
        });
        await fhir.close();
        const messages = batch('O', 20, 20);
        const { acks } = await sendAll(engine.mllpPort, messages, { connections: 2 });
        for (const m of messages) assert.equal(acks.get(m.controlId)?.code, 'AA', 'accepted while the destination is down');

        const fhirQueue = `${channelId}.dest.fhir`;
        await waitUntil(async () => {
          const q = (await channelQueues(engine))[fhirQueue];
          return q.delayed + q.ready > 0;
        }, 'messages waiting for the FHIR server');

        fhir = await startFhirServer(fhirPort);
        await waitUntil(async () => (await fhirSearchAll(fhir.url, 'Encounter')).length === 20, 'all 20 Encounters after recovery', 120_000);
        const q = (await channelQueues(engine))[fhirQueue];
        assert.equal(q.dead, 0);

        const brokenQueue = `${channelId}.dest.broken`;
        await waitUntil(async () => (await channelQueues(engine))[brokenQueue].dead === 20, 'the broken destination DLQ');
        const res = await engine.api(`/api/v1/queues/${brokenQueue}/dead-letters?limit=50`);
        const { deadLetters } = (await res.json()) as { deadLetters: Array<{ reason: string; messageId: string }> };
        assert.equal(deadLetters.length, 20);
        for (const d of deadLetters) assert.match(d.reason, /gave up after 3 attempts.*TRANSIENT_FHIR/);
        const detail = await (await engine.api(`/api/v1/messages/${deadLetters[0].messageId}`)).json();
        assert.equal(detail.status, 'ERROR');
        const dest = (detail.destinations as Array<{ destination: string; status: string }>).find((d) => d.destination === 'broken');
        assert.equal(dest?.status, 'ERROR');
      } finally {
        broken.closeAllConnections();
        await new Promise((resolve) => broken.close(resolve));
      }
    });

    // Embedded mode is one process by design: the split exists only with PostgreSQL + RabbitMQ.
    if (mode.production) it('splits the work between an intake process and a worker process (WASL_ROLE)', async () => {
      assert.ok(production);
      const channelsFile = writeTestChannels(dataDir, { id: channelId, fhirUrl: fhir.url });
      const intake = await startEngineProcess({ dataDir, channelsFile, production, env: { WASL_ROLE: 'intake' } });
      engines.push(intake);
      const messages = batch('S', 200, 50);
      const { acks } = await sendAll(intake.mllpPort, messages, { connections: 4 });
      for (const m of messages) assert.equal(acks.get(m.controlId)?.code, 'AA');
      // Nothing consumes yet: the intake process only listens, stores and queues.
      assert.equal((await channelQueues(intake))[`${channelId}.in`].ready, 200);
      assert.equal((await fhirSearchAll(fhir.url, 'Encounter')).length, 0);

      const worker = await startEngineProcess({ dataDir: tempDir('e2e-worker'), channelsFile, production, env: { WASL_ROLE: 'worker' } });
      engines.push(worker);
      assert.match(worker.output(), /role worker/);
      await waitUntil(async () => (await fhirSearchAll(fhir.url, 'Encounter')).length === 200, 'the worker to deliver all 200');
      assert.equal((await fhirSearchAll(fhir.url, 'Patient')).length, 50);
    });

    if (mode.production) it('loses and duplicates nothing across a RabbitMQ restart mid-stream: each message reaches the FHIR server exactly once', async () => {
      const engine = await start();
      const messages = batch('R', 1000, 1000);
      // The broker goes away with 300 ACKs out and 4 senders still sending; the ACKs of what they
      // send meanwhile wait for it (publishes are held and confirmed after the reconnect).
      const { first, answersWhenDown } = await streamThroughOutage(engine.mllpPort, messages, 300, (down) =>
        restartLocalRabbitMq(async () => {
          down();
          await new Promise((r) => setTimeout(r, 2000));
        }),
      );
      // No ACK can complete while the broker is down, so the stream was cut in the middle.
      assert.ok(answersWhenDown < 1000, `the broker went down mid-stream (${answersWhenDown} ACKs by then)`);
      assert.match(engine.output(), /amqp disconnected/, 'the engine saw the broker go');

      // A sender resends whatever it has no AA for; the engine deduplicates by MSH-10.
      const missing = messages.filter((m) => first.acks.get(m.controlId)?.code !== 'AA');
      const second = await sendAll(engine.mllpPort, missing, { connections: 4 });
      for (const m of missing) assert.equal(second.acks.get(m.controlId)?.code, 'AA', `${m.controlId} acknowledged on resend`);
      await expectEachDeliveredOnce(engine, fhir.url, 1000);
    });

    it('rejects the invalid HL7 fixtures with AR and an ERR segment, survives garbage, and logs no PHI', async () => {
      const engine = await start();
      const fixtureDir = path.resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'hl7v2');
      const { parseHl7, readHl7Header } = await import('../../transformers/hl7v2/parse');
      const { ackModeOf, conditionAllows } = await import('../../engine/runtime/ack-policy');
      const files = fs.readdirSync(fixtureDir).filter((f) => f.endsWith('.hl7'));
      const phi = new Set<string>();
      let rejected = 0;
      for (const file of files) {
        const text = fs.readFileSync(path.join(fixtureDir, file), 'utf8');
        let parsesAndIsAdt = false;
        try {
          const msg = parseHl7(text.replace(/^\uFEFF/, ''));
          for (const p of ['PID-5.1', 'PID-5.2', 'PID-3.1', 'PID-7', 'PID-11.1', 'PID-19', 'NK1-2.1']) {
            const v = msg.get(p);
            // Control ids may be logged; one sender builds its MSH-10 from the patient id, so skip those.
            if (v && v.length >= 5 && !/^\d{1,6}$/.test(v) && !msg.header.controlId.includes(v)) phi.add(v);
          }
          parsesAndIsAdt = ['A01', 'A03', 'A04', 'A08'].includes(msg.header.triggerEvent) && msg.header.messageType === 'ADT';
        } catch {
          parsesAndIsAdt = false;
        }
        // Enhanced mode may ask for no commit ACK (MSH-15 NE, ER on success, SU on failure).
        let mode = ackModeOf(undefined);
        try {
          mode = ackModeOf(readHl7Header(text));
        } catch {
          // no readable MSH: original mode, a minimal AR
        }
        const silent = mode.enhanced && !conditionAllows(mode.accept, parsesAndIsAdt ? 'CA' : 'CR');
        const { acks, failed } = await sendAll(engine.mllpPort, [{ controlId: file, text }], { connections: 1, timeoutMs: silent ? 1500 : 20_000 });
        if (silent) {
          assert.deepEqual(failed, [file], `${file}: MSH-15 ${mode.accept} asks for no answer, and none came`);
          if (!parsesAndIsAdt) rejected += 1;
          continue;
        }
        assert.deepEqual(failed, [], `${file} got an answer`);
        const ack = acks.get(file)!;
        if (/^\uFEFF?\s*(FHS|BHS)/.test(text)) {
          // A batch in one frame: one acknowledgement batch, with an ACK for each message refused.
          assert.match(ack.raw, /^BHS/, `${file}: a batch ACK`);
          if (!/\rMSA\|AA/.test(ack.raw)) rejected += 1;
          continue;
        }
        if (!parsesAndIsAdt) {
          rejected += 1;
          assert.match(ack.code, /^(AR|CR)$/, `${file} rejected`);
          assert.ok(ack.raw.split('\r').some((s) => s.startsWith('ERR')), `${file} NAK carries ERR`);
        }
      }
      assert.ok(rejected >= 5, `several fixtures are rejected (${rejected})`);

      // Garbage and half frames never take the listener down.
      const net = await import('node:net');
      await new Promise<void>((resolve) => {
        const s = net.connect(engine.mllpPort, '127.0.0.1', () => {
          s.write(Buffer.concat([randomBytes(2048), Buffer.from([0x0b]), randomBytes(512), Buffer.from([0x1c, 0x0d]), Buffer.from([0x0b, 0x41])]));
          s.end();
        });
        s.on('close', () => resolve());
        s.on('error', () => resolve());
        s.resume();
      });
      const after = await sendAll(engine.mllpPort, batch('G', 1, 1), { connections: 1 });
      assert.equal(after.acks.get('G0')?.code, 'AA', 'listener still serves after garbage');

      await new Promise((r) => setTimeout(r, 500)); // let the last log lines flush
      // The log lines (JSON), not the start-up banner, whose URLs name resource types like Patient.
      const output = engine.output().split('\n').filter((line) => line.startsWith('{')).join('\n');
      const leaked = [...phi].filter((v) => output.includes(v));
      assert.deepEqual(leaked, [], 'no PHI in the engine logs');
      assert.ok(phi.size > 20, `checked ${phi.size} PHI values`);
    });
  });
}
