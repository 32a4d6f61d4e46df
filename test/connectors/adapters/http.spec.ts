/**
 * AdapterHttpClient against a tiny HTTP server on loopback that answers whatever each test asks
 * for: retry then success, 4xx not retried, Retry-After, breaker open and half-open, the rate
 * limit under a burst of 1,000 requests, the cache, idempotency keys, timeouts, redirects.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import winston from 'winston';
import { WaslError } from '../../../common/errors';
import { AdapterHttpClient, cacheKeyOf, responseBodyOf, type AdapterHttpOptions } from '../../../connectors/adapters/http';
import type { AdapterCallEvent } from '../../../connectors/adapters/types';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** performance.now() when the request arrived. */
  at: number;
}

type Handler = (req: Seen, res: ServerResponse, n: number) => void;

interface TestServer {
  url: string;
  seen: Seen[];
  handle: Handler;
  close(): Promise<void>;
}

async function startServer(): Promise<TestServer> {
  const state: TestServer = {
    url: '',
    seen: [],
    handle: (_req, res) => json(res, 200, { ok: true }),
    close: async () => undefined,
  };
  const server = http.createServer((raw, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    raw.on('data', (c: Buffer) => chunks.push(c));
    raw.on('end', () => {
      const req = { method: raw.method ?? '', url: raw.url ?? '', headers: raw.headers, body: Buffer.concat(chunks).toString('utf8'), at };
      state.seen.push(req);
      state.handle(req, res, state.seen.length);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function rejection(p: Promise<unknown>): Promise<WaslError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WaslError, `not a WaslError: ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

const quiet = winston.createLogger({ silent: true });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AdapterHttpClient', function () {
  this.timeout(30_000);
  let server: TestServer;
  let events: AdapterCallEvent[];
  const clients: AdapterHttpClient[] = [];

  const client = (opts: Partial<AdapterHttpOptions> = {}) => {
    const c = new AdapterHttpClient({
      adapterId: 'test',
      baseUrl: server.url,
      retry: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 },
      onEvent: (e) => events.push(e),
      logger: quiet,
      ...opts,
    });
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    server = await startServer();
    events = [];
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  it('GETs JSON from baseUrl + path + query and reports the attempt', async () => {
    server.handle = (req, res) => json(res, 200, { url: req.url });
    const c = client();
    const body = await c.getJson<{ url: string }>('/lookup', { operation: 'lookup', query: { number: 1234567893, version: '2.1', skip: undefined, pretty: false } });
    assert.equal(body.url, '/api/lookup?number=1234567893&version=2.1&pretty=false');
    const repeated = await c.getJson<{ url: string }>('/Practitioner?active=true', { operation: 'search', query: { _include: ['PractitionerRole:practitioner', 'PractitionerRole:location'] } });
    assert.equal(repeated.url, '/api/Practitioner?active=true&_include=PractitionerRole%3Apractitioner&_include=PractitionerRole%3Alocation');
    assert.equal(server.seen[0].headers.accept, 'application/json');
    assert.equal(events.length, 2);
    assert.deepEqual({ ...events[0], latencyMs: 0, at: 0 }, { adapter: 'test', operation: 'lookup', outcome: 'ok', latencyMs: 0, status: 200, at: 0 });
  });

  it('retries a 503 and a reset connection, then succeeds', async () => {
    server.handle = (_req, res, n) => {
      if (n === 1) json(res, 503, { error: 'busy' });
      else if (n === 2) res.socket?.destroy();
      else json(res, 200, { ok: n });
    };
    const c = client();
    assert.deepEqual(await c.getJson('/x', { operation: 'read' }), { ok: 3 });
    assert.equal(server.seen.length, 3);
    assert.deepEqual(events.map((e) => [e.outcome, e.code]), [
      ['transient', 'TRANSIENT_ADAPTER_HTTP_503'],
      ['transient', 'TRANSIENT_ADAPTER_UNAVAILABLE'],
      ['ok', undefined],
    ]);
  });

  it('gives up after maxAttempts with the last transient error', async () => {
    server.handle = (_req, res) => json(res, 500, { error: 'broken' });
    const err = await rejection(client().getJson('/x', { operation: 'read' }));
    assert.equal(err.code, 'TRANSIENT_ADAPTER_HTTP_500');
    assert.equal(err.details?.status, 500);
    assert.equal(server.seen.length, 3);
  });

  it('does not retry a 4xx, and keeps body and query values out of the message', async () => {
    server.handle = (_req, res) => json(res, 404, { error: 'no provider named Jane Roe' });
    const err = await rejection(client().getJson('/search', { operation: 'search', query: { last_name: 'Roe', first_name: 'Jane' } }));
    assert.equal(err.code, 'INTEGRATION_ADAPTER_HTTP_404');
    assert.equal(err.kind, 'integration');
    assert.equal(err.details?.status, 404);
    assert.equal(server.seen.length, 1);
    assert.doesNotMatch(err.message, /Roe|Jane/);
    assert.doesNotMatch(JSON.stringify(err.toJSON()), /Roe|Jane/);
    assert.match(responseBodyOf(err) ?? '', /Jane Roe/);
    assert.deepEqual(events.map((e) => e.outcome), ['integration']);
  });

  it('honours Retry-After on 429 and 503', async () => {
    server.handle = (_req, res, n) => {
      if (n === 1) json(res, 429, {}, { 'retry-after': '1' });
      else json(res, 200, { ok: true });
    };
    // random() = 0 would make the jittered backoff 0 ms: any wait seen is Retry-After's.
    const c = client({ random: () => 0 });
    await c.getJson('/x', { operation: 'read' });
    const gap = server.seen[1].at - server.seen[0].at;
    assert.ok(gap >= 950, `second attempt after ${gap} ms`);
  });

  it('does not wait for a Retry-After longer than maxRetryAfterMs: the error carries it', async () => {
    server.handle = (_req, res) => json(res, 503, {}, { 'retry-after': '120' });
    const err = await rejection(client({ retry: { maxAttempts: 3, maxRetryAfterMs: 1000 } }).getJson('/x', { operation: 'read' }));
    assert.equal(err.code, 'TRANSIENT_ADAPTER_HTTP_503');
    assert.equal(err.retryAfterMs, 120_000);
    assert.equal(server.seen.length, 1);
  });

  it('opens the breaker after consecutive transient failures, fails fast, half-opens and closes', async () => {
    let healthy = false;
    server.handle = (_req, res) => (healthy ? json(res, 200, { ok: true }) : json(res, 502, {}));
    const c = client({ retry: { maxAttempts: 1 }, breaker: { threshold: 2, halfOpenAfterMs: 200 } });
    assert.equal(c.breakerState(), 'closed');
    await rejection(c.getJson('/x', { operation: 'read' }));
    assert.equal(c.breakerState(), 'closed');
    await rejection(c.getJson('/x', { operation: 'read' }));
    assert.equal(c.breakerState(), 'open');

    const fast = await rejection(c.getJson('/x', { operation: 'read' }));
    assert.equal(fast.code, 'TRANSIENT_ADAPTER_BREAKER_OPEN');
    assert.ok((fast.retryAfterMs ?? 0) > 0 && (fast.retryAfterMs ?? 0) <= 200);
    assert.equal(server.seen.length, 2, 'no request while open');
    assert.equal(events.at(-1)?.outcome, 'breaker-open');

    await sleep(220);
    assert.equal(c.breakerState(), 'half-open');
    // The test call fails: open again.
    await rejection(c.getJson('/x', { operation: 'read' }));
    assert.equal(c.breakerState(), 'open');
    await sleep(220);
    healthy = true;
    assert.deepEqual(await c.getJson('/x', { operation: 'read' }), { ok: true });
    assert.equal(c.breakerState(), 'closed');
  });

  it('4xx answers do not open the breaker', async () => {
    server.handle = (_req, res) => json(res, 400, {});
    const c = client({ retry: { maxAttempts: 1 }, breaker: { threshold: 2, halfOpenAfterMs: 10_000 } });
    for (let i = 0; i < 4; i++) await rejection(c.getJson('/x', { operation: 'read' }));
    assert.equal(c.breakerState(), 'closed');
  });

  it('rate limit: a burst of 1,000 requests all complete, never more than the limit in any window', async () => {
    const requests = 100;
    const perMs = 200;
    server.handle = (req, res) => setTimeout(() => json(res, 200, { url: req.url }), Math.floor(Math.random() * 5));
    let lowest = Infinity;
    const c: AdapterHttpClient = client({
      rateLimit: { requests, perMs },
      onEvent: (e) => {
        events.push(e);
        lowest = Math.min(lowest, c.rateLimitHeadroom() ?? Infinity);
      },
    });
    assert.equal(c.rateLimitHeadroom(), requests);
    const started = performance.now();
    const all = Array.from({ length: 1000 }, (_, i) => c.getJson<{ url: string }>('/lookup', { operation: 'lookup', query: { n: i } }));
    const answers = await Promise.all(all);
    assert.equal(answers.length, 1000);
    assert.equal(new Set(answers.map((a) => a.url)).size, 1000);
    assert.equal(server.seen.length, 1000);
    // Sliding window over arrival times: the (i + requests)-th arrival is at least perMs after the i-th.
    const times = server.seen.map((s) => s.at).sort((a, b) => a - b);
    for (let i = 0; i + requests < times.length; i++) {
      assert.ok(times[i + requests] - times[i] >= perMs, `${requests + 1} requests within ${times[i + requests] - times[i]} ms at ${i}`);
    }
    assert.ok(performance.now() - started >= 9 * perMs);
    assert.ok(events.every((e) => e.outcome === 'ok'));
    assert.ok(lowest < requests / 2, `headroom went down to ${lowest}`);
    await sleep(perMs + 50);
    assert.equal(c.rateLimitHeadroom(), requests);
  });

  it('caches GETs for ttlMs: hit, miss, expiry, cacheKey, bypass, concurrent requests shared', async () => {
    let n = 0;
    server.handle = (_req, res) => json(res, 200, { n: ++n });
    const c = client({ cache: { ttlMs: 150 } });
    const a = await c.getJson<{ n: number }>('/npi', { operation: 'lookup', query: { b: 2, a: 1 } });
    const b = await c.getJson<{ n: number }>('/npi', { operation: 'lookup', query: { a: 1, b: 2 } });
    assert.deepEqual([a.n, b.n], [1, 1]);
    b.n = 99; // callers get their own copies
    assert.equal((await c.getJson<{ n: number }>('/npi', { operation: 'lookup', query: { a: 1, b: 2 } })).n, 1);
    assert.deepEqual(c.cacheStats(), { hits: 2, misses: 1, size: 1 });
    assert.deepEqual(events.map((e) => e.outcome), ['ok', 'cached', 'cached']);

    assert.equal((await c.getJson<{ n: number }>('/npi', { operation: 'lookup', query: { a: 1 }, cacheKey: false })).n, 2);
    assert.equal((await c.getJson<{ n: number }>('/other', { operation: 'lookup', cacheKey: 'npi:1' })).n, 3);
    assert.equal((await c.getJson<{ n: number }>('/elsewhere', { operation: 'lookup', cacheKey: 'npi:1' })).n, 3);

    await sleep(200);
    assert.equal((await c.getJson<{ n: number }>('/npi', { operation: 'lookup', query: { a: 1, b: 2 } })).n, 4, 'expired after ttl');

    const seenBefore = server.seen.length;
    const together = await Promise.all(Array.from({ length: 10 }, () => c.getJson<{ n: number }>('/same', { operation: 'lookup' })));
    assert.equal(server.seen.length, seenBefore + 1);
    assert.ok(together.every((t) => t.n === 5));
    assert.equal(cacheKeyOf('/p', { z: 1, a: 'x y', u: undefined, i: ['b', 'a'] }), '/p?a=x+y&i=b&i=a&z=1');
  });

  it('does not cache failures or when ttlMs is 0', async () => {
    server.handle = (_req, res, n) => (n === 1 ? json(res, 404, {}) : json(res, 200, { n }));
    const c = client({ cache: { ttlMs: 10_000 } });
    await rejection(c.getJson('/x', { operation: 'read' }));
    assert.deepEqual(await c.getJson('/x', { operation: 'read' }), { n: 2 });
    const d = client({ cache: { ttlMs: 0 } });
    await d.getJson('/x', { operation: 'read' });
    await d.getJson('/x', { operation: 'read' });
    assert.equal(server.seen.length, 4);
    assert.deepEqual(d.cacheStats(), { hits: 0, misses: 0, size: 0 });
  });

  it('sends the idempotency key and reuses it on a retry; a POST without one is not retried after a 500', async () => {
    server.handle = (_req, res, n) => (n === 1 ? json(res, 500, {}) : json(res, 201, { created: true }));
    const c = client();
    const created = await c.sendJson<{ created: boolean }>('POST', '/roster', { npi: '1234567893' }, { operation: 'roster-add', idempotencyKey: 'batch-42' });
    assert.deepEqual(created, { created: true });
    assert.deepEqual(server.seen.map((s) => [s.method, s.headers['idempotency-key'], s.headers['content-type'], s.body]), [
      ['POST', 'batch-42', 'application/json', '{"npi":"1234567893"}'],
      ['POST', 'batch-42', 'application/json', '{"npi":"1234567893"}'],
    ]);

    server.seen.length = 0;
    server.handle = (_req, res) => json(res, 500, {});
    const err = await rejection(c.sendJson('POST', '/roster', { npi: '1' }, { operation: 'roster-add' }));
    assert.equal(err.code, 'TRANSIENT_ADAPTER_HTTP_500');
    assert.equal(server.seen.length, 1);

    // ...but after a 503 the server did not process it, so it is resent.
    server.seen.length = 0;
    server.handle = (_req, res, n) => (n === 1 ? json(res, 503, {}) : res.writeHead(204).end());
    assert.equal(await c.sendJson('POST', '/roster', { npi: '1' }, { operation: 'roster-add' }), undefined);
    assert.equal(server.seen.length, 2);
  });

  it('PUT and DELETE are retried; headers merge with default headers', async () => {
    server.handle = (_req, res, n) => (n === 1 ? json(res, 502, {}) : json(res, 200, { ok: true }));
    const c = client({ defaultHeaders: async () => ({ authorization: 'Basic abc', 'x-a': '1' }) });
    await c.sendJson('PUT', '/p/1', { a: 1 }, { operation: 'update', headers: { 'x-a': '2' } });
    assert.equal(server.seen.length, 2);
    assert.equal(server.seen[1].headers.authorization, 'Basic abc');
    assert.equal(server.seen[1].headers['x-a'], '2');
  });

  it('times out a slow answer as TRANSIENT_ADAPTER_TIMEOUT', async () => {
    server.handle = (_req, res) => setTimeout(() => json(res, 200, {}), 1000);
    const c = client({ timeoutMs: 100, retry: { maxAttempts: 1 } });
    const started = performance.now();
    const err = await rejection(c.getJson('/slow', { operation: 'read' }));
    assert.equal(err.code, 'TRANSIENT_ADAPTER_TIMEOUT');
    assert.ok(performance.now() - started < 800);
    assert.equal(events[0].outcome, 'transient');
    assert.ok(events[0].latencyMs >= 90);
  });

  it('a body that is not JSON is transient; a refused connection is TRANSIENT_ADAPTER_UNAVAILABLE', async () => {
    server.handle = (_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>maintenance</html>');
    assert.equal((await rejection(client({ retry: { maxAttempts: 1 } }).getJson('/x', { operation: 'read' }))).code, 'TRANSIENT_ADAPTER_BAD_RESPONSE');
    const url = server.url;
    await server.close();
    const err = await rejection(client({ baseUrl: url, retry: { maxAttempts: 1 } }).getJson('/x', { operation: 'read' }));
    assert.equal(err.code, 'TRANSIENT_ADAPTER_UNAVAILABLE');
    assert.equal(err.details?.code, 'ECONNREFUSED');
  });

  it('follows same-origin redirects and absolute same-origin URLs; refuses other origins', async () => {
    server.handle = (req, res) => {
      if (req.url === '/api/old') res.writeHead(301, { location: '/api/new' }).end();
      else if (req.url === '/api/away') res.writeHead(302, { location: 'http://example.invalid/x' }).end();
      else json(res, 200, { url: req.url });
    };
    const c = client();
    assert.deepEqual(await c.getJson('/old', { operation: 'read' }), { url: '/api/new' });
    assert.deepEqual(await c.getJson(`${server.url}/page?_getpages=abc`, { operation: 'next-page' }), { url: '/api/page?_getpages=abc' });
    assert.equal((await rejection(c.getJson('/away', { operation: 'read' }))).code, 'INTEGRATION_ADAPTER_HTTP_302');
    const foreign = await rejection(c.getJson('http://example.invalid/x', { operation: 'next-page' }));
    assert.equal(foreign.code, 'VALIDATION_ADAPTER_FOREIGN_URL');
    assert.equal(events.at(-1)?.outcome, 'validation');
  });

  it('close() rejects queued and in-flight calls with TRANSIENT_ADAPTER_CLOSED and is safe twice', async () => {
    server.handle = (_req, res) => setTimeout(() => json(res, 200, {}), 500);
    const c = client({ rateLimit: { requests: 1, perMs: 10_000 } });
    const first = rejection(c.getJson('/a', { operation: 'read' }));
    const queued = rejection(c.getJson('/b', { operation: 'read' }));
    await sleep(50);
    await c.close();
    await c.close();
    assert.equal((await first).code, 'TRANSIENT_ADAPTER_CLOSED');
    assert.equal((await queued).code, 'TRANSIENT_ADAPTER_CLOSED');
    assert.equal((await rejection(c.getJson('/c', { operation: 'read' }))).code, 'TRANSIENT_ADAPTER_CLOSED');
  });

  it('refuses a base URL that is not http(s)', () => {
    assert.throws(() => new AdapterHttpClient({ adapterId: 'x', baseUrl: 'ftp://a' }), /VALIDATION_ADAPTER_BASE_URL|base URL/);
  });
});
