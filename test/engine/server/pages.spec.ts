/**
 * The ops pages as served by `opsPagesRouter()`, without a browser: every page answers with its
 * HTML, a script that parses, a Content-Security-Policy that admits exactly that script, nothing
 * from another origin; uPlot comes from the installed package. The browser tests
 * (test/e2e/ops-pages*.browser.spec.ts) drive the pages against a real engine.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import vm from 'node:vm';
import express from 'express';
import { opsPagesRouter } from '../../../engine/server/pages';

const PAGES: Array<[string, string]> = [
  ['/', 'Channels'],
  ['/channels/adt-to-fhir', 'Channel'],
  ['/messages', 'Messages'],
  ['/messages/0192f3a4-0000-7000-8000-000000000000', 'Message'],
  ['/dead-letters', 'Dead letters'],
  ['/alerts', 'Alerts'],
  ['/audit', 'Audit log'],
  ['/users', 'Users'],
  ['/signin', 'Sign in'],
];

describe('ops pages router', () => {
  let server: http.Server;
  let base: string;

  before(async () => {
    const app = express();
    app.use(opsPagesRouter());
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((r) => server.close(r)));

  for (const [route, title] of PAGES) {
    it(`GET ${route}: the page, a script that parses, a CSP that admits exactly it`, async () => {
      const res = await fetch(base + route);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
      const html = await res.text();
      assert.ok(html.includes(`<title>Wasl: ${title}</title>`), title);
      // No CDN: every script and stylesheet is local.
      assert.doesNotMatch(html, /<script src="(https?:)?\/\/|<link [^>]*href="(https?:)?\/\//);
      const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      assert.equal(scripts.length, 1);
      assert.doesNotThrow(() => new vm.Script(scripts[0]));
      const hash = crypto.createHash('sha256').update(scripts[0], 'utf8').digest('base64');
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, new RegExp(`script-src 'self' 'sha256-${hash.replace(/[+/]/g, '\\$&')}'`));
      assert.match(csp, /frame-ancestors 'none'/);
      // The route's id is never written into the page: the script reads it from location.
      if (route.startsWith('/channels/')) assert.ok(!html.includes('adt-to-fhir'));
      if (route === '/signin') assert.doesNotMatch(html, /id="sign-out"/);
      else {
        assert.match(html, /id="sign-out"/);
        assert.match(html, /<a href="\/claims\/failed"/);
        assert.match(html, /id="alert-banner"/);
      }
    });
  }

  it('serves uPlot from node_modules under /assets/uplot/, and nothing else from there', async () => {
    const dist = path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
    const js = await fetch(`${base}/assets/uplot/uPlot.iife.min.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.equal(await js.text(), fs.readFileSync(path.join(dist, 'uPlot.iife.min.js'), 'utf8'));
    const css = await fetch(`${base}/assets/uplot/uPlot.min.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    assert.equal((await fetch(`${base}/assets/uplot/uPlot.esm.js`)).status, 404);
    assert.equal((await fetch(`${base}/assets/uplot/..%2Fpackage.json`)).status, 404);
  });

  it('answers only GET /channels/<id>, leaving /channels/<id>/... to the channel endpoints', async () => {
    assert.equal((await fetch(`${base}/channels/adt-to-fhir/fhir/Patient`)).status, 404);
    assert.equal((await fetch(`${base}/channels/adt-to-fhir`, { method: 'POST' })).status, 404);
  });
});
