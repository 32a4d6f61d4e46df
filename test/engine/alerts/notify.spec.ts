/**
 * Alert notices: a webhook POST to a local HTTP server (payload, timeout, retries, no retry on a
 * 4xx), e-mail through nodemailer to a local smtp-server started here (SMTP settings from the
 * environment, as in production), and a failing webhook that neither floods, crashes the
 * evaluator, nor re-opens the alert: its failure is recorded on the alert row.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import winston from 'winston';
import { FhirClientRegistry } from '../../../connectors/fhir/client-registry';
import { AlertEvaluator } from '../../../engine/alerts/evaluator';
import { AlertMailer, alertMail, smtpSettingsFromEnv } from '../../../engine/alerts/notify/email';
import { AlertNotifier } from '../../../engine/alerts/notify/notifier';
import { postWebhook } from '../../../engine/alerts/notify/webhook';
import { StoreSignals } from '../../../engine/alerts/signals';
import { KnexAlertStore } from '../../../engine/alerts/store';
import type { AlertNotice } from '../../../engine/alerts/types';
import { KnexMessageStore } from '../../../engine/store/knex-store';
import { createTransport, type Transport } from '../../../engine/transport';
import { rulesFrom, startWebhookServer, type WebhookServer } from './support';

const silent = winston.createLogger({ silent: true });

const NOTICE: AlertNotice = {
  alert: '6f1c2a9e-0000-4000-8000-000000000001',
  state: 'open',
  channel: 'adt-to-fhir',
  rule: 'errors',
  kind: 'error-rate',
  value: 0.25,
  threshold: 0.1,
  at: '2025-01-01T00:00:00.000Z',
  message: '5 of 20 messages errored in the last 300 s (ratio 0.25, threshold 0.1)',
};

interface ReceivedMail {
  from: string;
  to: string[];
  user: unknown;
  raw: string;
}

/** A local SMTP server that wants AUTH (user `alerts`, password `s3cret`) and bounces `bounce@...`. */
async function startSmtpServer(): Promise<{ port: number; mails: ReceivedMail[]; close(): Promise<void> }> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === 'alerts' && auth.password === 's3cret') callback(null, { user: 'alerts' });
      else callback(new Error('bad credentials'));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      if (!address.address.startsWith('bounce@')) return callback();
      callback(Object.assign(new Error('no such mailbox'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = session.envelope;
        mails.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((r) => r.address),
          user: session.user,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { port, mails, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** A loopback port nothing listens on (fetch refuses "bad ports" such as 1 before connecting). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('engine/alerts notifications', function () {
  this.timeout(20_000);

  describe('webhook', () => {
    let hook: WebhookServer | undefined;
    afterEach(async () => {
      await hook?.close();
      hook = undefined;
    });

    it('POSTs the notice as JSON', async () => {
      hook = await startWebhookServer();
      await postWebhook(hook.url, NOTICE);
      assert.deepEqual(hook.received, [NOTICE]);
    });

    it('retries a 5xx a few times with backoff, then fails with the status code', async () => {
      hook = await startWebhookServer((n) => (n < 3 ? 503 : 204));
      await postWebhook(hook.url, NOTICE, { initialDelayMs: 5 });
      assert.equal(hook.received.length, 3);
      const failing = await startWebhookServer(() => 500);
      try {
        await assert.rejects(postWebhook(failing.url, NOTICE, { maxAttempts: 3, initialDelayMs: 5 }), (err: Error & { code: string }) => {
          assert.equal(err.code, 'TRANSIENT_WEBHOOK_HTTP_500');
          assert.ok(!err.message.includes('secret-token'), 'the URL (it may hold a token) stays out of the error');
          return true;
        });
        assert.equal(failing.received.length, 3);
      } finally {
        await failing.close();
      }
    });

    it('does not retry a 4xx: the receiver refused the notice', async () => {
      hook = await startWebhookServer(() => 404);
      await assert.rejects(postWebhook(hook.url, NOTICE, { initialDelayMs: 5 }), { code: 'INTEGRATION_WEBHOOK_HTTP_404' });
      assert.equal(hook.received.length, 1);
    });

    it('times out a receiver that never answers, each attempt', async () => {
      hook = await startWebhookServer(() => 'hang');
      const started = Date.now();
      await assert.rejects(postWebhook(hook.url, NOTICE, { timeoutMs: 100, maxAttempts: 2, initialDelayMs: 5 }), { code: 'TRANSIENT_WEBHOOK_TIMEOUT' });
      assert.equal(hook.received.length, 2);
      assert.ok(Date.now() - started < 2000);
    });

    it('names the socket code when nothing listens', async () => {
      await assert.rejects(postWebhook(`http://127.0.0.1:${await closedPort()}/hook`, NOTICE, { maxAttempts: 1 }), { code: 'TRANSIENT_WEBHOOK_ECONNREFUSED' });
    });
  });

  describe('e-mail', () => {
    let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
    let mailer: AlertMailer | undefined;
    beforeEach(async () => {
      smtp = await startSmtpServer();
    });
    afterEach(async () => {
      mailer?.close();
      mailer = undefined;
      await smtp.close();
    });

    const env = () => ({
      WASL_SMTP_HOST: '127.0.0.1',
      WASL_SMTP_PORT: String(smtp.port),
      WASL_SMTP_USER: 'alerts',
      WASL_SMTP_PASSWORD: 's3cret',
      WASL_ALERT_FROM: 'wasl@hospital.example',
    });

    it('reads SMTP settings from the environment, URL or parts', () => {
      assert.equal(smtpSettingsFromEnv({}), undefined);
      assert.deepEqual(smtpSettingsFromEnv({ WASL_SMTP_URL: 'smtps://u:p@smtp.example:465' }), { url: 'smtps://u:p@smtp.example:465', from: 'wasl@localhost' });
      assert.deepEqual(smtpSettingsFromEnv({ WASL_SMTP_HOST: 'smtp.example', WASL_SMTP_SECURE: 'true' }), {
        host: 'smtp.example',
        port: 465,
        secure: true,
        user: undefined,
        password: undefined,
        from: 'wasl@localhost',
      });
      assert.throws(() => smtpSettingsFromEnv({ WASL_SMTP_HOST: 'smtp.example', WASL_SMTP_PORT: 'smtp' }), { code: 'VALIDATION_SMTP_PORT' });
    });

    it('sends the notice to every address, signed in with the password from the environment', async () => {
      mailer = new AlertMailer(smtpSettingsFromEnv(env())!);
      await mailer.send(['oncall@hospital.example', 'lead@hospital.example'], NOTICE);
      assert.equal(smtp.mails.length, 1);
      const [mail] = smtp.mails;
      assert.equal(mail.from, 'wasl@hospital.example');
      assert.deepEqual(mail.to, ['oncall@hospital.example', 'lead@hospital.example']);
      assert.equal(mail.user, 'alerts');
      assert.match(mail.raw, /^Subject: \[Wasl alert\] OPEN: adt-to-fhir\/errors \(error-rate\)\r$/m);
      const { text } = alertMail(NOTICE);
      for (const line of text.split('\n').filter(Boolean)) assert.ok(mail.raw.includes(line), `mail body has "${line}"`);
    });

    it('works from WASL_SMTP_URL too', async () => {
      mailer = new AlertMailer(smtpSettingsFromEnv({ WASL_SMTP_URL: `smtp://alerts:s3cret@127.0.0.1:${smtp.port}`, WASL_ALERT_FROM: 'wasl@hospital.example' })!);
      await mailer.send(['oncall@hospital.example'], { ...NOTICE, state: 'closed' });
      assert.match(smtp.mails[0].raw, /^Subject: \[Wasl alert\] CLOSED: adt-to-fhir\/errors \(error-rate\)\r$/m);
    });

    it('fails with the SMTP reply code when the server refuses, without retrying a 5xx', async () => {
      mailer = new AlertMailer(smtpSettingsFromEnv(env())!, { initialDelayMs: 5 });
      await assert.rejects(mailer.send(['bounce@hospital.example'], NOTICE), { code: 'INTEGRATION_SMTP_550' });
      assert.equal(smtp.mails.length, 0);
    });

    it('says SMTP_NOT_CONFIGURED when a rule wants e-mail and no server is set', async () => {
      const error = await new AlertNotifier().send(NOTICE, { email: ['oncall@hospital.example'] });
      assert.equal(error, 'email: SMTP_NOT_CONFIGURED');
    });

    it('the notifier reports each failing target by code and sends to the others', async () => {
      mailer = new AlertMailer(smtpSettingsFromEnv(env())!);
      const error = await new AlertNotifier({ mailer, webhook: { maxAttempts: 1 } }).send(NOTICE, { webhook: `http://127.0.0.1:${await closedPort()}/hook`, email: ['oncall@hospital.example'] });
      assert.equal(error, 'webhook: TRANSIENT_WEBHOOK_ECONNREFUSED');
      assert.equal(smtp.mails.length, 1);
    });
  });

  describe('through the evaluator', () => {
    let store: KnexMessageStore;
    let transport: Transport;
    let dataDir: string;
    let hook: WebhookServer;
    let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
    let mailer: AlertMailer;
    let offsetMs: number;
    let failing: boolean;

    beforeEach(async () => {
      offsetMs = 0;
      failing = true;
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-alerts-notify-'));
      store = await KnexMessageStore.open({ sqliteFile: path.join(dataDir, 'wasl.db') });
      await store.migrate();
      transport = createTransport({ dataDir, logger: silent });
      await transport.start();
      hook = await startWebhookServer(() => (failing ? 500 : 204));
      smtp = await startSmtpServer();
      mailer = new AlertMailer(smtpSettingsFromEnv({ WASL_SMTP_HOST: '127.0.0.1', WASL_SMTP_PORT: String(smtp.port), WASL_SMTP_USER: 'alerts', WASL_SMTP_PASSWORD: 's3cret' })!);
    });

    afterEach(async () => {
      mailer.close();
      await smtp.close();
      await hook.close();
      await transport.close();
      await store.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    function evaluator(): AlertEvaluator {
      return new AlertEvaluator({
        rules: rulesFrom('      - kind: silence\n        periodSeconds: 60\n', `    alertNotify: { webhook: "${hook.url}", email: [oncall@hospital.example] }\n`),
        store: new KnexAlertStore(store.knex, store.dialect),
        signals: new StoreSignals({ knex: store.knex, dialect: store.dialect, transport, circuits: new FhirClientRegistry() }),
        notifier: new AlertNotifier({ mailer, webhook: { maxAttempts: 3, initialDelayMs: 5, maxDelayMs: 10 } }),
        intervalMs: 60_000,
        clock: () => new Date(Date.now() + offsetMs),
        logger: silent,
      });
    }

    it('a failing webhook is tried a few times once, recorded on the alert, and neither floods nor re-opens', async () => {
      const e = evaluator();
      const alerts = new KnexAlertStore(store.knex, store.dialect);
      offsetMs = 120_000;
      const { opened } = await e.evaluate();
      await e.idle();
      assert.equal(opened.length, 1);
      assert.equal(hook.received.length, 3, 'three attempts, then it gives up');
      assert.equal(smtp.mails.length, 1, 'the e-mail still went out');
      let row = await alerts.get(opened[0].id);
      assert.equal(row?.state, 'open');
      assert.equal(row?.notifyError, 'webhook: TRANSIENT_WEBHOOK_HTTP_500');
      assert.ok(row?.notifiedAt instanceof Date);
      for (let i = 0; i < 3; i++) {
        const r = await e.evaluate();
        await e.idle();
        assert.deepEqual([r.opened.length, r.closed.length], [0, 0]);
      }
      assert.equal(hook.received.length, 3, 'no more requests while the alert stays open');
      assert.equal((await alerts.list({ state: 'all' })).length, 1, 'no second alert');

      // The receiver is back when the feed resumes: the close goes out and the error is cleared.
      failing = false;
      offsetMs = 0;
      await store.receive({ id: 'm1', channel: 'alerts-test', correlationId: 'm1', sender: 'HIS^HOSP', controlId: 'c1', raw: 'MSH|^~\\&|\r' });
      const { closed } = await e.evaluate();
      await e.idle();
      assert.equal(closed.length, 1);
      assert.deepEqual(hook.received.map((n) => n.state), ['open', 'open', 'open', 'closed']);
      assert.equal(smtp.mails.length, 2);
      assert.match(smtp.mails[1].raw, /Subject: \[Wasl alert\] CLOSED: alerts-test\/silence \(silence\)/);
      row = await alerts.get(opened[0].id);
      assert.equal(row?.state, 'closed');
      assert.equal(row?.notifyError, null);
    });
  });
});
