/**
 * `/messages/:id`: one message. Metadata, the error with its kind, code and reason, lineage (the
 * message it reprocesses and the attempts made from it), each destination's outcome, and the
 * stages side by side (raw, transformed, sent, response) from /api/v1/messages/:id/content, with
 * a "masked" badge when the server masked the PHI for this user. Reprocess for those allowed.
 *
 * Metadata refreshes every 2 s; the content is read once per click, because every unmasked view
 * is written to the audit log.
 */
import { renderPage, type RenderedPage } from './layout';

const BODY = String.raw`
<p class="actions">
 <a href="/messages" id="back">Messages</a>
 <button type="button" id="reprocess" data-perm="messages.reprocess" hidden>Reprocess</button>
</p>
<div id="reprocess-result"></div>

<dl class="meta" id="meta"></dl>

<section id="error-section" hidden>
 <h2>Error</h2>
 <dl class="meta" id="error"></dl>
</section>

<section id="lineage-section">
 <h2>Lineage</h2>
 <p id="reprocess-of" class="muted">Original message (not a reprocess).</p>
 <div id="reprocessed-as-wrap"><span class="muted">Reprocessed as:</span> <ul id="reprocessed-as"></ul></div>
</section>

<h2>Destinations</h2>
<table id="destinations"><thead><tr><th>Destination</th><th>Status</th><th class="num">Attempts</th><th>Error</th><th>Updated</th></tr></thead><tbody></tbody></table>

<h2>Content <span id="masked-badge" class="badge masked" hidden title="PHI is masked: your role may not view this channel's message bodies">masked</span> <span id="unmasked-note" class="muted" hidden>(unmasked; this view is recorded in the audit log)</span>
 <button type="button" id="reload-content">Reload content</button></h2>
<div class="stages" id="stages">
 <div><h3>Raw</h3><pre data-stage="raw"></pre></div>
 <div><h3>Transformed</h3><pre data-stage="transformed"></pre></div>
 <div><h3>Sent<span id="label-sent" class="muted"></span></h3><pre data-stage="sent"></pre></div>
 <div><h3>Response<span id="label-response" class="muted"></span></h3><pre data-stage="response"></pre></div>
</div>
<div id="destination-content"></div>
`;

