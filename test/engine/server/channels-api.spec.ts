/**
 * `/api/v1/channels` (engine/server/channels-api.ts) and `/metrics` over a real channel (MLLP in,
 * two embedded queues, MLLP out to a real receiver), the real store and the real audit log: the
 * list and detail fields of docs/operations.md, start / pause / stop with their audit entries,
 * and the metric names the issue asks for.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import helper from 'node-red-node-test-helper';
import { KnexAuditLog } from '../../../engine/audit/audit-log';
import type { ChannelConfig } from '../../../engine/channels/load';
import { EngineMetrics } from '../../../engine/runtime/metrics';
import { registerQueueGauges } from '../../../engine/runtime/queue-gauges';
import { apiRouter } from '../../../engine/server/api';
import { KnexMessageStore } from '../../../engine/store/knex-store';
import { channelFlow, refused, sendEach, startReceiver, type Receiver } from '../../support/mllp-channel';
import { startNodeRuntime, stopNodeRuntime, waitFor, type NodeRuntime } from '../../support/node-runtime';
import { freePort } from '../../support/ports';
import mllpIn = require('../../../nodes/mllp-in/mllp-in');
import queueNode = require('../../../nodes/queue/queue');
import routerNode = require('../../../nodes/router/router');
import mllpOut = require('../../../nodes/mllp-out/mllp-out');

helper.init(require.resolve('node-red'));

const NODES = [mllpIn, queueNode, routerNode, mllpOut];

interface ChannelSummary {
  id: string;
  state: string;
  received: number;
  sent: number;
  queued: number;
  queues: Record<string, { ready: number; delayed: number; dead: number }>;
  queueDepth: number;
  oldestQueuedAgeSeconds: number | null;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null };
  throughput: number[];
  lastError?: { code: string; stage?: string; at: string };
  circuit: Record<string, string>;
}

interface ChannelDetail extends ChannelSummary {
  series: { bucketSeconds: number; startedAt: string; received: number[]; sent: number[]; errored: number[]; filtered: number[] };
  stageCounts: Record<string, number>;
  destinations: Array<{ name: string; queue: { ready: number; delayed: number; dead: number; oldestAgeSeconds: number | null }; retry: Record<string, number>; circuit: string | null }>;
}

describe('engine/server/channels-api', function () {
  this.timeout(30_000);
  let h: NodeRuntime;
  let rx: Receiver;
  let api: http.Server;
  let base: string;
  let mllpPort: number;
  let audit: KnexAuditLog;
  const channel = 'ch';

  beforeEach(async () => {
    mllpPort = await freePort();
    rx = await startReceiver();
    h = await startNodeRuntime('channels-api');
    audit = new KnexAuditLog((h.runtime.store as KnexMessageStore).knex);
    h.runtime.audit = audit;
    const channels = [
      { id: channel, name: 'Lab feed', source: { type: 'mllp', port: mllpPort }, destinations: { lab: { type: 'mllp', host: '127.0.0.1', port: rx.port, retry: { maxAttempts: 3 } } } },
      { id: 'off', name: 'Switched off', enabled: false, source: { type: 'mllp', port: 1 }, destinations: { x: { type: 'mllp', host: '127.0.0.1', port: 1 } } },
    ] as unknown as ChannelConfig[];
    registerQueueGauges(h.runtime.metrics, h.runtime, channels);
    const app = express();
    app.use('/api/v1', apiRouter({ runtime: h.runtime, channels: () => channels, ready: () => true, mode: 'embedded', startedAt: new Date() }));
    app.get('/metrics', async (_req, res) => {
      res.type('text/plain').send(await h.runtime.metrics.registry.metrics());
    });
    api = http.createServer(app);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    await helper.load(NODES, channelFlow(channel, mllpPort, rx.port, { maxAttempts: 3 }) as never);
    await waitFor(() => h.runtime.channelHealth.get(channel)?.state === 'running');
  });

  afterEach(async () => {
    await new Promise((resolve) => api.close(resolve));
    await stopNodeRuntime(h);
    await rx.close();
  });

  const get = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as T };
  };
  const post = async (path: string) => {
    const res = await fetch(`${base}${path}`, { method: 'POST' });
    return { status: res.status, body: (await res.json()) as { id?: string; state?: string; error?: string } };
  };
  const list = async () => (await get<{ channels: ChannelSummary[] }>('/api/v1/channels')).body.channels;

  it('lists each channel with state, counters, queues, depth, oldest age, latency, throughput', async () => {
    await sendEach(mllpPort, ['A1', 'A2', 'A3']);
    // The store says SENT before the destination queue acks; throughput counts at the ack.
    const done = (c: ChannelSummary) => c.sent === 3 && c.throughput.reduce((a, b) => a + b, 0) === 3;
    await waitFor(async () => done((await list())[0]));
    const [c, off] = await list();
    assert.equal(c.id, channel);
    assert.equal(c.state, 'running');
    assert.equal(c.received, 3);
    assert.deepEqual(Object.keys(c.queues), ['ch.in', 'ch.dest.lab']);
    assert.equal(c.queueDepth, 0);
    assert.equal(c.oldestQueuedAgeSeconds, null, 'nothing waits');
    assert.equal(typeof c.latencyMs.p50, 'number');
    assert.ok((c.latencyMs.p99 ?? 0) >= (c.latencyMs.p50 ?? 0));
    assert.equal(c.throughput.length, 30);
    assert.equal(c.throughput.reduce((a, b) => a + b, 0), 3);
    assert.equal(c.lastError, undefined);
    assert.deepEqual(c.circuit, {});
    assert.equal(off.state, 'disabled');
  });

  it('shows one channel with its last hour, counts per status and destinations', async () => {
    await sendEach(mllpPort, ['B1', 'B2']);
    await waitFor(async () => (await list())[0].throughput.reduce((x, y) => x + y, 0) === 2);
    const { status, body } = await get<ChannelDetail>(`/api/v1/channels/${channel}`);
    assert.equal(status, 200);
    assert.equal(body.state, 'running');
    assert.equal(body.series.bucketSeconds, 10);
    assert.equal(body.series.received.length, 360);
    assert.equal(body.series.received.reduce((a, b) => a + b, 0), 2);
    assert.equal(body.series.sent.reduce((a, b) => a + b, 0), 2);
    assert.ok(Date.now() - new Date(body.series.startedAt).getTime() >= 3590_000);
    assert.deepEqual(body.stageCounts, { RECEIVED: 0, FILTERED: 0, TRANSFORMED: 0, QUEUED: 0, SENT: 2, ERROR: 0 });
    assert.deepEqual(body.destinations, [
      { name: 'lab', type: 'mllp', queue: { ready: 0, delayed: 0, dead: 0, oldestAgeSeconds: null }, retry: { maxAttempts: 3, initialDelayMs: 1000, maxDelayMs: 60000 }, circuit: null },
    ]);
    assert.equal((await get('/api/v1/channels/nope')).status, 404);
  });

  it('shows the age of the oldest waiting message and the last error while the destination is down', async () => {
    await rx.close();
    await sendEach(mllpPort, ['C1']);
    await waitFor(async () => (await list())[0].lastError?.code === 'TRANSIENT_MLLP_UNAVAILABLE');
    const { body } = await get<ChannelDetail>(`/api/v1/channels/${channel}`);
    assert.equal(body.lastError?.stage, 'dest.lab');
    assert.equal(typeof body.oldestQueuedAgeSeconds, 'number');
    assert.equal(typeof body.destinations[0].queue.oldestAgeSeconds, 'number');
    assert.equal(body.stageCounts.QUEUED, 1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /wasl_destination_errors_total\{channel="ch",destination="lab",kind="transient"\} [1-9]/);
    assert.match(metrics, /wasl_queue_oldest_age_seconds\{queue="ch.dest.lab"\} \d/);
  });

  it('pauses, stops and starts a channel, answering {id, state}, and audits each', async () => {
    assert.deepEqual((await post(`/api/v1/channels/${channel}/pause`)).body, { id: channel, state: 'paused' });
    assert.equal((await list())[0].state, 'paused');
    assert.equal(await refused(mllpPort), true);
    assert.deepEqual((await post(`/api/v1/channels/${channel}/stop`)).body, { id: channel, state: 'stopped' });
    assert.deepEqual((await post(`/api/v1/channels/${channel}/start`)).body, { id: channel, state: 'running' });
    await waitFor(async () => !(await refused(mllpPort)));
    const entries = (await audit.list({ target: channel })).reverse();
    assert.deepEqual(
      entries.map((e) => [e.actor, e.action, e.target, e.detail?.previous]),
      [
        ['anonymous', 'channel.pause', channel, 'running'],
        ['anonymous', 'channel.stop', channel, 'paused'],
        ['anonymous', 'channel.start', channel, 'stopped'],
      ],
    );
    assert.match(entries[0].from ?? '', /127\.0\.0\.1/);
    assert.equal((await post('/api/v1/channels/nope/stop')).status, 404);
    assert.equal((await post('/api/v1/channels/off/start')).status, 409);
    assert.equal((await fetch(`${base}/api/v1/channels/${channel}/restart`, { method: 'POST' })).status, 404);
  });

  it('exports the metrics the ops issue lists, with Prometheus names', async () => {
    await sendEach(mllpPort, ['D1']);
    const scrape = async () => (await fetch(`${base}/metrics`)).text();
    await waitFor(async () => (await scrape()).includes('wasl_end_to_end_latency_seconds_count{channel="ch"} 1'));
    const text = await scrape();
    for (const name of [
      'wasl_messages_total{channel="ch",outcome="received"} 1',
      'wasl_messages_total{channel="ch",outcome="sent"} 1',
      'wasl_stage_messages_total{channel="ch",stage="source",status="received"} 1',
      'wasl_stage_messages_total{channel="ch",stage="in",status="done"} 1',
      'wasl_stage_messages_total{channel="ch",stage="dest.lab",status="done"} 1',
      'wasl_stage_latency_seconds_bucket{le="0.001",channel="ch",stage="dest.lab"}',
      'wasl_end_to_end_latency_seconds_count{channel="ch"} 1',
      'wasl_ack_latency_seconds_count{channel="ch",code="AA"} 1',
      'wasl_destination_latency_seconds_count{channel="ch",destination="lab",result="ok"} 1',
      'wasl_queue_depth{queue="ch.dest.lab",state="ready"} 0',
      'wasl_queue_oldest_age_seconds{queue="ch.in"} 0',
      '# TYPE wasl_destination_errors_total counter',
      '# TYPE wasl_fhir_circuit_state gauge',
      '# TYPE wasl_adapter_circuit_state gauge',
    ]) {
      assert.ok(text.includes(name), `${name} missing from /metrics`);
    }
    // Process metrics come with the engine's registry (the node runtime leaves them out).
    const engine = await new EngineMetrics().registry.metrics();
    assert.match(engine, /^wasl_process_cpu_user_seconds_total /m);
    assert.match(engine, /^wasl_nodejs_eventloop_lag_seconds /m);
  });
});
