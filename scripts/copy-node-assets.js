// tsc compiles nodes/**/*.ts to dist/nodes; Node-RED also needs each node's .html, locales/ and
// icons/ beside the .js, and (because the app is the root project, whose own package.json
// "node-red" section Node-RED does not scan) a package.json in dist/nodes listing the nodes.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const src = path.join(root, 'nodes');
const out = path.join(root, 'dist', 'nodes');

function copyAssets(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const from = path.join(dir, entry.name);
    const to = path.join(out, path.relative(src, from));
    if (entry.isDirectory()) {
      copyAssets(from);
    } else if (!entry.name.endsWith('.ts')) {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    }
  }
}

if (fs.existsSync(src)) {
  fs.mkdirSync(out, { recursive: true });
  copyAssets(src);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const nodes = {};
  for (const [type, file] of Object.entries(pkg['node-red'].nodes)) {
    nodes[type] = path.relative('dist/nodes', file);
  }
  fs.writeFileSync(
    path.join(out, 'package.json'),
    JSON.stringify({ name: 'wasl-nodes', version: pkg.version, 'node-red': { version: pkg['node-red'].version, nodes } }, null, 2) + '\n',
  );
}
