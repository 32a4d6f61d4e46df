/**
 * Writes nodes/examples/*.json: the example flows Node-RED offers under Import > Examples > wasl-nodes
 * (copied to dist/nodes/examples by scripts/copy-node-assets.js). Each one is a channel compiled by
 * the same compiler as channels.yaml, so an example is always a flow the engine itself would run.
 * Run after changing the compiler or a node's properties: `npx tsx scripts/build-node-examples.ts`
 * (test/nodes/examples.spec.ts fails when an example no longer matches).
 */
import fs from 'node:fs';
import path from 'node:path';
import { exampleFlows } from './node-examples';

const dir = path.join(__dirname, '..', 'nodes', 'examples');
fs.mkdirSync(dir, { recursive: true });
for (const [name, flow] of Object.entries(exampleFlows())) {
  fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(flow, null, 2)}\n`);
}