const SCRIPT = String.raw`
  var id = pathId('/messages/');
  var CR = String.fromCharCode(13), LF = String.fromCharCode(10);

  /** HL7 v2 segments end in CR: one line each. JSON is indented. */
  function pretty(v) {
    if (v === null || v === undefined || v === '') return '';
    if (typeof v !== 'string') return JSON.stringify(v, null, 2);
    var t = v.trim();
    if (t.charAt(0) === '{' || t.charAt(0) === '[') { try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* not JSON after all */ } }
    return v.split(CR + LF).join(LF).split(CR).join(LF);
  }
  function metaRow(dl, label, value, key) {
    dl.appendChild(el('dt', { text: label }));
    dl.appendChild(el('dd', { 'data-field': key }, [value === null || value === undefined ? '-' : value]));
  }
  function link(mid) { return el('a', { href: '/messages/' + enc(mid), text: mid }); }

  function render(m) {
    document.title = 'Wasl: message ' + m.id;
    var dl = $('meta'); dl.textContent = '';
    metaRow(dl, 'Id', m.id, 'id');
    metaRow(dl, 'Channel', m.channel ? el('a', { href: '/channels/' + enc(m.channel), text: m.channel }) : '-', 'channel');
    metaRow(dl, 'Status', stateBadge(m.status), 'status');
    metaRow(dl, 'Type', dash(m.messageType), 'messageType');
    metaRow(dl, 'Control id', dash(m.controlId), 'controlId');
    metaRow(dl, 'Correlation id', m.correlationId ? el('a', { href: '/messages' + query({ correlationId: m.correlationId }), text: m.correlationId }) : '-', 'correlationId');
    if (m.patientKey !== undefined) metaRow(dl, 'Patient key', dash(m.patientKey), 'patientKey');
    if (m.keys) metaRow(dl, 'Business keys', Array.isArray(m.keys) ? m.keys.join(', ') : Object.keys(m.keys).map(function (k) { return k + ': ' + m.keys[k]; }).join(', '), 'keys');
    metaRow(dl, 'Attempts', dash(m.attempts), 'attempts');
    metaRow(dl, 'Accepted', m.accepted === undefined ? '-' : m.accepted ? 'yes' : 'no', 'accepted');
    metaRow(dl, 'Received', fmtTime(m.receivedAt), 'receivedAt');
    metaRow(dl, 'Updated', fmtTime(m.updatedAt), 'updatedAt');

    var e = m.error;
    $('error-section').hidden = !e;
    if (e) {
      var ed = $('error'); ed.textContent = '';
      metaRow(ed, 'Kind', dash(e.kind), 'error-kind');
      metaRow(ed, 'Code', dash(e.code), 'error-code');
      metaRow(ed, 'Reason', dash(e.message), 'error-message');
      if (e.path || e.field) metaRow(ed, 'Field', dash(e.path || e.field), 'error-path');
    }

    var lin = m.lineage || {};
    var of = lin.reprocessOf || m.reprocessOf || null;
    var as = lin.reprocessedAs || m.reprocessedAs || [];
    var p = $('reprocess-of'); p.textContent = '';
    if (of) { p.className = ''; p.appendChild(document.createTextNode('Reprocess of ')); p.appendChild(link(of)); }
    else { p.className = 'muted'; p.textContent = 'Original message (not a reprocess).'; }
    var ul = $('reprocessed-as'); ul.textContent = '';
    as.forEach(function (x) { var mid = typeof x === 'string' ? x : x.id; ul.appendChild(el('li', { 'data-id': mid }, [link(mid)])); });
    if (!as.length) ul.appendChild(el('li', { className: 'muted', text: 'not reprocessed' }));

    var body = $('destinations').tBodies[0]; body.textContent = '';
    (m.destinations || []).forEach(function (d) {
      body.appendChild(el('tr', { 'data-destination': d.destination }, [el('td', { text: d.destination }), el('td', null, [stateBadge(d.status)]),
        el('td', { className: 'num', text: dash(d.attempts) }), el('td', { className: 'error', text: d.error ? errorText(d.error) : '' }), el('td', { text: fmtTime(d.updatedAt) })]));
    });
    if (!(m.destinations || []).length) body.appendChild(el('tr', null, [el('td', { colSpan: 5, className: 'muted', text: 'None yet.' })]));
  }

  async function loadContent() {
    var c;
    try { c = await call('GET', '/api/v1/messages/' + enc(id) + '/content'); }
    catch (e) {
      if (e.status === 403) { $('stages').hidden = true; $('destination-content').textContent = 'Your role may not view message content.'; return; }
      throw e;
    }
    $('masked-badge').hidden = !c.masked;
    $('unmasked-note').hidden = !!c.masked;
    $('stages').setAttribute('data-masked', c.masked ? 'true' : 'false');
    var st = Object.assign({}, c.stages || {});
    var dests = c.destinations || [];
    // One destination: its sent and response fill the four columns; several get a row each below.
    var one = dests.length === 1 && !st.sent && !st.response ? dests[0] : null;
    if (one) { st.sent = one.sent; st.response = one.response; }
    ['sent', 'response'].forEach(function (k) { $('label-' + k).textContent = one ? ' (' + one.destination + ')' : ''; });
    ['raw', 'transformed', 'sent', 'response'].forEach(function (k) {
      var pre = document.querySelector('#stages pre[data-stage="' + k + '"]');
      var v = pretty(st[k]);
      pre.textContent = v || '(none)';
      pre.className = v ? '' : 'muted';
    });
    var out = $('destination-content'); out.textContent = '';
    (one ? [] : dests).forEach(function (d) {
      out.appendChild(el('h3', { text: 'Destination ' + d.destination }));
      out.appendChild(el('div', { className: 'stages', 'data-destination': d.destination }, [
        el('div', null, [el('h3', { text: 'Sent' }), el('pre', { text: pretty(d.sent) || '(none)' })]),
        el('div', null, [el('h3', { text: 'Response' }), el('pre', { text: pretty(d.response) || '(none)' })])
      ]));
    });
  }

  async function refresh() {
    try { render(await call('GET', '/api/v1/messages/' + enc(id))); }
    catch (e) { if (e.status === 404) { say('No message ' + id + '.', 'error'); return; } throw e; }
  }

  $('reload-content').addEventListener('click', function () { loadContent().catch(function (e) { say(e.message, 'error'); }); });
  $('reprocess').addEventListener('click', async function () {
    try {
      var r = await call('POST', '/api/v1/messages/reprocess', { ids: [id] });
      var out = $('reprocess-result'); out.textContent = '';
      var done = (r.reprocessed || [])[0];
      if (done) {
        say('Reprocessed: new attempt ' + done.id, 'ok');
        out.appendChild(el('p', { id: 'new-attempt' }, ['New attempt: ', link(done.id)]));
      } else {
        var sk = (r.skipped || [])[0];
        say('Not reprocessed' + (sk ? ': ' + sk.reason : ''), 'error');
      }
      await refresh();
    } catch (e) { say(e.message, 'error'); }
  });

  $('back').href = '/messages';
  boot(async function () {
    poll(refresh);
    loadContent().catch(function (e) { say(e.message, 'error'); });
  });
`;

export function messagePage(): RenderedPage {
  return renderPage({ title: 'Message', nav: 'messages', body: BODY, script: SCRIPT });
}
