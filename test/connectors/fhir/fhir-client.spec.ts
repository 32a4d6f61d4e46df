/**
 * FhirConnectionClient against the real loopback FHIR server (Medplum fhir-router) and against a
 * fault-injecting HTTP peer (fault-server.ts): retries with Retry-After, timeouts, the circuit
 * breaker's open / half-open / closed cycle, the one 401 refresh, paging and the rate limit.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Binary, Bundle, OperationOutcome, Patient } from '@medplum/fhirtypes';
import winston from 'winston';
import { IntegrationError, TransientError, ValidationError } from '../../../common/errors';
import { createAuthProvider } from '../../../connectors/fhir/auth';
import { FhirClientRegistry } from '../../../connectors/fhir/client-registry';
import type { AuthProvider, BreakerState } from '../../../connectors/fhir/connection';
import { FhirConnectionClient, type FhirConnectionClientOptions, type FhirRequestEvent, type FhirRetryEvent } from '../../../connectors/fhir/fhir-client';
import { EngineMetrics } from '../../../engine/runtime/metrics';
import { startOAuthServer } from '../../simulators/oauth-server';
import { startProtectedFhir } from '../../simulators/protected-fhir';
import { answer, sequence, slow, startFaultServer, type FaultServer } from './fault-server';
import { failure } from '../../support/failure';
import { draftClaim, useFhirServer } from '../../support/fhir';

const quiet = winston.createLogger({ silent: true });
const noAuth: AuthProvider = { headers: async () => ({}), invalidate: async () => false };
const ok = { resourceType: 'Patient', id: 'p1' };
const unavailable = answer(503, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient' }] });

describe('connectors/fhir FhirConnectionClient', () => {
  const clients: FhirConnectionClient[] = [];
  let registry: FhirClientRegistry;

  function client(baseUrl: string, opts: Partial<FhirConnectionClientOptions> = {}, connection: Partial<FhirConnectionClientOptions['connection']> = {}): FhirConnectionClient {
    const c = new FhirConnectionClient({
      connection: { id: 'ehr-test', baseUrl, timeoutMs: 2000, ...connection },
      auth: noAuth,
      logger: quiet,
      registry,
      random: () => 0.5,
      retry: { initialDelayMs: 20, maxDelayMs: 50 },
      ...opts,
    });
    clients.push(c);
    return c;
  }

  beforeEach(() => {
    registry = new FhirClientRegistry();
  });
  afterEach(async () => {
    while (clients.length) await clients.pop()?.close();
  });

  describe('against the Medplum server', () => {
    const medplum = useFhirServer();

    it('reads the CapabilityStatement', async () => {
      const caps = await client(medplum.server.url).capabilities();
      assert.equal(caps.fhirVersion, '4.0.1');
      assert.ok(caps.resourceTypes.includes('Encounter'));
      assert.ok(caps.durationMs >= 0);
    });

    it('creates conditionally (201, then 200 with the same id), reads, updates and searches', async () => {
      const c = client(medplum.server.url);
      const patient: Patient = { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'MRN-1' }], gender: 'female' };
      const first = await c.create(patient, { ifNoneExist: 'identifier=urn:mrn|MRN-1' });
      const again = await c.create(patient, { ifNoneExist: 'identifier=urn:mrn|MRN-1' });
      assert.equal(first.status, 201);
      assert.equal(again.status, 200);
      assert.equal(again.resource.id, first.resource.id);

      const read = await c.read<Patient>('Patient', first.resource.id as string);
      assert.equal(read.gender, 'female');
      const updated = await c.update({ ...read, gender: 'male' });
      assert.equal(updated.status, 200);
      const conditional = await c.update({ ...patient, gender: 'other' }, { conditional: 'identifier=urn:mrn|MRN-1' });
      assert.equal(conditional.resource.id, first.resource.id);

      const found = await c.search('Patient', { identifier: 'urn:mrn|MRN-1' });
      assert.equal(found.entry?.length, 1);
      assert.equal((found.entry?.[0].resource as Patient).gender, 'other');
    });

    it('pages through next links until the last page', async () => {
      const c = client(medplum.server.url);
      for (let i = 0; i < 5; i++) await c.create({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: `P-${i}` }] } as Patient);
      const ids: string[] = [];
      let page: Bundle | undefined = await c.search('Patient', { _count: 2, _sort: '_id' });
      let pages = 0;
      while (page) {
        pages += 1;
        ids.push(...(page.entry ?? []).map((e) => e.resource?.id as string));
        page = await c.nextPage(page);
      }
      assert.equal(pages, 3);
      assert.equal(new Set(ids).size, 5);
    });

    it('posts a transaction, in chunks when it is larger than the server takes', async () => {
      const c = client(medplum.server.url, { maxTransactionEntries: 2 });
      const entry = (i: number) => ({
        fullUrl: `urn:uuid:00000000-0000-4000-8000-00000000000${i}`,
        resource: { resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: `T-${i}` }] } as Patient,
        request: { method: 'POST' as const, url: 'Patient', ifNoneExist: `identifier=urn:mrn|T-${i}` },
      });
      const result = await c.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [entry(1), entry(2), entry(3)] });
      assert.deepEqual(result.bundle.entry?.map((e) => e.response?.status), ['201', '201', '201']);
      assert.equal(medplum.seen.filter((s) => s.method === 'POST').length, 2);
    });

    it('fetches a Binary as bytes with its content type', async () => {
      const c = client(medplum.server.url);
      const binary = await c.create({ resourceType: 'Binary', contentType: 'text/plain; charset=utf-8', data: Buffer.from('note text').toString('base64') } as Binary);
      const fetched = await c.fetchUrl(`Binary/${binary.resource.id}`);
      assert.equal(fetched.bytes.toString('utf8'), 'note text');
      assert.match(fetched.contentType, /^text\/plain/);
      assert.equal(fetched.charset, 'utf-8');
    });

    it('turns the server\'s 400 OperationOutcome into an IntegrationError with its issues, not retried', async () => {
      const c = client(medplum.server.url);
      const claim = { ...draftClaim('CLM-BAD'), insurance: [] }; // schema-valid, but Medplum requires insurance
      const err = await failure(() => c.create(claim, { ifNoneExist: 'identifier=urn:wasl:claim|CLM-BAD' }));
      assert.ok(err instanceof IntegrationError);
      assert.equal(err.code, 'INTEGRATION_FHIR_REJECTED');
      assert.equal(err.details?.status, 400);
      const outcome = err.details?.outcome as OperationOutcome;
      assert.ok(outcome.issue.some((i) => i.expression?.includes('Claim.insurance')));
      assert.equal(medplum.seen.filter((s) => s.method === 'POST').length, 1);
      assert.equal(c.breakerState(), 'closed', 'a 4xx says the server is up');
    });

    it('with OAuth2 client credentials: expired tokens mid-way, concurrent 401s share one refresh', async () => {
      const oauth = await startOAuthServer();
      oauth.registerClient({ clientId: 'wasl', clientSecret: 'cc-secret' });
      const guarded = await startProtectedFhir({ upstream: medplum.server.url, bearer: oauth });
      try {
        const auth = createAuthProvider({ type: 'client-credentials', tokenUrl: oauth.tokenUrl, clientId: 'wasl', clientSecret: 'cc-secret' });
        const c = client(guarded.url, { auth });
        const created = await c.create({ resourceType: 'Patient', identifier: [{ system: 'urn:mrn', value: 'OA-1' }] } as Patient, { ifNoneExist: 'identifier=urn:mrn|OA-1' });
        assert.equal(oauth.stats.issued, 1);
        oauth.expireAll();
        const reads = await Promise.all(Array.from({ length: 5 }, () => c.read<Patient>('Patient', created.resource.id as string)));
        assert.ok(reads.every((p) => p.id === created.resource.id));
        assert.equal(oauth.stats.issued, 2, 'one refresh for five refused requests');
      } finally {
        await guarded.close();
        await oauth.close();
      }
    });

    it('refuses next links and URLs on another origin (they would get our credentials)', async () => {
      const c = client(medplum.server.url);
      const err = await failure(() => c.nextPage({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'http://198.51.100.7/fhir/R4/Patient?page=2' }] }));
      assert.equal(err.code, 'VALIDATION_FHIR_FOREIGN_URL');
      await assert.rejects(c.fetchUrl('https://elsewhere.example/Binary/1'), /another origin/);
    });
  });

  describe('against a faulty server', () => {
    let fault: FaultServer | undefined;
    afterEach(async () => {
      await fault?.close();
      fault = undefined;
    });

    it('honours Retry-After on 429 and then succeeds', async () => {
      fault = await startFaultServer(sequence(answer(429, '', { 'retry-after': '1' }), answer(200, ok)));
      const times: number[] = [];
      fault.events.on('request', () => times.push(Date.now()));
      const c = client(fault.url);
      const retries: FhirRetryEvent[] = [];
      c.on('retry', (e: FhirRetryEvent) => retries.push(e));
      const patient = await c.read('Patient', 'p1');
      assert.equal(patient.id, 'p1');
      assert.equal(times.length, 2);
      assert.ok(times[1] - times[0] >= 950, `waited ${times[1] - times[0]} ms`);
      assert.deepEqual(retries.map((r) => [r.code, r.delayMs]), [['TRANSIENT_FHIR_RATE_LIMITED', 1000]]);
    });

    it('leaves a Retry-After longer than maxRetryAfterMs (an HTTP date here) to the queue', async () => {
      const later = new Date(Date.now() + 3_600_000).toUTCString();
      fault = await startFaultServer(answer(503, '', { 'retry-after': later }));
      const err = await failure(() => client(fault!.url, { retry: { maxRetryAfterMs: 5000 } }).read('Patient', 'p1'));
      assert.equal(err.code, 'TRANSIENT_FHIR_UNAVAILABLE');
      assert.ok((err.retryAfterMs ?? 0) > 3_500_000);
      assert.equal(fault.received.length, 1);
    });

    it('retries 503 with backoff, then succeeds', async () => {
      fault = await startFaultServer(sequence(unavailable, unavailable, answer(200, ok)));
      const c = client(fault.url, { retry: { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 50 } });
      const retries: FhirRetryEvent[] = [];
      c.on('retry', (e: FhirRetryEvent) => retries.push(e));
      assert.equal((await c.read('Patient', 'p1')).id, 'p1');
      assert.equal(fault.received.length, 3);
      // Full jitter with random() = 0.5: half of 20, then half of 40.
      assert.deepEqual(retries.map((r) => r.delayMs), [10, 20]);
    });

    it('gives up after maxAttempts with the last transient error', async () => {
      fault = await startFaultServer(unavailable);
      const err = await failure(() => client(fault!.url, { retry: { maxAttempts: 2, initialDelayMs: 1 } }).read('Patient', 'p1'));
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_UNAVAILABLE');
      assert.equal(fault.received.length, 2);
    });

    it('times out a slow answer and retries it', async () => {
      fault = await startFaultServer(sequence(slow(1000, answer(200, ok)), answer(200, ok)));
      const c = client(fault.url, {}, { timeoutMs: 150 });
      const codes: string[] = [];
      c.on('retry', (e: FhirRetryEvent) => codes.push(e.code));
      assert.equal((await c.read('Patient', 'p1')).id, 'p1');
      assert.deepEqual(codes, ['TRANSIENT_FHIR_TIMEOUT']);
    });

    it('does not resend a create without If-None-Exist after a timeout (it may have been written)', async () => {
      fault = await startFaultServer(slow(1000, answer(201, ok)));
      const c = client(fault.url, {}, { timeoutMs: 100 });
      const err = await failure(() => c.create({ resourceType: 'Patient' } as Patient));
      assert.equal(err.code, 'TRANSIENT_FHIR_TIMEOUT');
      assert.equal(fault.received.length, 1);
    });

    it('resends a create without If-None-Exist after a 503 (the server did not process it)', async () => {
      fault = await startFaultServer(sequence(unavailable, answer(201, ok)));
      const result = await client(fault.url).create({ resourceType: 'Patient' } as Patient);
      assert.equal(result.status, 201);
      assert.equal(fault.received.length, 2);
    });

    it('opens the breaker after repeated failures, fails fast, half-opens after the cool-down and closes again', async () => {
      let healthy = false;
      fault = await startFaultServer((req, res, raw) => (healthy ? answer(200, ok) : unavailable)(req, res, raw));
      const c = client(fault.url, { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 200 } });
      const states: BreakerState[] = [];
      c.on('breaker', (s: BreakerState) => states.push(s));
      const metrics = new EngineMetrics({ defaultMetrics: false });
      const stop = metrics.observeFhirClient(c);

      for (let i = 0; i < 3; i++) assert.equal((await failure(() => c.read('Patient', 'p1'))).code, 'TRANSIENT_FHIR_UNAVAILABLE');
      assert.equal(c.breakerState(), 'open');
      assert.deepEqual(registry.states(), { 'ehr-test': 'open' });

      const fast = await failure(() => c.read('Patient', 'p1'));
      assert.equal(fast.code, 'TRANSIENT_FHIR_CIRCUIT_OPEN');
      assert.equal(fast.retryAfterMs, 200);
      assert.equal(fault.received.length, 3, 'an open circuit sends nothing');

      const text = await metrics.registry.metrics();
      assert.match(text, /wasl_fhir_requests_total\{connection="ehr-test",operation="read",outcome="transient"\} 4/);

      healthy = true;
      await new Promise((r) => setTimeout(r, 250)); // the cool-down is time-based by design
      assert.equal((await c.read('Patient', 'p1')).id, 'p1');
      assert.deepEqual(states, ['open', 'half-open', 'closed']);
      assert.equal(c.breakerState(), 'closed');
      stop();
    });

    it('a failed half-open test call opens the circuit again', async () => {
      fault = await startFaultServer(unavailable);
      const c = client(fault.url, { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1, halfOpenAfterMs: 100 } });
      const states: BreakerState[] = [];
      c.on('breaker', (s: BreakerState) => states.push(s));
      await failure(() => c.read('Patient', 'p1'));
      await new Promise((r) => setTimeout(r, 150));
      assert.equal((await failure(() => c.read('Patient', 'p1'))).code, 'TRANSIENT_FHIR_UNAVAILABLE');
      assert.deepEqual(states, ['open', 'half-open', 'open']);
    });

    it('on 401 invalidates the token once and retries once with the new one', async () => {
      fault = await startFaultServer((req, res, raw) => (req.headers.authorization === 'Bearer t2' ? answer(200, ok) : answer(401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }))(req, res, raw));
      let token = 't1';
      let invalidated = 0;
      const auth: AuthProvider = {
        headers: async () => ({ authorization: `Bearer ${token}` }),
        invalidate: async () => {
          invalidated += 1;
          token = 't2';
          return true;
        },
      };
      assert.equal((await client(fault.url, { auth }).read('Patient', 'p1')).id, 'p1');
      assert.equal(invalidated, 1);
      assert.deepEqual(fault.received.map((r) => r.headers.authorization), ['Bearer t1', 'Bearer t2']);
    });

    it('a 401 after the refresh, or with nothing to refresh, is final', async () => {
      fault = await startFaultServer(answer(401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login' }] }));
      let invalidated = 0;
      const refreshing: AuthProvider = { headers: async () => ({ authorization: 'Bearer x' }), invalidate: async () => ++invalidated > 0 };
      const err = await failure(() => client(fault!.url, { auth: refreshing }).read('Patient', 'p1'));
      assert.ok(err instanceof IntegrationError);
      assert.equal(err.details?.status, 401);
      assert.equal(invalidated, 1);
      assert.equal(fault.received.length, 2);

      await failure(() => client(fault!.url).read('Patient', 'p1'));
      assert.equal(fault.received.length, 3, 'no refresh possible: one request');
    });

    it('follows relative next links', async () => {
      fault = await startFaultServer((req, res, raw) => {
        const page2 = req.url.includes('page=2');
        const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', entry: [{ resource: { resourceType: 'Encounter', id: page2 ? 'e2' : 'e1', status: 'finished', class: { code: 'AMB' } } }] };
        if (!page2) bundle.link = [{ relation: 'next', url: 'Encounter?page=2' }];
        answer(200, bundle)(req, res, raw);
      });
      const c = client(fault.url);
      const first = await c.search('Encounter', { status: 'finished' });
      const second = await c.nextPage(first);
      assert.equal(second?.entry?.[0].resource?.id, 'e2');
      assert.equal(await c.nextPage(second as Bundle), undefined);
      assert.equal(fault.received[1].url, '/fhir/R4/Encounter?page=2');
    });

    it('spaces requests to the rate limit (queued, not failed)', async () => {
      fault = await startFaultServer(answer(200, ok));
      const times: number[] = [];
      fault.events.on('request', () => times.push(performance.now()));
      const c = client(fault.url, {}, { rateLimitPerSecond: 10 });
      await Promise.all(Array.from({ length: 5 }, () => c.read('Patient', 'p1')));
      assert.equal(times.length, 5);
      // 10/s starts 5 requests 100 ms apart (400 ms); unlimited, they arrive within a few ms. The
      // first one also opens the connection, so arrivals jitter: check the span with slack.
      assert.ok(times[4] - times[0] >= 250, `5 requests arrived within ${Math.round(times[4] - times[0])} ms`);
    });

    it('emits one request event per attempt, without payloads', async () => {
      fault = await startFaultServer(sequence(unavailable, answer(200, ok)));
      const c = client(fault.url);
      const events: FhirRequestEvent[] = [];
      c.on('request', (e: FhirRequestEvent) => events.push(e));
      await c.read('Patient', 'p1');
      assert.deepEqual(events.map((e) => [e.operation, e.outcome, e.status]), [['read', 'transient', 503], ['read', 'ok', undefined]]);
      assert.deepEqual(Object.keys(events[0]).sort(), ['code', 'connection', 'durationMs', 'operation', 'outcome', 'status']);
    });

    it('close() rejects calls in flight with TRANSIENT_FHIR_CLOSED and leaves the registry', async () => {
      fault = await startFaultServer(slow(5000, answer(200, ok)));
      const c = client(fault.url);
      assert.deepEqual(Object.keys(registry.states()), ['ehr-test']);
      const pending = c.read('Patient', 'p1');
      await once(fault.events, 'request');
      await c.close();
      await c.close();
      assert.equal((await failure(() => pending)).code, 'TRANSIENT_FHIR_CLOSED');
      assert.deepEqual(registry.states(), {});
      assert.equal((await failure(() => c.read('Patient', 'p1'))).code, 'TRANSIENT_FHIR_CLOSED');
    });

    it('reports circuits per channel through the registry', async () => {
      fault = await startFaultServer(unavailable);
      const c = client(fault.url, { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } });
      const release = registry.bind('adt-to-fhir', c);
      assert.deepEqual(registry.circuitsFor('adt-to-fhir'), { 'ehr-test': 'closed' });
      await failure(() => c.read('Patient', 'p1'));
      assert.deepEqual(registry.circuitsFor('adt-to-fhir'), { 'ehr-test': 'open' });
      assert.deepEqual(registry.circuitsFor('other'), {});
      release();
      release();
      assert.deepEqual(registry.circuitsFor('adt-to-fhir'), {});
    });
  });

  it('refuses a base URL that is not http(s) without echoing it', () => {
    assert.throws(() => new FhirConnectionClient({ connection: { id: 'x', baseUrl: 'ftp://user:secret@host/fhir' }, auth: noAuth, registry }), (err: ValidationError) => {
      assert.equal(err.code, 'VALIDATION_FHIR_BASE_URL');
      assert.doesNotMatch(err.message, /secret/);
      return true;
    });
  });
});

describe('engine/runtime/metrics wasl_fhir_circuit_state', () => {
  it('exports 0/1/2 per live connection from the process-wide registry', async () => {
    const fault = await startFaultServer(unavailable);
    const c = new FhirConnectionClient({
      connection: { id: 'gauge-test', baseUrl: fault.url },
      auth: noAuth,
      logger: quiet,
      retry: { maxAttempts: 1 },
      breaker: { consecutiveFailures: 1 },
    });
    try {
      const metrics = new EngineMetrics({ defaultMetrics: false });
      assert.match(await metrics.registry.metrics(), /wasl_fhir_circuit_state\{connection="gauge-test"\} 0/);
      await assert.rejects(c.read('Patient', 'p1'));
      assert.match(await metrics.registry.metrics(), /wasl_fhir_circuit_state\{connection="gauge-test"\} 2/);
      await c.close();
      assert.doesNotMatch(await metrics.registry.metrics(), /gauge-test/);
    } finally {
      await c.close();
      await fault.close();
    }
  });
});
