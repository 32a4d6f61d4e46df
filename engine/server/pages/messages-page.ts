/**
 * `/messages`: the message browser. Search by channel, status, time range, control id,
 * correlation id, patient key and any indexed business key (`key`); newest first with a keyset
 * "Next page" (`nextCursor`); select messages and reprocess them, or reprocess everything the
 * search matches. The search lives in the address (`/messages?channel=...&key=...`) so it can be
 * linked and reloaded. The first page refreshes itself every 2 s; later pages stay still.
 */
import { renderPage, type RenderedPage } from './layout';

const BODY = String.raw`
<form class="filters" id="filters">
 <label>Channel<select id="f-channel" name="channel"><option value="">any</option></select></label>
 <label>Status<select id="f-status" name="status"><option value="">any</option><option>RECEIVED</option><option>FILTERED</option><option>TRANSFORMED</option><option>QUEUED</option><option>SENT</option><option>ERROR</option></select></label>
 <label>From<input id="f-from" name="from" type="datetime-local" step="1"></label>
 <label>To<input id="f-to" name="to" type="datetime-local" step="1"></label>
 <label>Business key<input id="f-key" name="key" size="16" placeholder="MRN, visit, claim id" autocomplete="off"></label>
 <label>Control id<input id="f-controlId" name="controlId" size="12" autocomplete="off"></label>
 <label>Correlation id<input id="f-correlationId" name="correlationId" size="16" autocomplete="off"></label>
 <label>Patient key<input id="f-patientKey" name="patientKey" size="12" autocomplete="off"></label>
 <button type="submit" id="search">Search</button>
 <button type="button" id="clear">Clear</button>
 <label class="check"><input type="checkbox" id="auto" checked> Auto-refresh</label>
</form>

<div class="actions" data-perm="messages.reprocess" hidden>
 <button type="button" id="reprocess-selected" disabled>Reprocess selected (0)</button>
 <button type="button" id="reprocess-all">Reprocess all matching</button>
</div>
<div id="reprocess-result"></div>

<table id="messages"><thead><tr>
 <th><input type="checkbox" id="select-all" aria-label="Select all on this page" data-perm="messages.reprocess" hidden></th><th>Received</th><th>Id</th><th>Channel</th><th>Type</th><th>Control id</th><th>Patient key</th><th>Status</th><th class="num">Attempts</th><th>Error</th><th>Lineage</th>
</tr></thead><tbody></tbody></table>
<p id="empty" class="muted" hidden>No messages match.</p>
<div class="actions"><button type="button" id="first-page" disabled>First page</button><button type="button" id="next-page" disabled>Next page</button></div>
`;

