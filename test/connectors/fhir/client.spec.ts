import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Bundle, Encounter, OperationOutcome } from '@medplum/fhirtypes';
import winston from 'winston';
import { IntegrationError, TransientError, ValidationError, type WaslError } from '../../../common/errors';
import { FhirDestination } from '../../../connectors/fhir/client';
import { admitBundle } from '../../engine/fhir-server/fixtures';
import { answer, startFaultServer, type FaultServer } from './fault-server';
import { failure } from '../../support/failure';
import { useFhirServer } from '../../support/fhir';
import { capturingLogger } from '../../support/logging';

const ctx = { correlationId: 'corr-42' };
/** Keeps expected failure warnings out of the test output. */
const quiet = winston.createLogger({ silent: true });

function outcome(code: string, text: string, expression?: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: code as 'invalid', details: { text }, expression: expression ? [expression] : undefined }] };
}

describe('connectors/fhir FhirDestination', () => {
  describe('against the Medplum server', () => {
    const medplum = useFhirServer();

    it('posts a transaction and returns the transaction-response with its status and duration', async () => {
      const dest = new FhirDestination({ baseUrl: medplum.server.url, logger: quiet });
      const result = await dest.postTransaction(admitBundle('MRN-C1', 'V-C1'), ctx);
      assert.equal(result.status, 200);
      assert.equal(result.bundle.type, 'transaction-response');
      assert.deepEqual(result.bundle.entry?.map((e) => e.response?.status), ['201', '201']);
      assert.equal((result.bundle.entry?.[1].resource as Encounter).subject?.reference, result.bundle.entry?.[0].response?.location);
      assert.equal(typeof result.durationMs, 'number');
      assert.ok(result.durationMs >= 0);

      const again = await dest.postTransaction(admitBundle('MRN-C1', 'V-C1'), ctx);
      assert.deepEqual(again.bundle.entry?.map((e) => e.response?.status), ['200', '200']);

      const posts = medplum.seen.filter((s) => s.method === 'POST');
      assert.equal(posts.length, 2);
      for (const p of posts) {
        assert.equal(p.correlationId, 'corr-42');
        assert.match(p.requestId ?? '', /^[0-9a-f-]{36}$/);
      }
      assert.notEqual(posts[0].requestId, posts[1].requestId, 'each attempt gets its own X-Request-Id');
      await dest.close();
    });

    it('turns a real 400 OperationOutcome into a non-retryable IntegrationError without the bad value', async () => {
      const { logger, lines } = capturingLogger();
      const dest = new FhirDestination({ baseUrl: medplum.server.url, logger });
      const bundle = admitBundle('MRN-SECRET-778899', 'V-C2');
      (bundle.entry?.[0].resource as { birthDate: string }).birthDate = '1980-13-45';
      const err = await failure(() => dest.postTransaction(bundle, ctx));
      assert.ok(err instanceof IntegrationError);
      assert.equal(err.kind, 'integration');
      assert.equal(err.retryable, false);
      assert.equal(err.code, 'INTEGRATION_FHIR_REJECTED');
      assert.equal(err.details?.status, 400);
      assert.equal((err.details?.outcome as OperationOutcome).resourceType, 'OperationOutcome');
      assert.match(err.message, /^FHIR server rejected the transaction: HTTP 400 structure at Patient\.birthDate/);
      assert.doesNotMatch(err.message, /1980|SECRET/);
      assert.equal(lines.length, 1);
      assert.match(lines[0], /INTEGRATION_FHIR_REJECTED/);
      assert.doesNotMatch(lines[0], /1980|SECRET|Synthetic/);
    });

    it('reads capabilities from /metadata', async () => {
      const dest = new FhirDestination({ baseUrl: `${medplum.server.url}/`, logger: quiet });
      const caps = await dest.capabilities();
      assert.equal(caps.fhirVersion, '4.0.1');
      assert.ok(caps.resourceTypes.includes('Patient'));
      assert.ok(caps.resourceTypes.includes('Encounter'));
      assert.ok(caps.durationMs >= 0);
    });

    it('refuses a payload that is not a transaction Bundle', async () => {
      const dest = new FhirDestination({ baseUrl: medplum.server.url, logger: quiet });
      const err = await failure(() => dest.postTransaction({ resourceType: 'Bundle', type: 'batch' } as Bundle, ctx));
      assert.ok(err instanceof ValidationError);
      assert.equal(err.code, 'VALIDATION_FHIR_NOT_TRANSACTION');
    });
  });

  describe('against a faulty peer', () => {
    let peer: FaultServer | undefined;
    afterEach(async () => {
      await peer?.close();
      peer = undefined;
    });

    async function postTo(handler: Parameters<typeof startFaultServer>[0], timeoutMs = 5000): Promise<WaslError> {
      peer = await startFaultServer(handler);
      const dest = new FhirDestination({ baseUrl: peer.url, timeoutMs, logger: quiet });
      try {
        return await failure(() => dest.postTransaction(admitBundle('MRN-F', 'V-F'), ctx));
      } finally {
        await dest.close();
      }
    }

    it('sends the Bundle to the base URL with FHIR content type, correlation, request id and configured headers', async () => {
      peer = await startFaultServer(answer(200, { resourceType: 'Bundle', type: 'transaction-response', entry: [] }));
      const dest = new FhirDestination({ baseUrl: peer.url, headers: { Authorization: 'Bearer t0ken' }, logger: quiet });
      const result = await dest.postTransaction(admitBundle('MRN-H', 'V-H'), ctx);
      assert.equal(result.status, 200);
      const [req] = peer.received;
      assert.equal(req.method, 'POST');
      // fhir-kit-client posts transactions to `[base]/`.
      assert.equal(req.url, '/fhir/R4/');
      assert.match(String(req.headers['content-type']), /^application\/fhir\+json/);
      assert.equal(req.headers['x-correlation-id'], 'corr-42');
      assert.match(String(req.headers['x-request-id']), /^[0-9a-f-]{36}$/);
      assert.equal(req.headers.authorization, 'Bearer t0ken');
      assert.equal((JSON.parse(req.body) as Bundle).type, 'transaction');
    });

    it('400 with an OperationOutcome → IntegrationError, quoted values and digit runs masked', async () => {
      const err = await postTo(answer(400, outcome('invalid', 'Patient "Jane Roe" has identifier 12345678', 'Patient.identifier[0]')));
      assert.ok(err instanceof IntegrationError);
      assert.equal(err.retryable, false);
      assert.equal(err.message, 'FHIR server rejected the transaction: HTTP 400 invalid at Patient.identifier[0]: Patient "…" has identifier #');
    });

    it('404 without an OperationOutcome → IntegrationError saying so', async () => {
      const err = await postTo(answer(404, '<html>no</html>', { 'content-type': 'text/html' }));
      assert.ok(err instanceof IntegrationError);
      assert.equal(err.code, 'INTEGRATION_FHIR_REJECTED');
      assert.match(err.message, /HTTP 404 \(no OperationOutcome\)/);
    });

    it('500 → TransientError FHIR_SERVER_ERROR', async () => {
      const err = await postTo(answer(500, outcome('exception', 'boom')));
      assert.ok(err instanceof TransientError);
      assert.equal(err.retryable, true);
      assert.equal(err.code, 'TRANSIENT_FHIR_SERVER_ERROR');
      assert.equal(err.details?.status, 500);
    });

    it('503 → TransientError FHIR_UNAVAILABLE, Retry-After as an HTTP-date', async () => {
      const at = new Date(Date.now() + 60_000).toUTCString();
      const err = await postTo(answer(503, '', { 'retry-after': at }));
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_UNAVAILABLE');
      assert.ok(err.retryAfterMs !== undefined && err.retryAfterMs > 0 && err.retryAfterMs <= 60_000);
    });

    it('429 with Retry-After: 2 → TransientError FHIR_RATE_LIMITED, retryAfterMs 2000', async () => {
      const err = await postTo(answer(429, outcome('throttled', 'slow down'), { 'retry-after': '2' }));
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_RATE_LIMITED');
      assert.equal(err.retryAfterMs, 2000);
    });

    it('408 → TransientError FHIR_TIMEOUT', async () => {
      const err = await postTo(answer(408, outcome('timeout', 'too slow')));
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_TIMEOUT');
    });

    it('a peer that never answers → TransientError FHIR_TIMEOUT after timeoutMs', async () => {
      const err = await postTo(() => { /* silence */ }, 200);
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_TIMEOUT');
      assert.equal(err.details?.timeoutMs, 200);
    });

    it('a peer that sends headers then stalls the body → FHIR_TIMEOUT too', async () => {
      const err = await postTo((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/fhir+json' });
        res.write('{"resourceType":"Bundle",');
      }, 200);
      assert.equal(err.code, 'TRANSIENT_FHIR_TIMEOUT');
    });

    it('a connection reset → TransientError FHIR_UNAVAILABLE', async () => {
      const err = await postTo((_req, _res, raw) => raw.socket.destroy());
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_UNAVAILABLE');
    });

    it('a closed port (connection refused) → TransientError FHIR_UNAVAILABLE ECONNREFUSED', async () => {
      const gone = await startFaultServer(answer(200));
      await gone.close();
      const dest = new FhirDestination({ baseUrl: gone.url, logger: quiet });
      const err = await failure(() => dest.postTransaction(admitBundle('MRN-F', 'V-F'), ctx));
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_UNAVAILABLE');
      assert.equal(err.details?.code, 'ECONNREFUSED');
      const capsErr = await failure(() => dest.capabilities());
      assert.equal(capsErr.code, 'TRANSIENT_FHIR_UNAVAILABLE');
    });

    it('a 200 with a 4xx entry → IntegrationError naming the entry (Medplum transactions are not atomic)', async () => {
      const err = await postTo(answer(200, {
        resourceType: 'Bundle', type: 'transaction-response',
        entry: [{ response: { status: '201 Created' } }, { response: { status: '422 Unprocessable Entity', outcome: outcome('processing', 'rule failed') } }],
      }));
      assert.ok(err instanceof IntegrationError);
      assert.equal(err.message, 'FHIR server rejected the transaction: entry 1 HTTP 422 processing: rule failed');
      assert.equal(err.details?.status, 200);
      assert.equal(err.details?.entryIndex, 1);
      assert.equal(err.details?.entryStatus, 422);
    });

    it('a 200 with a 5xx entry → TransientError', async () => {
      const err = await postTo(answer(200, { resourceType: 'Bundle', type: 'transaction-response', entry: [{ response: { status: '503' } }] }));
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_UNAVAILABLE');
    });

    it('a 200 that is not JSON → TransientError FHIR_BAD_RESPONSE', async () => {
      const err = await postTo(answer(200, '<html>captive portal</html>', { 'content-type': 'text/html' }));
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_BAD_RESPONSE');
    });

    it('close() rejects the request in flight with FHIR_CLOSED, refuses new ones, and is safe twice', async () => {
      peer = await startFaultServer(() => { /* hold the request */ });
      const dest = new FhirDestination({ baseUrl: peer.url, logger: quiet });
      const pending = failure(() => dest.postTransaction(admitBundle('MRN-F', 'V-F'), ctx));
      await once(peer.events, 'request');
      await dest.close();
      await dest.close();
      const err = await pending;
      assert.ok(err instanceof TransientError);
      assert.equal(err.code, 'TRANSIENT_FHIR_CLOSED');
      const after = await failure(() => dest.postTransaction(admitBundle('MRN-F', 'V-F'), ctx));
      assert.equal(after.code, 'TRANSIENT_FHIR_CLOSED');
    });

    it('capabilities() is not cached: a 503 then a success', async () => {
      let calls = 0;
      peer = await startFaultServer((req, res) => {
        calls += 1;
        if (calls === 1) return answer(503)(req, res, undefined as never);
        return answer(200, { resourceType: 'CapabilityStatement', fhirVersion: '4.0.1', rest: [{ mode: 'server', resource: [{ type: 'Patient' }] }] })(req, res, undefined as never);
      });
      const dest = new FhirDestination({ baseUrl: peer.url, logger: quiet });
      const err = await failure(() => dest.capabilities());
      assert.equal(err.code, 'TRANSIENT_FHIR_UNAVAILABLE');
      const caps = await dest.capabilities();
      assert.deepEqual(caps.resourceTypes, ['Patient']);
      assert.equal(peer.received[1].url, '/fhir/R4/metadata');
    });

    it('rejects a base URL that is not absolute, without echoing it', () => {
      assert.throws(() => new FhirDestination({ baseUrl: 'user:secret@nowhere' }), (e: Error) => e instanceof ValidationError && !e.message.includes('secret'));
    });
  });
});
