/**
 * HealthWindow: availability over hour and day, latency percentiles, last error, calls per
 * outcome and the up / degraded / down rules, with the clock passed in.
 */
import assert from 'node:assert/strict';
import { HealthWindow } from '../../../connectors/adapters/health-window';
import type { AdapterCallEvent } from '../../../connectors/adapters/types';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const MIN = 60_000;

function event(outcome: AdapterCallEvent['outcome'], at: number, latencyMs = 10, code?: string): AdapterCallEvent {
  return { adapter: 'nppes', operation: 'lookup', outcome, latencyMs, at, ...(code ? { code } : {}) };
}

describe('HealthWindow', () => {
  it('an adapter without calls is up with null figures', () => {
    const f = new HealthWindow().figures('nppes', T0);
    assert.equal(f.status, 'up');
    assert.deepEqual(f.availability, { hour: null, day: null });
    assert.deepEqual(f.latencyMs, { p50: null, p95: null, p99: null });
    assert.equal(f.lastError, null);
    assert.equal(f.calls.day.ok, 0);
  });

  it('availability counts ok + cached over all outcomes, per hour and per day', () => {
    const w = new HealthWindow();
    // Three hours ago: 10 calls, 5 failed. In the last hour: 98 ok, 1 cached, 1 integration.
    for (let i = 0; i < 5; i++) w.record(event('ok', T0 - 3 * 60 * MIN));
    for (let i = 0; i < 5; i++) w.record(event('transient', T0 - 3 * 60 * MIN, 10, 'TRANSIENT_ADAPTER_HTTP_503'));
    for (let i = 0; i < 98; i++) w.record(event('ok', T0 - 30 * MIN + i * 1000));
    w.record(event('cached', T0 - 10 * MIN, 0));
    w.record(event('integration', T0 - 20 * MIN, 10, 'INTEGRATION_ADAPTER_HTTP_404'));
    const f = w.figures('nppes', T0);
    assert.equal(f.availability.hour, 0.99);
    assert.equal(f.availability.day, Math.round((104 / 110) * 10_000) / 10_000);
    assert.deepEqual(f.calls.hour, { ok: 98, cached: 1, transient: 0, integration: 1, validation: 0, 'breaker-open': 0 });
    assert.deepEqual(f.calls.day, { ok: 103, cached: 1, transient: 5, integration: 1, validation: 0, 'breaker-open': 0 });
    assert.deepEqual(f.lastError, { code: 'INTEGRATION_ADAPTER_HTTP_404', at: new Date(T0 - 20 * MIN).toISOString() });
    assert.equal(f.status, 'up', '99 % is enough and the last error is 20 minutes old');
  });

  it('forgets calls older than a day and slots reused by a newer minute', () => {
    const w = new HealthWindow();
    w.record(event('transient', T0 - 25 * 60 * MIN));
    w.record(event('ok', T0 - 1 * MIN));
    const f = w.figures('nppes', T0);
    assert.equal(f.calls.day.transient, 0);
    assert.equal(f.availability.day, 1);
    // A much later event in the same ring slot replaces it; the stale one is not counted later.
    w.record(event('ok', T0 + 24 * 60 * MIN - 1 * MIN));
    assert.equal(w.figures('nppes', T0 + 24 * 60 * MIN).calls.day.ok, 1);
    // An event older than what the slot holds is dropped.
    w.record(event('transient', T0 - 1 * MIN));
    assert.equal(w.figures('nppes', T0 + 24 * 60 * MIN).calls.day.transient, 0);
  });

  it('latency percentiles over the last hour, cached calls and older calls excluded', () => {
    const w = new HealthWindow();
    for (let ms = 1; ms <= 100; ms++) w.record(event('ok', T0 - 5 * MIN, ms));
    for (let i = 0; i < 500; i++) w.record(event('cached', T0 - 5 * MIN, 0.01));
    w.record(event('ok', T0 - 2 * 60 * MIN, 50_000));
    const { p50, p95, p99 } = w.figures('nppes', T0).latencyMs;
    const near = (actual: number | null, expected: number) => assert.ok(actual !== null && Math.abs(actual - expected) / expected <= 0.06, `${actual} vs ${expected}`);
    near(p50, 50);
    near(p95, 95);
    near(p99, 99);
    assert.ok((p99 ?? 0) <= 100, 'clamped to the largest latency seen');
  });

  it('a single latency is reported exactly', () => {
    const w = new HealthWindow();
    w.record(event('ok', T0, 123.4));
    assert.deepEqual(w.figures('nppes', T0).latencyMs, { p50: 123.4, p95: 123.4, p99: 123.4 });
  });

  it('degraded: an error within 5 minutes, or hourly availability under 99 %', () => {
    const w = new HealthWindow();
    for (let i = 0; i < 50; i++) w.record(event('ok', T0 - 10 * MIN));
    w.record(event('transient', T0 - 2 * MIN, 10, 'TRANSIENT_ADAPTER_TIMEOUT'));
    assert.equal(w.figures('nppes', T0).status, 'degraded');
    // Six minutes later the error is old, but 1 in 51 failed: availability 98 %.
    assert.equal(w.figures('nppes', T0 + 4 * MIN).availability.hour, 0.9804);
    assert.equal(w.figures('nppes', T0 + 4 * MIN).status, 'degraded');
    for (let i = 0; i < 100; i++) w.record(event('ok', T0 + 3 * MIN));
    assert.equal(w.figures('nppes', T0 + 4 * MIN).status, 'up');
  });

  it('down: the last N calls failed (cache hits and refused input skipped), or the breaker is open', () => {
    const w = new HealthWindow({ downAfterFailures: 3 });
    w.record(event('ok', T0));
    w.record(event('transient', T0));
    w.record(event('cached', T0));
    w.record(event('transient', T0));
    w.record(event('validation', T0));
    assert.equal(w.figures('nppes', T0).status, 'degraded');
    w.record(event('breaker-open', T0, 0, 'TRANSIENT_ADAPTER_BREAKER_OPEN'));
    const down = w.figures('nppes', T0);
    assert.equal(down.status, 'down');
    assert.equal(down.consecutiveFailures, 3);
    assert.equal(down.lastError?.code, 'TRANSIENT_ADAPTER_BREAKER_OPEN');
    w.record(event('integration', T0));
    assert.equal(w.figures('nppes', T0).consecutiveFailures, 0, 'a 4xx answer means it is there');

    let breaker: 'closed' | 'open' | 'half-open' = 'open';
    w.watchBreaker('nppes', () => breaker);
    assert.equal(w.figures('nppes', T0 + 60 * MIN).status, 'down');
    breaker = 'half-open';
    assert.equal(w.figures('nppes', T0 + 60 * MIN).status, 'degraded');
    breaker = 'closed';
    assert.equal(w.figures('nppes', T0 + 120 * MIN).status, 'up');
  });

  it('keeps adapters apart and forgets one on request', () => {
    const w = new HealthWindow();
    w.record(event('ok', T0));
    w.record({ ...event('transient', T0), adapter: 'caqh' });
    assert.deepEqual(w.adapters().sort(), ['caqh', 'nppes']);
    assert.equal(w.figures('nppes', T0).calls.hour.transient, 0);
    w.forget('caqh');
    assert.deepEqual(w.adapters(), ['nppes']);
  });

  it('records 100,000 events cheaply', () => {
    const w = new HealthWindow();
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) w.record(event(i % 100 === 0 ? 'transient' : 'ok', T0 - (i % 1440) * MIN, i % 250));
    const f = w.figures('nppes', T0);
    assert.equal(f.calls.day.ok + f.calls.day.transient, 100_000);
    assert.ok(performance.now() - started < 1000);
  });
});
