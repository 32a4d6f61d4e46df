/**
 * The ops pages in a real browser (Debian's chromium through playwright-core) against a real
 * engine process (dist/engine/main.js), in embedded mode and, when PostgreSQL and RabbitMQ are up,
 * in production mode. One story per mode, in order:
 *
 * - sign in (wrong password first), admin adds users with roles on /users;
 * - a channel's counts move on / while ADT messages flow over MLLP, without a page reload; the
 *   channel page draws its uPlot charts, stage counts and destinations; pause, stop, start;
 * - the message browser finds a message by MRN (business key); ui_user sees it masked, analyst
 *   unmasked (the channel is `test: true`); analyst reprocesses it and follows the lineage; a
 *   selection and "all matching" are reprocessed from the browser;
 * - a destination that refuses connections dead-letters a message and opens a destination-down
 *   alert (banner and /alerts); its server comes up, Replay on /dead-letters delivers it and the
 *   alert closes;
 * - the audit log shows it all and its chain verifies; sign out.
 *
 * Screenshots of every page: test-artifacts/screenshots/ops-<mode>-*.png.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startFhirServer, type RunningFhirServer } from '../../engine/fhir-server';
import { adtMessage } from '../support/adt';
import { launchChromium, requireChromium, screenshot, signIn } from '../support/browser';
import { startEngineProcess, tempDir, type EngineProcess } from '../support/engine-process';
import { waitUntil } from '../support/fhir-counts';
import { freePort } from '../support/ports';
import { sendAll, type Outbound } from '../support/sender';
import { deleteAmqpQueues, requireProduction } from '../support/services';

const MODES = [
  { name: 'embedded', slug: 'embedded', production: false },
  { name: 'production (PostgreSQL + RabbitMQ)', slug: 'production', production: true },
] as const;

interface Channels {
  adt: string;
  broken: string;
  brokenMllpPort: number;
  ehrPort: number;
}

/** Two channels: a healthy test channel (ADT to the engine's demo FHIR server) and one whose destination refuses connections until the test starts it. */
function writeChannels(dir: string, c: Channels): string {
  const file = path.join(dir, 'channels.yaml');
  fs.writeFileSync(
    file,
    `channels:
  - id: ${c.adt}
    name: Ops ADT
    test: true
    source:
      type: mllp
      port: \${MLLP_PORT}
      acceptMessageTypes: [ADT^A01, ADT^A03, ADT^A04, ADT^A08]
    transformers:
      - type: hl7-to-fhir
        mapping: adt
    destinations:
      fhir:
        type: fhir
        url: builtin
        timeoutMs: 5000
        retry: { maxAttempts: 5, initialDelayMs: 200, maxDelayMs: 1000 }
  - id: ${c.broken}
    name: Ops EHR feed
    source:
      type: mllp
      port: ${c.brokenMllpPort}
    transformers:
      - type: hl7-to-fhir
        mapping: adt
    destinations:
      ehr:
        type: fhir
        url: http://127.0.0.1:${c.ehrPort}/fhir/R4
        timeoutMs: 2000
        retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 200 }
    alerts:
      - kind: destination-down
        destination: ehr
        consecutiveFailures: 1
`,
  );
  return file;
}

function adt(prefix: string, i: number, patientId = `${prefix}P${i}`, family?: string): Outbound {
  const controlId = `${prefix}${i}`;
  return { controlId, text: adtMessage({ controlId, patientId, visitNumber: `${prefix}V${i}`, family }) };
}

async function sendAccepted(port: number, messages: Outbound[]): Promise<void> {
  const { acks, failed } = await sendAll(port, messages, { connections: 1 });
  assert.deepEqual(failed, []);
  for (const m of messages) assert.equal(acks.get(m.controlId)?.code, 'AA', `ACK of ${m.controlId}`);
}

const text = (page: Page, selector: string) => page.locator(selector).first().textContent();

