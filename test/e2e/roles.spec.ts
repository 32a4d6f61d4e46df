/**
 * Each role against the real engine process (embedded mode): what it may not do is refused with
 * 403, the refusal is in the audit log, and neither the answer nor the audit log holds any of
 * the patient data of the message in the store. What a role may do answers something other than
 * 401/403. The Node-RED editor takes only admin and analyst; a deploy is audited.
 *
 * The channel here is not `test: true`, so an analyst sees it masked too; admin and auditor see
 * bodies, and every such view is an audit entry.
 */
import assert from 'node:assert/strict';
import { verifyAuditChain } from '../../engine/audit/audit-log';
import { KnexMessageStore } from '../../engine/store/knex-store';
import { startFhirServer, type RunningFhirServer } from '../../engine/fhir-server';
import { adtMessage } from '../support/adt';
import { basicAuth, startEngineProcess, tempDir, writeTestChannels, type EngineProcess } from '../support/engine-process';
import { waitUntil } from '../support/fhir-counts';
import { sendAll } from '../support/sender';
import path from 'node:path';

const PHI = ['Zanzibarova', 'Quillon', 'MRN-ROLE-777', '19800101', '1980-01-01', '1 Test Street', '555-0100'];
const ROLES = ['admin', 'analyst', 'claims_processor', 'auditor', 'ui_user'] as const;
type Role = (typeof ROLES)[number];

interface Action {
  name: string;
  allowed: readonly Role[];
  method: string;
  path: (ctx: { messageId: string }) => string;
  body?: unknown;
}

/** One row per guarded thing a user can try; `allowed` is the contract of docs/operations.md. */
const ACTIONS: Action[] = [
  { name: 'channel list', allowed: ROLES, method: 'GET', path: () => '/api/v1/channels' },
  { name: 'channel start', allowed: ['admin', 'analyst'], method: 'POST', path: () => '/api/v1/channels/roles/start' },
  { name: 'message search by MRN', allowed: ['admin', 'analyst', 'auditor', 'ui_user'], method: 'GET', path: () => '/api/v1/messages?patientKey=MRN-ROLE-777' },
  { name: 'message detail', allowed: ['admin', 'analyst', 'auditor', 'ui_user'], method: 'GET', path: (c) => `/api/v1/messages/${c.messageId}` },
  { name: 'message content', allowed: ['admin', 'analyst', 'auditor', 'ui_user'], method: 'GET', path: (c) => `/api/v1/messages/${c.messageId}/content` },
  { name: 'reprocess', allowed: ['admin', 'analyst'], method: 'POST', path: () => '/api/v1/messages/reprocess', body: { ids: ['no-such-message'] } },
  { name: 'dead-letter replay', allowed: ['admin', 'analyst'], method: 'POST', path: () => '/api/v1/queues/roles.dest.fhir/replay' },
  { name: 'audit log', allowed: ['admin', 'auditor'], method: 'GET', path: () => '/api/v1/audit' },
  { name: 'users', allowed: ['admin'], method: 'GET', path: () => '/api/v1/users' },
  { name: 'create a user', allowed: ['admin'], method: 'POST', path: () => '/api/v1/users', body: { username: 'x', password: 'short', role: 'admin' } },
  { name: 'failed claims', allowed: ['admin', 'claims_processor', 'auditor'], method: 'GET', path: () => '/api/v1/claims/failed' },
  { name: 'repair a failed claim', allowed: ['admin', 'claims_processor'], method: 'PATCH', path: () => '/api/v1/claims/failed/1', body: {} },
  { name: 'FHIR connections', allowed: ['admin', 'analyst'], method: 'GET', path: () => '/api/v1/fhir-connections' },
];

