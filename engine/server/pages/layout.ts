/**
 * The frame every ops page shares: navigation, the signed-in user with a sign-out button, a
 * banner of open alerts, one stylesheet, and a small client library that the page scripts use.
 *
 * Pages are server-rendered strings with one inline script and no build step; nothing comes from
 * a CDN (uPlot is served from the installed npm package under /assets/uplot/). No request data is
 * ever put into the HTML: a page reads its ids from `location`, asks the API, and puts every value
 * into the DOM with textContent, never innerHTML, because message fields come from outside systems.
 *
 * Permissions decide what is shown, not what is allowed: elements marked `data-perm="<permission>"`
 * start hidden and appear when GET /api/v1/session lists that permission. The API refuses anyway.
 *
 * Client scripts are written with String.raw, so backslashes reach the browser as written; they
 * must hold no backtick and no `${`.
 */
import crypto from 'node:crypto';

export interface PageOptions {
  /** Text of <title> and the <h1>; a constant, never request data. */
  title: string;
  /** Which nav entry is current (its `data-nav`). */
  nav?: string;
  /** Extra elements for <head>, e.g. the uPlot stylesheet. Constant markup only. */
  head?: string;
  /** The page's markup under the heading. Constant markup only. */
  body: string;
  /** The page's script; runs after the shared client library, inside the same function scope. */
  script: string;
  /** Sign-in page: no navigation, no user box, no alerts banner, no session call. */
  bare?: boolean;
}

export interface RenderedPage {
  html: string;
  /** Content-Security-Policy allowing exactly this page's inline script (by hash) and nothing from elsewhere. */
  csp: string;
}

const CSS = String.raw`
 *{box-sizing:border-box}
 [hidden]{display:none!important}
 .inline-actions{display:inline-flex;gap:.4rem;margin:0 .4rem}
 body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fff}
 header.top{display:flex;align-items:center;gap:1.2rem;padding:.6rem 2rem;background:#1f3b57;color:#fff;flex-wrap:wrap}
 header.top a{color:#dfe9f5;text-decoration:none}
 header.top .brand{font-weight:700;font-size:1.2rem;color:#fff}
 header.top nav{display:flex;gap:1rem;flex-wrap:wrap;flex:1}
 header.top nav a.current{color:#fff;border-bottom:2px solid #fff}
 header.top .who{display:flex;gap:.5rem;align-items:center}
 header.top .who button{background:#fff;color:#1f3b57;border:none}
 main{padding:1rem 2rem 3rem;overflow-x:auto}
 h1{font-size:1.5rem;margin:.6rem 0}
 h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
 table{border-collapse:collapse;min-width:50%}
 th,td{border-bottom:1px solid #ddd;padding:.35rem .6rem;text-align:left;vertical-align:top}
 th{font-weight:600;font-size:.9rem;color:#444;background:#f7f7f7}
 td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
 a{color:#0645ad}
 input,select{font:inherit;padding:.2rem .35rem;border:1px solid #bbb;border-radius:3px}
 button{font:inherit;padding:.2rem .7rem;cursor:pointer;border:1px solid #999;border-radius:3px;background:#f4f4f4}
 button:disabled{cursor:default;opacity:.5}
 button.danger{border-color:#b00;color:#b00}
 .actions{display:flex;gap:.5rem;margin:.6rem 0;flex-wrap:wrap;align-items:center}
 form.filters{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end;margin:1rem 0}
 form.filters label,form.stack label{display:flex;flex-direction:column;font-size:.85rem;color:#555}
 .muted{color:#777}
 .small{font-size:.8rem}
 .nowrap{white-space:nowrap}
 td.narrow{max-width:20rem;font-size:.85rem;overflow-wrap:anywhere}
 .row-actions{display:flex;gap:.35rem;flex-wrap:nowrap}
 form.filters label.check{flex-direction:row;gap:.3rem;align-items:center}
 .error{color:#b00}.ok{color:#2a7a2a}
 #message{min-height:1.4rem;margin:.3rem 0}
 .state{display:inline-block;padding:0 .45rem;border-radius:3px;font-size:.85rem;font-weight:600;background:#eee}
 .state.running,.state.up,.state.closed,.state.SENT,.state.ok{background:#dff0d8;color:#2a6a2a}
 .state.paused,.state.starting,.state.degraded,.state.half-open,.state.QUEUED,.state.TRANSFORMED,.state.RECEIVED{background:#fcf3d9;color:#7a5a00}
 .state.stopped,.state.disabled,.state.FILTERED{background:#eee;color:#555}
 .state.error,.state.down,.state.open,.state.ERROR{background:#f6dcdc;color:#900}
 .badge{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem;background:#e6ecf3;color:#1f3b57}
 .badge.masked{background:#6b4c00;color:#fff;font-weight:700;letter-spacing:.03em}
 #alert-banner{background:#fbe9e7;border-bottom:2px solid #b00;padding:.5rem 2rem;color:#600}
 #alert-banner ul{margin:.2rem 0 .2rem 1.2rem;padding:0}
 dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.5rem 0}
 dl.meta dt{color:#555}
 dl.meta dd{margin:0}
 .cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:.5rem 0}
 .card{border:1px solid #ddd;border-radius:4px;padding:.4rem .8rem;min-width:7rem}
 .card .label{font-size:.8rem;color:#666}
 .card .value{font-size:1.3rem;font-variant-numeric:tabular-nums}
 pre{white-space:pre-wrap;word-break:break-all;background:#f7f7f7;border:1px solid #e3e3e3;padding:.5rem;margin:0;font-size:.8rem;max-height:32rem;overflow:auto}
 .stages{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:.6rem}
 .stages h3{font-size:.95rem;margin:.2rem 0}
 .chart{min-height:240px;margin:.4rem 0 1rem}
 svg.spark polyline{fill:none;stroke:#1f6fb2;stroke-width:1.5}
 #updated{margin-top:2rem;font-size:.85rem}
 @media (max-width:900px){.stages{grid-template-columns:1fr 1fr}}
`;

