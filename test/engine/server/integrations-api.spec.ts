/**
 * `/api/v1/integrations`: the health figures of a fake adapter fed with call events, its check,
 * the same figures as Prometheus lines, and the ops page's Integrations section.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import vm from 'node:vm';
import express from 'express';
import winston from 'winston';
import type { Adapter, AdapterCallEvent } from '../../../connectors/adapters/types';
import { AdapterRegistry } from '../../../engine/providers/registry';
import { EngineMetrics } from '../../../engine/runtime/metrics';
import { integrationsRouter, type IntegrationHealth } from '../../../engine/server/integrations-api';
import { channelsPage } from '../../../engine/server/pages/channels-page';

describe('API: /api/v1/integrations', () => {
  let api: http.Server;
  let base: string;
  let metrics: EngineMetrics;
  let registry: AdapterRegistry;
  let breaker: 'closed' | 'open' | 'half-open';
  let checks: number;

  const fake = (id: string, extra: Partial<Adapter> = {}): Adapter => ({
    id,
    kind: 'nppes',
    operations: ['lookup', 'search'],
    healthCheck: async () => {
      checks++;
      return { status: 'up', latencyMs: 12 };
    },
    breakerState: () => breaker,
    rateLimitHeadroom: () => 180,
    cacheStats: () => ({ hits: 7, misses: 3, size: 3 }),
    close: async () => undefined,
    ...extra,
  });

  const event = (outcome: AdapterCallEvent['outcome'], latencyMs: number, code?: string): AdapterCallEvent => ({
    adapter: 'nppes',
    operation: 'lookup',
    outcome,
    latencyMs,
    at: Date.now(),
    ...(code ? { code } : {}),
  });

  before(async () => {
    breaker = 'closed';
    checks = 0;
    metrics = new EngineMetrics({ defaultMetrics: false });
    registry = new AdapterRegistry({ metrics, logger: winston.createLogger({ silent: true }) });
    registry.register(fake('nppes'));
    registry.register(
      fake('caqh', {
        kind: 'caqh',
        operations: ['status'],
        rateLimitHeadroom: () => undefined,
        cacheStats: undefined,
        healthCheck: async () => {
          throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
        },
      }),
    );
    for (let ms = 1; ms <= 99; ms++) registry.onEvent(event('ok', ms));
    registry.onEvent(event('transient', 100, 'TRANSIENT_ADAPTER_HTTP_503'));
    for (let i = 0; i < 10; i++) registry.onEvent(event('cached', 0.01));

    const app = express();
    app.use('/api/v1/integrations', integrationsRouter(() => registry));
    app.get('/metrics', async (_req, res) => {
      res.set('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics());
    });
    api = http.createServer(app);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });

  after(async () => {
    await registry.closeAll();
    api?.closeAllConnections();
    await new Promise((resolve) => api?.close(resolve));
  });

  const health = async (): Promise<IntegrationHealth[]> => {
    const res = await fetch(`${base}/api/v1/integrations/health`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { adapters: IntegrationHealth[] }).adapters;
  };

  it('GET /health answers the figures of every adapter', async () => {
    const [nppes, caqh] = await health();
    assert.deepEqual(
      { ...nppes, latencyMs: undefined, lastError: { ...nppes.lastError, at: undefined } },
      {
        id: 'nppes',
        kind: 'nppes',
        operations: ['lookup', 'search'],
        status: 'degraded',
        availability: { hour: 0.9909, day: 0.9909 },
        latencyMs: undefined,
        lastError: { code: 'TRANSIENT_ADAPTER_HTTP_503', at: undefined },
        circuit: 'closed',
        rateLimitHeadroom: 180,
        cache: { hits: 7, misses: 3, size: 3 },
        calls: {
          hour: { ok: 99, cached: 10, transient: 1, integration: 0, validation: 0, 'breaker-open': 0 },
          day: { ok: 99, cached: 10, transient: 1, integration: 0, validation: 0, 'breaker-open': 0 },
        },
      },
    );
    assert.ok(Math.abs(Date.parse(nppes.lastError!.at) - Date.now()) < 10_000);
    const near = (actual: number | null, expected: number) => assert.ok(actual !== null && Math.abs(actual - expected) / expected <= 0.06, `${actual} vs ${expected}`);
    near(nppes.latencyMs.p50, 50);
    near(nppes.latencyMs.p95, 95);
    near(nppes.latencyMs.p99, 99);

    assert.deepEqual(caqh, {
      id: 'caqh',
      kind: 'caqh',
      operations: ['status'],
      status: 'up',
      availability: { hour: null, day: null },
      latencyMs: { p50: null, p95: null, p99: null },
      lastError: null,
      circuit: 'closed',
      rateLimitHeadroom: null,
      cache: null,
      calls: {
        hour: { ok: 0, cached: 0, transient: 0, integration: 0, validation: 0, 'breaker-open': 0 },
        day: { ok: 0, cached: 0, transient: 0, integration: 0, validation: 0, 'breaker-open': 0 },
      },
    });
  });

  it('an open breaker shows as down with circuit open', async () => {
    breaker = 'open';
    try {
      const [nppes] = await health();
      assert.equal(nppes.status, 'down');
      assert.equal(nppes.circuit, 'open');
    } finally {
      breaker = 'closed';
    }
  });

  it('POST /:id/check runs healthCheck(); a throwing check is down with its code; unknown id is 404', async () => {
    const ok = await fetch(`${base}/api/v1/integrations/nppes/check`, { method: 'POST' });
    assert.deepEqual(await ok.json(), { id: 'nppes', status: 'up', latencyMs: 12 });
    assert.equal(checks, 1);
    const failing = (await (await fetch(`${base}/api/v1/integrations/caqh/check`, { method: 'POST' })).json()) as Record<string, unknown>;
    assert.equal(failing.status, 'down');
    assert.equal(failing.detail, 'TRANSIENT_ECONNREFUSED');
    const missing = await fetch(`${base}/api/v1/integrations/nope/check`, { method: 'POST' });
    assert.equal(missing.status, 404);
  });

  it('GET /health with no registry answers an empty list', async () => {
    const app = express();
    app.use('/i', integrationsRouter(() => undefined));
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/i/health`);
      assert.deepEqual(await res.json(), { adapters: [] });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('exports the same figures as Prometheus metrics', async () => {
    breaker = 'half-open';
    try {
      const text = await (await fetch(`${base}/metrics`)).text();
      assert.match(text, /^wasl_adapter_calls_total\{adapter="nppes",operation="lookup",outcome="ok"\} 99$/m);
      assert.match(text, /^wasl_adapter_calls_total\{adapter="nppes",operation="lookup",outcome="transient"\} 1$/m);
      assert.match(text, /^wasl_adapter_calls_total\{adapter="nppes",operation="lookup",outcome="cached"\} 10$/m);
      assert.match(text, /^wasl_adapter_call_duration_seconds_count\{adapter="nppes",operation="lookup"\} 100$/m);
      assert.match(text, /^wasl_adapter_call_duration_seconds_bucket\{le="0.05",adapter="nppes",operation="lookup"\} 50$/m);
      assert.match(text, /^wasl_adapter_circuit_state\{adapter="nppes"\} 1$/m);
      assert.match(text, /^wasl_adapter_circuit_state\{adapter="caqh"\} 1$/m);
      assert.match(text, /^wasl_adapter_rate_limit_headroom\{adapter="nppes"\} 180$/m);
      assert.doesNotMatch(text, /wasl_adapter_rate_limit_headroom\{adapter="caqh"\}/);
    } finally {
      breaker = 'closed';
    }
  });

  it('the ops page has an Integrations section reading the API, with a script that parses', () => {
    const page = channelsPage().html;
    assert.match(page, /<h2>Integrations<\/h2>/);
    assert.match(page, /\/api\/v1\/integrations\/health/);
    assert.doesNotMatch(page, /<script src=|<link [^>]*href="http/);
    const script = /<script>([\s\S]*)<\/script>/.exec(page)?.[1] ?? '';
    assert.doesNotThrow(() => new vm.Script(script));
  });
});
