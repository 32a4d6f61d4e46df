/**
 * The failed-claims workbench in a real browser (Chromium through playwright-core) over a real
 * PostgreSQL schema: /claims/failed and /api/v1/claims served by a small Express app with the
 * engine's router and page. Failed claims are seeded through the real stages and production
 * writer. Then, in the browser: the groups, filter by a rule, open a claim, the rule's message
 * beside the failing field, fix it, Save, Reprocess, and the claim leaves the list; the database
 * is checked afterwards. The API's error answers (400 / 404 / 415 / 503) are checked over HTTP.
 *
 * Needs /usr/bin/chromium (`apt-get install -y chromium`; CI installs it). Screenshots go to
 * /tmp/workbench.png (a claim open) and /tmp/workbench-after.png.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import knexFactory, { type Knex } from 'knex';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SecretBox } from '../../common/secret-box';
import { sealBatch } from '../../connectors/claims/batch';
import { PostgresProductionWriter } from '../../connectors/claims/production-pg';
import { predictBatch, priceBatch, validateBatch, writeBatch } from '../../engine/claims/stages';
import type { ReprocessDeps } from '../../engine/claims/workbench';
import { claimsApi, reprocessSettingsFrom, type ClaimsApi } from '../../engine/server/claims-api';
import { claimsWorkbenchPage } from '../../engine/server/claims-workbench-page';
import type { ChannelConfig } from '../../engine/channels/types';
import { generateClaimSet } from '../../scripts/claims/synthetic-claims';
import { loadFeeSchedule } from '../../transformers/claims/price';
import type { Claim, RuleFailure } from '../../transformers/claims/types';
import { compileRuleSet, loadRuleSet } from '../../transformers/claims/validate';
import { freshPostgresSchema, requireService } from '../support/services';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('e2e: failed-claims workbench in a browser (PostgreSQL + Chromium)', function () {
  this.timeout(120_000);
  const today = new Date().toISOString().slice(0, 10);
  const sealer = new SecretBox(crypto.randomBytes(32).toString('hex'));
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let knex: Knex;
  let deps: ReprocessDeps;
  let api: ClaimsApi;
  let others: ClaimsApi[] = [];
  let server: http.Server;
  let base: string;
  let browser: Browser;
  let page: Page;
  let failed: Array<{ claim: Claim; failures: RuleFailure[] }>;
  let validCodes: string[];

  before(async function () {
    await requireService(this, 'PostgreSQL');
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing and CI=true: apt-get install -y chromium`);
      console.warn(`\n  !!! ${CHROMIUM} is missing (apt-get install -y chromium): SKIPPING "${this.test?.parent?.fullTitle()}"\n`);
      this.skip();
    }
    schema = await freshPostgresSchema();
    knex = knexFactory({ client: 'pg', connection: schema.url, pool: { min: 0, max: 4 } });
    deps = { rules: compileRuleSet(loadRuleSet()), model: undefined, schedule: loadFeeSchedule(), conversionFactor: '36.04', useGpci: false, action: 'flag', today };

    // 120 claims, half broken: 60 failed claims, more than one page of 50.
    const set = generateClaimSet(120, { seed: 424242, invalidRate: 0.5, today, defects: ['ICD10_FORMAT', 'ZERO_UNITS', 'BAD_MODIFIER'] });
    const writer = new PostgresProductionWriter(knex, sealer);
    await writer.ensureSchema();
    const batch = sealBatch('seed:browser', { table: 'claims_staging', claimedBy: 'seed', claimedAt: new Date().toISOString() }, set.claims, sealer);
    await validateBatch(batch, { rules: deps.rules, sealer, production: writer, today });
    predictBatch(batch, { model: undefined, sealer, action: 'flag', today });
    priceBatch(batch, { schedule: deps.schedule, conversionFactor: '36.04', useGpci: false });
    await writeBatch(batch, { writer, sealer });
    failed = set.claims.flatMap((claim, i) => (batch.outcomes[i].failures?.some((f) => f.severity === 'error') ? [{ claim, failures: batch.outcomes[i].failures ?? [] }] : []));
    const failedIds = new Set(failed.map((f) => f.claim.stagingId));
    validCodes = [...new Set(set.claims.filter((c) => !failedIds.has(c.stagingId)).flatMap((c) => c.diagnoses))];

    const app = express();
    // The engine's auth middleware sets the signed-in user; here a header stands in for it, so the
    // actor recorded by the workbench can be checked (sign-in itself: test/engine/auth/).
    app.use((req, _res, next) => {
      const user = req.get('x-test-user');
      if (user) req.waslUser = { username: user, role: 'claims_processor', via: 'session' };
      next();
    });
    api = claimsApi({ sealer, productionUrl: schema.url, reprocessDeps: () => deps });
    app.use('/api/v1/claims', api.router);
    app.get('/claims/failed', (_req, res) => res.type('html').send(claimsWorkbenchPage()));
    // Misconfigured engines, for the 503 answers.
    const noKey = claimsApi({ sealer: undefined, productionUrl: schema.url });
    const noUrl = claimsApi({ sealer, productionUrl: '' });
    const mssql = claimsApi({ sealer, productionUrl: 'mssql://sa:secret@127.0.0.1:1433/claims' });
    const noTables = claimsApi({ sealer, productionUrl: schema.url, tables: { staging: 'x_staging', claims: 'x_claims', failed: 'x_failed', reasons: 'x_reasons', audit: 'x_audit', batches: 'x_batches' } });
    others = [noKey, noUrl, mssql, noTables];
    app.use('/nokey/api/v1/claims', noKey.router);
    app.use('/nourl/api/v1/claims', noUrl.router);
    app.use('/mssql/api/v1/claims', mssql.router);
    app.use('/notables/api/v1/claims', noTables.router);
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('dialog', (d) => void d.accept());
    await page.setExtraHTTPHeaders({ 'x-test-user': 'browser@example.org' });
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
    await api?.close();
    for (const o of others) await o.close();
    await knex?.destroy();
    await schema?.drop();
  });

  const withRule = (rule: string) => failed.filter((f) => f.failures.some((r) => r.rule === rule));
  const count = async (table: string, where: Record<string, unknown> = {}) => Number((await knex(table).count({ n: '*' }).where(where))[0].n);
  const rowIds = () => page.$$eval('#claims tbody tr', (trs) => trs.map((tr) => tr.getAttribute('data-id') as string));

  it('shows the failing rules with counts and pages the claims with a keyset cursor', async () => {
    await page.goto(`${base}/claims/failed`);
    await page.waitForSelector('#groups tbody button[data-rule="ICD10_FORMAT"]');
    const groups = await page.$$eval('#groups tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    const icd = groups.find((g) => g[0] === 'ICD10_FORMAT');
    assert.equal(icd?.[1], String(withRule('ICD10_FORMAT').length));
    assert.equal(icd?.[2], withRule('ICD10_FORMAT')[0].failures.find((f) => f.rule === 'ICD10_FORMAT')?.message);
    assert.equal(await page.textContent('#total'), `(${failed.length} failed claims)`);

    assert.equal(failed.length, 60);
    const first = await rowIds();
    assert.equal(first.length, 50);
    await page.click('#next-page');
    await page.waitForFunction(() => document.querySelectorAll('#claims tbody tr').length === 10);
    const second = await rowIds();
    assert.equal(new Set([...first, ...second]).size, 60);
    assert.ok(Number(second[0]) > Number(first[49]));
    assert.equal(await page.isDisabled('#next-page'), true);
    await page.click('#first-page');
    await page.waitForFunction(() => document.querySelectorAll('#claims tbody tr').length === 50);
  });

  it('filters by a rule, opens a claim with the message beside the field, fixes it, saves, reprocesses it out of the list', async () => {
    await page.click('#groups tbody button[data-rule="ICD10_FORMAT"]');
    const expected = withRule('ICD10_FORMAT').length;
    await page.waitForFunction((n) => document.querySelectorAll('#claims tbody tr').length === n, expected);
    const rules = await page.$$eval('#claims tbody td.rules', (tds) => tds.map((td) => td.textContent ?? ''));
    assert.ok(rules.every((r) => r.includes('ICD10_FORMAT')));
    assert.equal(await page.inputValue('#f-rule'), 'ICD10_FORMAT');

    const id = (await rowIds())[0];
    const { staging_id: stagingId } = (await knex('failed_claims').first(knex.raw('staging_id::text as staging_id')).where('id', id)) as { staging_id: string };
    const seeded = failed.find((f) => f.claim.stagingId === stagingId)!;
    const reason = seeded.failures.find((f) => f.rule === 'ICD10_FORMAT')!;
    await page.click(`#claims button[data-open="${id}"]`);
    await page.waitForSelector('#detail:not([hidden])');

    // Sensitive fields opened for the analyst; the failing field marked, with the rule's message beside it.
    assert.equal(await page.inputValue('[data-path="memberId"]'), seeded.claim.memberId);
    assert.equal(await page.inputValue('[data-path="patientFamily"]'), seeded.claim.patientFamily);
    const field = page.locator(`#claim-form input[data-path="${reason.field}"]`);
    assert.equal(await field.inputValue(), reason.value);
    assert.match((await field.getAttribute('class')) ?? '', /\bbad\b/);
    const why = await page.locator(`#claim-form label:has(input[data-path="${reason.field}"]) .why[data-rule="ICD10_FORMAT"]`).textContent();
    assert.equal(why, `ICD10_FORMAT: ${reason.message}`);
    await page.screenshot({ path: '/tmp/workbench.png', fullPage: true });

    const fix = validCodes.find((c) => !seeded.claim.diagnoses.includes(c))!;
    await field.fill(fix);
    await page.click('#save');
    await page.waitForFunction(() => /^Saved: changed diagnoses/.test(document.getElementById('message')?.textContent ?? ''));
    const audit = await page.textContent('#audit');
    assert.match(audit ?? '', /repair by browser@example\.org · changed diagnoses/);
    const k = Number(/^diagnoses\[(\d+)\]$/.exec(reason.field)?.[1]);
    const fixed = seeded.claim.diagnoses.map((d, i) => (i === k ? fix : d));
    assert.ok(audit?.includes(`diagnoses: ${JSON.stringify(seeded.claim.diagnoses)} → ${JSON.stringify(fixed)}`), `the change is listed: ${audit}`);

    await page.click('#reprocess');
    await page.waitForFunction(() => /passed and was written to production/.test(document.getElementById('message')?.textContent ?? ''));
    await page.waitForFunction((n) => document.querySelectorAll('#claims tbody tr').length === n, expected - 1);
    assert.ok(!(await rowIds()).includes(id));
    assert.equal(await page.isHidden('#detail'), true);
    await page.screenshot({ path: '/tmp/workbench-after.png', fullPage: true });

    // The database agrees: in claims once, gone from failed_claims, both actions audited under the header's user.
    assert.equal(await count('claims', { staging_id: stagingId }), 1);
    assert.equal(await count('failed_claims', { staging_id: stagingId }), 0);
    const prod = await knex('claims').first('diagnoses', 'member_id').where('staging_id', stagingId);
    assert.ok((JSON.parse(prod.diagnoses) as string[]).includes(fix));
    assert.equal(prod.member_id, seeded.claim.memberId);
    const trail = await knex('failed_claim_audit').select('action', 'actor', 'outcome').where('failed_claim_id', id).orderBy('id');
    assert.deepEqual(trail, [
      { action: 'repair', actor: 'browser@example.org', outcome: 'changed diagnoses' },
      { action: 'reprocess', actor: 'browser@example.org', outcome: 'written' },
    ]);
  });

  it('reprocesses the selected claims, then all matching the filter', async () => {
    const ids = (await rowIds()).slice(0, 2);
    for (const id of ids) await page.check(`#claims tr[data-id="${id}"] input[type=checkbox]`);
    assert.equal(await page.textContent('#reprocess-selected'), 'Reprocess selected (2)');
    await page.click('#reprocess-selected');
    await page.waitForFunction(() => /0 written to production, 2 still failing/.test(document.getElementById('message')?.textContent ?? ''));
    const counts = await page.$$eval('#claims tbody tr', (trs) => trs.map((tr) => [tr.getAttribute('data-id'), tr.querySelectorAll('td')[7].textContent]));
    for (const id of ids) assert.deepEqual(counts.find((c) => c[0] === id), [id, '1']);
    assert.deepEqual(
      (await knex('failed_claims').select('reprocess_count').whereIn('id', ids)).map((r) => r.reprocess_count),
      [1, 1],
    );

    // "After a rule fix": every claim of the rule is fixed in the database's copy, then one click.
    const remaining = await rowIds();
    for (const id of remaining) {
      const detail = (await (await fetch(`${base}/api/v1/claims/failed/${id}`)).json()) as { claim: Claim; reasons: RuleFailure[] };
      const diagnoses = [...detail.claim.diagnoses];
      for (const r of detail.reasons.filter((x) => x.rule === 'ICD10_FORMAT')) diagnoses[Number(/\d+/.exec(r.field)?.[0])] = validCodes.find((c) => !diagnoses.includes(c))!;
      const res = await fetch(`${base}/api/v1/claims/failed/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ diagnoses }) });
      assert.equal(res.status, 200);
    }
    await page.click('#reprocess-all');
    await page.waitForFunction((n) => new RegExp('^' + n + ' written to production, 0 still failing').test(document.getElementById('message')?.textContent ?? ''), remaining.length);
    await page.waitForSelector('#empty:not([hidden])');
    assert.equal(await count('failed_claims'), failed.length - 1 - remaining.length);
    assert.ok(!(await page.$$eval('#groups tbody button', (bs) => bs.map((b) => b.textContent))).includes('ICD10_FORMAT'));
  });

  describe('API answers', () => {
    const get = (path: string) => fetch(`${base}${path}`);
    const send = (method: string, path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
      fetch(`${base}${path}`, { method, headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as { error: string; path?: string; code?: string } });
    let anyId: string;

    before(async () => {
      anyId = ((await knex('failed_claims').first(knex.raw('id::text as id')).orderBy('id')) as { id: string }).id;
    });

    it('400 for a bad filter: what, where and why', async () => {
      assert.deepEqual(await json(await get('/api/v1/claims/failed?facility=FAC01')), {
        status: 400,
        body: { error: 'query.facility: unknown filter; use rule, facilityId, payerId, from, to, status, limit, after', code: 'VALIDATION_WORKBENCH_FILTER', path: 'query.facility' },
      });
      assert.match((await json(await get('/api/v1/claims/failed?from=2026-02-30'))).body.error, /^query\.from: must be a date of service as YYYY-MM-DD$/);
      assert.match((await json(await get('/api/v1/claims/failed?limit=501'))).body.error, /^query\.limit: must be a whole number from 1 to 500$/);
      assert.match((await json(await get('/api/v1/claims/failed?after=1%20or%201=1'))).body.error, /^query\.after: must be a failed-claim id/);
      assert.match((await json(await get('/api/v1/claims/failed?from=2026-03-02&to=2026-03-01'))).body.error, /is after `to`/);
      assert.match((await json(await get('/api/v1/claims/failed/groups?limit=5'))).body.error, /^query\.limit: unknown filter/);
      assert.equal((await get('/api/v1/claims/failed?rule=ICD10_FORMAT&limit=2')).status, 200);
    });

    it('404 for an unknown id, 400 for one that is not an id', async () => {
      assert.deepEqual(await json(await get('/api/v1/claims/failed/987654321')), { status: 404, body: { error: 'no failed claim 987654321', code: 'NOT_FOUND' } });
      assert.equal((await send('POST', '/api/v1/claims/failed/987654321/reprocess', {})).status, 404);
      assert.equal((await send('PATCH', '/api/v1/claims/failed/987654321', { sex: 'F' })).status, 404);
      assert.equal((await get('/api/v1/claims/failed/abc')).status, 400);
    });

    it('400 for a bad patch names the field, 415 for a write that is not JSON, and nothing changes', async () => {
      const audits = await count('failed_claim_audit');
      const wrongType = await json(await send('PATCH', `/api/v1/claims/failed/${anyId}`, { lines: { 0: { units: 'two' } } }));
      assert.deepEqual(wrongType, { status: 400, body: { error: 'body.lines[0].units: must be a number, got a string', code: 'VALIDATION_WORKBENCH_PATCH', path: 'body.lines[0].units' } });
      const unknown = await json(await send('PATCH', `/api/v1/claims/failed/${anyId}`, { lines: { 0: { cpt: '99213' } } }));
      assert.equal(unknown.body.path, 'body.lines[0].cpt');
      assert.match(unknown.body.error, /unknown line field; editable: serviceFrom, /);
      assert.equal((await json(await send('PATCH', `/api/v1/claims/failed/${anyId}`, '{"sex": '))).body.error, 'body: not valid JSON');
      assert.equal((await send('PATCH', `/api/v1/claims/failed/${anyId}`, 'sex=F', { 'content-type': 'application/x-www-form-urlencoded' })).status, 415);
      assert.equal((await send('POST', `/api/v1/claims/failed/${anyId}/reprocess`, '', { 'content-type': 'text/plain' })).status, 415);
      assert.match((await json(await send('POST', '/api/v1/claims/failed/reprocess', {}))).body.error, /give exactly one of ids .* or filter/);
      assert.match((await json(await send('POST', '/api/v1/claims/failed/reprocess', { ids: [] }))).body.error, /^body\.ids: is empty/);
      assert.match((await json(await send('POST', '/api/v1/claims/failed/reprocess', { ids: ['1', 'x'] }))).body.error, /^body\.ids\[1\]: must be a failed-claim id/);
      assert.match((await json(await send('POST', '/api/v1/claims/failed/reprocess', { filter: { limit: 5 } }))).body.error, /^body\.filter\.limit: unknown filter \(reprocess takes every matching claim/);
      assert.equal(await count('failed_claim_audit'), audits);
    });

    it('records the signed-in user as the actor (anonymous@<address> only without the auth middleware)', async () => {
      const before = await json(await get(`/api/v1/claims/failed/${anyId}`));
      assert.equal(before.status, 200);
      await send('POST', `/api/v1/claims/failed/${anyId}/reprocess`, {}, { 'content-type': 'application/json', 'x-test-user': 'ops@example.org' });
      await send('POST', `/api/v1/claims/failed/${anyId}/reprocess`, {});
      const actors = (await knex('failed_claim_audit').select('actor').where('failed_claim_id', anyId).orderBy('id')).map((a) => a.actor as string);
      assert.equal(actors.at(-2), 'ops@example.org');
      assert.match(actors.at(-1) as string, /^anonymous@(::ffff:)?127\.0\.0\.1$/);
    });

    it('503 with a clear message when the key, the database URL or the tables are missing', async () => {
      const noKey = await json(await get('/nokey/api/v1/claims/failed'));
      assert.equal(noKey.status, 503);
      assert.match(noKey.body.error, /WASL_SECRET_KEY is not set/);
      const noUrl = await json(await get('/nourl/api/v1/claims/failed/groups'));
      assert.equal(noUrl.status, 503);
      assert.match(noUrl.body.error, /set CLAIMS_PRODUCTION_URL/);
      assert.match((await json(await get('/mssql/api/v1/claims/failed'))).body.error, /PostgreSQL production database only/);
      const noTables = await json(await get('/notables/api/v1/claims/failed'));
      assert.deepEqual([noTables.status, noTables.body.code], [503, 'UNAVAILABLE']);
      assert.match(noTables.body.error, /production tables are missing/);
    });

    it('takes the reprocess settings from the channel that writes to the production database', () => {
      const channel = (id: string, urlEnv?: string): ChannelConfig => ({
        id,
        name: id,
        source: { type: 'db-poll' },
        transformers: [
          { type: 'claims-validate', rulesFile: `${id}.yaml` },
          { type: 'claims-predict', action: 'hold', threshold: 0.7 },
          { type: 'claims-price', conversionFactor: 'cms', gpci: true },
        ],
        destinations: { production: { type: 'sql', ...(urlEnv ? { urlEnv } : {}) } },
      });
      assert.deepEqual(reprocessSettingsFrom([channel('other', 'OTHER_URL'), channel('claims')]), {
        channel: 'claims',
        rulesFile: 'claims.yaml',
        modelFile: undefined,
        threshold: 0.7,
        action: 'hold',
        conversionFactor: 'cms',
        useGpci: true,
      });
      assert.deepEqual(reprocessSettingsFrom([]), { channel: undefined, rulesFile: undefined, modelFile: undefined, threshold: undefined, action: 'flag', conversionFactor: '36.04', useGpci: false });
    });
  });
});
