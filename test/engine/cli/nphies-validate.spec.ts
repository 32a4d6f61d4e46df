/**
 * `wasl nphies-validate FILE|-` through `main(argv, io)`: prints validateNphiesBundle's
 * OperationOutcome; exit 0 valid, 1 invalid (or not JSON, or unreadable), 2 usage. Then once
 * through the real `./bin/wasl` when the build has the command.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { runCli, STACK_LINE } from './run-cli';
import { FIXTURES_DIR } from '../../transformers/fixtures';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const NPHIES = path.join(FIXTURES_DIR, 'nphies');
const BUNDLE = path.join(NPHIES, 'nphies_ig_Bundle-a84aabfa-priorauth-institutional-request.json');
const CLAIMS = ['nphies_ig_Claim-123073-vision-priorauth.json', 'nphies_ig_Claim-483069-institutional-priorauth.json'].map((f) => path.join(NPHIES, f));

const run = runCli;

describe('wasl nphies-validate', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'wasl-nphies-validate-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const file of [BUNDLE, ...CLAIMS]) {
    it(`exits 0 on the fixture ${path.basename(file)} and prints an OperationOutcome`, async () => {
      const r = await run(['nphies-validate', file]);
      assert.equal(r.code, 0, r.out);
      const outcome = JSON.parse(r.out) as OperationOutcome;
      assert.equal(outcome.resourceType, 'OperationOutcome');
      assert.ok(outcome.issue.every((i) => i.severity !== 'error'));
      assert.equal(r.err, '');
    });
  }

  it('exits 1 on a broken bundle, with the issue and its path', async () => {
    const bundle = JSON.parse(readFileSync(BUNDLE, 'utf8'));
    bundle.entry[0].resource.focus[0].reference = 'Claim/483069';
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify(bundle));
    const r = await run(['nphies-validate', file]);
    assert.equal(r.code, 1);
    const outcome = JSON.parse(r.out) as OperationOutcome;
    assert.ok(outcome.issue.some((i) => i.severity === 'error' && i.expression?.[0] === 'Bundle.entry[0].resource.focus[0].reference'));
    assert.doesNotMatch(r.out + r.err, STACK_LINE);
  });

  it('reads standard input with -', async () => {
    assert.equal((await run(['nphies-validate', '-'], readFileSync(BUNDLE, 'utf8'))).code, 0);
    const bad = await run(['nphies-validate', '-'], JSON.stringify({ resourceType: 'Bundle', type: 'message' }));
    assert.equal(bad.code, 1);
  });

  it('exits 1 with an OperationOutcome on input that is not JSON', async () => {
    const r = await run(['nphies-validate', '-'], '{nope');
    assert.equal(r.code, 1);
    assert.match(JSON.parse(r.out).issue[0].diagnostics, /^not JSON/);
  });

  it('exits 1 with one stderr line on a missing file', async () => {
    const file = path.join(dir, 'missing.json');
    const r = await run(['nphies-validate', file]);
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.equal(r.err, `wasl: ${file}: no such file\n`);
  });

  it('exits 2 without a file argument', async () => {
    const r = await run(['nphies-validate']);
    assert.equal(r.code, 2);
    assert.match(r.err, /missing required argument/);
  });

  it('works through ./bin/wasl when built', function () {
    if (!existsSync(path.join(ROOT, 'dist', 'engine', 'cli', 'nphies-validate.js'))) {
      console.warn('      SKIPPED: dist has no nphies-validate yet; run `npm run build` to test ./bin/wasl');
      this.skip();
    }
    const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'wasl'), 'nphies-validate', BUNDLE], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).resourceType, 'OperationOutcome');
  });
});
