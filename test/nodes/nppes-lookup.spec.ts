/**
 * wasl-nppes-lookup under node-red-node-test-helper against the NPPES simulator over HTTP: an
 * NPI (string, number, {npi}) gives the FHIR Bundle in msg.payload and the parsed record in
 * msg.nppes; search criteria give every match; a bad NPI, an unlisted NPI, a transient failure
 * and a missing registry adapter reach Catch with their codes; an adapter from the runtime's
 * registry is used (and its cache shared) when named.
 */
import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import type { Bundle } from '@medplum/fhirtypes';
import { createNppesAdapter, type NppesAdapter } from '../../connectors/nppes/client';
import type { NppesRecord } from '../../connectors/nppes/parse';
import { validateFhir } from '../../transformers/fhir/validate';
import { startNppesSimulator, type NppesSimulator } from '../simulators/nppes/server';
import lookupNode = require('../../nodes/nppes-lookup/nppes-lookup');

helper.init(require.resolve('node-red'));

const catchNode = require('@node-red/nodes/core/common/25-catch.js');

interface Out {
  payload: Bundle;
  nppes: NppesRecord | NppesRecord[];
  nppesSearch?: { pages: number; truncated: boolean };
  topic?: string;
}
interface Caught {
  error: { code?: string; message: string };
}

function flow(node: Record<string, unknown>) {
  const z = 'tab1';
  return [
    { id: z, type: 'tab', label: 'nppes' },
    { id: 'lookup', z, type: 'wasl-nppes-lookup', wires: [['out']], ...node },
    { id: 'out', z, type: 'helper' },
    { id: 'catcher', z, type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z, type: 'helper' },
  ];
}

/** The next message the helper node `id` receives. */
function next<T>(id: string): Promise<T> {
  return new Promise((resolve) => helper.getNode(id).once('input', resolve as never));
}

describe('nodes: wasl-nppes-lookup', function () {
  this.timeout(30_000);
  let sim: NppesSimulator;
  let registered: NppesAdapter;
  /** Every status the node set, as `fill:text` (the helper's sinon spy on node.status). */
  const statuses = (): string[] =>
    ((helper.getNode('lookup') as unknown as { status: { args: [{ fill?: string; text?: string }][] } }).status.args ?? []).map(([s]) => `${s.fill ?? ''}:${s.text ?? ''}`);

  before(() => validateFhir({ resourceType: 'Patient' }));

  beforeEach(async () => {
    sim = await startNppesSimulator();
    registered = createNppesAdapter({ id: 'nppes-sim', baseUrl: sim.url });
    helper.settings({ waslRuntime: { adapters: new Map([['nppes-sim', registered]]) } } as never);
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await registered.close();
    await sim.close();
  });

  async function load(node: Record<string, unknown>): Promise<void> {
    await helper.load([lookupNode, catchNode], flow(node) as never);
  }

  it('an NPI string: the FHIR Bundle in msg.payload, the record in msg.nppes, the rest of msg kept', async () => {
    await load({ url: sim.url });
    const out = next<Out>('out');
    helper.getNode('lookup').receive({ payload: '1114920071', topic: 'keep-me' } as never);
    const msg = await out;
    assert.equal(msg.topic, 'keep-me');
    assert.equal((msg.nppes as NppesRecord).npi, '1114920071');
    assert.equal(msg.payload.resourceType, 'Bundle');
    assert.equal(msg.payload.type, 'transaction');
    assert.deepEqual(msg.payload.entry?.map((e) => e.resource?.resourceType), ['Practitioner', 'Location', 'PractitionerRole']);
    assert.ok(validateFhir(msg.payload).valid);
    assert.deepEqual(statuses(), ['grey:nppes-lookup.status.idle', 'blue:nppes-lookup.status.looking', 'green:nppes-lookup.status.found']);
  });

  it('{npi} and a number are lookups too; the node\'s own adapter caches (one request for two)', async () => {
    await load({ url: sim.url });
    for (const payload of [{ npi: '1568946812' }, 1568946812]) {
      const out = next<Out>('out');
      helper.getNode('lookup').receive({ payload } as never);
      const msg = await out;
      assert.equal((msg.nppes as NppesRecord).organization?.name, 'CSP ANESTHESIA LLC');
      assert.equal(msg.payload.entry?.[0].resource?.resourceType, 'Organization');
    }
    assert.equal(sim.stats.requests, 1);
  });

  it('search criteria: every match as one Bundle, msg.nppes the records, pages followed when set', async () => {
    await load({ url: sim.url, allPages: true });
    const out = next<Out>('out');
    helper.getNode('lookup').receive({ payload: { taxonomyDescription: 'e', limit: 5 } } as never);
    const msg = await out;
    const records = msg.nppes as NppesRecord[];
    assert.ok(records.length > 10);
    assert.equal(msg.nppesSearch?.pages, Math.floor(records.length / 5) + 1);
    assert.equal(msg.nppesSearch?.truncated, false);
    const mains = msg.payload.entry?.filter((e) => e.resource?.resourceType === 'Practitioner' || e.resource?.resourceType === 'Organization');
    assert.equal(mains?.length, records.length);
    assert.ok(validateFhir(msg.payload).valid);
  });

  it('uses the registry adapter it names, sharing its cache', async () => {
    await registered.lookup('1114920071');
    await load({ adapter: 'nppes-sim' });
    const out = next<Out>('out');
    helper.getNode('lookup').receive({ payload: '1114920071' } as never);
    await out;
    assert.equal(sim.stats.requests, 1, 'answered from the registry adapter\'s cache');
    assert.equal(registered.cacheStats().hits, 1);
  });

  for (const [what, payload, code] of [
    ['a wrong check digit (no request)', '1114920072', 'VALIDATION_NPI_INVALID'],
    ['criteria NPPES would refuse (no request)', { enumeration_type: 'NPI-1' }, 'VALIDATION_NPPES_CRITERIA'],
    ['an unknown criterion', { lastname: 'x' }, 'VALIDATION_NPPES_CRITERIA'],
    ['an NPI NPPES does not list', '1234567893', 'INTEGRATION_NPPES_NOT_FOUND'],
  ] as const) {
    it(`${what} reaches Catch with ${code}`, async () => {
      await load({ url: sim.url });
      const caught = next<Caught>('caught');
      helper.getNode('lookup').receive({ payload } as never);
      const msg = await caught;
      assert.equal(msg.error.code, code);
      if (code.startsWith('VALIDATION')) assert.equal(sim.stats.requests, 0);
      assert.equal(statuses().at(-1)?.split(':')[0], 'red');
    });
  }

  it('NPPES down reaches Catch with a TRANSIENT_ code and a red dot', async () => {
    await load({ adapter: 'nppes-sim' });
    sim.inject({ type: 'status', status: 500 }, 3);
    const caught = next<Caught>('caught');
    helper.getNode('lookup').receive({ payload: '1780689109' } as never);
    const msg = await caught;
    assert.equal(msg.error.code, 'TRANSIENT_ADAPTER_HTTP_500');
    assert.equal(statuses().at(-1), 'red:nppes-lookup.status.transient');
  });

  it('a named adapter missing from the registry: misconfigured, and each input fails with its code', async () => {
    await load({ adapter: 'nope' });
    assert.deepEqual(statuses(), ['red:nppes-lookup.status.misconfigured']);
    const caught = next<Caught>('caught');
    helper.getNode('lookup').receive({ payload: '1114920071' } as never);
    assert.equal((await caught).error.code, 'VALIDATION_NPPES_ADAPTER_MISSING');
  });
});
