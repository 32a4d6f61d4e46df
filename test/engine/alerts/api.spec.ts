/**
 * `GET /api/v1/alerts` over alert rows on SQLite and PostgreSQL (docs/operations.md), and the
 * `wasl_alerts_open{channel,rule}` gauge.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import winston from 'winston';
import { FhirClientRegistry } from '../../../connectors/fhir/client-registry';
import { AlertEvaluator } from '../../../engine/alerts/evaluator';
import { registerAlertsGauge } from '../../../engine/alerts/metrics';
import { AlertNotifier } from '../../../engine/alerts/notify/notifier';
import { StoreSignals } from '../../../engine/alerts/signals';
import { KnexAlertStore } from '../../../engine/alerts/store';
import { alertsRouter } from '../../../engine/server/alerts-api';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import type { Dialect } from '../../../engine/store/rows';
import { createTransport, type Transport } from '../../../engine/transport';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';
import { rulesFrom } from './support';

const silent = winston.createLogger({ silent: true });

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`engine/server/alerts-api and wasl_alerts_open (${dialect})`, function () {
    this.timeout(20_000);
    let target: StoreTarget;
    let store: KnexMessageStore;
    let transport: Transport;
    let dataDir: string;
    let server: http.Server;
    let base: string;
    let evaluator: AlertEvaluator;
    let offsetMs: number;

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(async () => {
      offsetMs = 0;
      target = targetFor(dialect);
      store = await target.open();
      await store.migrate();
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-alerts-api-'));
      transport = createTransport({ dataDir, logger: silent });
      await transport.start();
      const app = express();
      app.use('/api/v1/alerts', alertsRouter(new KnexAlertStore(store.knex, store.dialect)));
      server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/alerts`;
      evaluator = new AlertEvaluator({
        rules: rulesFrom('      - kind: silence\n        periodSeconds: 60\n      - kind: silence\n        name: night-feed\n        periodSeconds: 600\n'),
        store: new KnexAlertStore(store.knex, store.dialect),
        signals: new StoreSignals({ knex: store.knex, dialect: store.dialect, transport, circuits: new FhirClientRegistry() }),
        notifier: new AlertNotifier(),
        intervalMs: 60_000,
        clock: () => new Date(Date.now() + offsetMs),
        logger: silent,
      });
    });

    afterEach(async () => {
      await evaluator.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await transport.close();
      await store.close();
      await target.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const get = async (query = '') => {
      const res = await fetch(`${base}${query}`);
      return { status: res.status, body: (await res.json()) as { alerts: Array<Record<string, unknown>>; error?: string } };
    };

    it('lists open alerts by default, all with state=all, per channel, newest first', async () => {
      offsetMs = 120_000;
      await evaluator.evaluate(); // silence opens; night-feed (600 s) does not
      await store.receive({ id: 'm1', channel: 'alerts-test', correlationId: 'm1', sender: 'HIS^HOSP', controlId: 'c1', raw: 'MSH|^~\\&|\r' });
      offsetMs = 0;
      await evaluator.evaluate(); // silence closes
      offsetMs = 61_000;
      await evaluator.evaluate(); // silence opens again
      offsetMs = 700_000;
      await evaluator.evaluate(); // night-feed opens

      const open = await get();
      assert.equal(open.status, 200);
      assert.deepEqual(open.body.alerts.map((a) => [a.rule, a.state]), [['night-feed', 'open'], ['silence', 'open']]);
      const [night] = open.body.alerts;
      assert.deepEqual(Object.keys(night).sort(), ['channel', 'closedAt', 'id', 'kind', 'message', 'notificationError', 'openedAt', 'rule', 'state', 'threshold', 'value']);
      assert.equal(night.channel, 'alerts-test');
      assert.equal(night.kind, 'silence');
      assert.equal(night.threshold, 600);
      assert.ok(typeof night.value === 'number' && night.value >= 600);
      assert.equal(night.closedAt, null);
      assert.ok(!Number.isNaN(Date.parse(String(night.openedAt))));
      assert.equal(night.notificationError, null);

      // The test's clock jumps back and forth (messages carry real times), so check the order on openedAt.
      const all = await get('?state=all');
      assert.deepEqual(all.body.alerts.map((a) => `${a.rule}:${a.state}`).sort(), ['night-feed:open', 'silence:closed', 'silence:open']);
      const openedAt = all.body.alerts.map((a) => Date.parse(String(a.openedAt)));
      assert.deepEqual(openedAt, [...openedAt].sort((x, y) => y - x), 'newest first');
      const closed = all.body.alerts.find((a) => a.state === 'closed')!;
      assert.ok(!Number.isNaN(Date.parse(String(closed.closedAt))));

      assert.deepEqual((await get('?state=all&channel=other')).body.alerts, []);
      assert.equal((await get('?state=all&channel=alerts-test')).body.alerts.length, 3);
      assert.equal((await get('?state=all&limit=1')).body.alerts.length, 1);
      assert.equal((await get('?channel=')).body.alerts.length, 2, 'an empty channel filter is no filter');
      assert.deepEqual(await get('?state=closed'), { status: 400, body: { error: 'state must be open or all' } });
    });

    it('exports wasl_alerts_open per rule: 1 open, 0 not', async () => {
      const registry = new Registry();
      registerAlertsGauge(registry, evaluator);
      offsetMs = 120_000;
      await evaluator.evaluate();
      const text = await registry.metrics();
      assert.match(text, /^wasl_alerts_open\{channel="alerts-test",rule="silence"\} 1$/m);
      assert.match(text, /^wasl_alerts_open\{channel="alerts-test",rule="night-feed"\} 0$/m);
    });
  });
}

describe('engine/server/alerts-api without a SQL store', () => {
  it('answers 503', async () => {
    const app = express();
    app.use('/api/v1/alerts', alertsRouter(undefined));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/alerts`);
      assert.equal(res.status, 503);
    } finally {
      server.close();
    }
  });
});