/**
 * The client library every page script may use: `$`, `el`, `say`, `call`, `can`, `poll`,
 * formatting helpers, and `boot(start)`, which reads the session, shows the user, applies
 * permissions, then runs `start` and keeps the alerts banner fresh.
 */
const CLIENT = String.raw`
  var W = { session: null, refreshers: [] };
  function $(id) { return document.getElementById(id); }
  function el(tag, props, children) {
    var e = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      var v = props[k];
      if (v === undefined || v === null) return;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'className') e.className = v;
      else if (k === 'onclick') e.addEventListener('click', v);
      else if (k.indexOf('data-') === 0 || k.indexOf('aria-') === 0 || k === 'href' || k === 'for' || k === 'title' || k === 'role') e.setAttribute(k, String(v));
      else e[k] = v;
    });
    (children || []).forEach(function (c) { if (c !== null && c !== undefined) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function say(text, kind) { var m = $('message'); if (!m) return; m.textContent = text || ''; m.className = kind || ''; }
  function signinUrl() { return '/signin?next=' + encodeURIComponent(location.pathname + location.search); }
  async function call(method, url, body) {
    var headers = { 'Accept': 'application/json' };
    var init = { method: method, headers: headers, credentials: 'same-origin' };
    if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
    var res = await fetch(url, init);
    if (res.status === 401 && !W.bare) { location.href = signinUrl(); throw Object.assign(new Error('Signed out'), { status: 401 }); }
    var json = await res.json().catch(function () { return {}; });
    if (!res.ok) throw Object.assign(new Error(json.error || (res.status + ' ' + res.statusText)), { status: res.status });
    return json;
  }
  function can(permission) { return !!(W.session && Array.isArray(W.session.permissions) && W.session.permissions.indexOf(permission) >= 0); }
  function applyPermissions(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll('[data-perm]'), function (e) { e.hidden = !can(e.getAttribute('data-perm')); });
  }
  function dash(v) { return v === null || v === undefined || v === '' ? '-' : String(v); }
  function fmtTime(v) {
    if (v === null || v === undefined || v === '') return '-';
    var d = new Date(v);
    return isNaN(d.getTime()) ? String(v) : d.toLocaleString();
  }
  function fmtAge(s) {
    if (s === null || s === undefined) return '-';
    s = Math.max(0, Math.round(Number(s)));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
    if (s < 86400) return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
    return Math.floor(s / 86400) + ' d ' + Math.floor((s % 86400) / 3600) + ' h';
  }
  function fmtMs(v) { return v === null || v === undefined ? '-' : (Math.round(Number(v) * 10) / 10) + ' ms'; }
  /** A circuit breaker: a string state, or a map of connection -> state (the worst is shown, all in the title). */
  function circuitText(c) {
    if (!c) return '-';
    if (typeof c === 'string') return c;
    if (c.state) return String(c.state);
    var keys = Object.keys(c);
    if (!keys.length) return '-';
    var rank = { closed: 0, 'half-open': 1, open: 2 };
    return keys.map(function (k) { return c[k]; }).sort(function (a, b) { return (rank[b] || 0) - (rank[a] || 0); })[0];
  }
  function stateBadge(state, extra) { return el('span', { className: 'state ' + String(state || ''), text: dash(state), title: extra }); }
  function errorText(e) {
    if (!e) return '-';
    if (typeof e === 'string') return e;
    return [e.kind, e.code, e.message].filter(Boolean).join(' · ') || '-';
  }
  function query(params) {
    var p = new URLSearchParams();
    Object.keys(params).forEach(function (k) { var v = params[k]; if (v !== undefined && v !== null && v !== '') p.set(k, v); });
    var s = p.toString();
    return s ? '?' + s : '';
  }
  function enc(s) { return encodeURIComponent(s); }
  /** The message line after a start, pause or stop: the state, and that it is shared and kept. */
  function controlText(id, r) {
    var t = 'Channel ' + id + ': ' + r.state;
    if (r.keptAcrossRestarts) t += ' (kept across restarts; other engine processes follow within ' + Math.max(1, Math.ceil(Number(r.otherProcessesPollMs) / 1000)) + ' s)';
    return t;
  }
  /** The path segment after a prefix, e.g. the id in /channels/<id>. */
  function pathId(prefix) { return decodeURIComponent(location.pathname.slice(prefix.length).replace(/\/+$/, '')); }

  /** Runs fn now and every ms (default 2 s) after the previous run ended; never overlapping. */
  function poll(fn, ms) {
    var timer = null;
    async function tick() {
      timer = null;
      try {
        await fn();
        var u = $('updated'); if (u) { u.textContent = 'Updated ' + new Date().toLocaleTimeString(); u.className = 'muted'; }
      } catch (e) {
        if (e && e.status === 401) return;
        var u2 = $('updated'); if (u2) { u2.textContent = 'Refresh failed: ' + (e && e.message); u2.className = 'error'; }
      }
      timer = setTimeout(tick, ms || 2000);
    }
    tick();
    return { now: function () { if (timer) { clearTimeout(timer); tick(); } } };
  }

  async function refreshAlerts() {
    var banner = $('alert-banner');
    if (!banner) return;
    var data;
    try { data = await call('GET', '/api/v1/alerts?state=open'); } catch (e) { if (e.status !== 401) banner.hidden = true; return; }
    var open = (data && data.alerts) || [];
    banner.hidden = open.length === 0;
    $('alert-count').textContent = open.length === 1 ? '1 open alert' : open.length + ' open alerts';
    var list = $('alert-list'); list.textContent = '';
    open.slice(0, 5).forEach(function (a) {
      list.appendChild(el('li', { 'data-alert': a.id }, [
        el('strong', { text: dash(a.channel) }), ' · ', dash(a.rule), ': ', dash(a.message),
        el('span', { className: 'muted', text: ' (since ' + fmtTime(a.openedAt) + ')' })
      ]));
    });
    if (open.length > 5) list.appendChild(el('li', { className: 'muted', text: (open.length - 5) + ' more' }));
  }

  async function boot(start) {
    if (!W.bare) {
      try {
        W.session = await call('GET', '/api/v1/session');
      } catch (e) {
        if (e.status === 401) return;
        say('Could not read the session: ' + e.message, 'error');
      }
      if (W.session) {
        $('who-name').textContent = W.session.username;
        $('who-role').textContent = W.session.role;
      }
      applyPermissions(document);
      $('sign-out').addEventListener('click', async function () {
        try { await fetch('/api/v1/session', { method: 'DELETE', credentials: 'same-origin' }); } finally { location.href = '/signin'; }
      });
      poll(refreshAlerts, 2000);
    }
    try { await start(); } catch (e) { say(e.message, 'error'); }
  }
`;

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const NAV: Array<{ href: string; label: string; nav?: string; perm?: string }> = [
  { href: '/', label: 'Channels', nav: 'channels' },
  { href: '/messages', label: 'Messages', nav: 'messages', perm: 'messages.view' },
  { href: '/dead-letters', label: 'Dead letters', nav: 'dead-letters', perm: 'messages.view' },
  { href: '/alerts', label: 'Alerts', nav: 'alerts' },
  { href: '/claims/failed', label: 'Failed claims', perm: 'claims.view' },
  { href: '/audit', label: 'Audit', nav: 'audit', perm: 'audit.view' },
  { href: '/users', label: 'Users', nav: 'users', perm: 'users.manage' },
  { href: '/editor/', label: 'Flow editor', perm: 'flows.edit' },
];

