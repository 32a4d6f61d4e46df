/**
 * The NPHIES nodes under node-red-node-test-helper, behind their destination queue, with real
 * parts: the embedded SQLite store and transport, the claim lifecycle on that store, and the NPHIES
 * simulator over HTTP on loopback. Asserts what reaches msg.nphies, the lifecycle, the stored row,
 * dead letters and what Catch nodes see.
 */
import { fhirClients } from '../../connectors/fhir/client-registry';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import helper from 'node-red-node-test-helper';
import type { Claim } from '@medplum/fhirtypes';
import type { NphiesResult } from '../../connectors/nphies/types';
import { claimLifecycleFor, type ClaimLifecycle } from '../../engine/nphies/lifecycle';
import type { WaslRuntime } from '../../engine/runtime/types';
import { validateFhir } from '../../transformers/fhir/validate';
import { startNphiesSimulator, type NphiesSimulator } from '../simulators/nphies';
import { claimInput, PARTIES } from '../simulators/nphies/requests';
import { nodeEvents, startNodeRuntime, stopNodeRuntime, waitFor, waitForRow, type NodeRuntime } from '../support/node-runtime';
import queueNode = require('../../nodes/queue/queue');
import claimNode = require('../../nodes/nphies-claim/nphies-claim');
import preauthNode = require('../../nodes/nphies-preauth/nphies-preauth');
import eligibilityNode = require('../../nodes/nphies-eligibility/nphies-eligibility');
import cancelNode = require('../../nodes/nphies-cancel/nphies-cancel');
import pollNode = require('../../nodes/nphies-poll/nphies-poll');
import endpointNode = require('../../nodes/nphies-endpoint/nphies-endpoint');

helper.init(require.resolve('node-red'));

const catchNode = require('@node-red/nodes/core/common/25-catch.js');

const CLAIM_SYSTEM = `${PARTIES.providerEndpoint}/identifiers/claim`;
const provider = { id: 'prov-1', name: 'Test Hospital' };
const insurer = { id: 'ins-1', name: 'Test Insurer' };

interface Caught {
  error: { code?: string; message: string };
}
interface Out {
  payload: unknown;
  nphies: NphiesResult;
  nphiesClaim?: { id: string; state: string };
}

/** One destination node of `type` behind its queue, plus a poll source and Catch, all on one tab. */
function flow(type: string, url: string, extra: Record<string, unknown> = {}) {
  const z = 'tab1';
  const endpoint = { url, providerLicense: PARTIES.providerLicense, payerLicense: PARTIES.payerLicense, providerEndpoint: PARTIES.providerEndpoint, timeoutMs: 5000 };
  return [
    { id: z, type: 'tab', label: 'nphies' },
    { id: 'q', z, type: 'wasl-queue', channel: 'np', queue: 'np.dest.nphies', prefetch: 10, maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50, wires: [['out']] },
    { id: 'out', z, type, channel: 'np', destination: 'nphies', ...endpoint, ...extra, wires: [['sent']] },
    { id: 'sent', z, type: 'helper' },
    { id: 'catcher', z, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z, type: 'helper' },
  ];
}