for (const mode of MODES) {
  describe(`e2e: ops pages in a browser, ${mode.name}`, function () {
    this.timeout(120_000);
    const run = randomBytes(3).toString('hex');
    const shot = (page: Page, name: string) => screenshot(page, `ops-${mode.slug}-${name}`);
    const channels: Channels = { adt: `ops-adt-${run}`, broken: `ops-ehr-${run}`, brokenMllpPort: 0, ehrPort: 0 };
    const users = {
      analyst: { username: `analyst-${run}`, password: `analyst-pw-${run}`, role: 'analyst' },
      viewer: { username: `viewer-${run}`, password: `viewer-pw-${run}`, role: 'ui_user' },
    };
    // The message found by MRN: its MRN (PID-3, the patient key) and family name must stay hidden from ui_user.
    const mrn = `MRN${run.toUpperCase()}`;
    const family = `Opsfamily${run}`;
    let dataDir: string;
    let engine: EngineProcess;
    let production: { databaseUrl: string; amqpUrl: string } | undefined;
    let schema: { drop(): Promise<void> } | undefined;
    let ehr: RunningFhirServer | undefined;
    let browser: Browser;
    const contexts: BrowserContext[] = [];
    let admin: Page;
    let originalId: string;

    async function newPage(): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 1500, height: 1000 } });
      contexts.push(context);
      const page = await context.newPage();
      page.on('dialog', (d) => void d.accept());
      return page;
    }
    async function apiJson<T>(pathAndQuery: string): Promise<T> {
      const res = await engine.api(pathAndQuery);
      assert.equal(res.status, 200, `${pathAndQuery}: ${res.status}`);
      return (await res.json()) as T;
    }

    before(async function () {
      requireChromium(this);
      if (mode.production) {
        const services = await requireProduction(this);
        schema = services;
        production = services.production;
      }
      dataDir = tempDir('ops-pages');
      channels.brokenMllpPort = await freePort();
      channels.ehrPort = await freePort();
      engine = await startEngineProcess({
        dataDir,
        channelsFile: writeChannels(dataDir, channels),
        production,
        env: { WASL_ALERT_INTERVAL_MS: '250' },
      });
      browser = await launchChromium();
      admin = await newPage();
    });

    after(async () => {
      for (const c of contexts) await c.close().catch(() => undefined);
      await browser?.close();
      await engine?.stop();
      await ehr?.close();
      if (production) {
        await deleteAmqpQueues([`${channels.adt}.in`, `${channels.adt}.dest.fhir`, `${channels.broken}.in`, `${channels.broken}.dest.ehr`]);
      }
      await schema?.drop();
      if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('sends a page request without a session to /signin, refuses a wrong password, signs the admin in', async () => {
      await admin.goto(`${engine.baseUrl}/`);
      await admin.waitForURL((u) => u.pathname === '/signin' && u.searchParams.get('next') === '/');
      await admin.fill('#username', engine.admin.username);
      await admin.fill('#password', 'not-the-password');
      await admin.click('#submit');
      await admin.waitForFunction(() => document.getElementById('message')?.textContent === 'Wrong username or password.');
      await shot(admin, '01-signin');

      await signIn(admin, engine.baseUrl, engine.admin, '/');
      assert.equal(await text(admin, '#who-role'), 'admin');
      await admin.waitForSelector(`#channels tr[data-channel="${channels.adt}"]`);
      await admin.waitForSelector(`#channels tr[data-channel="${channels.broken}"]`);
      // Admin sees every nav entry, the claims workbench link among them.
      for (const href of ['/messages', '/dead-letters', '/alerts', '/audit', '/users', '/claims/failed']) {
        assert.equal(await admin.isVisible(`header nav a[href="${href}"]`), true, href);
      }
    });

    it('adds users with their roles on /users, changes a role and disables a user', async () => {
      await admin.goto(`${engine.baseUrl}/users`);
      await admin.waitForSelector(`#users tr[data-user="${engine.admin.username}"]`);
      const temp = `temp-${run}`;
      for (const u of [users.analyst, users.viewer, { username: temp, password: `temp-pw-${run}`, role: 'auditor' }]) {
        await admin.fill('#new-username', u.username);
        await admin.fill('#new-password', u.password);
        await admin.selectOption('#new-role', u.role);
        await admin.click('#add');
        await admin.waitForSelector(`#users tr[data-user="${u.username}"]`);
        assert.equal(await admin.inputValue(`select[data-role-of="${u.username}"]`), u.role);
      }
      await admin.selectOption(`select[data-role-of="${temp}"]`, 'claims_processor');
      await admin.click(`button[data-save-role="${temp}"]`);
      await admin.waitForFunction((m) => document.getElementById('message')?.textContent === m, `${temp} is now claims_processor.`);
      await admin.click(`button[data-toggle="${temp}"]`);
      await admin.waitForFunction((u) => document.querySelector(`#users tr[data-user="${u}"] .state`)?.textContent === 'disabled', temp);
      await shot(admin, '02-users');

      const { users: listed } = await apiJson<{ users: Array<{ username: string; role: string; disabled?: boolean }> }>('/api/v1/users');
      const byName = new Map(listed.map((u) => [u.username, u]));
      assert.equal(byName.get(users.analyst.username)?.role, 'analyst');
      assert.equal(byName.get(users.viewer.username)?.role, 'ui_user');
      assert.equal(byName.get(temp)?.role, 'claims_processor');
      assert.equal(byName.get(temp)?.disabled, true);
    });

    it("shows a channel's counts move while messages flow, without reloading the page", async () => {
      await admin.goto(`${engine.baseUrl}/`);
      const row = `#channels tr[data-channel="${channels.adt}"]`;
      await admin.waitForSelector(`${row} td[data-col="received"]`);
      await admin.waitForFunction((r) => /^\d+$/.test(document.querySelector(`${r} td[data-col="received"]`)?.textContent ?? ''), row);
      const before = Number(await text(admin, `${row} td[data-col="received"]`));
      await admin.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

      // Three batches; after each one the page shows the new count before the next is sent.
      for (let b = 1; b <= 3; b++) {
        await sendAccepted(engine.mllpPort, Array.from({ length: 10 }, (_, i) => adt(`F${run}B${b}`, i)));
        await admin.waitForFunction(
          ([r, n]) => Number(document.querySelector(`${r} td[data-col="received"]`)?.textContent) === n,
          [row, before + 10 * b] as const,
          { timeout: 15_000 },
        );
      }
      await admin.waitForFunction(([r, n]) => Number(document.querySelector(`${r} td[data-col="sent"]`)?.textContent) >= n, [row, before + 30] as const, { timeout: 30_000 });
      await admin.waitForFunction((r) => Number(document.querySelector(`${r} svg.spark`)?.getAttribute('data-total')) > 0, row);
      assert.equal(await admin.evaluate(() => (window as unknown as { stayed?: boolean }).stayed), true, 'the page was not reloaded');
      assert.equal(await text(admin, `${row} td[data-col="state"]`), 'running');
      assert.equal(await text(admin, `${row} td[data-col="errored"]`), '0');
      await shot(admin, '03-channels');
    });

    it('draws the channel page: throughput and error-rate charts, counts per status, destinations', async () => {
      await admin.click(`#channels tr[data-channel="${channels.adt}"] a`);
      await admin.waitForURL((u) => u.pathname === `/channels/${channels.adt}`);
      await admin.waitForSelector('#chart-throughput .uplot canvas');
      await admin.waitForSelector('#chart-errors .uplot canvas');
      // The last hour holds the 30 messages just sent, drawn in the throughput chart.
      await admin.waitForFunction(() => Number(document.getElementById('chart-throughput')?.getAttribute('data-received')) >= 30);
      await admin.waitForFunction(() => Number(document.getElementById('chart-throughput')?.getAttribute('data-sent')) >= 30);
      assert.equal(await admin.getAttribute('#chart-errors', 'data-errored'), '0');
      await admin.waitForFunction(() => Number(document.querySelector('#stage-counts tr[data-status="SENT"] td.num')?.textContent) >= 30);
      await admin.waitForSelector('#destinations tr[data-destination="fhir"]');
      const legend = await admin.$$eval('#chart-throughput .u-legend .u-label', (ls) => ls.map((l) => l.textContent));
      for (const label of ['Received', 'Sent', 'Errored']) assert.ok(legend.includes(label), `legend ${label}: ${legend.join(', ')}`);
      assert.match((await text(admin, '[data-counter="received"] .value')) ?? '', /^\d+$/);
      await shot(admin, '04-channel');
    });

    it('pauses, stops and starts a channel from the channels page', async () => {
      await admin.goto(`${engine.baseUrl}/`);
      const row = `#channels tr[data-channel="${channels.adt}"]`;
      const stateIs = (s: string) => admin.waitForFunction(([r, st]) => document.querySelector(`${r} td[data-col="state"]`)?.textContent === st, [row, s] as const, { timeout: 15_000 });
      await stateIs('running');
      await admin.click(`${row} button[data-action="pause"]`);
      await stateIs('paused');
      await admin.click(`${row} button[data-action="start"]`);
      await stateIs('running');
      await admin.click(`${row} button[data-action="stop"]`);
      await stateIs('stopped');
      await admin.click(`${row} button[data-action="start"]`);
      await stateIs('running');
    });

    it('ui_user finds a message by MRN and sees it with PHI masked, and no buttons it may not use', async () => {
      await sendAccepted(engine.mllpPort, [adt(`M${run}`, 0, mrn, family)]);
      const viewer = await newPage();
      await signIn(viewer, engine.baseUrl, users.viewer, '/messages');
      assert.equal(await viewer.isVisible('#reprocess-all'), false);
      assert.equal(await viewer.isVisible('header nav a[href="/audit"]'), false);
      await viewer.fill('#f-key', mrn);
      await viewer.click('#search');
      await viewer.waitForFunction(() => document.querySelectorAll('#messages tbody tr').length === 1);
      originalId = (await viewer.getAttribute('#messages tbody tr', 'data-id')) as string;
      assert.ok(originalId);
      assert.equal(new URL(viewer.url()).searchParams.get('key'), mrn, 'the search is in the address');
      const row = await viewer.locator('#messages tbody tr').innerText();
      assert.ok(!row.includes(mrn), `the patient key is masked in the list: ${row}`);
      await shot(viewer, '05-messages-ui-user');

      await viewer.click(`#messages a[data-open="${originalId}"]`);
      await viewer.waitForURL((u) => u.pathname === `/messages/${originalId}`);
      await viewer.waitForSelector('#masked-badge:not([hidden])');
      await viewer.waitForFunction(() => document.querySelector('#stages pre[data-stage="raw"]')?.textContent !== '');
      assert.equal(await text(viewer, '#masked-badge'), 'masked');
      assert.equal(await viewer.isVisible('#reprocess'), false);
      const shown = await viewer.locator('main').innerText();
      assert.ok(!shown.includes(family), 'no family name on the page');
      assert.ok(!shown.includes(mrn), 'no MRN on the page');
      await shot(viewer, '06-message-masked');

      await viewer.goto(`${engine.baseUrl}/`);
      await viewer.waitForSelector(`#channels tr[data-channel="${channels.adt}"] td[data-col="state"] .state`);
      assert.equal(await viewer.locator('#channels button[data-action]').count(), 0, 'no start/pause/stop for ui_user');
    });

    it('analyst opens the same message unmasked, reprocesses it and follows the lineage to the new attempt', async () => {
      const analyst = await newPage();
      await signIn(analyst, engine.baseUrl, users.analyst, `/messages/${originalId}`);
      await analyst.waitForFunction((f) => document.querySelector('#stages pre[data-stage="raw"]')?.textContent?.includes(f), family);
      assert.equal(await analyst.isVisible('#masked-badge'), false);
      assert.equal(await analyst.isVisible('#unmasked-note'), true);
      assert.ok((await text(analyst, '#stages pre[data-stage="raw"]'))?.includes(mrn));
      assert.match((await text(analyst, '#stages pre[data-stage="transformed"]')) ?? '', /"resourceType"/);
      await analyst.waitForFunction(() => document.querySelector('dd[data-field="status"]')?.textContent === 'SENT');
      await shot(analyst, '07-message-unmasked');

      await analyst.click('#reprocess');
      await analyst.waitForSelector('#new-attempt a');
      const newId = (await text(analyst, '#new-attempt a')) as string;
      assert.notEqual(newId, originalId);
      await analyst.waitForSelector(`#reprocessed-as li[data-id="${newId}"]`);
      await analyst.click('#new-attempt a');
      await analyst.waitForURL((u) => u.pathname === `/messages/${newId}`);
      await analyst.waitForFunction((id) => document.querySelector('#reprocess-of a')?.textContent === id, originalId);
      await analyst.waitForFunction(() => document.querySelector('dd[data-field="status"]')?.textContent === 'SENT', undefined, { timeout: 30_000 });
      await shot(analyst, '08-message-reprocessed');

      // From the browser: a selection, then everything the search matches.
      await analyst.goto(`${engine.baseUrl}/messages?key=${mrn}`);
      await analyst.waitForFunction(() => document.querySelectorAll('#messages tbody tr').length === 2);
      await analyst.check(`#messages tr[data-id="${originalId}"] input[type=checkbox]`);
      assert.equal(await text(analyst, '#reprocess-selected'), 'Reprocess selected (1)');
      await analyst.click('#reprocess-selected');
      await analyst.waitForFunction((id) => document.querySelectorAll(`#reprocessed li[data-original="${id}"]`).length === 1, originalId);
      await analyst.waitForFunction(() => document.querySelectorAll('#messages tbody tr').length === 3);
      await analyst.click('#reprocess-all');
      await analyst.waitForFunction(() => document.getElementById('message')?.textContent === 'Reprocessed 3.');
      await analyst.waitForFunction(() => document.querySelectorAll('#messages tbody tr').length === 6);
      await shot(analyst, '09-messages-reprocessed');
      const { lineage } = await apiJson<{ lineage: { reprocessOf: string | null; reprocessedAs: string[] } }>(`/api/v1/messages/${originalId}`);
      assert.equal(lineage.reprocessOf, null);
      assert.equal(lineage.reprocessedAs.length, 3);
    });

    it('dead-letters a message whose destination is down and shows the open alert on every page', async () => {
      await sendAccepted(channels.brokenMllpPort, [adt(`D${run}`, 0)]);
      await admin.goto(`${engine.baseUrl}/dead-letters`);
      const queue = `${channels.broken}.dest.ehr`;
      await admin.waitForFunction((q) => document.querySelector(`#queues tr[data-queue="${q}"] td[data-col="dead"]`)?.textContent === '1', queue, { timeout: 30_000 });
      await admin.waitForSelector('#alert-banner:not([hidden])', { timeout: 30_000 });
      assert.match((await text(admin, '#alert-list')) ?? '', new RegExp(`${channels.broken}.*destination-down-ehr`));
      await admin.click(`button[data-show="${queue}"]`);
      await admin.waitForSelector('#letters tbody tr[data-message]');
      assert.match((await text(admin, '#letters tbody td.error')) ?? '', /TRANSIENT/);
      await shot(admin, '10-dead-letters');

      // The message itself: its error with kind, code and reason, and the destination that failed.
      await admin.click('#letters tbody tr[data-message] a');
      await admin.waitForSelector('#error-section:not([hidden])');
      assert.equal(await text(admin, 'dd[data-field="error-kind"]'), 'transient');
      assert.match((await text(admin, 'dd[data-field="error-code"]')) ?? '', /^TRANSIENT_/);
      assert.match((await text(admin, '#destinations tr[data-destination="ehr"]')) ?? '', /ERROR/);
      await shot(admin, '11-message-error');

      await admin.goto(`${engine.baseUrl}/alerts`);
      await admin.waitForSelector('#open-alerts tr[data-rule="destination-down-ehr"][data-state="open"]');
      await shot(admin, '12-alerts-open');
    });

    it('replays the dead letter once the destination is back, and the alert closes', async () => {
      ehr = await startFhirServer(channels.ehrPort);
      const queue = `${channels.broken}.dest.ehr`;
      await admin.goto(`${engine.baseUrl}/dead-letters?queue=${queue}`);
      await admin.waitForSelector('#letters tbody tr[data-message]');
      const messageId = (await admin.getAttribute('#letters tbody tr[data-message]', 'data-message')) as string;
      await admin.click('#replay');
      await admin.waitForFunction((q) => document.getElementById('message')?.textContent === `Replayed 1 from ${q}.`, queue);
      await admin.waitForFunction((q) => document.querySelector(`#queues tr[data-queue="${q}"] td[data-col="dead"]`)?.textContent === '0', queue);
      await waitUntil(async () => (await apiJson<{ status: string }>(`/api/v1/messages/${messageId}`)).status === 'SENT', 'the replayed message delivered', 30_000);

      await admin.waitForSelector('#alert-banner', { state: 'hidden', timeout: 30_000 });
      await admin.goto(`${engine.baseUrl}/alerts`);
      await admin.waitForSelector('#recent-alerts tr[data-rule="destination-down-ehr"][data-state="closed"]');
      assert.equal(await admin.locator('#open-alerts tbody tr').count(), 0);
      await shot(admin, '13-alerts-closed');
    });

    it('lists what happened in the audit log and verifies its chain', async () => {
      await admin.goto(`${engine.baseUrl}/audit`);
      for (const action of ['signin', 'signin.failed', 'user.create', 'user.update', 'channel.pause', 'channel.stop', 'channel.start', 'message.view-body', 'message.reprocess', 'dlq.replay']) {
        await admin.waitForSelector(`#audit tr[data-action="${action}"]`);
      }
      // Unmasked views are audited (the analyst's, the admin's of the dead letter); ui_user's masked view is none.
      const viewers = new Set(await admin.$$eval('#audit tr[data-action="message.view-body"] td:nth-child(3)', (tds) => tds.map((td) => td.textContent)));
      assert.ok(viewers.has(users.analyst.username), [...viewers].join(', '));
      assert.ok(!viewers.has(users.viewer.username), [...viewers].join(', '));
      await admin.click('#verify');
      await admin.waitForSelector('#verify-result[data-ok="true"]');
      assert.match((await text(admin, '#verify-result')) ?? '', /^Chain intact: \d+ entries checked\.$/);
      await admin.selectOption('#f-action', 'dlq.replay');
      await admin.click('#filters button[type=submit]');
      await admin.waitForFunction(() => Array.from(document.querySelectorAll('#audit tbody tr')).every((tr) => tr.getAttribute('data-action') === 'dlq.replay'));
      await shot(admin, '14-audit');
    });

    it('signs out: the next page request goes to /signin again', async () => {
      await admin.goto(`${engine.baseUrl}/`);
      await admin.waitForSelector('#sign-out');
      await Promise.all([admin.waitForURL((u) => u.pathname === '/signin'), admin.click('#sign-out')]);
      await admin.goto(`${engine.baseUrl}/alerts`);
      await admin.waitForURL((u) => u.pathname === '/signin' && u.searchParams.get('next') === '/alerts');
    });
  });
}
