import assert from 'node:assert/strict';
import { MllpClient } from '../../../connectors/mllp/client';
import { startEchoServer } from '../../../connectors/mllp/echo-server';

describe('connectors/mllp/echo-server (benchmark baseline)', () => {
  it('answers every frame, pipelined, with the same small ACK', async () => {
    const echo = await startEchoServer(0);
    const client = new MllpClient({ host: '127.0.0.1', port: echo.port });
    try {
      await client.connect();
      const replies = await Promise.all(Array.from({ length: 50 }, (_, n) => client.send(`MSH|${n}`)));
      assert.equal(new Set(replies).size, 1);
      assert.match(replies[0], /^MSH\|.*\rMSA\|AA\|/);
    } finally {
      await client.close();
      await echo.close();
    }
  });
});