describe('nodes: wasl-nphies-*', function () {
  this.timeout(30_000);
  let sim: NphiesSimulator;
  let h: NodeRuntime;
  let runtime: WaslRuntime;
  let lifecycle: ClaimLifecycle;

  before(function () {
    this.timeout(60_000);
    validateFhir({ resourceType: 'Claim' }); // compiles the R4 schema once (seconds), outside the tests' timings
  });

  beforeEach(async () => {
    sim = await startNphiesSimulator();
    h = await startNodeRuntime('nphies-nodes');
    runtime = h.runtime;
    lifecycle = claimLifecycleFor(runtime.store);
  });

  afterEach(async () => {
    await stopNodeRuntime(h);
    await sim.close();
  });

  const load = (type: string, extra: Record<string, unknown> = {}, url = sim.processUrl) =>
    helper.load([queueNode, claimNode, preauthNode, eligibilityNode, cancelNode, pollNode, endpointNode, catchNode], flow(type, url, extra) as never);

  /** Stores a row and hands the payload to the destination queue, as a channel's router does. */
  async function enqueue(payload: unknown): Promise<string> {
    const controlId = randomUUID();
    const row = await runtime.store.receive({ id: randomUUID(), channel: 'np', correlationId: `corr-${controlId}`, sender: 'WASL', controlId, raw: JSON.stringify(payload) });
    const receipt = runtime.receipts.open(10_000);
    helper.getNode('q').receive({ payload, wasl: { correlationId: row.correlationId, messageId: row.id, channel: 'np', receipt: receipt.id, attempt: 1 } } as never);
    await receipt.settled;
    return row.id;
  }

  const next = <T>(id: string): Promise<T> => new Promise((resolve) => nodeEvents(id).once('input', resolve));

  it('claim approved: msg.nphies carries the result, the lifecycle says approved, the row is SENT', async () => {
    await load('wasl-nphies-claim');
    sim.setScenario('approved', 1);
    const out = next<Out>('sent');
    const id = await enqueue(claimInput('CLM-A1'));
    const msg = await out;
    assert.equal(msg.nphies.outcome, 'complete');
    assert.equal(msg.nphiesClaim?.state, 'approved');
    const claim = await lifecycle.findClaim({ system: CLAIM_SYSTEM, value: 'CLM-A1' });
    assert.equal(claim?.state, 'approved');
    assert.deepEqual((await lifecycle.history(claim!.id)).map((t) => t.to), ['draft', 'submitted', 'approved']);
    const row = await waitForRow(runtime, id, (r) => r.status === 'SENT');
    assert.match(row.destinations?.find((d) => d.destination === 'nphies')?.response ?? '', /ClaimResponse/);
    assert.equal(sim.stats.submissions, 1);
  });

  it('claim from a FHIR Claim resource: wrapped as a claim-request message and sent', async () => {
    await load('wasl-nphies-claim');
    sim.setScenario('approved', 1);
    // The claim-request the builder makes, unwrapped into a plain collection Bundle, as an EHR would post it.
    const { buildRequest } = await import('../../connectors/nphies/bundles');
    const built = buildRequest('claim-request', claimInput('CLM-F1'), PARTIES);
    const payload = { resourceType: 'Bundle', type: 'collection', entry: built.entry?.slice(1).map((e) => ({ fullUrl: e.fullUrl, resource: e.resource })) };
    const out = next<Out>('sent');
    await enqueue(payload);
    const msg = await out;
    assert.equal(msg.nphies.outcome, 'complete');
    assert.equal((await lifecycle.findClaim({ system: CLAIM_SYSTEM, value: 'CLM-F1' }))?.state, 'approved');
  });

  it('claim rejected: recorded, then done(err) with INTEGRATION_NPHIES_REJECTED, dead-lettered at once', async () => {
    await load('wasl-nphies-claim');
    sim.setScenario('rejected', 1);
    const caught = next<Caught>('caught');
    const id = await enqueue(claimInput('CLM-R1'));
    assert.equal((await caught).error.code, 'INTEGRATION_NPHIES_REJECTED');
    await waitFor(async () => (await runtime.transport.depth('np.dest.nphies')).dead === 1);
    assert.equal((await lifecycle.findClaim({ system: CLAIM_SYSTEM, value: 'CLM-R1' }))?.state, 'rejected');
    const row = await waitForRow(runtime, id, (r) => r.status === 'ERROR');
    assert.match(row.destinations?.find((d) => d.destination === 'nphies')?.response ?? '', /ClaimResponse/);
    assert.equal(sim.stats.submissions, 1, 'not retried');
  });

  it('claim queued, then the poll source delivers the adjudication and the lifecycle moves on', async () => {
    await load('wasl-nphies-claim');
    sim.setScenario('queued', 1);
    const out = next<Out>('sent');
    await enqueue(claimInput('CLM-Q1'));
    assert.equal((await out).nphies.outcome, 'queued');
    // The simulator marks its queued answer as pended by the payer (adjudication-outcome pended).
    assert.ok(['queued', 'pended'].includes((await lifecycle.findClaim({ system: CLAIM_SYSTEM, value: 'CLM-Q1' }))?.state ?? ''));

    await helper.unload();
    const z = 'tab2';
    await helper.load([queueNode, pollNode], [
      { id: z, type: 'tab', label: 'poll' },
      {
        id: 'poll', z, type: 'wasl-nphies-poll', channel: 'np-poll', url: sim.processUrl, providerLicense: PARTIES.providerLicense,
        providerEndpoint: PARTIES.providerEndpoint, intervalS: 0, count: 10, runOnStart: false, wires: [['pq']],
      },
      { id: 'pq', z, type: 'wasl-queue', channel: 'np-poll', queue: 'np-poll.in', prefetch: 10, maxAttempts: 2, initialDelayMs: 20, maxDelayMs: 50, wires: [['polled']] },
      { id: 'polled', z, type: 'helper' },
    ] as never);
    const polled = next<Out>('polled');
    helper.getNode('poll').receive({ payload: 'now' } as never);
    const msg = await polled;
    // Past the queue only the payload travels: a transaction PUTting the delivered ClaimResponse.
    const tx = msg.payload as { type: string; entry: Array<{ request: { method: string; url: string } }> };
    assert.equal(tx.type, 'transaction');
    assert.deepEqual(tx.entry.map((e) => [e.request.method, e.request.url.split('/')[0]]), [['PUT', 'ClaimResponse']]);
    assert.equal((await lifecycle.findClaim({ system: CLAIM_SYSTEM, value: 'CLM-Q1' }))?.state, 'approved');
  });

  it('cancel: the claim becomes cancelled', async () => {
    await load('wasl-nphies-claim');
    sim.setScenario('approved', 1);
    const out = next<Out>('sent');
    await enqueue(claimInput('CLM-C1'));
    await out;
    await helper.unload();
    await load('wasl-nphies-cancel');
    const cancelled = next<Out>('sent');
    await enqueue({ identifier: 'CX-CLM-C1', focus: { system: CLAIM_SYSTEM, value: 'CLM-C1' }, reason: 'WI', provider, insurer });
    const msg = await cancelled;
    assert.equal(msg.nphies.outcome, 'complete');
    assert.equal((await lifecycle.findClaim({ system: CLAIM_SYSTEM, value: 'CLM-C1' }))?.state, 'cancelled');
  });

  it('eligibility and pre-authorisation are recorded', async () => {
    await load('wasl-nphies-eligibility');
    const elig = next<Out>('sent');
    const input = claimInput('X');
    await enqueue({ identifier: 'EL-1', purpose: ['benefits', 'validation'], servicedDate: '2025-05-01', patient: input.patient, coverage: input.coverage, provider, insurer });
    assert.equal((await elig).nphies.eligibility?.inforce, true);
    await helper.unload();
    await load('wasl-nphies-preauth');
    sim.setScenario('approved', 1);
    const pa = next<Out>('sent');
    await enqueue(claimInput('PA-1', 1));
    const msg = await pa;
    assert.ok(msg.nphies.adjudication?.preAuthRef);
  });

  it('a payload that cannot make a valid message: VALIDATION_ code, dead-lettered, nothing sent', async () => {
    await load('wasl-nphies-claim');
    const caught = next<Caught>('caught');
    await enqueue({ resourceType: 'Patient', id: 'p1' });
    assert.match((await caught).error.code ?? '', /^VALIDATION_NPHIES_/);
    await waitFor(async () => (await runtime.transport.depth('np.dest.nphies')).dead === 1);
    assert.equal(sim.stats.requests, 0);
  });

  it('NPHIES down (500): TRANSIENT_ code, retried by the queue, then dead-lettered; a redelivery never double-submits', async () => {
    await load('wasl-nphies-claim');
    sim.inject({ type: 'status', status: 500 }, 2);
    const codes: string[] = [];
    nodeEvents('caught').on('input', (m: Caught) => codes.push(m.error.code ?? ''));
    await enqueue(claimInput('CLM-T1'));
    await waitFor(async () => (await runtime.transport.depth('np.dest.nphies')).dead === 1);
    assert.equal(codes.length, 2, 'two attempts (maxAttempts 2)');
    assert.ok(codes.every((c) => c.startsWith('TRANSIENT_')), codes.join());
    assert.equal(sim.stats.submissions, 0);
    // Replayed after NPHIES is back: one submission.
    await runtime.transport.replayDeadLetters('np.dest.nphies');
    await waitFor(async () => (await lifecycle.findClaim({ system: CLAIM_SYSTEM, value: 'CLM-T1' }))?.state === 'approved');
    assert.equal(sim.stats.submissions, 1);
  });

  it('shows the endpoint circuit breaker under the channel (API, metrics, alerts), and forgets it when the node closes', async () => {
    await load('wasl-nphies-claim');
    const circuits = fhirClients.circuitsFor('np');
    assert.deepEqual(Object.values(circuits), ['closed']);
    const [connection] = Object.keys(circuits);
    assert.equal(fhirClients.states()[connection], 'closed');
    await helper.unload();
    assert.deepEqual(fhirClients.circuitsFor('np'), {});
    assert.equal(fhirClients.states()[connection], undefined);
  });

  it('uses a wasl-nphies-endpoint config node', async () => {
    const nodes = flow('wasl-nphies-claim', '', { endpoint: 'ep', url: '' });
    nodes.push({ id: 'ep', type: 'wasl-nphies-endpoint', url: sim.processUrl, providerLicense: PARTIES.providerLicense, payerLicense: PARTIES.payerLicense, providerEndpoint: PARTIES.providerEndpoint } as never);
    await helper.load([queueNode, claimNode, endpointNode, catchNode], nodes as never, { ep: {} } as never);
    sim.setScenario('approved', 1);
    const out = next<Out>('sent');
    await enqueue(claimInput('CLM-E1'));
    assert.equal((await out).nphies.outcome, 'complete');
  });

  it('a FHIR Claim with nothing around it is refused with the validator\'s path', async () => {
    await load('wasl-nphies-claim');
    const caught = next<Caught>('caught');
    const claim: Claim = { resourceType: 'Claim', status: 'active', use: 'claim', identifier: [{ system: CLAIM_SYSTEM, value: 'CLM-V1' }] } as Claim;
    await enqueue(claim);
    assert.equal((await caught).error.code, 'VALIDATION_NPHIES_INVALID');
    assert.equal(sim.stats.requests, 0);
  });
});
