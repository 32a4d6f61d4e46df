/**
 * CAQH ProView adapter against the CAQH simulator over loopback HTTP: the roster batch cycle
 * (add → batch id → poll until complete), Status Check, update / de-roster, supporting
 * documents, HTTP Basic auth from env var names, and CAQH's error classes.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { WaslError } from '../../../common/errors';
import type { AdapterCallEvent } from '../../../connectors/adapters/types';
import { CaqhAdapter, caqhAdapterFactory, caqhSettingsFrom, createCaqhAdapter, type CaqhAdapterSettings } from '../../../connectors/caqh/client';
import { capturingLogger } from '../../support/logging';
import { startCaqhSimulator, type CaqhSimulator, type CaqhSimulatorOptions } from '../../simulators/caqh/server';
import { INITIAL_ADD, NPI_2 } from './fixtures';

const FAST = { retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 }, poll: { initialDelayMs: 2, maxDelayMs: 10, maxWaitMs: 5_000 } };

async function rejects(p: Promise<unknown>): Promise<WaslError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof WaslError, `not a WaslError: ${String(err)}`);
    return err;
  }
  assert.fail('did not reject');
}

describe('CAQH ProView adapter (simulator)', () => {
  let sim: CaqhSimulator;
  let adapter: CaqhAdapter;
  let events: AdapterCallEvent[];
  const logLines: string[][] = [];
  const adapters: CaqhAdapter[] = [];

  async function start(simOpts: CaqhSimulatorOptions = {}, settings: Partial<CaqhAdapterSettings> = {}, env?: Record<string, string | undefined>): Promise<void> {
    sim = await startCaqhSimulator({ pollsUntilComplete: 2, ...simOpts });
    adapter = make(settings, env);
  }

  function make(settings: Partial<CaqhAdapterSettings> = {}, env?: Record<string, string | undefined>): CaqhAdapter {
    events = [];
    const { logger, lines } = capturingLogger();
    logLines.push(lines);
    const a = createCaqhAdapter(
      { baseUrl: sim.url, organizationId: sim.organizationId, usernameEnv: 'TEST_CAQH_USER', passwordEnv: 'TEST_CAQH_PASS', timeoutMs: 2_000, ...FAST, ...settings },
      { env: env ?? { TEST_CAQH_USER: sim.credentials.username, TEST_CAQH_PASS: sim.credentials.password }, onEvent: (e) => events.push(e), logger },
    );
    adapters.push(a);
    return a;
  }

  afterEach(async () => {
    // Logs carry codes and statuses only: never the password, the Basic header or roster data.
    const log = logLines.splice(0).flat().join('');
    for (const secret of [sim.credentials.password, 'Basic ', '000000000', '19700101', 'Provider']) assert.ok(!log.includes(secret), `log holds ${secret}`);
    for (const a of adapters.splice(0)) await a.close();
    await sim?.close();
  });

  it('adds a provider: POST array → batch id, then polls pending → complete', async () => {
    await start({ pollsUntilComplete: 2 });
    const submitted = await adapter.rosterAdd([INITIAL_ADD]);
    assert.equal(submitted.action, 'add');
    assert.equal(submitted.entries, 1);
    assert.ok(sim.batch(submitted.batchId), 'the simulator knows the batch');

    const add = sim.requests[0];
    assert.equal(add.method, 'POST');
    assert.equal(add.path, '/RosterAPI/API/Roster');
    assert.deepEqual(add.query, { product: 'PV' });
    assert.match(add.contentType ?? '', /^application\/json/);
    assert.ok(Array.isArray(add.body));
    assert.equal((add.body as Array<Record<string, unknown>>)[0].organization_id, '1234');

    const first = await adapter.batchResult(submitted.batchId);
    assert.equal(first.state, 'pending');
    assert.equal(first.batchStatus, 'In Process');
    const done = await adapter.waitForBatch(submitted.batchId);
    assert.equal(done.state, 'complete');
    assert.equal(done.batchStatus, 'Complete');
    assert.equal(done.lines.length, 1);
    assert.deepEqual(done.lines[0], { caqhProviderId: '10000001', poProviderId: 'P-1', npi: '1234567893', outcome: 'accepted', exceptionDescription: undefined });
    assert.equal(sim.stats.polls, 3, 'two pending polls, then the complete one');
    const poll = sim.requests[1];
    assert.equal(poll.method, 'GET');
    assert.deepEqual(poll.query, { product: 'PV', batchId: submitted.batchId });
    assert.equal(sim.providers.get('10000001')?.onRoster, true);
  });

  it('gives up waiting after maxWaitMs and hands back the pending result', async () => {
    await start({ pollsUntilComplete: 1_000 });
    const { batchId } = await adapter.rosterAdd([INITIAL_ADD]);
    const started = Date.now();
    const res = await adapter.waitForBatch(batchId, { initialDelayMs: 5, maxDelayMs: 10, maxWaitMs: 60 });
    assert.equal(res.state, 'pending');
    assert.ok(Date.now() - started < 1_000);
    assert.ok(sim.stats.polls >= 2 && sim.stats.polls < 20, `polls ${sim.stats.polls}`);
  });

  it('reports per-provider exceptions in the batch result', async () => {
    await start({ pollsUntilComplete: 0 });
    const { batchId } = await adapter.rosterAdd([{ caqh_provider_id: '99999999', po_provider_id: 'P-9' }, { ...INITIAL_ADD, po_provider_id: 'P-2', provider: { ...INITIAL_ADD.provider, npi: NPI_2 } }]);
    const res = await adapter.waitForBatch(batchId);
    assert.equal(res.state, 'complete');
    const byPo = Object.fromEntries(res.lines.map((l) => [l.poProviderId, l]));
    assert.equal(byPo['P-9'].outcome, 'exception');
    assert.equal(byPo['P-9'].exceptionDescription, 'Quick Add: CAQH Provider ID not found');
    assert.equal(byPo['P-2'].outcome, 'accepted');
  });

  it('checks a provider status: query names, profile status, authorization, attestation date', async () => {
    await start();
    sim.setProvider('10000001', { poProviderId: 'P-1', practiceState: 'IL' });
    sim.setAttestation('10000001', '2025-01-15');
    const s = await adapter.statusCheck('10000001');
    assert.equal(s.found, true);
    assert.equal(s.onRoster, true);
    assert.equal(s.authorized, true);
    assert.equal(s.providerStatus, 'Re-attestation');
    assert.equal(s.providerStatusDate, '2025-01-15');
    assert.equal(s.attestedOn, '2025-01-15');
    assert.equal(s.practiceState, 'IL');
    assert.equal(s.poProviderId, 'P-1');
    const req = sim.requests[0];
    assert.equal(req.path, '/RosterAPI/api/providerstatus');
    assert.deepEqual(req.query, { Product: 'PV', Caqh_Provider_Id: '10000001', Organization_Id: '1234' });

    const unknown = await adapter.statusCheck('55555555');
    assert.equal(unknown.found, false);
    assert.equal(unknown.attestedOn, undefined);
  });

  it('reads the lower-case key spelling of the docs example', async () => {
    await start({ lowercaseStatusKeys: true });
    sim.setProvider('10000002', { authorizationFlag: 'N', providerStatus: 'Expired', providerStatusDate: '2025-06-01' });
    const s = await adapter.statusCheck('10000002');
    assert.equal(s.authorized, false);
    assert.equal(s.expired, true);
    assert.equal(s.providerStatusDate, '2025-06-01');
  });

  it('updates roster attributes (PUT) and de-rosters (PUT /ProviewAPI/API/Deroster)', async () => {
    await start({ pollsUntilComplete: 0 });
    sim.setProvider('10000001');
    const up = await adapter.rosterUpdate([{ caqh_provider_id: '10000001', next_recredential_date: '20260301', po_provider_id: 'P-1' }]);
    assert.equal((await adapter.waitForBatch(up.batchId)).lines[0].outcome, 'accepted');
    assert.equal(sim.providers.get('10000001')?.attributes.next_recredential_date, '20260301');
    const putReq = sim.requests[0];
    assert.equal(putReq.method, 'PUT');
    assert.equal(putReq.path, '/RosterAPI/API/Roster');
    assert.deepEqual(putReq.body, [{ organization_id: '1234', caqh_provider_id: '10000001', po_provider_id: 'P-1', next_recredential_date: '20260301' }]);

    const del = await adapter.rosterDelete([{ caqh_provider_id: '10000001' }]);
    assert.equal((await adapter.waitForBatch(del.batchId)).lines[0].outcome, 'accepted');
    const delReq = sim.requests.find((r) => r.path === '/ProviewAPI/API/Deroster');
    assert.equal(delReq?.method, 'PUT');
    assert.deepEqual(delReq?.query, { product: 'PV' });
    assert.deepEqual(delReq?.body, [{ organization_id: '1234', caqh_provider_id: '10000001' }]);
    assert.equal(sim.providers.get('10000001')?.onRoster, false);

    const again = await adapter.rosterUpdate([{ caqh_provider_id: '10000001', delegation_flag: 'Y' }]);
    const res = await adapter.waitForBatch(again.batchId);
    assert.equal(res.lines[0].outcome, 'exception', 'an update of a de-rostered provider is an exception');
  });

  it('uses the configured de-roster verb and batch-id parameter name', async () => {
    await start({ pollsUntilComplete: 0, derosterMethods: ['POST'], batchIdParam: 'batch_id' }, { derosterMethod: 'POST', batchIdParam: 'batch_id' });
    sim.setProvider('10000001');
    const del = await adapter.rosterDelete([{ caqh_provider_id: '10000001' }]);
    const res = await adapter.waitForBatch(del.batchId);
    assert.equal(res.state, 'complete');
    assert.deepEqual(sim.requests[1].query, { product: 'PV', batch_id: del.batchId });
    assert.equal(sim.requests[0].method, 'POST');
  });

  it('sends HTTP Basic credentials read from the env var names in settings', async () => {
    await start({ username: 'po-user', password: 'pä:ss' }, {}, { TEST_CAQH_USER: 'po-user', TEST_CAQH_PASS: 'pä:ss' });
    await adapter.statusCheck('10000001');
    const expected = `Basic ${Buffer.from('po-user:pä:ss', 'utf8').toString('base64')}`;
    assert.equal(sim.requests[0].authorization, expected);
    assert.equal(sim.stats.unauthorized, 0);
  });

  it('refuses to call without credentials, naming the variables and not the values', async () => {
    await start({}, {}, { TEST_CAQH_USER: 'someone' });
    const err = await rejects(adapter.statusCheck('10000001'));
    assert.equal(err.code, 'VALIDATION_CAQH_CREDENTIALS');
    assert.match(err.message, /TEST_CAQH_PASS/);
    assert.doesNotMatch(err.message, /someone/);
    assert.equal(sim.stats.requests, 0);
  });

  it('classifies 401 as a configuration error, without retrying', async () => {
    await start({}, {}, { TEST_CAQH_USER: 'wasl-po', TEST_CAQH_PASS: 'wrong' });
    const err = await rejects(adapter.rosterAdd([INITIAL_ADD]));
    assert.equal(err.code, 'INTEGRATION_CAQH_UNAUTHORIZED');
    assert.equal(err.retryable, false);
    assert.equal(err.details?.status, 401);
    assert.equal(sim.stats.requests, 1);
  });

  it('classifies 421 (credentials do not match the organization) and 400 Message', async () => {
    await start();
    const other = make({ organizationId: '999' });
    const mismatch = await rejects(other.rosterAdd([INITIAL_ADD]));
    assert.equal(mismatch.code, 'INTEGRATION_CAQH_ORG_MISMATCH');
    const bad = await rejects(adapter.batchResult('no-such-batch'));
    assert.equal(bad.code, 'INTEGRATION_CAQH_REJECTED');
    assert.equal(bad.details?.caqhMessage, 'Batch ID not found');
    assert.match(bad.message, /Batch ID not found/);
  });

  it('checks entries before sending (nothing reaches CAQH)', async () => {
    await start();
    const err = await rejects(adapter.rosterAdd([{ ...INITIAL_ADD, provider: { ...INITIAL_ADD.provider, npi: '1234567890' } }]));
    assert.equal(err.code, 'VALIDATION_CAQH_FIELD');
    assert.equal(err.path, 'entries[0].provider.npi');
    assert.equal((await rejects(adapter.statusCheck('12ab'))).code, 'VALIDATION_CAQH_FIELD');
    assert.equal(sim.stats.requests, 0);
    assert.throws(() => make({ organizationId: '123456' }), /organizationId must be 1-5 digits/);
  });

  it('retries 500 and 429 and gives up as transient after the attempts', async () => {
    await start();
    sim.setProvider('10000001');
    sim.inject({ type: 'status', status: 500 }, 2);
    assert.equal((await adapter.statusCheck('10000001')).found, true);
    assert.equal(sim.stats.requests, 3);

    sim.inject({ type: 'rate-limit', retryAfterS: 0 }, 1);
    const { batchId } = await adapter.rosterAdd([INITIAL_ADD]);
    assert.ok(batchId, 'a POST refused with 429 was not processed, so it is sent again');

    sim.inject({ type: 'status', status: 503 }, 3);
    const err = await rejects(adapter.statusCheck('10000001'));
    assert.equal(err.code, 'TRANSIENT_CAQH_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.ok(events.some((e) => e.outcome === 'transient' && e.status === 503));
  });

  it('does not resend a roster add whose answer was lost (timeout)', async () => {
    await start({}, { timeoutMs: 100 });
    sim.inject({ type: 'slow', ms: 300 }, 1);
    const err = await rejects(adapter.rosterAdd([INITIAL_ADD]));
    assert.equal(err.code, 'TRANSIENT_ADAPTER_TIMEOUT');
    assert.equal(err.details?.status, undefined, 'no answer: the caller must treat the batch as uncertain');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(sim.requests.filter((r) => r.method === 'POST').length, 1);
  });

  it('retrieves a supporting document with its metadata, or CAQH\'s reason', async () => {
    await start();
    const pdf = Buffer.from('%PDF-1.4\n% dummy\n%%EOF\n');
    sim.setProvider('10000001');
    sim.setDocument('10000001', 'AAR', pdf);
    const doc = await adapter.supportingDocument('10000001', 'AAR');
    assert.equal(doc.available, true);
    if (doc.available) {
      assert.deepEqual(doc.bytes, pdf);
      assert.equal(doc.contentType, 'application/pdf');
      assert.equal(doc.size, pdf.length);
      assert.equal(doc.sha256, crypto.createHash('sha256').update(pdf).digest('hex'));
    }
    const req = sim.requests[0];
    assert.equal(req.path, '/DocumentAPI/api/suppdocs');
    assert.deepEqual(req.query, { Caqh_Provider_Id: '10000001', Organization_Id: '1234', Document_Type: 'AAR' });
    assert.match(req.authorization ?? '', /^Basic /);

    const missing = await adapter.supportingDocument('10000001', 'CV');
    assert.deepEqual(missing, { available: false, caqhProviderId: '10000001', documentType: 'CV', httpStatus: 404, reason: 'Document not found' });
    sim.setProvider('10000001', { authorizationFlag: 'N' });
    const unauthorized = await adapter.supportingDocument('10000001', 'AAR');
    assert.equal(unauthorized.available, false);
    if (!unauthorized.available) assert.equal(unauthorized.reason, 'Provider has not authorized the organization');

    sim.inject({ type: 'status', status: 500 });
    assert.equal((await rejects(adapter.supportingDocument('10000001', 'AAR'))).code, 'TRANSIENT_CAQH_UNAVAILABLE');
    assert.ok(events.some((e) => e.operation === 'supporting-document' && e.outcome === 'ok'));
  });

  it('health: a live Status Check when a probe provider is configured, else the breaker', async () => {
    await start();
    assert.equal((await adapter.healthCheck()).status, 'up');
    assert.equal(sim.stats.requests, 0, 'no probe configured: no call');
    sim.setProvider('10000001');
    const probed = make({ healthCheck: { caqhProviderId: '10000001' } });
    assert.equal((await probed.healthCheck()).status, 'up');
    assert.equal(sim.stats.requests, 1);
    sim.inject({ type: 'status', status: 500 }, 3);
    const down = await probed.healthCheck();
    assert.equal(down.status, 'down');
    assert.equal(down.detail, 'TRANSIENT_CAQH_UNAVAILABLE');
    assert.equal(adapter.kind, 'caqh');
    assert.ok(adapter.operations.includes('statusCheck'));
    assert.equal(adapter.breakerState(), 'closed');
    assert.equal(adapter.rateLimitHeadroom(), undefined);
  });

  it('close() ends a batch wait with a clear error and is safe twice', async () => {
    await start({ pollsUntilComplete: 1_000 });
    const { batchId } = await adapter.rosterAdd([INITIAL_ADD]);
    const waiting = adapter.waitForBatch(batchId, { initialDelayMs: 1_000, maxDelayMs: 1_000, maxWaitMs: 60_000 });
    await new Promise((r) => setTimeout(r, 50));
    await adapter.close();
    await adapter.close();
    assert.equal((await rejects(waiting)).code, 'TRANSIENT_CAQH_CLOSED');
    assert.equal((await rejects(adapter.statusCheck('10000001'))).code, 'TRANSIENT_CAQH_CLOSED');
  });
});

describe('CAQH adapter factory (registry settings)', () => {
  function settingsError(raw: Record<string, unknown>): WaslError {
    try {
      caqhSettingsFrom(raw);
    } catch (err) {
      assert.ok(err instanceof WaslError);
      return err;
    }
    assert.fail('accepted');
  }

  it('checks the settings mapping, naming the bad key', () => {
    assert.deepEqual(caqhSettingsFrom({ organizationId: 1234, usernameEnv: 'CAQH_USER', derosterMethod: 'post', poll: { maxWaitMs: '60000' } }), {
      organizationId: '1234',
      usernameEnv: 'CAQH_USER',
      passwordEnv: undefined,
      batchIdParam: undefined,
      derosterMethod: 'POST',
      poll: { initialDelayMs: undefined, maxDelayMs: undefined, maxWaitMs: 60000 },
    });
    assert.equal(settingsError({}).path, 'organizationId');
    assert.equal(settingsError({ organizationId: '123456' }).path, 'organizationId');
    assert.equal(settingsError({ organizationId: '1', password: 'x' }).path, 'password');
    assert.equal(settingsError({ organizationId: '1', passwordEnv: 's3cret value!' }).path, 'passwordEnv');
    assert.equal(settingsError({ organizationId: '1', paths: { roster: 'RosterAPI' } }).path, 'paths.roster');
    assert.equal(settingsError({ organizationId: '1', batchStatuses: { complete: 'Complete' } }).path, 'batchStatuses.complete');
    assert.equal(settingsError({ organizationId: '1', status: { attestedStatuses: ['ok', 3, ''] } }).path, 'status.attestedStatuses[2]');
  });

  it('builds a working adapter from a registry spec', async () => {
    const sim = await startCaqhSimulator({ pollsUntilComplete: 0, batchIdParam: 'batch_id' });
    const events: AdapterCallEvent[] = [];
    const adapter = caqhAdapterFactory({
      id: 'caqh-demo',
      http: { baseUrl: sim.url, timeoutMs: 2000, onEvent: (e) => events.push(e) },
      settings: { organizationId: '1234', batchIdParam: 'batch_id', poll: { initialDelayMs: 2, maxDelayMs: 5 } },
      env: { CAQH_USERNAME: sim.credentials.username, CAQH_PASSWORD: sim.credentials.password },
      logger: capturingLogger().logger,
    });
    try {
      assert.equal(adapter.id, 'caqh-demo');
      const { batchId } = await adapter.rosterAdd([INITIAL_ADD]);
      assert.equal((await adapter.waitForBatch(batchId)).state, 'complete');
      assert.ok(events.length >= 2 && events.every((e) => e.adapter === 'caqh-demo'));
    } finally {
      await adapter.close();
      await sim.close();
    }
  });
});