describe('roles against the real engine', function () {
  this.timeout(180_000);
  let fhir: RunningFhirServer;
  let engine: EngineProcess;
  let dataDir: string;
  let messageId: string;
  const password = (role: Role) => `${role}-password-long`;

  before(async () => {
    fhir = await startFhirServer(0);
    dataDir = tempDir('roles');
    const channels = writeTestChannels(dataDir, { id: 'roles', fhirUrl: fhir.url });
    engine = await startEngineProcess({ dataDir, channelsFile: channels });
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      const res = await engine.api('/api/v1/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: role, password: password(role), role }) });
      assert.equal(res.status, 201, await res.text());
    }
    const text = adtMessage({ controlId: 'ROLES1', patientId: 'MRN-ROLE-777', visitNumber: 'V-ROLE-1', family: 'Zanzibarova' }).replace('Testgiven', 'Quillon');
    const sent = await sendAll(engine.mllpPort, [{ controlId: 'ROLES1', text }], { connections: 1 });
    assert.equal(sent.acks.get('ROLES1')?.code, 'AA');
    await waitUntil(async () => {
      const list = (await (await engine.api('/api/v1/messages?channel=roles')).json()) as { messages: Array<{ id: string; status: string }> };
      messageId = list.messages[0]?.id;
      return list.messages[0]?.status === 'SENT';
    }, 'the message to be SENT', 20_000);
  });

  after(async () => {
    await engine?.stop();
    await fhir?.close();
  });

  const as = (role: Role) => (role === 'admin' ? basicAuth(engine.admin.username, engine.admin.password) : basicAuth(role, password(role)));

  for (const role of ROLES) {
    it(`${role}: forbidden actions are 403 and leak no PHI; allowed ones get through`, async () => {
      for (const action of ACTIONS) {
        const res = await fetch(engine.baseUrl + action.path({ messageId }), {
          method: action.method,
          headers: { authorization: as(role), ...(action.body ? { 'content-type': 'application/json' } : {}) },
          body: action.body ? JSON.stringify(action.body) : undefined,
        });
        const text = await res.text();
        if (action.allowed.includes(role)) {
          assert.ok(res.status !== 401 && res.status !== 403, `${role} may ${action.name}: got ${res.status} ${text.slice(0, 200)}`);
        } else {
          assert.equal(res.status, 403, `${role} may not ${action.name}: got ${res.status}`);
          for (const phi of PHI) assert.ok(!text.includes(phi), `${role} ${action.name}: the refusal shows ${phi}`);
        }
      }
    });
  }

  it('message content: masked for ui_user and for an analyst on a channel that is not test data; unmasked for admin and auditor, each view audited', async () => {
    const content = async (role: Role) => (await (await fetch(`${engine.baseUrl}/api/v1/messages/${messageId}/content`, { headers: { authorization: as(role) } })).json()) as { masked: boolean };
    for (const role of ['ui_user', 'analyst'] as const) {
      const body = await content(role);
      assert.equal(body.masked, true, role);
      for (const phi of PHI) assert.ok(!JSON.stringify(body).includes(phi), `${role} sees ${phi}`);
    }
    for (const role of ['admin', 'auditor'] as const) {
      const body = await content(role);
      assert.equal(body.masked, false, role);
      assert.ok(JSON.stringify(body).includes('Zanzibarova'));
    }
    const views = (await (await engine.api('/api/v1/audit?action=message.view-body')).json()) as { entries: Array<{ actor: string; target: string }> };
    assert.ok(views.entries.some((e) => e.actor === 'auditor' && e.target === messageId));
    assert.ok(views.entries.some((e) => e.actor === 'admin' && e.target === messageId));
  });

  it('the Node-RED editor signs in admin and analyst only; a deploy is audited', async () => {
    const token = async (role: Role) =>
      fetch(`${engine.baseUrl}/editor/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_id: 'node-red-editor', grant_type: 'password', scope: '*', username: role === 'admin' ? engine.admin.username : role, password: role === 'admin' ? engine.admin.password : password(role) }),
      });
    for (const role of ['claims_processor', 'auditor', 'ui_user'] as const) assert.equal((await token(role)).status, 403, role);
    assert.equal((await fetch(`${engine.baseUrl}/editor/flows`)).status, 401);
    const analyst = (await (await token('analyst')).json()) as { access_token: string };
    const auth = { authorization: `Bearer ${analyst.access_token}` };
    const flows = (await (await fetch(`${engine.baseUrl}/editor/flows`, { headers: { ...auth, 'node-red-api-version': 'v2' } })).json()) as { rev: string; flows: unknown[] };
    const deploy = await fetch(`${engine.baseUrl}/editor/flows`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'node-red-api-version': 'v2', 'node-red-deployment-type': 'full' },
      body: JSON.stringify({ rev: flows.rev, flows: flows.flows }),
    });
    assert.equal(deploy.status, 200, await deploy.text());
    await waitUntil(async () => {
      const entries = (await (await engine.api('/api/v1/audit?action=flows.deploy')).json()) as { entries: Array<{ actor: string }> };
      return entries.entries.some((e) => e.actor === 'analyst');
    }, 'the deploy in the audit log', 10_000);
  });

  it('the audit log holds the refusals, no PHI, and an unbroken chain (also by ./bin/wasl audit verify)', async () => {
    const all = (await (await engine.api('/api/v1/audit?limit=1000')).json()) as { entries: Array<{ action: string; actor: string }> };
    for (const role of ['claims_processor', 'auditor', 'ui_user'] as const) assert.ok(all.entries.some((e) => e.action === 'access.denied' && e.actor === role), role);
    for (const phi of PHI) assert.ok(!JSON.stringify(all).includes(phi), `the audit log holds ${phi}`);
    assert.deepEqual(((await (await engine.api('/api/v1/audit/verify')).json()) as { ok: boolean }).ok, true);
    const store = await KnexMessageStore.open({ sqliteFile: path.join(dataDir, 'wasl.db') });
    try {
      assert.equal((await verifyAuditChain(store.knex)).ok, true);
    } finally {
      await store.close();
    }
  });
});