const SCRIPT = String.raw`
  var FIELDS = ['channel', 'status', 'from', 'to', 'key', 'controlId', 'correlationId', 'patientKey'];
  var state = { filter: {}, cursor: null, next: null, selected: new Set() };

  /** datetime-local (local time) to ISO, and back. */
  function toIso(v) { if (!v) return ''; var d = new Date(v); return isNaN(d.getTime()) ? '' : d.toISOString(); }
  function toLocal(iso) {
    var d = new Date(iso); if (isNaN(d.getTime())) return '';
    function p(n) { return (n < 10 ? '0' : '') + n; }
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + 'T' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  }

  function readForm() {
    var f = {};
    FIELDS.forEach(function (k) {
      var v = $('f-' + k).value.trim();
      if (k === 'from' || k === 'to') v = toIso(v);
      if (v) f[k] = v;
    });
    return f;
  }
  function writeForm(f) {
    FIELDS.forEach(function (k) {
      var v = f[k] || '';
      if (k === 'from' || k === 'to') v = v ? toLocal(v) : '';
      if (k === 'channel' && v && !Array.prototype.some.call($('f-channel').options, function (o) { return o.value === v; })) $('f-channel').appendChild(el('option', { value: v, text: v }));
      $('f-' + k).value = v;
    });
  }
  function fromAddress() {
    var p = new URLSearchParams(location.search), f = {};
    FIELDS.forEach(function (k) { var v = p.get(k); if (v) f[k] = v; });
    return f;
  }

  async function loadChannels() {
    try {
      var data = await call('GET', '/api/v1/channels');
      var sel = $('f-channel'), current = sel.value;
      data.channels.forEach(function (c) {
        if (!Array.prototype.some.call(sel.options, function (o) { return o.value === c.id; })) sel.appendChild(el('option', { value: c.id, text: c.name + ' (' + c.id + ')' }));
      });
      sel.value = current;
    } catch (e) { if (e.status !== 403) throw e; }
  }

  function selectionChanged() {
    var b = $('reprocess-selected');
    b.textContent = 'Reprocess selected (' + state.selected.size + ')';
    b.disabled = state.selected.size === 0;
  }

  function lineageCell(m) {
    var parts = [];
    if (m.reprocessOf) parts.push(el('span', null, ['of ', el('a', { href: '/messages/' + enc(m.reprocessOf), text: m.reprocessOf })]));
    var as = m.reprocessedAs || (m.lineage && m.lineage.reprocessedAs) || [];
    if (as.length) parts.push(el('span', { className: 'muted', text: (parts.length ? ' · ' : '') + 'reprocessed ' + as.length + 'x' }));
    return el('td', null, parts.length ? parts : ['-']);
  }

  function render(data) {
    var body = $('messages').tBodies[0]; body.textContent = '';
    var list = data.messages || [];
    list.forEach(function (m) {
      var box = el('input', { type: 'checkbox', checked: state.selected.has(m.id), 'aria-label': 'Select message ' + m.id });
      box.addEventListener('change', function () { if (box.checked) state.selected.add(m.id); else state.selected.delete(m.id); selectionChanged(); });
      body.appendChild(el('tr', { 'data-id': m.id }, [
        el('td', null, [can('messages.reprocess') ? box : null]), el('td', { text: fmtTime(m.receivedAt) }),
        el('td', null, [el('a', { href: '/messages/' + enc(m.id), text: m.id, 'data-open': m.id })]),
        el('td', { text: dash(m.channel) }), el('td', { text: dash(m.messageType) }), el('td', { text: dash(m.controlId) }), el('td', { text: dash(m.patientKey) }),
        el('td', null, [stateBadge(m.status)]), el('td', { className: 'num', text: dash(m.attempts) }),
        el('td', { className: 'error', text: m.error ? (m.error.kind ? m.error.kind + ' · ' : '') + (m.error.code || '') : '' }), lineageCell(m)
      ]));
    });
    $('empty').hidden = list.length > 0;
    state.next = data.nextCursor || null;
    $('next-page').disabled = !state.next;
    $('first-page').disabled = !state.cursor;
    $('select-all').checked = list.length > 0 && list.every(function (m) { return state.selected.has(m.id); });
  }

  async function load() {
    render(await call('GET', '/api/v1/messages' + query(Object.assign({ limit: 50 }, state.filter, { cursor: state.cursor || '' }))));
  }

  function search(filter, push) {
    state.filter = filter; state.cursor = null; state.selected.clear(); selectionChanged();
    $('reprocess-result').textContent = '';
    var url = '/messages' + query(filter);
    if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
    return load();
  }

  $('filters').addEventListener('submit', function (ev) { ev.preventDefault(); search(readForm(), true).then(function () { say(''); }, function (e) { say(e.message, 'error'); }); });
  $('clear').addEventListener('click', function () { writeForm({}); search({}, true).catch(function (e) { say(e.message, 'error'); }); });
  window.addEventListener('popstate', function () { var f = fromAddress(); writeForm(f); search(f, false).catch(function (e) { say(e.message, 'error'); }); });
  $('next-page').addEventListener('click', function () {
    if (!state.next) return;
    state.cursor = state.next;
    load().catch(function (e) { say(e.message, 'error'); });
  });
  $('first-page').addEventListener('click', function () { state.cursor = null; load().catch(function (e) { say(e.message, 'error'); }); });
  $('select-all').addEventListener('change', function () {
    var on = $('select-all').checked;
    Array.prototype.forEach.call($('messages').tBodies[0].rows, function (tr) {
      var box = tr.querySelector('input[type=checkbox]'); box.checked = on;
      if (on) state.selected.add(tr.getAttribute('data-id')); else state.selected.delete(tr.getAttribute('data-id'));
    });
    selectionChanged();
  });

  function showResult(r) {
    var out = $('reprocess-result'); out.textContent = '';
    var done = r.reprocessed || [], skipped = r.skipped || [];
    say('Reprocessed ' + done.length + (skipped.length ? ', skipped ' + skipped.length : '') + '.', skipped.length && !done.length ? 'error' : 'ok');
    if (done.length) {
      var ul = el('ul', { id: 'reprocessed' });
      done.slice(0, 50).forEach(function (x) {
        ul.appendChild(el('li', { 'data-original': x.original }, [el('a', { href: '/messages/' + enc(x.id), text: x.id }), ' (new attempt of ', el('a', { href: '/messages/' + enc(x.original), text: x.original }), ')']));
      });
      if (done.length > 50) ul.appendChild(el('li', { className: 'muted', text: (done.length - 50) + ' more' }));
      out.appendChild(ul);
    }
    if (skipped.length) {
      var sk = el('ul', { className: 'error' });
      skipped.slice(0, 20).forEach(function (x) { sk.appendChild(el('li', { text: x.id + ': ' + x.reason })); });
      out.appendChild(sk);
    }
  }
  $('reprocess-selected').addEventListener('click', async function () {
    try {
      say('Reprocessing ' + state.selected.size + ' messages…');
      var r = await call('POST', '/api/v1/messages/reprocess', { ids: Array.from(state.selected) });
      state.selected.clear(); selectionChanged();
      showResult(r); await load();
    } catch (e) { say(e.message, 'error'); }
  });
  $('reprocess-all').addEventListener('click', async function () {
    var desc = Object.keys(state.filter).map(function (k) { return k + '=' + state.filter[k]; }).join(', ') || 'no filter: every message';
    if (!confirm('Reprocess every message matching the search (' + desc + ')?')) return;
    try {
      say('Reprocessing all matching messages…');
      showResult(await call('POST', '/api/v1/messages/reprocess', { filter: state.filter }));
      await load();
    } catch (e) { say(e.message, 'error'); }
  });

  boot(async function () {
    var f = fromAddress();
    writeForm(f);
    state.filter = f;
    await loadChannels();
    writeForm(f);
    var first = true;
    poll(async function () { if (first || (!state.cursor && $('auto').checked)) await load(); first = false; });
  });
`;

export function messagesPage(): RenderedPage {
  return renderPage({ title: 'Messages', nav: 'messages', body: BODY, script: SCRIPT });
}
