/**
 * The message browser API through HTTP on loopback, on SQLite and PostgreSQL with the embedded
 * transport: search and paging, masking by role, audited body views, reprocessing with lineage
 * (the copy is queued as the intake queues), dead letters and replay. Then, on a real channel
 * made of Wasl nodes, a reprocessed message flows through to the FHIR server again.
 *
 * A one-line test middleware stands in for the auth middleware: it sets `req.waslUser` from an
 * `x-test-role` header. The audit log is an in-memory AuditLog.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import helper from 'node-red-node-test-helper';
import { MllpClient } from '../../../connectors/mllp/client';
import type { AuditEntry, AuditEntryInput, AuditLog } from '../../../engine/audit/types';
import type { Role } from '../../../engine/auth/roles';
import type { ChannelConfig } from '../../../engine/channels/types';
import { startFhirServer, type RunningFhirServer } from '../../../engine/fhir-server';
import { EngineMetrics } from '../../../engine/runtime/metrics';
import { Receipts } from '../../../engine/runtime/receipts';
import type { WaslRuntime } from '../../../engine/runtime/types';
import { apiRouter } from '../../../engine/server/api';
import { messagesRouter } from '../../../engine/server/messages-api';
import type { Dialect } from '../../../engine/store/rows';
import { createTransport } from '../../../engine/transport';
import type { Delivery } from '../../../engine/transport/types';
import { MASK } from '../../../transformers/masking';
import { adtMessage } from '../../support/adt';
import { tempDir } from '../../support/engine-process';
import { nodeEvents, startNodeRuntime, stopNodeRuntime, waitFor, type NodeRuntime } from '../../support/node-runtime';
import { freePort } from '../../support/ports';
import { hl7Fixture } from '../../transformers/fixtures';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';
import mllpIn = require('../../../nodes/mllp-in/mllp-in');
import queueNode = require('../../../nodes/queue/queue');
import hl7ToFhir = require('../../../nodes/hl7-to-fhir/hl7-to-fhir');
import routerNode = require('../../../nodes/router/router');
import fhirOut = require('../../../nodes/fhir-out/fhir-out');

/** Enough of the audit log for these tests; the real one (engine/audit/) hash-chains entries. */
class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];
  failing = false;

  async record(entry: AuditEntryInput): Promise<void> {
    if (this.failing) throw Object.assign(new Error('audit store down'), { code: 'TEST_AUDIT_DOWN' });
    this.entries.push({ ...entry, seq: this.entries.length + 1, at: new Date(), prevHash: '', hash: '' });
  }

  async list(filter: { action?: string }): Promise<AuditEntry[]> {
    return this.entries.filter((e) => filter.action === undefined || e.action === filter.action);
  }
}

const mllp = (port: number) => ({ type: 'mllp' as const, port });
const fhirDest = { fhir: { type: 'fhir' as const, url: 'builtin' } };
const CHANNELS: ChannelConfig[] = [
  { id: 'adt', name: 'ADT', source: mllp(1), destinations: fhirDest },
  { id: 'lab-test', name: 'Lab (test data)', test: true, source: mllp(2), destinations: fhirDest },
  { id: 'fhir-ch', name: 'FHIR in', source: { type: 'fhir' }, destinations: fhirDest },
  { id: 'claims', name: 'Claims', source: { type: 'db-poll' } as unknown as ChannelConfig['source'], destinations: fhirDest },
  { id: 'off', name: 'Disabled', enabled: false, source: mllp(3), destinations: fhirDest },
];

interface Api {
  url: string;
  close(): Promise<void>;
}

