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
  // Two mocha processes, in this order:
  // 1. The transport contract suites alone. In one process after a few hundred other suites, the
  //    AMQP contract's first test has seen RabbitMQ report ~18 messages still ready after all 200
  //    were delivered and acked (open question, see docs/architecture.md "Transport"); alone it
  //    has passed every run.
  // 2. Everything else, the end-to-end suites last: they churn through dozens of RabbitMQ quorum
  //    queues, and the broker applies the next suite's queue operations slowly for a while after.
  const transport = 'test/engine/transport/**/*.spec.ts';
  const groups = process.argv.length > 2
    ? [process.argv.slice(2)]
    : [[transport], ['test/{common,connectors,engine,nodes,transformers}/**/*.spec.ts', 'test/e2e/**/*.spec.ts', '--ignore', transport]];
  const totals = { passed: 0, failed: 0, skipped: 0 };
  let exitCode = 0;
  for (const args of groups) {
    const result = await runMocha(args, env);
    totals.passed += result.passed;
    totals.failed += result.failed;
    totals.skipped += result.skipped;
    if (result.code !== 0) exitCode = result.code === null ? 1 : result.code;
  }
  process.stdout.write(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  process.exit(exitCode);
}

/** Runs one mocha process, echoing its output; resolves with its counts and exit code. */
function runMocha(args, env) {
  return new Promise((resolve) => {
    const mocha = spawn(process.execPath, [require.resolve('mocha/bin/mocha.js'), ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    mocha.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    mocha.on('close', (code) => {
      const count = (word) => Number((new RegExp(`(\\d+) ${word}`).exec(tail) || [])[1] || 0);
      resolve({ code, passed: count('passing'), failed: count('failing'), skipped: count('pending') });
    });
  });
}

main();
