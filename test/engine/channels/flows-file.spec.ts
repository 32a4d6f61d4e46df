import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../../common/errors';
import { compileChannels } from '../../../engine/channels/compile';
import { buildFlowsFile } from '../../../engine/channels/flows-file';
import type { ChannelConfig } from '../../../engine/channels/types';

const channel: ChannelConfig = {
  id: 'adt-to-fhir',
  name: 'ADT to FHIR',
  source: { type: 'mllp', port: 2575 },
  destinations: { fhir: { type: 'fhir', url: 'builtin' } },
};

describe('engine/channels/flows-file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wasl-flows-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, content: unknown): string => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  };
  const handMade = (tab: string) => [
    { id: tab, type: 'tab', label: `hand ${tab}` },
    { id: `${tab}-inject`, type: 'inject', z: tab, x: 100, y: 100, wires: [[]] },
  ];

  it('appends hand-made flows after the compiled ones, files in name order', () => {
    const compiled = compileChannels([channel]);
    write('b.json', handMade('b'));
    write('a.json', handMade('a'));
    write('notes.txt', 'not a flow');
    mkdirSync(path.join(dir, 'sub.json'));
    const flows = buildFlowsFile(compiled, dir);
    assert.deepEqual(flows.slice(0, compiled.length), compiled);
    assert.deepEqual(flows.slice(compiled.length).map((n) => n.id), ['a', 'a-inject', 'b', 'b-inject']);
  });

  it('returns the compiled flows alone when the folder is missing or empty', () => {
    const compiled = compileChannels([channel]);
    assert.deepEqual(buildFlowsFile(compiled, path.join(dir, 'missing')), compiled);
    assert.deepEqual(buildFlowsFile(compiled, dir), compiled);
  });

  it('rejects a hand-made node whose id collides with a compiled node, naming the file', () => {
    const compiled = compileChannels([channel]);
    const file = write('mine.json', [{ id: compiled[1].id, type: 'debug', z: 'x', x: 1, y: 1, wires: [] }]);
    assert.throws(
      () => buildFlowsFile(compiled, dir),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.code === 'VALIDATION_FLOW_ID_COLLISION' &&
        err.message === `${file}: node id "${compiled[1].id}" is already used by a flow compiled from channels.yaml; give the node in this file a new id`,
    );
  });

  it('rejects the same id in two hand-made files, naming both', () => {
    const first = write('a.json', handMade('a'));
    const second = write('b.json', handMade('a'));
    assert.throws(() => buildFlowsFile([], dir), { message: `${second}: node id "a" is already used by ${first}; give the node in this file a new id` });
  });

  it('rejects a file that is not a JSON array of nodes, naming the file', () => {
    const file = write('bad.json', '{ "id": "x" }');
    assert.throws(() => buildFlowsFile([], dir), { message: `${file}: must be a JSON array of Node-RED nodes` });
    writeFileSync(file, '[{"type":"inject"}]');
    assert.throws(() => buildFlowsFile([], dir), { message: `${file}: item 0 is not a Node-RED node (an object with string "id" and "type")` });
    writeFileSync(file, '[');
    assert.throws(() => buildFlowsFile([], dir), (err: unknown) => err instanceof ValidationError && err.message.startsWith(`${file}: not valid JSON (`));
  });
});
