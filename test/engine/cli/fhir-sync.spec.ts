/**
 * `wasl fhir-sync`: through `main()` with a captured io (summary JSON, exit codes, incremental
 * rerun, usage errors), then once through the built `./bin/wasl` (needs `npm run build`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../../engine/cli/index';
import type { CliIo } from '../../../engine/cli/io';
import { seed, startSyncServer } from '../../connectors/fhir/sync/support';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function capture(): { io: CliIo; out(): string; err(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readInput: async () => '' },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('wasl fhir-sync', function () {
  this.timeout(60_000);
  let server: Awaited<ReturnType<typeof startSyncServer>>;
  let dataDir: string;
  const saved = { WASL_DATA_DIR: process.env.WASL_DATA_DIR, DATABASE_URL: process.env.DATABASE_URL };

  before(async () => {
    server = await startSyncServer();
    await seed(server.fhir.repo, { encounters: 60, files: server.proxy.files, baseUrl: server.proxy.url });
  });

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'wasl-cli-sync-'));
    process.env.WASL_DATA_DIR = dataDir;
    delete process.env.DATABASE_URL;
  });

  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  after(async () => {
    await server?.close();
  });

  it('prints the summary as JSON and reruns incrementally', async () => {
    const first = capture();
    assert.equal(await main(['fhir-sync', '--url', server.proxy.url, '--page-size', '25', '--status', 'finished'], first.io), 0, first.err());
    const summary = JSON.parse(first.out());
    assert.deepEqual(
      { fetched: summary.fetched, created: summary.created, updated: summary.updated, skipped: summary.skipped, failed: summary.failed, pages: summary.pages, complete: summary.complete },
      { fetched: 60, created: 60, updated: 0, skipped: 0, failed: 0, pages: 3, complete: true },
    );
    assert.equal(typeof summary.durationMs, 'number');

    const second = capture();
    assert.equal(await main(['fhir-sync', '--url', server.proxy.url, '--page-size', '25', '--status', 'finished'], second.io), 0);
    const again = JSON.parse(second.out());
    assert.equal(again.created + again.updated, 0);
    assert.ok(again.fetched < 60);
  });

  it('exits 1 with the failure in the summary when an Encounter fails', async () => {
    const file = server.proxy.files.get('note-e4.txt');
    server.proxy.files.delete('note-e4.txt');
    try {
      const c = capture();
      assert.equal(await main(['fhir-sync', '--url', server.proxy.url, '--full'], c.io), 1);
      const summary = JSON.parse(c.out());
      assert.deepEqual([summary.created, summary.failed, summary.errors[0].encounterId], [59, 1, 'e4']);
    } finally {
      server.proxy.files.set('note-e4.txt', file!);
    }
  });

  it('rejects bad arguments as usage errors (exit 2)', async () => {
    for (const args of [['fhir-sync'], ['fhir-sync', '--url', 'ftp://x'], ['fhir-sync', '--url', server.proxy.url, '--page-size', '0'], ['fhir-sync', '--url', server.proxy.url, '--since', 'yesterday']]) {
      const c = capture();
      assert.equal(await main(args, c.io), 2, args.join(' '));
    }
  });

  it('runs through ./bin/wasl', async function () {
    if (!existsSync(path.join(ROOT, 'dist', 'engine', 'cli', 'fhir-sync.js'))) this.skip();
    // Not spawnSync: the FHIR server runs in this process and must keep answering.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(path.join(ROOT, 'bin', 'wasl'), ['fhir-sync', '--url', server.proxy.url, '--page-size', '50'], {
        env: { ...process.env, WASL_DATA_DIR: dataDir },
        timeout: 50_000,
      }, (_err, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }));
    });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0]).created, 60);
  });
});
