/**
 * `/audit`: the audit log, newest first (GET /api/v1/audit), filtered by actor, action and
 * target, paged back in time with `nextBefore`; Verify checks the hash chain
 * (GET /api/v1/audit/verify). For admin and auditor (`audit.view`). The newest page refreshes
 * itself every 2 s.
 */
import { renderPage, type RenderedPage } from './layout';

const ACTIONS = [
  'signin', 'signin.failed', 'signout', 'message.view-body', 'message.reprocess', 'dlq.replay', 'channel.start', 'channel.pause', 'channel.stop',
  'flows.deploy', 'user.create', 'user.update', 'token.create', 'token.revoke', 'claims.repair', 'claims.reprocess', 'access.denied',
];

const BODY = String.raw`
<p id="no-permission" class="error" hidden>Your role may not read the audit log.</p>
<form class="filters" id="filters">
 <label>Actor<input id="f-actor" size="14" autocomplete="off"></label>
 <label>Action<select id="f-action"><option value="">any</option>${ACTIONS.map((a) => `<option>${a}</option>`).join('')}</select></label>
 <label>Target<input id="f-target" size="24" autocomplete="off"></label>
 <button type="submit">Search</button>
 <button type="button" id="verify">Verify chain</button>
</form>
<p id="verify-result" role="status"></p>
<table id="audit"><thead><tr><th class="num">#</th><th>At</th><th>Actor</th><th>Action</th><th>Target</th><th>From</th><th>Detail</th></tr></thead><tbody></tbody></table>
<p id="empty" class="muted" hidden>No entries.</p>
<div class="actions"><button type="button" id="newest" disabled>Newest</button><button type="button" id="older" disabled>Older</button></div>
`;

const SCRIPT = String.raw`
  var state = { filter: {}, before: null, next: null };

  function detailText(d) {
    if (!d || typeof d !== 'object') return dash(d);
    return Object.keys(d).map(function (k) { var v = d[k]; return k + '=' + (typeof v === 'object' ? JSON.stringify(v) : String(v)); }).join(', ');
  }

  async function load() {
    var data;
    try { data = await call('GET', '/api/v1/audit' + query(Object.assign({ limit: 100 }, state.filter, { before: state.before || '' }))); }
    catch (e) { if (e.status === 403) { $('no-permission').hidden = false; $('filters').hidden = true; return; } throw e; }
    var entries = data.entries || [];
    var body = $('audit').tBodies[0]; body.textContent = '';
    entries.forEach(function (a) {
      body.appendChild(el('tr', { 'data-seq': a.seq, 'data-action': a.action }, [
        el('td', { className: 'num', text: dash(a.seq) }), el('td', { text: fmtTime(a.at) }), el('td', { text: dash(a.actor) }), el('td', { text: dash(a.action) }),
        el('td', { text: dash(a.target) }), el('td', { text: dash(a.from) }), el('td', { className: 'muted', text: detailText(a.detail) })
      ]));
    });
    $('empty').hidden = entries.length > 0;
    state.next = data.nextBefore || null;
    $('older').disabled = !state.next;
    $('newest').disabled = !state.before;
  }

  $('filters').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var f = {};
    [['actor', 'f-actor'], ['action', 'f-action'], ['target', 'f-target']].forEach(function (p) { var v = $(p[1]).value.trim(); if (v) f[p[0]] = v; });
    state.filter = f; state.before = null;
    load().catch(function (e) { say(e.message, 'error'); });
  });
  $('older').addEventListener('click', function () { state.before = state.next; load().catch(function (e) { say(e.message, 'error'); }); });
  $('newest').addEventListener('click', function () { state.before = null; load().catch(function (e) { say(e.message, 'error'); }); });
  $('verify').addEventListener('click', async function () {
    var out = $('verify-result');
    out.textContent = 'Verifying…'; out.className = 'muted';
    try {
      var r = await call('GET', '/api/v1/audit/verify');
      if (r.ok) { out.textContent = 'Chain intact: ' + r.checked + ' entries checked.'; out.className = 'ok'; }
      else { out.textContent = 'Chain BROKEN at entry #' + r.brokenAt + ' (' + r.checked + ' entries checked).'; out.className = 'error'; }
      out.setAttribute('data-ok', r.ok ? 'true' : 'false');
    } catch (e) { out.textContent = 'Verify failed: ' + e.message; out.className = 'error'; }
  });

  boot(async function () {
    var first = true;
    poll(async function () { if (first || !state.before) await load(); first = false; });
  });
`;

export function auditPage(): RenderedPage {
  return renderPage({ title: 'Audit log', nav: 'audit', body: BODY, script: SCRIPT });
}
