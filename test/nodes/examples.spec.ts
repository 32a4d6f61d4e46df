/**
 * The example flows Node-RED offers under Import > Examples (nodes/examples, built by
 * scripts/build-node-examples.ts from channels compiled like channels.yaml): they must stay what
 * the compiler makes today, and use only node types this package registers.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { exampleFlows } from '../../scripts/node-examples';

const DIR = path.join(__dirname, '..', '..', 'nodes', 'examples');
const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { 'node-red': { nodes: Record<string, string> } };

describe('nodes/examples', () => {
  const built = exampleFlows();

  it('has one file per example, each exactly what the compiler makes now (run npx tsx scripts/build-node-examples.ts after a change)', () => {
    assert.deepEqual(fs.readdirSync(DIR).sort(), Object.keys(built).map((n) => `${n}.json`).sort());
    for (const [name, flow] of Object.entries(built)) {
      assert.equal(fs.readFileSync(path.join(DIR, `${name}.json`), 'utf8'), `${JSON.stringify(flow, null, 2)}\n`, name);
    }
  });

  it('uses only registered Wasl node types, wires to nodes of the same example, and unique ids across examples', () => {
    const ids = new Set<string>();
    for (const [name, flow] of Object.entries(built)) {
      const local = new Set(flow.map((n) => n.id));
      for (const n of flow) {
        assert.ok(!ids.has(n.id), `${name}: id ${n.id} also in another example`);
        ids.add(n.id);
        if (n.type === 'tab') continue;
        assert.ok(pkg['node-red'].nodes[n.type], `${name}: ${n.type} is not a registered node type`);
        for (const port of (n as { wires: string[][] }).wires) for (const target of port) assert.ok(local.has(target), `${name}: ${n.id} wires to ${target} outside the example`);
      }
    }
  });
});
