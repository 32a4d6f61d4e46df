import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import { connect as netConnect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { frame } from '../../../connectors/mllp/framer';
import { MllpSender } from '../../../connectors/mllp/sender';
import { MllpServer } from '../../../connectors/mllp/server';
import { readTlsFiles } from '../../../connectors/mllp/tls';
import { captureLogger, makeCertificate, rejectionOf, type TestCertificate } from './helpers';

const adt = (id: string) => `MSH|^~\\&|SND|SF|RCV|RF|20250101120000||ADT^A01^ADT_A01|${id}|P|2.5.1\rPID|1||SECRET-${id}\r`;
const ackFor = (text: string) => {
  const id = text.split('\r')[0].split('|')[9];
  return `MSH|^~\\&|RCV|RF|SND|SF|20250101120001||ACK^A01^ACK|A${id}|P|2.5.1\rMSA|AA|${id}\r`;
};

describe('connectors/mllp/server over TLS', () => {
  let cert: TestCertificate;
  const cleanups: Array<() => Promise<void>> = [];
  before(async () => {
    cert = await makeCertificate({ client: true });
  });
  afterEach(async () => {
    while (cleanups.length) await (cleanups.pop() as () => Promise<void>)();
  });

  async function listen(tls: ConstructorParameters<typeof MllpServer>[0]['tls']) {
    const log = captureLogger();
    const handled: string[] = [];
    const server = new MllpServer({
      port: 0,
      host: '127.0.0.1',
      tls,
      logger: log,
      handler: async (payload) => {
        handled.push(payload.toString());
        return ackFor(payload.toString());
      },
    });
    const port = await server.listen();
    cleanups.push(() => server.close());
    return { server, port, log, handled };
  }

  function sender(port: number, tls: ConstructorParameters<typeof MllpSender>[0]['tls']) {
    const s = new MllpSender({ host: '127.0.0.1', port, timeoutMs: 2000, tls, logger: captureLogger() });
    cleanups.push(() => s.close());
    return s;
  }

  it('receives frames and answers ACKs over TLS with a self-signed certificate', async () => {
    const { port, handled, log } = await listen({ cert: cert.cert, key: cert.key });
    const s = sender(port, { ca: cert.cert });
    assert.equal((await s.send(adt('T1'))).controlId, 'T1');
    assert.equal((await s.send(adt('T2'))).controlId, 'T2');
    assert.equal(handled.length, 2);
    assert.ok(log.lines.some((l) => l.message === 'mllp server listening' && (l.meta as { tls?: boolean }).tls === true));
  });

  it('survives a plain-TCP client on the TLS port: no frame reaches the handler, the next TLS client works', async () => {
    const { port, handled, log } = await listen({ cert: cert.cert, key: cert.key });
    const plain = netConnect({ port, host: '127.0.0.1' });
    plain.on('error', () => undefined);
    await once(plain, 'connect');
    plain.write(frame(adt('P1')));
    await once(plain, 'close');
    assert.deepEqual(handled, []);
    assert.ok(log.lines.some((l) => l.message === 'mllp tls handshake failed'));
    assert.equal((await sender(port, { ca: cert.cert }).send(adt('P2'))).controlId, 'P2');
  });

  it('with a ca, requires a client certificate signed by it (mutual TLS)', async () => {
    const { port, handled } = await listen({ cert: cert.cert, key: cert.key, ca: cert.cert });
    const anonymous = await rejectionOf(sender(port, { ca: cert.cert }).send(adt('M1')));
    assert.equal(anonymous.kind, 'transient');
    assert.deepEqual(handled, []);
    const withCert = sender(port, { ca: cert.cert, cert: cert.clientCert, key: cert.clientKey });
    assert.equal((await withCert.send(adt('M2'))).controlId, 'M2');
    assert.equal(handled.length, 1);
  });

  it('refuses a client certificate from another CA', async () => {
    const other = await makeCertificate({ client: true, cn: 'other' });
    const { port, handled } = await listen({ cert: cert.cert, key: cert.key, ca: cert.cert });
    const e = await rejectionOf(sender(port, { ca: cert.cert, cert: other.clientCert, key: other.clientKey }).send(adt('M3')));
    assert.equal(e.kind, 'transient');
    assert.deepEqual(handled, []);
  });

  it('needs a cert and a key to listen with TLS', () => {
    assert.throws(
      () => new MllpServer({ port: 0, tls: { ca: cert.cert }, logger: captureLogger(), handler: async () => '' }),
      (err: { code?: string }) => err.code === 'VALIDATION_MLLP_TLS_CONFIG',
    );
  });

  describe('readTlsFiles', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-tls-'));
      fs.writeFileSync(path.join(dir, 'ca.pem'), cert.cert);
      fs.writeFileSync(path.join(dir, 'cert.pem'), cert.cert);
      fs.writeFileSync(path.join(dir, 'key.pem'), cert.key);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('reads PEM files into TLS options that a listener and a sender can use', async () => {
      const tls = readTlsFiles({ ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem'), rejectUnauthorized: true });
      assert.equal(String(tls.cert), cert.cert);
      assert.equal(tls.rejectUnauthorized, true);
      const { port } = await listen({ cert: tls.cert, key: tls.key });
      assert.equal((await sender(port, { ca: tls.ca }).send(adt('F1'))).controlId, 'F1');
    });

    it('names a missing ca or cert file, but never the key file path', () => {
      assert.throws(() => readTlsFiles({ ca: path.join(dir, 'missing-ca.pem') }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'VALIDATION_MLLP_TLS_FILE');
        assert.match(err.message, /tls\.ca file \(.*missing-ca\.pem\): ENOENT/);
        return true;
      });
      const secretPath = path.join(dir, 'secret-dir', 'private.key');
      assert.throws(() => readTlsFiles({ cert: path.join(dir, 'cert.pem'), key: secretPath }), (err: Error) => {
        assert.match(err.message, /tls\.key file: ENOENT/);
        assert.doesNotMatch(err.message, /secret-dir|private\.key/);
        return true;
      });
    });

    it('requires cert and key together', () => {
      assert.throws(() => readTlsFiles({ cert: path.join(dir, 'cert.pem') }), /tls\.cert and tls\.key go together/);
    });
  });
});
