/**
 * The auth middleware and the session, users and tokens API on a real store (SQLite): who gets
 * in by cookie, basic auth and API token; 401 for the API and a redirect for pages when nobody
 * is signed in; 403 (and an `access.denied` audit entry without the query string) for a role
 * without the permission; cross-site writes refused; /metrics behind its own token when set.
 * The routes behind the guard here are stand-ins that answer 200: what is tested is the guard.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { verifyAuditChain } from '../../../engine/audit/audit-log';
import { createAuth, type Auth } from '../../../engine/auth';
import { KnexMessageStore } from '../../../engine/store/knex-store';

const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('engine/auth middleware and API', function () {
  this.timeout(60_000);
  let dir: string;
  let store: KnexMessageStore;
  let auth: Auth;
  let server: http.Server;
  let base: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-auth-'));
    store = await KnexMessageStore.open({ sqliteFile: path.join(dir, 'wasl.db') });
    await store.migrate();
    auth = createAuth(store.knex, { metricsToken: 'scrape-secret', secureCookie: false, sessionHours: 8 });
    await auth.users.create({ username: 'root', password: 'root password 1', role: 'admin' });
    await auth.users.create({ username: 'uma', password: 'uma password 12', role: 'ui_user' });
    const app = express();
    app.use(auth.authenticator.middleware);
    app.use('/api/v1', ...auth.apiRouters);
    const ok = (_req: express.Request, res: express.Response) => res.json({ ok: true, user: _req.waslUser?.username });
    app.get('/api/v1/health', ok);
    app.get('/api/v1/channels', ok);
    app.post('/api/v1/channels/:id/stop', ok);
    app.get('/api/v1/messages', ok);
    app.get('/api/v1/not-in-the-table', ok);
    app.get('/metrics', ok);
    app.get('/', ok);
    app.get('/fhir/R4/metadata', ok);
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.close();
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const get = (p: string, headers: Record<string, string> = {}) => fetch(base + p, { headers, redirect: 'manual' });
  const post = (p: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(base + p, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), redirect: 'manual' });

  it('open without sign-in: health, the demo FHIR server; everything else 401 (API) or a redirect (pages)', async () => {
    assert.equal((await get('/api/v1/health')).status, 200);
    assert.equal((await get('/fhir/R4/metadata')).status, 200);
    const api = await get('/api/v1/channels');
    assert.equal(api.status, 401);
    assert.match(api.headers.get('www-authenticate') ?? '', /^Basic/);
    const page = await get('/?x=1');
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/signin?next=%2F%3Fx%3D1');
  });

  it('signs in with a session cookie (HttpOnly, SameSite=Strict) and signs out', async () => {
    const res = await post('/api/v1/session', { username: 'uma', password: 'uma password 12' });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { role: string }).role, 'ui_user');
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^wasl_session=[A-Za-z0-9_-]{43};/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    const cookie = setCookie.split(';')[0];
    const me = (await (await get('/api/v1/session', { cookie })).json()) as { username: string; permissions: string[] };
    assert.equal(me.username, 'uma');
    assert.deepEqual(me.permissions, ['channels.view', 'messages.view']);
    assert.equal((await get('/api/v1/channels', { cookie })).status, 200);
    assert.equal((await fetch(base + '/api/v1/session', { method: 'DELETE', headers: { cookie } })).status, 204);
    assert.equal((await get('/api/v1/channels', { cookie })).status, 401);
  });

  it('a wrong password is 401 and audited as signin.failed', async () => {
    const res = await post('/api/v1/session', { username: 'uma', password: 'not her password' });
    assert.equal(res.status, 401);
    const [entry] = await auth.audit.list({ action: 'signin.failed', limit: 1 });
    assert.equal(entry.actor, 'uma');
  });

  it('basic auth and API tokens; a revoked token stops working', async () => {
    assert.equal((await get('/api/v1/channels', { authorization: basic('root', 'root password 1') })).status, 200);
    assert.equal((await get('/api/v1/channels', { authorization: basic('root', 'wrong password') })).status, 401);
    const created = (await (await post('/api/v1/tokens', { name: 'export' }, { authorization: basic('root', 'root password 1') })).json()) as { id: string; token: string };
    const bearer = { authorization: `Bearer ${created.token}` };
    assert.equal(((await (await get('/api/v1/channels', bearer)).json()) as { user: string }).user, 'root');
    assert.equal((await fetch(`${base}/api/v1/tokens/${created.id}`, { method: 'DELETE', headers: bearer })).status, 204);
    assert.equal((await get('/api/v1/channels', bearer)).status, 401);
  });

  it('403 for a role without the permission, audited without the query string; unknown API routes are admin-only', async () => {
    const uma = { authorization: basic('uma', 'uma password 12') };
    const res = await post('/api/v1/channels/adt/stop', {}, uma);
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as { error: string }).error, /role ui_user may not do this \(needs channels.control\)/);
    assert.equal((await get('/api/v1/users', uma)).status, 403);
    assert.equal((await get('/api/v1/audit?actor=uma', uma)).status, 403);
    assert.equal((await get('/api/v1/not-in-the-table', uma)).status, 403);
    assert.equal((await get('/api/v1/not-in-the-table', { authorization: basic('root', 'root password 1') })).status, 200);
    assert.equal((await get('/api/v1/messages?patientKey=MRN12345', uma)).status, 200);
    const denied = await auth.audit.list({ action: 'access.denied', actor: 'uma', limit: 10 });
    assert.deepEqual(denied.map((d) => d.target).reverse(), ['POST /api/v1/channels/adt/stop', 'GET /api/v1/users', 'GET /api/v1/audit', 'GET /api/v1/not-in-the-table']);
    assert.ok(!JSON.stringify(await auth.audit.list({ limit: 1000 })).includes('MRN12345'));
  });

  it('a session write from another origin is refused', async () => {
    const cookie = ((await post('/api/v1/session', { username: 'root', password: 'root password 1' })).headers.get('set-cookie') ?? '').split(';')[0];
    assert.equal((await post('/api/v1/channels/adt/stop', {}, { cookie, origin: 'https://evil.example' })).status, 403);
    assert.equal((await post('/api/v1/channels/adt/stop', {}, { cookie, origin: base })).status, 200);
  });

  it('admins manage users; an admin cannot demote or disable themselves', async () => {
    const root = { authorization: basic('root', 'root password 1') };
    const made = await post('/api/v1/users', { username: 'carl', password: 'carl password 1', role: 'claims_processor' }, root);
    assert.equal(made.status, 201);
    assert.equal((await post('/api/v1/users', { username: 'carl2', password: 'short', role: 'claims_processor' }, root)).status, 400);
    const patch = (user: string, body: unknown) => fetch(`${base}/api/v1/users/${user}`, { method: 'PATCH', headers: { ...root, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await patch('root', { role: 'ui_user' })).status, 400);
    assert.equal((await patch('carl', { disabled: true })).status, 200);
    assert.equal((await get('/api/v1/channels', { authorization: basic('carl', 'carl password 1') })).status, 401);
    const users = (await (await get('/api/v1/users', root)).json()) as { users: Array<{ username: string; disabled: boolean }> };
    assert.deepEqual(users.users.map((u) => [u.username, u.disabled]), [['carl', true], ['root', false], ['uma', false]]);
  });

  it('/metrics needs the metrics bearer token when one is configured', async () => {
    assert.equal((await get('/metrics')).status, 401);
    assert.equal((await get('/metrics', { authorization: 'Bearer scrape-secret' })).status, 200);
  });

  it('after 10 wrong passwords for one user from one address: 429 with Retry-After, even for the right password', async () => {
    await auth.users.create({ username: 'guessed', password: 'guessed password', role: 'ui_user' });
    for (let i = 0; i < 10; i++) assert.equal((await post('/api/v1/session', { username: 'guessed', password: `guess number ${i}` })).status, 401);
    const blocked = await post('/api/v1/session', { username: 'guessed', password: 'guessed password' });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers.get('retry-after')) > 800);
    assert.equal((await get('/api/v1/channels', { authorization: basic('guessed', 'guessed password') })).status, 429);
    // Another user from the same address is not locked out by this one.
    assert.equal((await post('/api/v1/session', { username: 'uma', password: 'uma password 12' })).status, 200);
  });

  it('a wrong basic-auth password says so and is audited; names are not case-sensitive; a form post signs in; another origin cannot', async () => {
    const wrong = await get('/api/v1/channels', { authorization: basic('UMA', 'not the password') });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'wrong username or password, or the user is disabled');
    const [entry] = await auth.audit.list({ action: 'signin.failed', limit: 1 });
    assert.deepEqual([entry.actor, entry.detail], ['UMA', { via: 'basic' }]);
    assert.equal((await get('/api/v1/channels', { authorization: basic('UMA', 'uma password 12') })).status, 200);
    const form = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=Uma&password=uma+password+12' });
    assert.equal(form.status, 200);
    assert.equal(((await form.json()) as { username: string }).username, 'uma');
    assert.equal((await post('/api/v1/session', { username: 'uma', password: 'uma password 12' }, { origin: 'https://evil.example' })).status, 403);
  });

  it('a sign-in body that is not JSON is a 400 saying so, not a server fault', async () => {
    const res = await fetch(`${base}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username": ' });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: 'body: not valid JSON' });
  });

  it('everything above left an unbroken audit chain', async () => {
    const report = await verifyAuditChain(store.knex);
    assert.equal(report.ok, true);
    assert.ok(report.checked > 10);
  });
});
