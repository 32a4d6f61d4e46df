import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WaslError } from '../../../common/errors';
import { NphiesClient, requestIdOf, type NphiesClientOptions } from '../../../connectors/nphies/client';
import { InMemorySubmissionLedger } from '../../../connectors/nphies/ledger';
import { startNphiesSimulator, type NphiesSimulator } from '../../simulators/nphies';
import { requests } from '../../simulators/nphies/requests';
import { makeCertificate } from '../mllp/helpers';

const FAST = { retry: { maxAttempts: 4, initialDelayMs: 5, maxDelayMs: 20 } };

async function rejects(p: Promise<unknown>): Promise<WaslError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WaslError, `expected a WaslError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

let seq = 0;
const nextId = (prefix: string) => `${prefix}-${Date.now()}-${(seq += 1)}`;

describe('NphiesClient against the NPHIES simulator', function () {
  this.timeout(20_000);

  describe('over HTTP with OAuth2', () => {
    let sim: NphiesSimulator;
    let client: NphiesClient;
    const make = (extra: Partial<NphiesClientOptions> = {}) =>
      new NphiesClient({
        endpoint: { url: sim.processUrl, oauth: { tokenUrl: sim.tokenUrl as string, ...(sim.oauthClient as { clientId: string; clientSecret: string }) }, timeoutMs: 2_000 },
        ...FAST,
        ...extra,
      });

    beforeEach(async () => {
      sim = await startNphiesSimulator({ oauth: true });
      client = make();
    });
    afterEach(async () => {
      await client.close();
      await sim.close();
    });

    it('eligibility-request: in force, and not in force', async () => {
      const r = await client.exchange(requests.eligibility(nextId('EL')));
      assert.equal(r.event, 'eligibility-response');
      assert.equal(r.responseCode, 'ok');
      assert.equal(r.outcome, 'complete');
      assert.equal(r.eligibility?.inforce, true);
      sim.setScenario('not-inforce');
      const n = await client.exchange(requests.eligibility(nextId('EL')));
      assert.equal(n.eligibility?.inforce, false);
    });

    it('claim-request: approved, partial, rejected with error codes, error', async () => {
      const approved = await client.exchange(requests.claim(nextId('CL')));
      assert.equal(approved.event, 'claim-response');
      assert.equal(approved.outcome, 'complete');
      assert.equal(approved.adjudication?.outcome, 'approved');
      assert.deepEqual(approved.adjudication?.total?.find((t) => t.category === 'benefit'), { category: 'benefit', amount: 200, currency: 'SAR' });

      sim.setScenario('partial');
      const partial = await client.exchange(requests.claim(nextId('CL')));
      assert.equal(partial.outcome, 'partial');
      assert.equal(partial.adjudication?.total?.find((t) => t.category === 'benefit')?.amount, 150);

      sim.setScenario('rejected');
      const rejected = await client.exchange(requests.claim(nextId('CL')));
      assert.equal(rejected.outcome, 'rejected');
      assert.deepEqual(rejected.errors.map((e) => e.code), ['BV-00731', 'IC-01428']);
      assert.equal(rejected.errors[0].expression, 'Claim.item[0]');

      sim.setScenario('error');
      const error = await client.exchange(requests.claim(nextId('CL')));
      assert.equal(error.outcome, 'error');
      assert.equal(error.errors.length, 2);
    });

    it('priorauth-request: approved with a preAuthRef', async () => {
      const bundle = requests.priorAuth(nextId('PA'));
      const r = await client.exchange(bundle);
      assert.equal(r.event, 'priorauth-response');
      assert.equal(r.requestId, requestIdOf(bundle));
      assert.match(r.adjudication?.preAuthRef ?? '', /^PA-/);
    });

    it('queued claim: the final answer comes later through poll-request, correlated to the claim request', async () => {
      sim.setScenario('queued', 3);
      const bundles = [requests.claim(nextId('Q')), requests.claim(nextId('Q')), requests.claim(nextId('Q'))];
      for (const b of bundles) assert.equal((await client.exchange(b)).outcome, 'queued');

      const first = await client.poll(requests.poll(2));
      assert.equal(first.result.event, 'poll-response');
      assert.equal(first.messages.length, 2);
      assert.ok(first.result.bundle?.meta?.tag?.some((t) => t.code === 'queued-messages'), 'more waiting');
      const second = await client.poll(requests.poll(100));
      assert.equal(second.messages.length, 1);
      const answered = [...first.messages, ...second.messages];
      assert.deepEqual(answered.map((m) => m.requestId).sort(), bundles.map(requestIdOf).sort());
      assert.ok(answered.every((m) => m.event === 'claim-response' && m.outcome === 'complete'));
      const empty = await client.poll(requests.poll(100));
      assert.equal(empty.messages.length, 0);
    });

    it('payment reconciliation and communication requests arrive by poll; payment-notice and communication are acknowledged', async () => {
      const claimId = nextId('PAY');
      await client.exchange(requests.claim(claimId));
      assert.equal(sim.pay(), 1);
      sim.requestInformation(claimId);
      const { messages } = await client.poll(requests.poll(10));
      assert.deepEqual(messages.map((m) => m.event), ['payment-reconciliation', 'communication-request']);
      const pr = messages[0].bundle?.entry?.[1]?.resource;
      assert.equal(pr?.resourceType, 'PaymentReconciliation');
      assert.equal(pr?.resourceType === 'PaymentReconciliation' && pr.paymentAmount.value, 200);

      const ack = await client.exchange(requests.paymentNotice(pr?.id as string, 200));
      assert.deepEqual([ack.event, ack.outcome], ['acknowledgement', 'complete']);
      const comm = await client.exchange(requests.communication(claimId));
      assert.deepEqual([comm.event, comm.outcome], ['acknowledgement', 'complete']);
      const commRequest = await client.exchange(requests.communicationRequest(claimId));
      assert.deepEqual([commRequest.event, commRequest.outcome], ['acknowledgement', 'complete']);
    });

    it('cancel-request and status-check', async () => {
      const claimId = nextId('CX');
      await client.exchange(requests.claim(claimId));
      const status = await client.exchange(requests.statusCheck(claimId));
      assert.equal(status.event, 'status-response');
      assert.equal(status.adjudication?.outcome, 'approved');
      const cancelled = await client.exchange(requests.cancel(claimId));
      assert.deepEqual([cancelled.event, cancelled.outcome], ['cancel-response', 'complete']);
      assert.equal(sim.claimState(claimId), 'cancelled');
      const unknown = await client.exchange(requests.cancel(nextId('NONE')));
      assert.equal(unknown.outcome, 'error');
      assert.deepEqual(unknown.errors.map((e) => e.code), ['SIM-NOT-FOUND']);
    });

    it('an invalid message is an IntegrationError carrying the validation issues', async () => {
      const bundle = requests.claim(nextId('BAD'));
      (bundle.entry?.[0]?.resource as { focus?: unknown }).focus = [{ reference: 'http://provider.example/Claim/missing' }];
      const err = await rejects(client.exchange(bundle));
      assert.equal(err.code, 'INTEGRATION_NPHIES_REJECTED');
      assert.ok(Array.isArray(err.details?.errors) && err.details.errors.length > 0);
      assert.equal(sim.stats.invalid, 1);
    });

    it('token expiry mid-way: one 401, one new token, the message goes through', async () => {
      await client.exchange(requests.eligibility(nextId('EL')));
      assert.equal(sim.oauth?.stats.issued, 1);
      sim.oauth?.expireAll();
      const r = await client.exchange(requests.eligibility(nextId('EL')));
      assert.equal(r.outcome, 'complete');
      assert.equal(sim.stats.unauthorized, 1);
      assert.equal(sim.oauth?.stats.issued, 2);
    });

    it('retries 500 and 429 (Retry-After) and a dropped connection, then answers', async () => {
      const retries: string[] = [];
      client.on('retry', (e: { code: string }) => retries.push(e.code));
      sim.inject({ type: 'status', status: 500 });
      sim.inject({ type: 'rate-limit', retryAfterS: 0 });
      sim.inject({ type: 'drop' });
      const r = await client.exchange(requests.claim(nextId('RT')));
      assert.equal(r.outcome, 'complete');
      assert.deepEqual(retries, ['TRANSIENT_NPHIES_UNAVAILABLE', 'TRANSIENT_NPHIES_RATE_LIMITED', 'TRANSIENT_NPHIES_CONNECTION_DROPPED']);
      assert.equal(sim.stats.requests, 4);
      assert.equal(sim.stats.submissions, 1);
    });

    it('a lost answer (dropped after processing) is resent identically and answered from NPHIES\'s store', async () => {
      sim.inject({ type: 'drop-after' });
      const r = await client.exchange(requests.claim(nextId('LOST')));
      assert.equal(r.adjudication?.outcome, 'approved');
      assert.equal(sim.stats.submissions, 1);
      assert.equal(sim.stats.resends, 1);
    });

    it('a slow answer times out and is retried', async () => {
      await client.close();
      client = new NphiesClient({ endpoint: { url: sim.processUrl, oauth: { tokenUrl: sim.tokenUrl as string, ...(sim.oauthClient as { clientId: string; clientSecret: string }) }, timeoutMs: 150 }, ...FAST });
      sim.inject({ type: 'slow', ms: 400 });
      const retries: string[] = [];
      client.on('retry', (e: { code: string }) => retries.push(e.code));
      const r = await client.exchange(requests.eligibility(nextId('SLOW')));
      assert.equal(r.outcome, 'complete');
      assert.deepEqual(retries, ['TRANSIENT_NPHIES_TIMEOUT']);
    });

    it('an answer to another request is not a result: retried, then given up', async () => {
      sim.inject({ type: 'wrong-id' });
      const bundle = requests.claim(nextId('WID'));
      const r = await client.exchange(bundle);
      assert.equal(r.requestId, requestIdOf(bundle));
      assert.equal(sim.stats.submissions, 1);

      sim.inject({ type: 'wrong-id' }, 4);
      const err = await rejects(client.exchange(requests.claim(nextId('WID'))));
      assert.equal(err.code, 'TRANSIENT_NPHIES_UNCORRELATED');
    });

    it('gives up after the retry budget with a TransientError', async () => {
      sim.inject({ type: 'status', status: 503 }, 10);
      const err = await rejects(client.exchange(requests.claim(nextId('GU'))));
      assert.equal(err.kind, 'transient');
      assert.equal(err.code, 'TRANSIENT_NPHIES_UNAVAILABLE');
      assert.equal(sim.stats.requests, 4);
    });

    it('the circuit breaker opens after consecutive failures and closes after a good test call', async () => {
      await client.close();
      client = make({ retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 200 } });
      const states: string[] = [];
      client.on('breaker', (s: string) => states.push(s));
      sim.inject({ type: 'status', status: 500 }, 2);
      await rejects(client.exchange(requests.eligibility(nextId('BR'))));
      await rejects(client.exchange(requests.eligibility(nextId('BR'))));
      assert.equal(client.breakerState(), 'open');
      const before = sim.stats.requests;
      const open = await rejects(client.exchange(requests.eligibility(nextId('BR'))));
      assert.equal(open.code, 'TRANSIENT_NPHIES_CIRCUIT_OPEN');
      assert.equal(sim.stats.requests, before, 'nothing sent while open');
      await new Promise((r) => setTimeout(r, 250)); // the breaker's half-open delay
      const r = await client.exchange(requests.eligibility(nextId('BR')));
      assert.equal(r.outcome, 'complete');
      assert.equal(client.breakerState(), 'closed');
      assert.deepEqual(states, ['open', 'half-open', 'closed']);
    });

    describe('idempotency', () => {
      it('an answered key returns the stored result without sending', async () => {
        const ledger = new InMemorySubmissionLedger();
        await client.close();
        client = make({ ledger });
        const bundle = requests.claim(nextId('ID'));
        const key = `claim|${bundle.id}`;
        const first = await client.send(bundle, { idempotencyKey: key });
        assert.equal(first.via, 'sent');
        const again = await client.send(bundle, { idempotencyKey: key });
        assert.equal(again.via, 'ledger');
        assert.equal(again.adjudication?.outcome, 'approved');
        assert.equal(sim.stats.requests, 1);
      });

      it('crash between send and record: the ledger says sending, so a status-check goes instead of a second claim', async () => {
        const bundle = requests.claim(nextId('CRASH'));
        const key = `claim|${bundle.id}`;
        // The process that crashed: it recorded `sending`, NPHIES got and adjudicated the claim, the answer was never recorded.
        const ledger = new InMemorySubmissionLedger();
        await ledger.begin(key, requestIdOf(bundle));
        await client.exchange(bundle);
        assert.equal(sim.stats.byEvent['claim-request'], 1);

        const restarted = make({ ledger });
        try {
          const r = await restarted.send(bundle, { idempotencyKey: key });
          assert.equal(r.via, 'status-check');
          assert.equal(r.adjudication?.outcome, 'approved');
          assert.equal(sim.stats.byEvent['claim-request'], 1, 'no second claim submission');
          assert.equal(sim.stats.submissions, 1);
          assert.equal(sim.stats.byEvent['status-check'], 1);
          const record = await ledger.find(key);
          assert.equal(record?.state, 'answered');
          assert.equal(record?.requestId, requestIdOf(bundle));
          // And a further redelivery sends nothing at all.
          const before = sim.stats.requests;
          assert.equal((await restarted.send(bundle, { idempotencyKey: key })).via, 'ledger');
          assert.equal(sim.stats.requests, before);
        } finally {
          await restarted.close();
        }
      });

      it('crash before the claim reached NPHIES: the status-check finds nothing, so the identical Bundle is sent once', async () => {
        const ledger = new InMemorySubmissionLedger();
        const bundle = requests.claim(nextId('EARLY'));
        const key = `claim|${bundle.id}`;
        await ledger.begin(key, requestIdOf(bundle));
        await client.close();
        client = make({ ledger });
        const r = await client.send(bundle, { idempotencyKey: key });
        assert.equal(r.via, 'sent');
        assert.equal(r.adjudication?.outcome, 'approved');
        assert.deepEqual([sim.stats.byEvent['status-check'], sim.stats.byEvent['claim-request'], sim.stats.submissions], [1, 1, 1]);
        assert.equal((await ledger.find(key))?.state, 'answered');
      });

      it('an eligibility request left in sending is simply resent (nothing to adjudicate twice)', async () => {
        const ledger = new InMemorySubmissionLedger();
        const bundle = requests.eligibility(nextId('EL'));
        await ledger.begin('el', requestIdOf(bundle));
        await client.close();
        client = make({ ledger });
        const r = await client.send(bundle, { idempotencyKey: 'el' });
        assert.equal(r.via, 'sent');
        assert.equal(sim.stats.byEvent['status-check'], undefined);
      });

      it('a duplicate answer from NPHIES (duplicate error code) is resolved by status-check, not taken as an adjudication', async () => {
        await client.close();
        client = make({ ledger: new InMemorySubmissionLedger(), duplicateErrorCodes: ['SIM-DUPLICATE'] });
        const claimId = nextId('DUP');
        const original = requests.claim(claimId);
        await client.send(original, { idempotencyKey: `${claimId}|${original.id}` });
        // The same claim rebuilt (new Bundle and MessageHeader ids): NPHIES calls it a duplicate.
        const rebuilt = requests.claim(claimId);
        const r = await client.send(rebuilt, { idempotencyKey: `${claimId}|${rebuilt.id}` });
        assert.equal(r.duplicate, true);
        assert.equal(r.via, 'status-check');
        assert.equal(r.adjudication?.outcome, 'approved');
        assert.equal(sim.stats.duplicates, 1);
        assert.equal(sim.stats.submissions, 1);
      });

      it('the same response delivered twice is flagged as a duplicate', async () => {
        const bundle = requests.claim(nextId('TWICE'));
        const a = await client.send(bundle, { idempotencyKey: 'k1' });
        const b = await client.send(bundle, { idempotencyKey: 'k1' });
        assert.equal(a.duplicate, undefined);
        assert.equal(b.duplicate, true);
        assert.equal(sim.stats.resends, 1);
        assert.equal(sim.stats.submissions, 1);
      });
    });
  });

  describe('over mutual TLS', () => {
    let dir: string;
    let sim: NphiesSimulator;
    before(async () => {
      const cert = await makeCertificate({ client: true });
      sim = await startNphiesSimulator({ tls: { key: cert.key, cert: cert.cert, ca: cert.cert } });
      dir = mkdtempSync(join(tmpdir(), 'nphies-tls-'));
      writeFileSync(join(dir, 'ca.pem'), cert.cert);
      writeFileSync(join(dir, 'client.pem'), cert.clientCert as string);
      writeFileSync(join(dir, 'client.key'), cert.clientKey as string);
    });
    after(async () => {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('sends with the client certificate', async () => {
      const client = new NphiesClient({
        endpoint: { url: sim.processUrl, tls: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') } },
        ...FAST,
      });
      try {
        const r = await client.exchange(requests.eligibility(nextId('TLS')));
        assert.equal(r.outcome, 'complete');
      } finally {
        await client.close();
      }
    });

    it('is refused without a client certificate, and does not retry a refusal', async () => {
      const client = new NphiesClient({ endpoint: { url: sim.processUrl, tls: { caFile: join(dir, 'ca.pem') } }, ...FAST });
      const retries: unknown[] = [];
      client.on('retry', (e) => retries.push(e));
      const before = sim.stats.requests;
      try {
        const err = await rejects(client.exchange(requests.eligibility(nextId('TLS'))));
        assert.equal(err.code, 'INTEGRATION_NPHIES_TLS', err.message);
        assert.equal(retries.length, 0);
        assert.equal(sim.stats.requests, before);
      } finally {
        await client.close();
      }
    });

    it('the simulator can make its own certificates', async () => {
      const own = await startNphiesSimulator({ tls: 'generate' });
      const d = mkdtempSync(join(tmpdir(), 'nphies-tls-'));
      try {
        writeFileSync(join(d, 'ca.pem'), own.tls?.ca as string);
        writeFileSync(join(d, 'c.pem'), own.tls?.clientCert as string);
        writeFileSync(join(d, 'c.key'), own.tls?.clientKey as string);
        const client = new NphiesClient({ endpoint: { url: own.processUrl, tls: { caFile: join(d, 'ca.pem'), certFile: join(d, 'c.pem'), keyFile: join(d, 'c.key') } } });
        try {
          assert.equal((await client.exchange(requests.claim(nextId('GEN')))).outcome, 'complete');
        } finally {
          await client.close();
        }
      } finally {
        await own.close();
        rmSync(d, { recursive: true, force: true });
      }
    });
  });

  it('close() is safe twice and refuses new work', async () => {
    const sim = await startNphiesSimulator();
    const client = new NphiesClient({ endpoint: { url: sim.processUrl } });
    await client.close();
    await client.close();
    const err = await rejects(client.exchange(requests.poll()));
    assert.equal(err.code, 'TRANSIENT_NPHIES_CLOSED');
    await sim.close();
  });
});
