import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { compileChannels, compileChannelsToJson, type NodeRedFlow, type NodeRedNode } from '../../../engine/channels/compile';
import { loadChannels } from '../../../engine/channels/load';
import type { ChannelConfig } from '../../../engine/channels/types';

const example = (): ChannelConfig[] => loadChannels(path.join(__dirname, '../../../channels.yaml'), {}).channels;

/** A second channel with a router, two destinations and every rule operator. */
const routed: ChannelConfig = {
  id: 'lab-results',
  name: 'Lab results',
  source: { type: 'mllp', port: 2576 },
  filters: [
    { field: 'MSH-9.1', equals: 'ORU' },
    { field: 'PID-3', exists: true },
  ],
  transformers: [
    { type: 'hl7-to-fhir', mapping: 'adt' },
    { type: 'hl7-to-fhir', mapping: 'adt' },
  ],
  router: [
    { destination: 'archive' },
    { destination: 'primary', when: [{ field: 'MSH-4', matches: '^LAB' }, { field: 'PV1-2', in: ['I', 'E'] }] },
  ],
  destinations: {
    primary: { type: 'fhir', url: 'https://fhir.example/r4', timeoutMs: 3000, prefetch: 5 },
    archive: { type: 'fhir', url: 'builtin', retry: { maxAttempts: 2 } },
  },
};

const sha = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 16);
const nodes = (flows: NodeRedFlow[]): NodeRedNode[] => flows.filter((f) => f.type !== 'tab') as NodeRedNode[];
const byId = (flows: NodeRedFlow[]): Map<string, NodeRedNode> => new Map(nodes(flows).map((n) => [n.id, n]));
/** The single node wired from output `port` of `node`. */
function next(flows: NodeRedFlow[], node: NodeRedNode, port = 0): NodeRedNode {
  assert.equal(node.wires[port].length, 1, `${node.type} output ${port} must feed exactly one node`);
  const target = byId(flows).get(node.wires[port][0]);
  assert.ok(target, `${node.type} output ${port} is wired to a missing node`);
  return target;
}

