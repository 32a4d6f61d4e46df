/**
 * NppesAdapter against the NPPES simulator over HTTP on loopback: lookup and search with the v2.1
 * parameters (version=2.1 always), criteria NPPES would refuse refused before any request, the
 * Errors answer as an IntegrationError, paging (and the 1,200-record ceiling), the response cache
 * (one request for two lookups), the rate limiter under a burst of 1,000 lookups (no window over
 * the limit at the simulator, all complete), retries of 5xx/429, timeouts, the health check.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IntegrationError, TransientError, ValidationError } from '../../../common/errors';
import type { AdapterCallEvent } from '../../../connectors/adapters/types';
import { NppesAdapter, buildSearchQuery, createNppesAdapter, nppesAdapterFactory, criteriaFromInput, nppesRequest, splitNppesUrl, type NppesAdapterSettings } from '../../../connectors/nppes/client';
import { withCheckDigit } from '../../../connectors/nppes/npi';
import { registerBuiltinAdapterKinds } from '../../../engine/providers/kinds';
import { adapterRegistryFromFile } from '../../../engine/providers/registry';
import { fixtureRecords, startNppesSimulator, type NppesSimulator } from '../../simulators/nppes/server';

const NPI1 = '1114920071'; // BOB ABERNATHY, Family Medicine, CORDELL OK
const NPI2 = '1568946812'; // CSP ANESTHESIA LLC, GA
const FAST_RETRY = { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 20 };

describe('connectors/nppes NppesAdapter (simulator)', function () {
  this.timeout(60_000);
  let sim: NppesSimulator;
  const adapters: NppesAdapter[] = [];
  const adapter = (s: NppesAdapterSettings = {}) => {
    const a = createNppesAdapter({ baseUrl: sim.url, retry: FAST_RETRY, ...s });
    adapters.push(a);
    return a;
  };

  beforeEach(async () => {
    sim = await startNppesSimulator();
  });
  afterEach(async () => {
    await Promise.all(adapters.splice(0).map((a) => a.close()));
    await sim.close();
  });

  describe('lookup', () => {
    it('finds an NPI-1 and an NPI-2 by number, always asking version=2.1', async () => {
      const a = adapter();
      const p = await a.lookup(NPI1);
      assert.equal(p?.kind, 'individual');
      assert.equal(p?.individual?.last, 'ABERNATHY');
      const o = await a.lookup(NPI2);
      assert.equal(o?.organization?.name, 'CSP ANESTHESIA LLC');
      assert.deepEqual(sim.queries, [{ version: '2.1', number: NPI1 }, { version: '2.1', number: NPI2 }]);
    });

    it('answers undefined for a valid NPI NPPES does not list (and for a deactivated one, which the API drops)', async () => {
      const a = adapter();
      assert.equal(await a.lookup('1234567893'), undefined);
      sim.deactivate(NPI1);
      assert.equal(await a.lookup(NPI1, { fresh: true }), undefined);
    });

    it('reads a record NPPES lists as deactivated', async () => {
      sim.deactivate(NPI1, { mode: 'flagged', date: '2024-05-01' });
      const r = await adapter().lookup(NPI1);
      assert.equal(r?.status, 'deactivated');
      assert.equal(r?.deactivatedOn, '2024-05-01');
    });

    it('refuses a bad check digit or format before any request', async () => {
      const a = adapter();
      for (const bad of ['1234567890', '123456789', '3234567893', 'abc']) {
        await assert.rejects(a.lookup(bad), (e: unknown) => e instanceof ValidationError && e.code === 'VALIDATION_NPI_INVALID');
      }
      assert.equal(sim.stats.requests, 0);
    });

    it('takes a base URL with or without /api, and a proxy prefix', async () => {
      assert.ok(await adapter({ baseUrl: `${sim.url}/api/` }).lookup(NPI2));
      assert.ok(await adapter({ baseUrl: `${sim.url}/api` }).lookup(NPI2));
      assert.deepEqual(splitNppesUrl('https://gw.example/nppes/api/'), { baseUrl: 'https://gw.example/nppes', path: '/api/' });
      assert.deepEqual(splitNppesUrl('https://npiregistry.cms.hhs.gov'), { baseUrl: 'https://npiregistry.cms.hhs.gov', path: '/api/' });
      assert.throws(() => splitNppesUrl('ftp://x'), ValidationError);
    });
  });

  describe('search', () => {
    it('by last name (case-insensitive), with a trailing wildcard, by name and state', async () => {
      const a = adapter();
      const exact = await a.search({ lastName: 'abernathy' });
      assert.deepEqual(exact.records.map((r) => r.npi), [NPI1]);
      const wild = await a.search({ lastName: 'ab*', limit: 200 });
      assert.ok(wild.records.length >= 1 && wild.records.every((r) => r.individual?.last?.startsWith('AB')));
      const inOk = await a.search({ firstName: 'bob', state: 'ok' });
      assert.ok(inOk.records.length >= 1 && inOk.records.every((r) => r.addresses.some((x) => x.state === 'OK')));
      assert.equal(sim.queries[2].state, 'OK');
      assert.equal(sim.queries[2].first_name, 'bob');
    });

    it('by organization name (legal or other name), taxonomy, postal code (5 digits match ZIP+4), authorized official', async () => {
      const a = adapter();
      assert.deepEqual((await a.search({ organizationName: 'CSP ANESTHESIA LLC' })).records.map((r) => r.npi), [NPI2]);
      assert.deepEqual((await a.search({ organizationName: 'emory spine physiatry outpatient center' })).records.map((r) => r.npi), ['1467486373']);
      const anest = await a.search({ taxonomyDescription: 'Anesthesiology', state: 'GA', limit: 200 });
      assert.ok(anest.records.some((r) => r.npi === NPI2));
      assert.ok(anest.records.every((r) => r.taxonomies.some((t) => /anesthesiology/i.test(t.desc ?? ''))));
      assert.deepEqual((await a.search({ postalCode: '30180', enumerationType: 'NPI-2' })).records.map((r) => r.npi), [NPI2]);
      const practice = await a.search({ postalCode: '30342', addressPurpose: 'SECONDARY', limit: 200 });
      assert.ok(practice.records.some((r) => r.npi === NPI2), 'practice location');
      assert.ok(practice.records.every((r) => r.practiceLocations.some((p) => p.postalCode?.startsWith('30342'))));
      assert.deepEqual((await a.search({ firstName: 'timothy', lastName: 'barton', namePurpose: 'AO' })).records.map((r) => r.npi), [NPI2]);
      assert.equal(sim.queries.at(-1)?.name_purpose, 'AO');
    });

    it('one page is `limit` records (default 10); skip moves through them', async () => {
      const a = adapter();
      const first = await a.search({ taxonomyDescription: 'e', limit: 4 });
      const second = await a.search({ taxonomyDescription: 'e', limit: 4, skip: 4 });
      assert.equal(first.records.length, 4);
      assert.equal(second.records.length, 4);
      assert.equal(new Set([...first.records, ...second.records].map((r) => r.npi)).size, 8);
      assert.equal((await a.search({ taxonomyDescription: 'e' })).records.length, 10);
      assert.deepEqual(sim.queries[1], { version: '2.1', taxonomy_description: 'e', limit: '4', skip: '4' });
    });

    it('follows pages when asked, until a short page, without duplicates', async () => {
      const a = adapter();
      const all = await a.search({ taxonomyDescription: 'e', limit: 200 });
      sim.resetStats();
      const paged = await a.search({ taxonomyDescription: 'e', limit: 7 }, { allPages: true });
      assert.deepEqual(paged.records.map((r) => r.npi), all.records.map((r) => r.npi));
      assert.equal(paged.pages, Math.floor(all.records.length / 7) + 1);
      assert.equal(sim.stats.requests, paged.pages);
      assert.equal(paged.truncated, false);
      assert.deepEqual(sim.queries.map((q) => q.skip ?? '0'), Array.from({ length: paged.pages }, (_, i) => String(i * 7)));
      const capped = await a.search({ taxonomyDescription: 'e', limit: 3 }, { allPages: true, maxRecords: 5 });
      assert.equal(capped.records.length, 5);
      assert.equal(capped.truncated, true);
    });

    it('stops at the API ceiling of 1,200 records (skip ≤ 1000) and says so', async () => {
      await sim.close();
      const template = fixtureRecords().find((r) => r.enumeration_type === 'NPI-1')!;
      const records = Array.from({ length: 1300 }, (_, i) => ({ ...template, number: Number(withCheckDigit(String(150000000 + i))), basic: { ...(template.basic as object), last_name: 'MANY' } }));
      sim = await startNppesSimulator({ records });
      const r = await adapter().search({ lastName: 'many' }, { allPages: true });
      assert.equal(r.records.length, 1200);
      assert.equal(r.pages, 6);
      assert.equal(r.truncated, true);
      assert.deepEqual(sim.queries.map((q) => [q.limit, q.skip ?? '0']), [['200', '0'], ['200', '200'], ['200', '400'], ['200', '600'], ['200', '800'], ['200', '1000']]);
    });

    it('refuses criteria NPPES would refuse, before any request, naming the parameter', async () => {
      const a = adapter();
      const cases: [Parameters<NppesAdapter['search']>[0], string, RegExp][] = [
        [{}, 'number', /no search criteria/],
        [{ enumerationType: 'NPI-1' }, 'enumeration_type', /requires additional search criteria/],
        [{ state: 'GA' }, 'state', /requires additional/],
        [{ state: 'GA', enumerationType: 'NPI-2', countryCode: 'US' }, 'state', /requires additional/],
        [{ countryCode: 'US' }, 'country_code', /requires additional/],
        [{ lastName: 'a*' }, 'last_name', /at least 2 characters/],
        [{ lastName: 'a*b' }, 'last_name', /trail/],
        [{ firstName: 'jo*', lastName: 'smith', useFirstNameAlias: true }, 'use_first_name_alias', /wildcard/],
        [{ lastName: 'smith', limit: 201 }, 'limit', /1\.\.200/],
        [{ lastName: 'smith', limit: 0 }, 'limit', /1\.\.200/],
        [{ lastName: 'smith', skip: 1001 }, 'skip', /0\.\.1000/],
        [{ lastName: 'smith', state: 'Georgia' }, 'state', /2-letter/],
        [{ lastName: 'smith', postalCode: '3018A' }, 'postal_code', /digits/],
        [{ lastName: 'smith', addressPurpose: 'HOME' as never }, 'address_purpose', /LOCATION/],
        [{ lastName: 'smith', enumerationType: 'NPI-3' as never }, 'enumeration_type', /NPI-1 or NPI-2/],
        [{ number: '1234567890' }, 'number', /check digit/],
      ];
      for (const [criteria, param, why] of cases) {
        await assert.rejects(a.search(criteria), (e: unknown) => e instanceof ValidationError && e.path === param && why.test(e.message), JSON.stringify(criteria));
      }
      assert.equal(sim.stats.requests, 0);
    });

    it('an Errors answer from NPPES is an IntegrationError, never "not found"', async () => {
      sim.inject({ type: 'errors' });
      await assert.rejects(adapter().search({ lastName: 'smith' }), (e: unknown) => {
        assert.ok(e instanceof IntegrationError);
        assert.equal(e.code, 'INTEGRATION_NPPES_QUERY_REJECTED');
        assert.equal(e.path, 'enumeration_type');
        return true;
      });
    });

    it('the simulator answers the real error shapes (enumeration_type alone: the recorded fixture)', async () => {
      const get = async (qs: string) => (await fetch(`${sim.apiUrl}?${qs}`)).json();
      assert.deepEqual(await get('version=2.1&enumeration_type=NPI-1'), {
        Errors: [{ field: 'enumeration_type', number: '09', description: 'enumeration_type requires additional search criteria' }],
      });
      assert.deepEqual(await get('version=2.1'), { Errors: [{ description: 'No valid search criteria provided' }] });
      assert.ok(((await get('last_name=smith')) as { Errors?: unknown[] }).Errors, 'no version');
      assert.ok(((await get('version=2.1&state=GA')) as { Errors?: unknown[] }).Errors, 'state alone');
      assert.ok(((await get('version=2.1&last_name=x&limit=201')) as { Errors?: unknown[] }).Errors, 'limit');
    });
  });

  describe('cache', () => {
    it('two lookups of one NPI: one request at the simulator, one cache hit', async () => {
      const events: AdapterCallEvent[] = [];
      const a = adapter({ onEvent: (e) => events.push(e) });
      const first = await a.lookup(NPI1);
      const second = await a.lookup(NPI1);
      assert.deepEqual(second, first);
      assert.equal(sim.stats.byNumber[NPI1], 1);
      assert.equal(sim.stats.requests, 1);
      assert.deepEqual(a.cacheStats(), { hits: 1, misses: 1, size: 1 });
      assert.deepEqual(events.map((e) => [e.adapter, e.operation, e.outcome]), [['nppes', 'lookup', 'ok'], ['nppes', 'lookup', 'cached']]);
    });

    it('concurrent lookups of one NPI share one request', async () => {
      const a = adapter();
      const all = await Promise.all(Array.from({ length: 10 }, () => a.lookup(NPI2)));
      assert.ok(all.every((r) => r?.npi === NPI2));
      assert.equal(sim.stats.requests, 1);
    });

    it('fresh lookups (revalidation) bypass the cache; an expired entry is asked again', async () => {
      const a = adapter({ cache: { ttlMs: 100 } });
      await a.lookup(NPI1);
      await a.lookup(NPI1, { fresh: true });
      assert.equal(sim.stats.requests, 2);
      await a.lookup(NPI1);
      assert.equal(sim.stats.requests, 2, 'cached');
      await new Promise((r) => setTimeout(r, 150)); // the TTL itself is what is tested here
      await a.lookup(NPI1);
      assert.equal(sim.stats.requests, 3);
    });

    it('ttlMs 0 turns the cache off', async () => {
      const a = adapter({ cache: { ttlMs: 0 } });
      await a.lookup(NPI1);
      await a.lookup(NPI1);
      assert.equal(sim.stats.requests, 2);
    });
  });

  describe('rate limit', () => {
    it('a burst of 1,000 lookups: every one completes, no window at the simulator over the limit', async function () {
      await sim.close();
      const limit = { requests: 100, perMs: 500 };
      sim = await startNppesSimulator({ synthesize: true, enforceRateLimit: limit });
      const a = adapter({ rateLimit: limit, retry: { maxAttempts: 1 } });
      const npis = Array.from({ length: 1000 }, (_, i) => withCheckDigit(String(160000000 + i)));
      const started = Date.now();
      let minHeadroom = Infinity;
      const watch = setInterval(() => (minHeadroom = Math.min(minHeadroom, a.rateLimitHeadroom() ?? Infinity)), 5);
      const results = await Promise.all(npis.map((n) => a.lookup(n))).finally(() => clearInterval(watch));
      const elapsed = Date.now() - started;
      assert.equal(results.length, 1000);
      assert.ok(results.every((r, i) => r?.npi === npis[i]), 'all complete with their own record');
      assert.equal(sim.stats.requests, 1000);
      assert.equal(sim.stats.rateLimited, 0, 'the simulator refused none');
      assert.ok(sim.maxInWindow(limit.perMs) <= limit.requests, `at most ${limit.requests} in any ${limit.perMs} ms (saw ${sim.maxInWindow(limit.perMs)})`);
      assert.ok(elapsed >= 9 * limit.perMs, `queued, not sent at once (${elapsed} ms)`);
      assert.equal(minHeadroom, 0, 'the window was used up while the burst ran');
    });

    it('defaults to 200 requests per 5 minutes', async () => {
      const a = adapter();
      assert.equal(a.rateLimitHeadroom(), 200);
      await a.lookup(NPI1);
      assert.equal(a.rateLimitHeadroom(), 199);
      assert.equal(adapter({ rateLimit: false }).rateLimitHeadroom(), undefined);
    });
  });

  describe('failures', () => {
    it('retries 500 and 429 (Retry-After), then answers', async () => {
      sim.inject({ type: 'status', status: 500 });
      sim.inject({ type: 'rate-limit', retryAfterS: 0 });
      const r = await adapter().lookup(NPI1);
      assert.equal(r?.npi, NPI1);
      assert.equal(sim.stats.requests, 3);
    });

    it('a 5xx past the retries is a TransientError; a 4xx an IntegrationError', async () => {
      sim.inject({ type: 'status', status: 503 }, 2);
      await assert.rejects(adapter({ retry: { maxAttempts: 2, initialDelayMs: 1 } }).lookup(NPI1), (e: unknown) => e instanceof TransientError && e.code === 'TRANSIENT_ADAPTER_HTTP_503');
      sim.inject({ type: 'status', status: 400 });
      await assert.rejects(adapter({ retry: { maxAttempts: 1 } }).lookup(NPI2), (e: unknown) => e instanceof IntegrationError && e.code === 'INTEGRATION_ADAPTER_HTTP_400');
    });

    it('a maintenance page (200, not JSON) is transient', async () => {
      sim.inject({ type: 'not-json' });
      await assert.rejects(adapter({ retry: { maxAttempts: 1 } }).lookup(NPI1), (e: unknown) => e instanceof TransientError && e.code === 'TRANSIENT_ADAPTER_BAD_RESPONSE');
    });

    it('a slow answer past timeoutMs is TRANSIENT_ADAPTER_TIMEOUT', async () => {
      sim.inject({ type: 'slow', ms: 500 });
      await assert.rejects(adapter({ timeoutMs: 100, retry: { maxAttempts: 1 } }).lookup(NPI1), (e: unknown) => e instanceof TransientError && e.code === 'TRANSIENT_ADAPTER_TIMEOUT');
    });

    it('opens the breaker after repeated failures', async () => {
      sim.inject({ type: 'status', status: 500 }, 10);
      const a = adapter({ retry: { maxAttempts: 1 }, breaker: { threshold: 2, halfOpenAfterMs: 60_000 } });
      assert.equal(a.breakerState(), 'closed');
      for (let i = 0; i < 2; i++) await assert.rejects(a.lookup(NPI1));
      assert.equal(a.breakerState(), 'open');
      await assert.rejects(a.lookup(NPI2), (e: unknown) => (e as TransientError).code === 'TRANSIENT_ADAPTER_BREAKER_OPEN');
      assert.equal(sim.stats.requests, 2);
    });
  });

  describe('adapter', () => {
    it('is kind nppes with lookup and search; health up, then down when NPPES is gone', async () => {
      const a = adapter({ id: 'nppes-test', retry: { maxAttempts: 1 } });
      assert.equal(a.kind, 'nppes');
      assert.equal(a.id, 'nppes-test');
      assert.deepEqual([...a.operations], ['lookup', 'search']);
      const up = await a.healthCheck();
      assert.equal(up.status, 'up');
      assert.deepEqual(sim.queries.at(-1), { version: '2.1', number: '1234567893' });
      sim.inject({ type: 'errors' });
      assert.deepEqual((await a.healthCheck()).status, 'degraded');
      await sim.close();
      const down = await a.healthCheck();
      assert.equal(down.status, 'down');
      assert.match(down.detail ?? '', /^TRANSIENT_/);
      sim = await startNppesSimulator(); // for afterEach
    });

    it('the factory reads a registry entry (kind and own settings included); close twice is safe', async () => {
      const a = createNppesAdapter({ id: 'x', baseUrl: sim.url, kind: 'nppes', settings: { healthNpi: '1568946812' } } as never);
      adapters.push(a);
      await a.healthCheck();
      assert.equal(sim.queries.at(-1)?.number, '1568946812');
      await a.close();
      await a.close();
      await assert.rejects(a.lookup(NPI1), ValidationError);
      assert.throws(() => createNppesAdapter({ healthNpi: '1234567890' }), ValidationError);
    });
  });

  describe('registry (adapters.yaml)', () => {
    it('kind nppes builds an NppesAdapter with the entry\'s settings and the NPPES defaults; its calls reach the health figures', async () => {
      registerBuiltinAdapterKinds();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-nppes-adapters-'));
      const file = path.join(dir, 'adapters.yaml');
      fs.writeFileSync(file, `adapters:\n  - id: nppes\n    kind: nppes\n    baseUrl: \${NPPES_URL}/api\n    settings:\n      healthNpi: "1568946812"\n`);
      const registry = await adapterRegistryFromFile(file, { env: { NPPES_URL: sim.url } });
      try {
        const a = registry.get('nppes') as NppesAdapter;
        assert.ok(a instanceof NppesAdapter);
        assert.equal(a.rateLimitHeadroom(), 200, 'default rate limit');
        assert.equal((await a.lookup(NPI1))?.npi, NPI1);
        await a.lookup(NPI1);
        assert.deepEqual(a.cacheStats(), { hits: 1, misses: 1, size: 1 }, 'default cache');
        assert.equal((await a.healthCheck()).status, 'up');
        assert.equal(sim.queries.at(-1)?.number, '1568946812');
        const figures = registry.figures('nppes');
        assert.equal(figures.calls.hour.ok, 2, 'lookup and health check');
        assert.equal(figures.calls.hour.cached, 1);
        assert.equal(figures.status, 'up');
        fs.writeFileSync(file, 'adapters:\n  - id: nppes\n    kind: nppes\n    baseUrl: http://127.0.0.1:1\n    settings:\n      healthNPI: "1568946812"\n');
        await assert.rejects(adapterRegistryFromFile(file), /adapters\.yaml:6:\d+ .*unknown NPPES adapter setting 'healthNPI'/);
      } finally {
        await registry.closeAll();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('the factory refuses a bad healthNpi', () => {
      assert.throws(() => nppesAdapterFactory({ id: 'n', http: { adapterId: 'n', baseUrl: sim.url }, settings: { healthNpi: '1234567890' } }), /check digit/);
      assert.throws(() => nppesAdapterFactory({ id: 'n', http: { adapterId: 'n', baseUrl: sim.url }, settings: { healthNpi: {} } }), (e: unknown) => e instanceof ValidationError && e.path === 'healthNpi');
    });
  });

  describe('input helpers', () => {
    it('criteriaFromInput takes camelCase and snake_case; an unknown key is refused', () => {
      assert.deepEqual(criteriaFromInput({ last_name: 'x', firstName: 'y', limit: '5', use_first_name_alias: 'true', version: '2.1' }), { lastName: 'x', firstName: 'y', limit: 5, useFirstNameAlias: true });
      assert.throws(() => criteriaFromInput({ lastname: 'x' }), (e: unknown) => e instanceof ValidationError && e.path === 'lastname');
      assert.throws(() => criteriaFromInput({ constructor: 'x' }), (e: unknown) => e instanceof ValidationError && e.path === 'constructor');
    });

    it('nppesRequest: NPI string, number or {npi} is a lookup; other objects a search', () => {
      assert.deepEqual(nppesRequest(' 1568946812 '), { npi: '1568946812' });
      assert.deepEqual(nppesRequest(1568946812), { npi: '1568946812' });
      assert.deepEqual(nppesRequest({ npi: '1568946812' }), { npi: '1568946812' });
      assert.deepEqual(nppesRequest({ lastName: 'x', state: 'GA' }), { criteria: { lastName: 'x', state: 'GA' } });
      assert.throws(() => nppesRequest('1568946813'), /check digit/);
      assert.throws(() => nppesRequest(['x']), ValidationError);
    });

    it('buildSearchQuery writes the API parameters', () => {
      assert.deepEqual(buildSearchQuery({ lastName: 'smith', enumerationType: 'NPI-1', useFirstNameAlias: false, state: 'md', postalCode: '21*', limit: 200, skip: 0 }), {
        version: '2.1', last_name: 'smith', enumeration_type: 'NPI-1', use_first_name_alias: 'False', state: 'MD', postal_code: '21*', limit: '200', skip: '0',
      });
    });
  });
});
