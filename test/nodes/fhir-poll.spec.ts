/**
 * wasl-fhir-poll under node-red-node-test-helper against the loopback FHIR server: one message
 * per synced Encounter with its notes on output 1 and the run summary on output 2; a rerun sends
 * nothing new; the connection comes from a wasl-fhir-server config node (basic auth checked by the
 * proxy); a run that cannot happen fails the input with done(err), which reaches Catch with its code.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import helper from 'node-red-node-test-helper';
import { openStore, type MessageStore } from '../../engine/store';
import { tempDir } from '../support/engine-process';
import { seed, startSyncServer } from '../connectors/fhir/sync/support';
import fhirPollNode = require('../../nodes/fhir-poll/fhir-poll');
import fhirServerNode = require('../../nodes/fhir-server/fhir-server');

helper.init(require.resolve('node-red'));

type Msg = { topic: string; payload: Record<string, unknown> & { notes?: { text?: string; extraction: string }[] }; error?: { code?: string; message: string } };

/** Resolves with the first `n` messages a helper node receives. */
function collect(id: string, n: number): Promise<Msg[]> {
  const node = helper.getNode(id);
  const got: Msg[] = [];
  return new Promise((resolve) => {
    const onInput = (msg: Msg) => {
      got.push(msg);
      if (got.length === n) resolve(got);
    };
    node.on('input', onInput as never);
  });
}

describe('nodes: wasl-fhir-poll', function () {
  this.timeout(60_000);
  let server: Awaited<ReturnType<typeof startSyncServer>>;
  let store: MessageStore;

  before(async () => {
    server = await startSyncServer();
    await seed(server.fhir.repo, { encounters: 25, files: server.proxy.files, baseUrl: server.proxy.url });
  });
  after(async () => {
    await server?.close();
  });

  beforeEach(async () => {
    store = await openStore({ dataDir: tempDir('fhir-poll-node') });
    helper.settings({ waslRuntime: { store } } as never);
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await store.close().catch(() => undefined);
    server.proxy.authorise = undefined;
  });

  function flow(poll: Record<string, unknown>, extra: Record<string, unknown>[] = []) {
    const z = 'tab1';
    return [
      { id: z, type: 'tab', label: 'poll' },
      { id: 'poll', z, type: 'wasl-fhir-poll', x: 100, y: 100, intervalS: 0, pageSize: 10, status: 'finished', wires: [['enc'], ['sum']], ...poll },
      { id: 'enc', z, type: 'helper', x: 300, y: 100 },
      { id: 'sum', z, type: 'helper', x: 300, y: 200 },
      { id: 'catch', z, type: 'catch', x: 100, y: 300, scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z, type: 'helper', x: 300, y: 300 },
      ...extra,
    ];
  }

  it('sends one message per synced Encounter with its notes, then the summary; a rerun sends only the summary', async () => {
    await helper.load([fhirPollNode], flow({ url: server.proxy.url }) as never);
    const poll = helper.getNode('poll');
    const statuses: string[] = [];
    const onStatus = (call: { args: [{ fill?: string; text?: string }] }) => statuses.push(`${call.args[0].fill}:${call.args[0].text}`);
    (poll as unknown as { on(event: string, fn: typeof onStatus): void }).on('call:status', onStatus);

    const encounters = collect('enc', 25);
    const summaries = collect('sum', 1);
    poll.receive({ payload: 'go' });
    const [msgs, [summary]] = await Promise.all([encounters, summaries]);
    assert.equal(new Set(msgs.map((m) => m.topic)).size, 25);
    const e9 = msgs.find((m) => m.topic === 'Encounter/e9');
    assert.equal(e9?.payload.outcome, 'created');
    assert.equal((e9?.payload.patient as { resourceType: string }).resourceType, 'Patient');
    assert.match(e9?.payload.notes?.[0].text ?? '', /visit 9 stable/);
    assert.deepEqual([summary.payload.created, summary.payload.failed, summary.payload.pages, summary.payload.complete], [25, 0, 3, true]);
    assert.ok(statuses.includes('blue:fhir-poll.status.syncing'));
    assert.equal(statuses.at(-1), 'green:25/25');

    let extra = 0;
    helper.getNode('enc').on('input', () => extra++);
    const again = collect('sum', 1);
    poll.receive({ payload: 'again' });
    const [second] = await again;
    assert.equal(second.payload.created, 0);
    assert.equal(second.payload.skipped, second.payload.fetched);
    assert.equal(extra, 0);
  });

  it('takes the connection from a wasl-fhir-server config node', async () => {
    const expected = `Basic ${Buffer.from('wasl:pw').toString('base64')}`;
    server.proxy.authorise = (h) => h === expected;
    const srv = { id: 'ehr', type: 'wasl-fhir-server', name: 'EHR', baseUrl: server.proxy.url, authType: 'basic', username: 'wasl' };
    await helper.load([fhirPollNode, fhirServerNode], flow({ server: 'ehr' }, [srv]) as never, { ehr: { password: 'pw' } } as never);
    const summaries = collect('sum', 1);
    helper.getNode('poll').receive({ payload: 'go' });
    const [summary] = await summaries;
    assert.deepEqual([summary.payload.created, summary.payload.complete, summary.payload.connectionId], [25, true, 'node-ehr']);
  });

  it('fails the input with done(err) when the run cannot happen, and Catch gets the code', async () => {
    await helper.load([fhirPollNode], flow({ url: server.proxy.url }) as never);
    await store.close();
    const caught = collect('caught', 1);
    helper.getNode('poll').receive({ payload: 'go' });
    const [msg] = await caught;
    assert.match(msg.error?.message ?? '', /^TRANSIENT_|Error/);
    assert.ok(msg.error?.code?.startsWith('TRANSIENT_'), msg.error?.code);
  });
});

describe('nodes: wasl-fhir-poll editor file', () => {
  it('has a help text and every label key in the locale', () => {
    const html = fs.readFileSync(path.join(__dirname, '../../nodes/fhir-poll/fhir-poll.html'), 'utf8');
    const locale = JSON.parse(fs.readFileSync(path.join(__dirname, '../../nodes/fhir-poll/locales/en-US/fhir-poll.json'), 'utf8'));
    for (const m of html.matchAll(/data-i18n="fhir-poll\.label\.(\w+)"/g)) assert.ok(locale['fhir-poll'].label[m[1]], m[1]);
    assert.match(html, /data-help-name="wasl-fhir-poll"/);
  });
});