describe('engine/channels/compile', () => {
  it('compiles the example channel into one tab with the documented nodes and wiring', () => {
    // The first channel of channels.yaml (the NPHIES demo channels after it are covered below).
    const flows = compileChannels(example().slice(0, 1), { builtinFhirUrl: 'http://127.0.0.1:1880/fhir/R4' });
    const [tab, ...rest] = flows;
    assert.deepEqual(tab, {
      id: sha('adt-to-fhir/tab'),
      type: 'tab',
      label: 'ADT to FHIR',
      disabled: false,
      info: 'Compiled from channels.yaml channel adt-to-fhir. Edit channels.yaml, not this tab.',
    });
    assert.deepEqual(rest.map((n) => n.type), ['wasl-mllp-in', 'wasl-queue', 'wasl-filter', 'wasl-hl7-to-fhir', 'wasl-router', 'wasl-queue', 'wasl-fhir-out']);

    const source = rest[0] as NodeRedNode;
    assert.deepEqual(Object.keys(source), ['id', 'type', 'z', 'name', 'channel', 'port', 'host', 'maxMessageBytes', 'acceptMessageTypes', 'ackAfter', 'ackTimeoutMs', 'charset', 'batchAck', 'x', 'y', 'wires']);
    assert.equal(source.id, sha('adt-to-fhir/source'));
    assert.deepEqual(
      { channel: source.channel, port: source.port, host: source.host, maxMessageBytes: source.maxMessageBytes, acceptMessageTypes: source.acceptMessageTypes, ackAfter: source.ackAfter },
      { channel: 'adt-to-fhir', port: 2575, host: '0.0.0.0', maxMessageBytes: 16777216, acceptMessageTypes: ['ADT^A01', 'ADT^A03', 'ADT^A04', 'ADT^A08'], ackAfter: 'stored' },
    );

    const inQueue = next(flows, source);
    assert.equal(inQueue.type, 'wasl-queue');
    assert.deepEqual(
      { channel: inQueue.channel, queue: inQueue.queue, prefetch: inQueue.prefetch, maxAttempts: inQueue.maxAttempts, initialDelayMs: inQueue.initialDelayMs, maxDelayMs: inQueue.maxDelayMs },
      { channel: 'adt-to-fhir', queue: 'adt-to-fhir.in', prefetch: 50, maxAttempts: 5, initialDelayMs: 1000, maxDelayMs: 60000 },
    );

    const filter = next(flows, inQueue);
    assert.equal(filter.type, 'wasl-filter');
    assert.deepEqual(filter.rules, [{ field: 'MSH-9.1', op: 'in', values: ['ADT'] }]);

    const transformer = next(flows, filter);
    assert.deepEqual([transformer.type, transformer.channel, transformer.mapping], ['wasl-hl7-to-fhir', 'adt-to-fhir', 'adt']);

    const router = next(flows, transformer);
    assert.equal(router.type, 'wasl-router');
    assert.deepEqual(router.routes, [{ destination: 'fhir', rules: [] }], 'without a router every destination gets a route with no rules');
    assert.equal(router.outputs, 1);

    const destQueue = next(flows, router);
    assert.deepEqual(
      { queue: destQueue.queue, prefetch: destQueue.prefetch, maxAttempts: destQueue.maxAttempts, initialDelayMs: destQueue.initialDelayMs, maxDelayMs: destQueue.maxDelayMs },
      { queue: 'adt-to-fhir.dest.fhir', prefetch: 50, maxAttempts: 8, initialDelayMs: 500, maxDelayMs: 60000 },
    );

    const out = next(flows, destQueue);
    assert.deepEqual(
      { type: out.type, channel: out.channel, destination: out.destination, url: out.url, timeoutMs: out.timeoutMs, wires: out.wires },
      { type: 'wasl-fhir-out', channel: 'adt-to-fhir', destination: 'fhir', url: 'http://127.0.0.1:1880/fhir/R4', timeoutMs: 10000, wires: [[]] },
    );
  });

  it('keeps the url "builtin" when no built-in FHIR url is given', () => {
    const out = nodes(compileChannels(example())).find((n) => n.type === 'wasl-fhir-out');
    assert.equal(out?.url, 'builtin');
  });

  it('wires a router output to each route\'s destination queue, in route order, with compiled rules', () => {
    const flows = compileChannels([routed], { builtinFhirUrl: 'http://local/fhir' });
    const router = nodes(flows).find((n) => n.type === 'wasl-router') as NodeRedNode;
    assert.equal(router.outputs, 2);
    assert.deepEqual(router.routes, [
      { destination: 'archive', rules: [] },
      { destination: 'primary', rules: [{ field: 'MSH-4', op: 'matches', value: '^LAB' }, { field: 'PV1-2', op: 'in', values: ['I', 'E'] }] },
    ]);
    assert.equal(next(flows, router, 0).queue, 'lab-results.dest.archive');
    assert.equal(next(flows, router, 1).queue, 'lab-results.dest.primary');
    assert.equal(next(flows, next(flows, router, 1)).url, 'https://fhir.example/r4');
    assert.equal(next(flows, next(flows, router, 0)).url, 'http://local/fhir');
    assert.equal(next(flows, router, 1).prefetch, 5);
    assert.equal(next(flows, router, 0).maxAttempts, 2);

    const filter = nodes(flows).find((n) => n.type === 'wasl-filter') as NodeRedNode;
    assert.deepEqual(filter.rules, [
      { field: 'MSH-9.1', op: 'equals', value: 'ORU' },
      { field: 'PID-3', op: 'exists', exists: true },
    ]);
    const transformers = nodes(flows).filter((n) => n.type === 'wasl-hl7-to-fhir');
    assert.equal(transformers.length, 2);
    assert.equal(next(flows, transformers[0]).id, transformers[1].id, 'transformer steps run in order');
  });

  it('leaves out the filter node when a channel has no filters', () => {
    const flows = compileChannels([{ ...routed, filters: undefined, transformers: undefined }]);
    const inQueue = nodes(flows).find((n) => n.queue === 'lab-results.in') as NodeRedNode;
    assert.equal(next(flows, inQueue).type, 'wasl-router');
  });

  it('gives every node z, x, y, name and wires, and uses no function nodes and no fan-out', () => {
    const flows = compileChannels([...example(), routed]);
    const tabs = new Set(flows.filter((f) => f.type === 'tab').map((f) => f.id));
    const ids = flows.map((f) => f.id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    for (const n of nodes(flows)) {
      assert.ok(tabs.has(n.z), `${n.type} has a tab`);
      assert.ok(Number.isFinite(n.x) && Number.isFinite(n.y), `${n.type} has x and y`);
      assert.equal(typeof n.name, 'string');
      assert.ok(Array.isArray(n.wires));
      assert.notEqual(n.type, 'function');
      assert.match(n.type, /^wasl-/);
      for (const port of n.wires) assert.ok(port.length <= 1, `${n.type} ${n.id}: an output port feeds at most one node`);
    }
    const positions = nodes(flows).map((n) => `${n.z}:${n.x},${n.y}`);
    assert.equal(new Set(positions).size, positions.length, 'no two nodes on one spot');
  });

  it('is byte-identical when compiled twice', () => {
    const a = compileChannelsToJson([...example(), routed]);
    const b = compileChannelsToJson(JSON.parse(JSON.stringify([...example(), routed])) as ChannelConfig[]);
    assert.equal(a, b);
    assert.ok(a.endsWith(']\n'));
    assert.equal(a, `${JSON.stringify(JSON.parse(a), null, 2)}\n`);
  });

  it('does not change another channel\'s ids or content when one channel changes', () => {
    const before = compileChannels([...example(), routed]);
    const changed = { ...routed, name: 'Lab results v2', destinations: { ...routed.destinations, extra: { type: 'fhir' as const, url: 'builtin' } }, router: undefined };
    const after = compileChannels([...example(), changed]);
    const adt = (flows: NodeRedFlow[]): string => JSON.stringify(flows.filter((f) => f.id === sha('adt-to-fhir/tab') || (f as NodeRedNode).z === sha('adt-to-fhir/tab')));
    assert.equal(adt(after), adt(before));
    assert.equal(before[0].id, after[0].id);
  });

  it('compiles an mllp destination to a wasl-queue + wasl-mllp-out pair with defaults and flat TLS fields', () => {
    const relay: ChannelConfig = {
      id: 'adt-relay',
      name: 'ADT relay',
      source: { type: 'mllp', port: 2577 },
      destinations: {
        lab: { type: 'mllp', host: 'lab.example.org', port: 2575, tls: { ca: '/etc/wasl/lab-ca.pem' }, retry: { maxAttempts: 3 } },
        plain: { type: 'mllp', host: '10.0.0.5', port: 6661, timeoutMs: 2000, maxInFlight: 4 },
      },
    };
    const flows = compileChannels([relay]);
    const outs = nodes(flows).filter((n) => n.type === 'wasl-mllp-out');
    assert.equal(outs.length, 2);
    const [lab, plain] = outs;
    const { id: _id, z: _z, x: _x, y: _y, wires: _w, ...labProps } = lab;
    assert.deepEqual(labProps, {
      type: 'wasl-mllp-out',
      name: 'lab',
      channel: 'adt-relay',
      destination: 'lab',
      host: 'lab.example.org',
      port: 2575,
      timeoutMs: 10000,
      maxInFlight: 1,
      tls: true,
      tlsCa: '/etc/wasl/lab-ca.pem',
      tlsCert: '',
      tlsKey: '',
      tlsRejectUnauthorized: true,
    });
    assert.equal(plain.tls, false);
    assert.equal(plain.timeoutMs, 2000);
    assert.equal(plain.maxInFlight, 4);
    const queue = nodes(flows).find((n) => n.type === 'wasl-queue' && n.queue === 'adt-relay.dest.lab');
    assert.ok(queue);
    assert.equal(queue.maxAttempts, 3);
    assert.equal(next(flows, queue), lab);
  });

  it('adds TLS fields to wasl-mllp-in only when the source sets tls', () => {
    const plain = compileChannels([routed]);
    const src = nodes(plain).find((n) => n.type === 'wasl-mllp-in');
    assert.equal(src?.tls, undefined);
    const tls = compileChannels([{ ...routed, source: { type: 'mllp', port: 2576, tls: { cert: '/c.pem', key: '/k.pem', ca: '/ca.pem', rejectUnauthorized: false } } }]);
    const tlsSrc = nodes(tls).find((n) => n.type === 'wasl-mllp-in');
    assert.equal(tlsSrc?.tls, true);
    assert.equal(tlsSrc?.tlsCert, '/c.pem');
    assert.equal(tlsSrc?.tlsKey, '/k.pem');
    assert.equal(tlsSrc?.tlsCa, '/ca.pem');
    assert.equal(tlsSrc?.tlsRejectUnauthorized, false);
  });

  it('compiles a disabled channel to a disabled tab', () => {
    const [tab] = compileChannels([{ ...routed, enabled: false }]);
    assert.equal(tab.type, 'tab');
    assert.equal(tab.disabled, true);
  });
});

describe('engine/channels/compile: a fhir source', () => {
  const relay: ChannelConfig = {
    id: 'fhir-relay',
    name: 'FHIR relay',
    source: { type: 'fhir', resourceTypes: ['Patient'], upstream: 'https://ehr.example/fhir/R4', fetchRetry: { maxAttempts: 2 } },
    destinations: { ehr: { type: 'fhir', url: 'builtin' } },
  };

  it('compiles to wasl-fhir-in wired to the channel queue, with defaults written out', () => {
    const flows = compileChannels([relay], { builtinFhirUrl: 'http://127.0.0.1:1/fhir/R4' });
    const src = nodes(flows).find((n) => n.type === 'wasl-fhir-in');
    assert.ok(src);
    assert.equal(src.name, 'FHIR /channels/fhir-relay/fhir');
    assert.deepEqual(
      { channel: src.channel, resourceTypes: src.resourceTypes, maxBodyBytes: src.maxBodyBytes, upstream: src.upstream, upstreamTimeoutMs: src.upstreamTimeoutMs },
      { channel: 'fhir-relay', resourceTypes: ['Patient'], maxBodyBytes: 16 * 1024 * 1024, upstream: 'https://ehr.example/fhir/R4', upstreamTimeoutMs: 10_000 },
    );
    assert.deepEqual([src.fetchAttempts, src.fetchInitialDelayMs, src.fetchMaxDelayMs], [2, 1000, 30_000]);
    assert.equal(next(flows, src).queue, 'fhir-relay.in');
    assert.equal(nodes(flows).filter((n) => n.type === 'wasl-mllp-in').length, 0);
  });

  it('writes an empty upstream when none is set', () => {
    const src = nodes(compileChannels([{ ...relay, source: { type: 'fhir' } }])).find((n) => n.type === 'wasl-fhir-in');
    assert.equal(src?.upstream, '');
    assert.deepEqual(src?.resourceTypes, []);
  });
});

describe('engine/channels/compile: nphies', () => {
  const claims: ChannelConfig = {
    id: 'nphies-claims',
    name: 'NPHIES claims',
    source: { type: 'fhir', resourceTypes: ['Claim'] },
    destinations: {
      nphies: {
        type: 'nphies',
        operation: 'claim',
        url: 'http://127.0.0.1:8090/$process-message',
        providerLicense: 'PR-FHIR',
        payerLicense: 'INS-FHIR',
        providerEndpoint: 'http://provider.example',
        oauth: { tokenUrl: 'http://127.0.0.1:8090/oauth/token', clientId: 'wasl', clientSecretEnv: 'NPHIES_CLIENT_SECRET' },
        retry: { maxAttempts: 4 },
      },
    },
  };

  it('compiles a destination to wasl-nphies-<operation> behind its queue, secrets only as env names', () => {
    const flows = compileChannels([claims]);
    const out = nodes(flows).find((n) => n.type === 'wasl-nphies-claim');
    assert.ok(out);
    const { id: _id, z: _z, x: _x, y: _y, wires: _w, ...props } = out;
    assert.deepEqual(props, {
      type: 'wasl-nphies-claim',
      name: 'nphies',
      channel: 'nphies-claims',
      destination: 'nphies',
      url: 'http://127.0.0.1:8090/$process-message',
      providerLicense: 'PR-FHIR',
      payerLicense: 'INS-FHIR',
      providerEndpoint: 'http://provider.example',
      timeoutMs: 30_000,
      oauthTokenUrl: 'http://127.0.0.1:8090/oauth/token',
      oauthClientId: 'wasl',
      oauthClientSecretEnv: 'NPHIES_CLIENT_SECRET',
      oauthScope: '',
      tlsCa: '',
      tlsCert: '',
      tlsKey: '',
      tlsPfx: '',
      tlsPassphraseEnv: '',
    });
    const queue = nodes(flows).find((n) => n.queue === 'nphies-claims.dest.nphies');
    assert.ok(queue);
    assert.equal(queue.maxAttempts, 4);
    assert.equal(next(flows, queue), out);
    for (const operation of ['eligibility', 'preauth', 'cancel'] as const) {
      const c = { ...claims, destinations: { nphies: { ...claims.destinations.nphies, operation } } } as ChannelConfig;
      assert.ok(nodes(compileChannels([c])).some((n) => n.type === `wasl-nphies-${operation}`));
    }
  });

  it('compiles an nphies-poll source to wasl-nphies-poll wired to the channel queue', () => {
    const poll: ChannelConfig = {
      id: 'nphies-poll',
      name: 'NPHIES poll',
      source: { type: 'nphies-poll', url: 'http://127.0.0.1:8090/$process-message', providerLicense: 'PR-FHIR', providerEndpoint: 'http://provider.example' },
      destinations: { fhir: { type: 'fhir', url: 'builtin' } },
    };
    const flows = compileChannels([poll]);
    const src = nodes(flows).find((n) => n.type === 'wasl-nphies-poll');
    assert.ok(src);
    assert.ok(example().some((c) => c.source.type === 'nphies-poll'), 'channels.yaml has the demo poll channel');
    assert.deepEqual([src.channel, src.intervalS, src.count, src.payerLicense, src.oauthClientSecretEnv], ['nphies-poll', 60, 10, '', '']);
    assert.equal(next(flows, src).queue, 'nphies-poll.in');
  });
});