/** An express app with `router` under /api/v1, behind the stand-in for the auth middleware. */
async function serve(router: express.Router): Promise<Api> {
  const app = express();
  app.use((req, _res, next) => {
    const role = req.get('x-test-role') as Role | undefined;
    if (role) req.waslUser = { username: `${role}-user`, role, via: 'basic' };
    next();
  });
  app.use('/api/v1', router);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function call<T = Record<string, unknown>>(api: Api, path: string, opts: { role?: Role; body?: unknown } = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${api.url}${path}`, {
    method: opts.body === undefined ? 'GET' : 'POST',
    headers: { ...(opts.role ? { 'x-test-role': opts.role } : {}), ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

interface ListBody {
  messages: Array<Record<string, unknown> & { id: string; patientKey: string | null }>;
  nextCursor: string | null;
}

/** Delivers what `queue` holds, acking each, until `n` arrived. */
async function drain(runtime: WaslRuntime, queue: string, n: number): Promise<Delivery[]> {
  const got: Delivery[] = [];
  await runtime.transport.assertQueue(queue);
  const consumer = await runtime.transport.consume(queue, async (d) => {
    got.push(d);
    await d.ack();
  });
  try {
    await waitFor(() => got.length >= n);
  } finally {
    await consumer.cancel();
  }
  return got;
}

const ADT = hl7Fixture('mscvt_ADT-A01-01.hl7');

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`engine/server messages API (${dialect})`, function () {
    let target: StoreTarget;
    let dataDir: string;
    let runtime: WaslRuntime;
    let audit: MemoryAuditLog;
    let api: Api;

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(async () => {
      target = targetFor(dialect);
      const store = await target.open();
      await store.migrate();
      dataDir = tempDir('messages-api');
      const transport = createTransport({ dataDir });
      await transport.start();
      audit = new MemoryAuditLog();
      runtime = {
        role: 'all',
        store,
        transport,
        receipts: new Receipts(),
        metrics: new EngineMetrics({ defaultMetrics: false }),
        builtinFhirUrl: 'http://127.0.0.1:1/fhir/R4',
        channelHealth: new Map(),
        audit,
      };
      api = await serve(apiRouter({ runtime, channels: () => CHANNELS, ready: () => true, mode: 'embedded', startedAt: new Date() }));
    });

    afterEach(async () => {
      await api?.close();
      await runtime?.transport.close();
      await runtime?.store.close();
      await target?.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    /** Stores a message as an intake would; returns its id. */
    async function store(channel: string, controlId: string, opts: { patientKey?: string; raw?: string; sender?: string } = {}): Promise<string> {
      const id = `${channel}-${controlId}`;
      await runtime.store.receive({
        id,
        channel,
        correlationId: id,
        sender: opts.sender ?? 'HIS^HOSP',
        controlId,
        messageType: 'ADT^A01',
        patientKey: opts.patientKey,
        raw: opts.raw ?? ADT,
      });
      return id;
    }

    describe('GET /messages', () => {
      it('pages newest first by cursor over every match, with the fields the ops pages read', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) ids.push(await store('adt', `C${i}`, { patientKey: `MRN${i % 3}` }));
        await store('lab-test', 'L1');
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const page: { status: number; body: ListBody } = await call<ListBody>(api, `/messages?channel=adt&limit=5${cursor ? `&cursor=${cursor}` : ''}`, { role: 'admin' });
          assert.equal(page.status, 200);
          seen.push(...page.body.messages.map((m) => m.id));
          cursor = page.body.nextCursor;
        } while (cursor);
        assert.deepEqual([...seen].sort(), [...ids].sort());
        assert.equal(new Set(seen).size, 12);

        const { body } = await call<ListBody>(api, '/messages?key=MRN1&status=received', { role: 'admin' });
        assert.deepEqual(body.messages.map((m) => m.id).sort(), ['adt-C1', 'adt-C10', 'adt-C4', 'adt-C7']);
        const m = body.messages[0];
        for (const field of ['id', 'channel', 'correlationId', 'controlId', 'messageType', 'status', 'attempts', 'receivedAt', 'patientKey', 'reprocessOf']) {
          assert.ok(field in m, field);
        }
        assert.equal('raw' in m, false, 'no content in a search');
      });

      it('masks the patient key unless the role may see that channel’s bodies', async () => {
        await store('adt', 'C1', { patientKey: 'MRN-REAL' });
        await store('lab-test', 'L1', { patientKey: 'MRN-TEST' });
        const keys = async (role?: Role) =>
          Object.fromEntries((await call<ListBody>(api, '/messages', { role })).body.messages.map((m) => [m.channel, m.patientKey]));
        assert.deepEqual(await keys('admin'), { adt: 'MRN-REAL', 'lab-test': 'MRN-TEST' });
        assert.deepEqual(await keys('auditor'), { adt: 'MRN-REAL', 'lab-test': 'MRN-TEST' });
        assert.deepEqual(await keys('analyst'), { adt: MASK, 'lab-test': 'MRN-TEST' }, 'analysts see test channels only');
        assert.deepEqual(await keys('ui_user'), { adt: MASK, 'lab-test': MASK });
        assert.deepEqual(await keys(undefined), { adt: MASK, 'lab-test': MASK }, 'no user: masked');
        // Searching by a key one may not see is allowed; the answer still masks it.
        const { body } = await call<ListBody>(api, '/messages?patientKey=MRN-REAL', { role: 'ui_user' });
        assert.deepEqual(body.messages.map((m) => [m.id, m.patientKey]), [['adt-C1', MASK]]);
      });

      it('answers 400 for parameters it cannot honour, without echoing them', async () => {
        for (const q of ['status=DONE', 'cursor=not-a-cursor', 'from=yesterday', 'limit=-1', 'channel=a&channel=b']) {
          const { status, body } = await call(api, `/messages?${q}`);
          assert.equal(status, 400, q);
          assert.equal(typeof body.error, 'string');
        }
        const { body } = await call(api, '/messages?patientKey=MRN-SECRET&from=not-a-time');
        assert.doesNotMatch(JSON.stringify(body), /MRN-SECRET|not-a-time/);
      });
    });

    describe('GET /messages/:id', () => {
      it('shows status, destinations, errors by kind and code, and lineage', async () => {
        const id = await store('adt', 'C1');
        await runtime.store.update(id, {
          status: 'ERROR',
          destination: 'fhir',
          error: { kind: 'integration', code: 'INTEGRATION_FHIR_REJECTED', message: 'server said 422', path: 'Patient.name', details: { body: 'quoted content' } },
        });
        const { status, body } = await call<Record<string, unknown> & { destinations: Array<Record<string, unknown>>; error: unknown; lineage: unknown }>(api, `/messages/${id}`, { role: 'ui_user' });
        assert.equal(status, 200);
        assert.equal(body.status, 'ERROR');
        assert.deepEqual(body.error, { kind: 'integration', code: 'INTEGRATION_FHIR_REJECTED', message: 'server said 422', path: 'Patient.name' });
        assert.equal(body.destinations[0].destination, 'fhir');
        assert.equal(body.destinations[0].status, 'ERROR');
        assert.deepEqual(body.destinations[0].error, body.error);
        assert.deepEqual(body.lineage, { reprocessOf: null, reprocessedAs: [] });
        assert.doesNotMatch(JSON.stringify(body), /quoted content|EVERYMAN/);
        assert.equal((await call(api, '/messages/nope')).status, 404);
      });
    });

    describe('GET /messages/:id/content', () => {
      it('masks every stage for a role without body access, and writes no audit entry', async () => {
        const id = await store('adt', 'C1');
        await runtime.store.update(id, { status: 'SENT', destination: 'fhir', sent: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Everyman', given: ['Adam'] }] }), response: 'not json or hl7: EVERYMAN' });
        const { body } = await call<{ masked: boolean; stages: Record<string, string | null>; destinations: Array<Record<string, string | null>> }>(api, `/messages/${id}/content`, { role: 'ui_user' });
        assert.equal(body.masked, true);
        assert.match(body.stages.raw!, /^MSH\|/);
        assert.match(body.stages.raw!, /\rPID\|1\|\*\*\*\^/);
        assert.equal(body.stages.transformed, null);
        assert.equal(body.destinations[0].destination, 'fhir');
        assert.match(body.destinations[0].sent!, /"family": "\*\*\*"/);
        assert.equal(body.destinations[0].response, MASK);
        // The fixture's patient (PID-3, -5, -7, -11) and the FHIR name; its providers (ROL, PR1) stay visible.
        assert.doesNotMatch(JSON.stringify(body), /EVERYMAN&|Aniston|PATID1234|198808181126|Hospital Lane|"Everyman"|"Adam"/);
        assert.equal(audit.entries.length, 0);
      });

      it('shows the body to a role that may see it, and audits every such view', async () => {
        const id = await store('adt', 'C1');
        for (let i = 0; i < 2; i++) {
          const { body } = await call<{ masked: boolean; stages: { raw: string } }>(api, `/messages/${id}/content`, { role: 'auditor' });
          assert.equal(body.masked, false);
          assert.equal(body.stages.raw, ADT);
        }
        assert.equal(audit.entries.length, 2);
        assert.deepEqual(
          audit.entries.map(({ actor, action, target, detail }) => ({ actor, action, target, detail })),
          Array(2).fill({ actor: 'auditor-user', action: 'message.view-body', target: id, detail: { channel: 'adt' } }),
        );
        assert.ok(audit.entries[0].from);
      });

      it('masks for an analyst outside test channels; refuses the body when the audit log fails', async () => {
        const id = await store('adt', 'C1');
        const testId = await store('lab-test', 'L1');
        assert.equal((await call<{ masked: boolean }>(api, `/messages/${id}/content`, { role: 'analyst' })).body.masked, true);
        assert.equal((await call<{ masked: boolean }>(api, `/messages/${testId}/content`, { role: 'analyst' })).body.masked, false);
        assert.equal(audit.entries.length, 1);
        audit.failing = true;
        const refused = await call(api, `/messages/${testId}/content`, { role: 'analyst' });
        assert.equal(refused.status, 503);
        assert.doesNotMatch(JSON.stringify(refused.body), /EVERYMAN/);
      });
    });

    describe('POST /messages/reprocess', () => {
      it('makes a linked copy with a new id and correlation id and queues it as the intake does', async () => {
        const original = await store('adt', 'C1', { patientKey: 'MRN1' });
        const { status, body } = await call<{ reprocessed: Array<{ original: string; id: string }>; skipped: unknown[] }>(api, '/messages/reprocess', { role: 'analyst', body: { ids: [original] } });
        assert.equal(status, 200);
        assert.equal(body.reprocessed.length, 1);
        assert.deepEqual(body.skipped, []);
        const copyId = body.reprocessed[0].id;
        assert.equal(body.reprocessed[0].original, original);
        assert.notEqual(copyId, original);

        const [delivery] = await drain(runtime, 'adt.in', 1);
        assert.equal(delivery.body.toString('utf8'), ADT);
        const { 'x-wasl-received-at': receivedAt, ...headers } = delivery.headers;
        assert.deepEqual(headers, { correlationId: copyId, messageId: copyId, channel: 'adt', attempt: 1, 'x-wasl-content-type': 'text' });
        assert.ok(Math.abs(Number(receivedAt) - Date.now()) < 60_000, 'stamped as received now, for end-to-end latency');

        const copy = await runtime.store.get(copyId);
        assert.equal(copy?.correlationId, copyId);
        assert.equal(copy?.controlId, 'C1');
        assert.equal(copy?.patientKey, 'MRN1');
        assert.equal(copy?.status, 'RECEIVED');
        assert.deepEqual((await call(api, `/messages/${original}`)).body.lineage, { reprocessOf: null, reprocessedAs: [copyId] });
        assert.deepEqual((await call(api, `/messages/${copyId}`)).body.lineage, { reprocessOf: original, reprocessedAs: [] });
        await waitFor(async () => (await runtime.store.get(copyId))?.accepted === true);

        // A resend from the sender is still the original's duplicate, not the copy's.
        const resend = await runtime.store.receive({ id: 'x', channel: 'adt', correlationId: 'x', sender: 'HIS^HOSP', controlId: 'C1', raw: ADT });
        assert.deepEqual([resend.duplicate, resend.id], [true, original]);

        const [entry] = audit.entries;
        assert.equal(entry.action, 'message.reprocess');
        assert.equal(entry.actor, 'analyst-user');
        assert.equal(entry.target, original);
        assert.deepEqual(entry.detail, { reprocessed: 1, skipped: 0, copies: [[original, copyId]] });
      });

      it('reprocesses everything a filter matches, and refuses more than the bound', async () => {
        for (let i = 0; i < 4; i++) await store('adt', `F${i}`, { patientKey: 'MRN-F' });
        await store('adt', 'OTHER', { patientKey: 'MRN-G' });
        const { body } = await call<{ reprocessed: Array<{ original: string }> }>(api, '/messages/reprocess', { body: { filter: { channel: 'adt', patientKey: 'MRN-F', limit: 1 } } });
        assert.deepEqual(body.reprocessed.map((r) => r.original).sort(), ['adt-F0', 'adt-F1', 'adt-F2', 'adt-F3']);
        await drain(runtime, 'adt.in', 4);

        const small = await serve(messagesRouter({ runtime, channels: () => CHANNELS, maxReprocess: 3 }));
        try {
          const tooMany = await call(small, '/messages/reprocess', { body: { filter: { patientKey: 'MRN-F' } } });
          assert.equal(tooMany.status, 400, '4 originals and 4 copies match');
          assert.match(String(tooMany.body.error), /at most 3/);
          assert.equal((await call(small, '/messages/reprocess', { body: { ids: ['a', 'b', 'c', 'd'] } })).status, 400);
        } finally {
          await small.close();
        }
      });

      it('skips, with a reason, what cannot go through its channel again', async () => {
        await runtime.store.receive({ id: 'rej', channel: 'adt', correlationId: 'rej', sender: 'HIS^HOSP', controlId: 'rejected:rej', raw: 'garbage' });
        const claims = await store('claims', 'B1', { raw: '{"batch":"B1"}' });
        const off = await store('off', 'O1');
        const gone = await store('retired-channel', 'R1');
        const badFhir = await store('fhir-ch', 'K1', { raw: 'not json' });
        const { body } = await call<{ reprocessed: unknown[]; skipped: Array<{ id: string; reason: string }> }>(api, '/messages/reprocess', {
          body: { ids: ['nope', 'rej', claims, off, gone, badFhir, 'nope'] },
        });
        assert.deepEqual(body.reprocessed, []);
        assert.deepEqual(body.skipped, [
          { id: 'nope', reason: 'not-found' },
          { id: 'rej', reason: 'rejected-at-intake' },
          { id: claims, reason: 'source-not-reprocessable' },
          { id: off, reason: 'channel-disabled' },
          { id: gone, reason: 'unknown-channel' },
          { id: badFhir, reason: 'unreadable-content' },
        ]);
        assert.equal((await runtime.transport.depth('adt.in').catch(() => ({ ready: 0 }))).ready, 0);
      });

      it('queues a FHIR channel’s message as the transaction Bundle its intake would', async () => {
        const patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Chalmers' }] };
        const id = await store('fhir-ch', 'K1', { raw: JSON.stringify(patient) });
        const { body } = await call<{ reprocessed: Array<{ id: string }> }>(api, '/messages/reprocess', { body: { ids: [id] } });
        const [delivery] = await drain(runtime, 'fhir-ch.in', 1);
        assert.equal(delivery.headers['x-wasl-content-type'], 'json');
        assert.equal(delivery.headers.messageId, body.reprocessed[0].id);
        assert.deepEqual(JSON.parse(delivery.body.toString('utf8')), {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [{ resource: patient, request: { method: 'PUT', url: 'Patient/p1' } }],
        });
      });

      it('answers 400 for a request that is neither ids nor a filter', async () => {
        for (const body of [{}, { ids: [] }, { ids: 'a' }, { ids: ['a'], filter: {} }, { filter: [] }, { filter: { status: 'NOPE' } }, '{not json']) {
          assert.equal((await call(api, '/messages/reprocess', { body })).status, 400, JSON.stringify(body));
        }
      });
    });

    describe('dead letters', () => {
      it('counts dead letters per queue of every channel, lists them without bodies, and audits a replay', async () => {
        const id = await store('adt', 'D1');
        await runtime.transport.assertQueue('adt.dest.fhir');
        await runtime.transport.publish('adt.dest.fhir', Buffer.from(ADT), { correlationId: id, messageId: id, channel: 'adt', attempt: 1 });
        const consumer = await runtime.transport.consume('adt.dest.fhir', (d) => d.deadLetter('INTEGRATION_FHIR_REJECTED: 422'));
        await waitFor(async () => (await runtime.transport.depth('adt.dest.fhir')).dead === 1);
        await consumer.cancel();

        const { body } = await call<{ queues: Array<{ queue: string; channel: string; destination: string | null; dead: number }> }>(api, '/dead-letters', { role: 'ui_user' });
        assert.deepEqual(body.queues.filter((q) => q.channel === 'adt'), [
          { queue: 'adt.in', channel: 'adt', destination: null, dead: 0 },
          { queue: 'adt.dest.fhir', channel: 'adt', destination: 'fhir', dead: 1 },
        ]);
        assert.equal(body.queues.length, CHANNELS.length * 2);

        const letters = await call<{ deadLetters: Array<Record<string, unknown>> }>(api, '/queues/adt.dest.fhir/dead-letters');
        assert.deepEqual(letters.body.deadLetters, [{ messageId: id, correlationId: id, attempt: 1, reason: 'INTEGRATION_FHIR_REJECTED: 422' }]);

        const replay = await call(api, '/queues/adt.dest.fhir/replay', { role: 'admin', body: {} });
        assert.deepEqual(replay.body, { queue: 'adt.dest.fhir', replayed: 1 });
        assert.deepEqual(
          audit.entries.map(({ actor, action, target, detail }) => ({ actor, action, target, detail })),
          [{ actor: 'admin-user', action: 'dlq.replay', target: 'adt.dest.fhir', detail: { count: 1 } }],
        );
        assert.equal((await runtime.transport.depth('adt.dest.fhir')).dead, 0);
      });
    });
  });
}

describe('engine/server messages API: a reprocessed message flows through its channel again', function () {
  helper.init(require.resolve('node-red'));
  const WAIT_MS = 15_000;
  let fhir: RunningFhirServer;
  let h: NodeRuntime;
  let api: Api;
  let mllpPort: number;
  const channels: ChannelConfig[] = [{ id: 'ch', name: 'ch', source: { type: 'mllp', port: 0 }, destinations: { fhir: { type: 'fhir', url: 'builtin' } } }];

  before(async () => {
    fhir = await startFhirServer(0);
  });
  after(async () => {
    await fhir.close();
  });
  beforeEach(async () => {
    mllpPort = await freePort();
    h = await startNodeRuntime('reprocess', fhir.url);
    h.runtime.audit = new MemoryAuditLog();
    api = await serve(apiRouter({ runtime: h.runtime, channels: () => channels, ready: () => true, mode: 'embedded', startedAt: new Date() }));
  });
  afterEach(async () => {
    await api.close();
    await stopNodeRuntime(h);
  });

  it('queues the copy to ch.in, and the channel maps and delivers it as a new message linked to the original', async () => {
    const z = 'tab1';
    const retry = { prefetch: 10, maxAttempts: 2, initialDelayMs: 50, maxDelayMs: 100 };
    await helper.load([mllpIn, queueNode, hl7ToFhir, routerNode, fhirOut], [
      { id: z, type: 'tab', label: 'ch' },
      { id: 'src', z, type: 'wasl-mllp-in', channel: 'ch', port: mllpPort, host: '127.0.0.1', acceptMessageTypes: ['ADT^A01'], wires: [['qin']] },
      { id: 'qin', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.in', ...retry, wires: [['map']] },
      { id: 'map', z, type: 'wasl-hl7-to-fhir', channel: 'ch', mapping: 'adt', wires: [['rtr']] },
      { id: 'rtr', z, type: 'wasl-router', channel: 'ch', routes: [{ destination: 'fhir', rules: [] }], wires: [['qdst']] },
      { id: 'qdst', z, type: 'wasl-queue', channel: 'ch', queue: 'ch.dest.fhir', ...retry, wires: [['out']] },
      { id: 'out', z, type: 'wasl-fhir-out', channel: 'ch', destination: 'fhir', url: 'builtin', timeoutMs: 3000, wires: [['sent']] },
      { id: 'sent', z, type: 'helper' },
    ] as never);
    await waitFor(() => h.runtime.channelHealth.get('ch')?.state === 'running', WAIT_MS);
    const delivered: string[] = [];
    nodeEvents('sent').on('input', (msg: { wasl: { messageId: string } }) => delivered.push(msg.wasl.messageId));

    const client = new MllpClient({ host: '127.0.0.1', port: mllpPort, timeoutMs: 10_000 });
    await client.connect();
    try {
      assert.match(await client.send(adtMessage({ controlId: 'RP1', patientId: 'RPAT1', visitNumber: 'RV1' })), /MSA\|AA\|RP1/);
    } finally {
      await client.close();
    }
    await waitFor(() => delivered.length === 1, WAIT_MS);
    const original = delivered[0];
    await waitFor(async () => (await h.runtime.store.get(original))?.status === 'SENT', WAIT_MS);

    const { body } = await call<{ reprocessed: Array<{ original: string; id: string }> }>(api, '/messages/reprocess', { role: 'admin', body: { ids: [original] } });
    const copyId = body.reprocessed[0].id;
    await waitFor(() => delivered.length === 2, WAIT_MS);
    assert.equal(delivered[1], copyId);
    await waitFor(async () => (await h.runtime.store.get(copyId))?.status === 'SENT', WAIT_MS);
    const copy = await h.runtime.store.get(copyId);
    assert.ok(copy?.transformed, 'mapped again');
    assert.equal(copy?.destinations?.[0].status, 'SENT');
    assert.deepEqual((await call(api, `/messages/${copyId}`)).body.lineage, { reprocessOf: original, reprocessedAs: [] });
    assert.deepEqual((await call(api, `/messages/${original}`)).body.lineage, { reprocessOf: null, reprocessedAs: [copyId] });
    // The destination got the same patient twice and kept one (conditional update by identifier).
    const patients = (await (await fetch(`${fhir.url}/Patient?identifier=RPAT1`)).json()) as { entry?: unknown[] };
    assert.equal(patients.entry?.length, 1);
  });
});
