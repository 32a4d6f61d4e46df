// `npm test` runner: checks which real services are up, says loudly which suites will skip and
// why (on a laptop without PostgreSQL or RabbitMQ), fails instead of skipping when CI=true, runs
// mocha, and ends with one plain "N passed, N failed, N skipped" line.
'use strict';
const net = require('node:net');
const { spawn } = require('node:child_process');

const services = [
  { name: 'PostgreSQL', env: 'TEST_DATABASE_URL', url: process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test', port: 5432, suites: 'message store (PostgreSQL), end-to-end production mode' },
  { name: 'RabbitMQ', env: 'TEST_AMQP_URL', url: process.env.TEST_AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672', port: 5672, suites: 'AMQP transport, end-to-end production mode' },
];

function reachable(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1500);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}

async function main() {
  const ci = process.env.CI === 'true';
  const env = { ...process.env };
  const missing = [];
  for (const s of services) {
    env[s.env] = s.url;
    if (!(await reachable(s.port))) missing.push(s);
  }
  if (missing.length) {
    const lines = missing.map((s) => `  ${s.name} is not reachable on 127.0.0.1:${s.port}: SKIPPING ${s.suites}`);
    const banner = '!'.repeat(78);
    process.stderr.write(`${banner}\n${lines.join('\n')}\n${banner}\n`);
    if (ci) {
      process.stderr.write('CI=true: a missing service is a failure, not a skip.\n');
      process.exit(1);
    }
  }
  // End-to-end suites last: they churn through dozens of RabbitMQ quorum queues, and the broker
// applies queue operations of the next suite slowly for a while after that.
const args = process.argv.length > 2 ? process.argv.slice(2) : ['test/{common,connectors,engine,nodes,transformers}/**/*.spec.ts', 'test/e2e/**/*.spec.ts'];
  const mocha = spawn(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let tail = '';
  mocha.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
  });
  mocha.on('close', (code) => {
    const count = (word) => Number((new RegExp(`(\\d+) ${word}`).exec(tail) || [])[1] || 0);
    process.stdout.write(`\ntests: ${count('passing')} passed, ${count('failing')} failed, ${count('pending')} skipped\n`);
    process.exit(code === null ? 1 : code);
  });
}

main();
