/**
 * The alert evaluator against real parts: store rows on SQLite and PostgreSQL, the embedded
 * transport's queues, a real FHIR client's circuit breaker, and webhook notices to a local HTTP
 * server. Each kind opens once when its condition starts and closes once when it clears; state
 * survives a restart; two evaluators sharing one database notify once.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { FhirClientRegistry } from '../../../connectors/fhir/client-registry';
import { FhirConnectionClient } from '../../../connectors/fhir/fhir-client';
import { AlertEvaluator, type RoundResult } from '../../../engine/alerts/evaluator';
import { AlertNotifier } from '../../../engine/alerts/notify/notifier';
import { StoreSignals } from '../../../engine/alerts/signals';
import { KnexAlertStore } from '../../../engine/alerts/store';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import type { Dialect } from '../../../engine/store/rows';
import type { StageUpdate } from '../../../engine/store/types';
import { createTransport, type Transport } from '../../../engine/transport';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';
import { rulesFrom, startWebhookServer, waitFor, type WebhookServer } from './support';

const CHANNEL = 'alerts-test';
const silent = winston.createLogger({ silent: true });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`engine/alerts evaluator (${dialect})`, function () {
    this.timeout(30_000);
    let target: StoreTarget;
    let stores: KnexMessageStore[];
    let store: KnexMessageStore;
    let transport: Transport;
    let dataDir: string;
    let hook: WebhookServer;
    let circuits: FhirClientRegistry;
    let evaluators: AlertEvaluator[];
    /** The evaluators' clock runs this far ahead of the store's (ages and silences without waiting). */
    let offsetMs: number;
    let seq: number;

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(async () => {
      offsetMs = 0;
      seq = 0;
      evaluators = [];
      target = targetFor(dialect);
      store = await target.open();
      await store.migrate();
      stores = [store];
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-alerts-'));
      transport = createTransport({ dataDir, logger: silent });
      await transport.start();
      hook = await startWebhookServer();
      circuits = new FhirClientRegistry();
    });

    afterEach(async () => {
      await Promise.all(evaluators.map((e) => e.stop()));
      await hook.close();
      await transport.close();
      for (const s of stores) await s.close();
      await target.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** An evaluator over `alerts` (YAML list items), notifying the local webhook; `on` picks its database connection. */
    function evaluatorFor(alerts: string, opts: { on?: KnexMessageStore; extra?: string } = {}): AlertEvaluator {
      const s = opts.on ?? store;
      const e = new AlertEvaluator({
        rules: rulesFrom(alerts, `${opts.extra ?? ''}    alertNotify: { webhook: "${hook.url}" }\n`),
        store: new KnexAlertStore(s.knex, s.dialect),
        signals: new StoreSignals({ knex: s.knex, dialect: s.dialect, transport, circuits }),
        notifier: new AlertNotifier({ webhook: { initialDelayMs: 10 } }),
        intervalMs: 60_000,
        clock: () => new Date(Date.now() + offsetMs),
        logger: silent,
      });
      evaluators.push(e);
      return e;
    }

    /** One round, then its notices delivered. */
    async function round(e: AlertEvaluator): Promise<{ opened: string[]; closed: string[] }> {
      const r: RoundResult = await e.evaluate();
      await e.idle();
      return { opened: r.opened.map((a) => a.rule), closed: r.closed.map((a) => a.rule) };
    }

    const notices = () => hook.received.map((n) => `${n.rule}:${n.state}`);

    async function receive(channel = CHANNEL): Promise<string> {
      const id = crypto.randomUUID();
      seq++;
      await store.receive({ id, channel, correlationId: id, sender: 'HIS^HOSP', controlId: `ctl-${seq}`, messageType: 'ADT^A01', raw: `MSH|^~\\&|HIS|HOSP|||||ADT^A01|ctl-${seq}|P|2.5\r` });
      return id;
    }

    async function finished(status: 'SENT' | 'ERROR', n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        const id = await receive();
        await store.update(id, status === 'ERROR' ? { status, error: { code: 'VALIDATION_TEST' } } : { status });
      }
    }

    async function delivery(id: string, update: Omit<StageUpdate, 'destination'>, destination = 'fhir'): Promise<void> {
      await store.update(id, { ...update, destination });
    }

    it('error-rate: waits for minMessages, opens once over the ratio, closes once under it', async () => {
      const e = evaluatorFor('      - kind: error-rate\n        thresholdRatio: 0.5\n        windowSeconds: 60\n        minMessages: 4\n');
      await finished('ERROR', 1);
      await finished('SENT', 1);
      assert.deepEqual(await round(e), { opened: [], closed: [] }, 'one error in two messages is not an alert');
      await finished('ERROR', 2);
      assert.deepEqual(await round(e), { opened: ['error-rate'], closed: [] });
      assert.deepEqual(await round(e), { opened: [], closed: [] }, 'no repeat while it stays open');
      await finished('SENT', 4);
      assert.deepEqual(await round(e), { opened: [], closed: ['error-rate'] });
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      assert.deepEqual(notices(), ['error-rate:open', 'error-rate:closed']);
      const [open, closed] = hook.received;
      assert.deepEqual(Object.keys(open).sort(), ['alert', 'at', 'channel', 'kind', 'message', 'rule', 'state', 'threshold', 'value']);
      assert.deepEqual({ ...open, alert: undefined, at: undefined }, {
        alert: undefined,
        at: undefined,
        state: 'open',
        channel: CHANNEL,
        rule: 'error-rate',
        kind: 'error-rate',
        value: 0.75,
        threshold: 0.5,
        message: '3 of 4 messages errored in the last 60 s (ratio 0.75, threshold 0.5)',
      });
      assert.equal(closed.alert, open.alert);
      assert.equal(closed.value, 0.375);
      // Messages finished outside the window do not count.
      offsetMs = 120_000;
      assert.deepEqual(await round(e), { opened: [], closed: [] });
    });

    it('queue-depth: the in queue and a destination queue, ready + delayed', async () => {
      const e = evaluatorFor('      - kind: queue-depth\n        thresholdMessages: 3\n      - kind: queue-depth\n        destination: fhir\n        thresholdMessages: 2\n');
      // Before the flows declare the queues, they read as empty (not as an error).
      assert.deepEqual(await new StoreSignals({ knex: store.knex, dialect: store.dialect, transport, circuits }).queueDepth(`${CHANNEL}.in`), { ready: 0, delayed: 0, dead: 0 });
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      const publish = async (queue: string, n: number) => {
        await transport.assertQueue(queue);
        for (let i = 0; i < n; i++) {
          const id = crypto.randomUUID();
          await transport.publish(queue, Buffer.from('{}'), { correlationId: id, messageId: id, channel: CHANNEL, attempt: 1 });
        }
      };
      await publish(`${CHANNEL}.in`, 3);
      await publish(`${CHANNEL}.dest.fhir`, 1);
      assert.deepEqual(await round(e), { opened: ['queue-depth'], closed: [] });
      await publish(`${CHANNEL}.dest.fhir`, 1);
      assert.deepEqual(await round(e), { opened: ['queue-depth-fhir'], closed: [] });
      const consumer = await transport.consume(`${CHANNEL}.in`, (d) => d.ack());
      await waitFor(async () => (await transport.depth(`${CHANNEL}.in`)).ready === 0);
      await consumer.cancel();
      assert.deepEqual(await round(e), { opened: [], closed: ['queue-depth'] });
      assert.deepEqual(notices(), ['queue-depth:open', 'queue-depth-fhir:open', 'queue-depth:closed']);
      assert.equal(hook.received[0].message, `queue ${CHANNEL}.in holds 3 ready and 0 delayed messages (threshold 3)`);
    });

    it('oldest-age: accepted messages before routing, then messages queued for a destination', async () => {
      const e = evaluatorFor('      - kind: oldest-age\n        thresholdSeconds: 60\n      - kind: oldest-age\n        destination: fhir\n        thresholdSeconds: 60\n');
      const a = await receive();
      await store.markAccepted(a);
      await receive(); // never accepted (NAKed): it waits nowhere
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      offsetMs = 120_000;
      assert.deepEqual(await round(e), { opened: ['oldest-age'], closed: [] });
      await delivery(a, { status: 'QUEUED' });
      assert.deepEqual(await round(e), { opened: ['oldest-age-fhir'], closed: ['oldest-age'] });
      await delivery(a, { status: 'SENT' });
      assert.deepEqual(await round(e), { opened: [], closed: ['oldest-age-fhir'] });
      // Two alerts changing in one round notify in parallel: compare without their order.
      assert.deepEqual(notices().sort(), ['oldest-age-fhir:closed', 'oldest-age-fhir:open', 'oldest-age:closed', 'oldest-age:open']);
      assert.match(hook.received[0].message, /^the oldest message waiting in channel alerts-test's in stage was received 12\d s ago \(threshold 60 s\)$/);
    });

    it('silence: opens when the feed stops, closes on the next message', async () => {
      const e = evaluatorFor('      - kind: silence\n        periodSeconds: 60\n');
      await receive();
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      offsetMs = 120_000;
      assert.deepEqual(await round(e), { opened: ['silence'], closed: [] });
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      offsetMs = 0;
      await receive();
      assert.deepEqual(await round(e), { opened: [], closed: ['silence'] });
      assert.deepEqual(notices(), ['silence:open', 'silence:closed']);
      assert.match(hook.received[0].message, /^no message received for 12\d s \(period 60 s\)$/);
    });

    it('silence: a channel that never received counts from the evaluator start', async () => {
      const e = evaluatorFor('      - kind: silence\n        periodSeconds: 60\n');
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      offsetMs = 61_000;
      assert.deepEqual(await round(e), { opened: ['silence'], closed: [] });
      assert.match(hook.received[0].message, /^no message received since the engine started 6\d s ago/);
    });

    it('destination-down: the last N deliveries of this channel failed (retrying counts), a success clears it', async () => {
      const e = evaluatorFor('      - kind: destination-down\n        destination: fhir\n        consecutiveFailures: 3\n');
      // Another channel's destination of the same name is not ours.
      for (let i = 0; i < 3; i++) await store.update(await receive('other-channel'), { status: 'ERROR', destination: 'fhir', error: { code: 'TRANSIENT_X' } });
      for (let i = 0; i < 2; i++) {
        const id = await receive();
        await delivery(id, { status: 'QUEUED' });
        await delivery(id, { status: 'ERROR', error: { code: 'TRANSIENT_FHIR_ECONNREFUSED' } });
      }
      const queuedOnly = await receive();
      await delivery(queuedOnly, { status: 'QUEUED' }); // queued, not yet tried: not an outcome
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      await delivery(queuedOnly, { status: 'QUEUED', error: { code: 'TRANSIENT_FHIR_ECONNREFUSED' } }); // failed, queued for retry
      assert.deepEqual(await round(e), { opened: ['destination-down-fhir'], closed: [] });
      assert.equal(hook.received[0].message, 'destination fhir: 3 latest deliveries failed in a row (threshold 3)');
      await pause(5); // a later updated_at than the failures, on SQLite's millisecond clock too
      await delivery(queuedOnly, { status: 'SENT' });
      assert.deepEqual(await round(e), { opened: [], closed: ['destination-down-fhir'] });
      assert.deepEqual(notices(), ['destination-down-fhir:open', 'destination-down-fhir:closed']);
    });

    it("destination-down: the destination's FHIR circuit is open", async () => {
      const e = evaluatorFor('      - kind: destination-down\n        destination: fhir\n');
      // The client a fhir destination builds, registered as fhir-out does (`<channel>.<destination>`).
      const client = new FhirConnectionClient({
        connection: { id: `${CHANNEL}.fhir`, baseUrl: 'http://127.0.0.1:1/fhir', timeoutMs: 2000 },
        auth: { headers: async () => ({}), invalidate: async () => false },
        retry: { maxAttempts: 1 },
        breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 },
        registry: circuits,
        logger: silent,
      });
      const release = circuits.bind(CHANNEL, client);
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      await client.read('Patient', 'p1').catch(() => undefined); // nothing listens on port 1
      assert.equal(client.breakerState(), 'open');
      assert.deepEqual(await round(e), { opened: ['destination-down-fhir'], closed: [] });
      assert.equal(hook.received[0].message, 'destination fhir: circuit open; 0 latest deliveries failed in a row (threshold 5)');
      release();
      await client.close();
      assert.deepEqual(await round(e), { opened: [], closed: ['destination-down-fhir'] });
    });

    it('forSeconds holds both the opening and the closing', async () => {
      const e = evaluatorFor('      - kind: silence\n        periodSeconds: 60\n        forSeconds: 30\n');
      await receive();
      offsetMs = 120_000;
      assert.deepEqual(await round(e), { opened: [], closed: [] }, 'the hold starts');
      offsetMs = 140_000;
      assert.deepEqual(await round(e), { opened: [], closed: [] });
      offsetMs = 151_000;
      assert.deepEqual(await round(e), { opened: ['silence'], closed: [] });
      offsetMs = 0;
      await receive();
      assert.deepEqual(await round(e), { opened: [], closed: [] }, 'cleared, but not for 30 s yet');
      offsetMs = 31_000;
      assert.deepEqual(await round(e), { opened: [], closed: ['silence'] });
      assert.deepEqual(notices(), ['silence:open', 'silence:closed']);
    });

    it('a restarted evaluator neither re-opens an open alert nor forgets to close it', async () => {
      // The channel never received a message: the restarted evaluator must not count its silence from zero.
      const rule = '      - kind: silence\n        periodSeconds: 60\n';
      const before = evaluatorFor(rule);
      offsetMs = 120_000;
      assert.deepEqual(await round(before), { opened: ['silence'], closed: [] });
      await before.stop();
      offsetMs = 180_000;
      const after = evaluatorFor(rule);
      assert.deepEqual(await round(after), { opened: [], closed: [] });
      assert.deepEqual([...after.openRuleKeys()], [`${CHANNEL}/silence`]);
      offsetMs = 0;
      await receive();
      assert.deepEqual(await round(after), { opened: [], closed: ['silence'] });
      assert.deepEqual(notices(), ['silence:open', 'silence:closed']);
    });

    it("closes a disabled channel's alerts with a notice, and a removed rule's without one", async () => {
      const first = evaluatorFor('      - kind: silence\n        periodSeconds: 60\n      - kind: silence\n        name: gone\n        periodSeconds: 60\n');
      offsetMs = 120_000;
      assert.deepEqual(await round(first), { opened: ['silence', 'gone'], closed: [] });
      const disabled = evaluatorFor('      - kind: silence\n        periodSeconds: 60\n', { extra: '    enabled: false\n' });
      assert.deepEqual(await round(disabled), { opened: [], closed: ['silence', 'gone'] });
      assert.deepEqual(notices().sort(), ['gone:open', 'silence:closed', 'silence:open']);
      const rows = await new KnexAlertStore(store.knex, store.dialect).list({ state: 'all' });
      assert.deepEqual(rows.map((r) => [r.rule, r.state]).sort(), [['gone', 'closed'], ['silence', 'closed']]);
    });

    it('two evaluators sharing one database open and close each alert once, and notify once', async () => {
      const second = await target.open();
      stores.push(second);
      const rules = ['a', 'b', 'c', 'd', 'e'].map((n) => `      - kind: silence\n        name: feed-${n}\n        periodSeconds: 60\n`).join('');
      const one = evaluatorFor(rules);
      const two = evaluatorFor(rules, { on: second });
      offsetMs = 120_000;
      for (let i = 0; i < 3; i++) {
        const [r1, r2] = await Promise.all([round(one), round(two)]);
        if (i > 0) assert.deepEqual([...r1.opened, ...r2.opened], [], 'opened once');
        else assert.deepEqual([...r1.opened, ...r2.opened].sort(), ['feed-a', 'feed-b', 'feed-c', 'feed-d', 'feed-e']);
      }
      offsetMs = 0;
      await receive();
      for (let i = 0; i < 3; i++) {
        const [r1, r2] = await Promise.all([round(one), round(two)]);
        if (i > 0) assert.deepEqual([...r1.closed, ...r2.closed], [], 'closed once');
        else assert.deepEqual([...r1.closed, ...r2.closed].sort(), ['feed-a', 'feed-b', 'feed-c', 'feed-d', 'feed-e']);
      }
      assert.deepEqual(notices().filter((n) => n.endsWith(':open')).sort(), ['feed-a:open', 'feed-b:open', 'feed-c:open', 'feed-d:open', 'feed-e:open']);
      assert.deepEqual(notices().filter((n) => n.endsWith(':closed')).sort(), ['feed-a:closed', 'feed-b:closed', 'feed-c:closed', 'feed-d:closed', 'feed-e:closed']);
      const rows = await new KnexAlertStore(store.knex, store.dialect).list({ state: 'all' });
      assert.equal(rows.length, 5);
    });

    it('start() evaluates on its timer until stop()', async () => {
      const e = new AlertEvaluator({
        rules: rulesFrom('      - kind: silence\n        periodSeconds: 60\n', `    alertNotify: { webhook: "${hook.url}" }\n`),
        store: new KnexAlertStore(store.knex, store.dialect),
        signals: new StoreSignals({ knex: store.knex, dialect: store.dialect, transport, circuits }),
        notifier: new AlertNotifier(),
        intervalMs: 20,
        clock: () => new Date(Date.now() + offsetMs),
        logger: silent,
      });
      evaluators.push(e);
      offsetMs = 120_000;
      e.start();
      await waitFor(() => hook.received.length === 1);
      offsetMs = 0;
      await receive();
      await waitFor(() => hook.received.length === 2);
      await e.stop();
      assert.deepEqual(notices(), ['silence:open', 'silence:closed']);
    });
  });
}