function navHtml(current: string | undefined): string {
  const links = NAV.map((n) => {
    const attrs = [`href="${n.href}"`];
    if (n.nav) attrs.push(`data-nav="${n.nav}"`);
    if (n.nav && n.nav === current) attrs.push('class="current" aria-current="page"');
    if (n.perm) attrs.push(`data-perm="${n.perm}" hidden`);
    return `<a ${attrs.join(' ')}>${escapeHtml(n.label)}</a>`;
  }).join('');
  return `<header class="top">
 <a class="brand" href="/">Wasl</a>
 <nav aria-label="Operations">${links}</nav>
 <span class="who"><span id="who-name"></span> <span id="who-role" class="badge"></span> <button type="button" id="sign-out">Sign out</button></span>
</header>
<div id="alert-banner" role="alert" hidden><strong id="alert-count"></strong> <a href="/alerts">Alerts</a><ul id="alert-list"></ul></div>`;
}

/** Renders a page and the Content-Security-Policy that admits its one inline script. */
export function renderPage(o: PageOptions): RenderedPage {
  const script = `(function () {\n  'use strict';\n${CLIENT}\n  W.bare = ${o.bare ? 'true' : 'false'};\n${o.script}\n})();`;
  const hash = crypto.createHash('sha256').update(script, 'utf8').digest('base64');
  const title = escapeHtml(o.title);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wasl: ${title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="data:,">
${o.head ?? ''}<style>${CSS}</style></head>
<body${o.nav ? ` data-page="${escapeHtml(o.nav)}"` : ''}>
${o.bare ? '<header class="top"><span class="brand">Wasl</span></header>' : navHtml(o.nav)}
<main>
<h1>${title}</h1>
<div id="message" role="status" aria-live="polite"></div>
${o.body}
<p id="updated" class="muted"></p>
</main>
<script>${script}</script>
</body></html>`;
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${hash}'`,
    // uPlot sizes its canvas through style attributes; the pages have one <style> block.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
