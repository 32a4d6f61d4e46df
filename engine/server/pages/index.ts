/**
 * The ops pages (docs/operations.md "Pages") and the front-end library they use, as one router:
 *
 *   /                 channels and integrations      /messages/:id   one message
 *   /channels/:id     one channel, charts            /dead-letters   DLQs and replay
 *   /messages         message browser                /alerts         open and recent alerts
 *   /audit            audit log and verify           /users          users (admin)
 *   /signin           sign-in form                   /assets/uplot/  uPlot from node_modules
 *
 * Mount it on the app root, after the auth middleware and before Node-RED (whose channel
 * endpoints live under /channels/<id>/...; this router only answers GET /channels/<id> itself).
 * It checks no sign-in: the middleware in engine/auth/ redirects page requests without a session
 * to /signin and guards the API the pages call. Each page is static HTML rendered once; its data
 * comes from /api/v1 in the browser.
 */
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { alertsPage } from './alerts-page';
import { auditPage } from './audit-page';
import { channelPage } from './channel-page';
import { channelsPage } from './channels-page';
import { deadLettersPage } from './dead-letters-page';
import type { RenderedPage } from './layout';
import { messagePage } from './message-page';
import { messagesPage } from './messages-page';
import { signinPage } from './signin-page';
import { usersPage } from './users-page';

/** The two uPlot files the pages load, from the installed package (no CDN, no build step). */
const UPLOT_FILES: Record<string, string> = {
  'uPlot.iife.min.js': 'application/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
};

function uplotDir(): string {
  return path.join(path.dirname(require.resolve('uplot/package.json')), 'dist');
}

function send(page: RenderedPage): express.RequestHandler {
  return (_req, res) => {
    res.set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': page.csp,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'same-origin',
    });
    res.send(page.html);
  };
}

/** GET routes of every ops page and of /assets/uplot/*. */
export function opsPagesRouter(): express.Router {
  const router = express.Router();
  router.get('/', send(channelsPage()));
  router.get('/channels/:id', send(channelPage()));
  router.get('/messages', send(messagesPage()));
  router.get('/messages/:id', send(messagePage()));
  router.get('/dead-letters', send(deadLettersPage()));
  router.get('/alerts', send(alertsPage()));
  router.get('/audit', send(auditPage()));
  router.get('/users', send(usersPage()));
  router.get('/signin', send(signinPage()));

  const dir = uplotDir();
  const assets = new Map(
    Object.entries(UPLOT_FILES).map(([file, type]) => [file, { type, body: fs.readFileSync(path.join(dir, file)) }]),
  );
  router.get('/assets/uplot/:file', (req, res, next) => {
    const asset = assets.get(req.params.file);
    if (!asset) {
      next();
      return;
    }
    res.set({ 'Content-Type': asset.type, 'Cache-Control': 'public, max-age=86400', 'X-Content-Type-Options': 'nosniff' });
    res.send(asset.body);
  });
  return router;
}
