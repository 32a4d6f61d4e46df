import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runValidate } from '../../../engine/channels/validate-command';
import { at, VALID } from './text-position';

/** Collects what the command writes. */
function capture(): { io: { stdout(s: string): void; stderr(s: string): void }; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s) => out.push(s), stderr: (s) => err.push(s) }, out, err };
}

describe('engine/channels/validate-command', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasl-validate-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints "<file>: N channel(s) valid" and returns 0 for a valid file', () => {
    const file = path.join(dir, 'channels.yaml');
    writeFileSync(file, VALID);
    const { io, out, err } = capture();
    assert.equal(runValidate(file, io, {}), 0);
    assert.deepEqual(out, [`${file}: 1 channel(s) valid\n`]);
    assert.deepEqual(err, []);
  });

  it('validates the project channels.yaml', () => {
    const file = path.join(__dirname, '../../../channels.yaml');
    const { io, out } = capture();
    assert.equal(runValidate(file, io, {}), 0);
    assert.deepEqual(out, [`${file}: 4 channel(s) valid\n`]);
  });

  it('prints one line per problem to stderr and returns 1 for an invalid file', () => {
    const file = path.join(dir, 'channels.yaml');
    const text = VALID.replace('port: 2575', 'port: ${MLLP_PORT}').replace('url: builtin', 'url: ${FHIR_URL}');
    writeFileSync(file, text);
    const { io, out, err } = capture();
    assert.equal(runValidate(file, io, {}), 1);
    assert.deepEqual(out, []);
    assert.deepEqual(err, [
      `${file}:${at(text, '${MLLP_PORT}')} channels[0].source.port: environment variable MLLP_PORT is not set and \${MLLP_PORT} has no default (write \${MLLP_PORT:-value} to give one)\n`,
      `${file}:${at(text, '${FHIR_URL}')} channels[0].destinations.fhir.url: environment variable FHIR_URL is not set and \${FHIR_URL} has no default (write \${FHIR_URL:-value} to give one)\n`,
    ]);
    // The same file is valid once the environment provides the values.
    assert.equal(runValidate(file, capture().io, { MLLP_PORT: '2575', FHIR_URL: 'http://fhir.local/r4' }), 0);
  });

  it('prints one clear line and returns 1 for a missing file or a folder', () => {
    const missing = path.join(dir, 'nope.yaml');
    const a = capture();
    assert.equal(runValidate(missing, a.io, {}), 1);
    assert.deepEqual(a.err, [`${missing}: file not found\n`]);
    const b = capture();
    assert.equal(runValidate(dir, b.io, {}), 1);
    assert.deepEqual(b.err, [`${dir}: is a directory, not a file\n`]);
  });
});
