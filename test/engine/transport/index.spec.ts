import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTransport } from '../../../engine/transport';
import { silentLogger } from './contract';

describe('createTransport', () => {
  it('uses the embedded transport in <dataDir>/queue.db without an AMQP URL', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-transport-index-'));
    try {
      const t = createTransport({ dataDir: path.join(dir, 'data'), amqpUrl: '', logger: silentLogger() });
      assert.equal(t.kind, 'embedded');
      await t.start();
      assert.ok(fs.existsSync(path.join(dir, 'data', 'queue.db')));
      await t.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses AMQP when an AMQP URL is set (without connecting until start)', async () => {
    const t = createTransport({ dataDir: os.tmpdir(), amqpUrl: 'amqp://guest:guest@127.0.0.1:5672', logger: silentLogger() });
    assert.equal(t.kind, 'amqp');
    await t.close();
  });
});
