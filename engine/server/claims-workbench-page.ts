/**
 * The failed-claims workbench page at /claims/failed: server-rendered HTML with a small vanilla
 * script over /api/v1/claims (claims-api.ts). No CDN, no build step, the look of the ops pages (pages/layout.ts).
 *
 * Filter bar (rule, facility, payer, dates of service), failing rules with counts (click one to
 * filter), the failed claims (keyset "Next page"), and a claim opened in a form: every field
 * editable, each failing field with its rule's message beside it, Save (repair), Reprocess, and
 * the audit trail. Selected claims or every claim matching the filter can be reprocessed at once.
 *
 * Every value from the API is put in the page with textContent (never innerHTML): claim fields
 * come from outside systems.
 *
 * The script is a plain string: no template literals, `${` or backslashes inside it.
 */
export function claimsWorkbenchPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wasl: failed claims</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
 table{border-collapse:collapse;min-width:60%}
 th,td{border-bottom:1px solid #ddd;padding:.4rem .8rem;text-align:left;vertical-align:top}
 td.num,th.num{text-align:right}
 nav a{margin-right:1rem}
 form.filters{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end;margin:1rem 0}
 form.filters label,.grid label{display:flex;flex-direction:column;font-size:.85rem;color:#555}
 input{font:inherit;padding:.2rem .35rem;border:1px solid #bbb;border-radius:3px}
 button{font:inherit;padding:.25rem .8rem;cursor:pointer}
 button.link{border:none;background:none;color:#0645ad;padding:0;text-decoration:underline}
 .error{color:#b00}.ok{color:#2a7a2a}
 #message{min-height:1.4rem;margin:.5rem 0}
 #groups tr.active td{background:#eef3fb}
 #claims tr.open td{background:#eef3fb}
 .rules span{display:inline-block;background:#f4e3e3;color:#800;border-radius:3px;padding:0 .3rem;margin:0 .2rem .1rem 0;font-size:.85rem}
 .actions{margin:.6rem 0;display:flex;gap:.6rem}
 section{margin-top:1.5rem}
 #detail{border-top:2px solid #ddd;padding-top:.5rem}
 fieldset{border:1px solid #ddd;margin:.8rem 0;padding:.6rem .8rem}
 .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(15rem,1fr));gap:.6rem 1rem}
 .bad{border-color:#b00;background:#fff6f6}
 .why{display:block;color:#b00;font-size:.8rem;max-width:22rem}
 #lines input{width:6.5rem}
 #lines input.short{width:3.5rem}
 #audit li{margin-bottom:.3rem}
 #audit .changes{color:#555;font-size:.85rem}
 .muted{color:#777}
</style></head>
<body>
<h1>Wasl</h1>
<nav><a href="/">Channels</a><a href="/claims/failed">Failed claims</a><a href="/api/v1/claims/failed">Failed claims API</a></nav>
<h2>Failed claims</h2>
<form class="filters" id="filters">
 <label>Rule<input name="rule" id="f-rule" list="rule-ids" size="22" autocomplete="off"></label>
 <datalist id="rule-ids"></datalist>
 <label>Facility<input name="facilityId" id="f-facility" size="12"></label>
 <label>Payer<input name="payerId" id="f-payer" size="10"></label>
 <label>Service from<input name="from" id="f-from" type="date"></label>
 <label>Service to<input name="to" id="f-to" type="date"></label>
 <button type="submit">Apply</button>
 <button type="button" id="clear-filters">Clear</button>
</form>
<div id="message" role="status" aria-live="polite"></div>

<section id="groups-section">
 <h3>By reason <span id="total" class="muted"></span></h3>
 <p class="muted">Click a rule to list its claims.</p>
 <table id="groups"><thead><tr><th>Rule</th><th class="num">Claims</th><th>Message</th></tr></thead><tbody></tbody></table>
</section>

<section id="list-section">
 <h3>Claims</h3>
 <div class="actions">
  <button type="button" id="reprocess-selected" disabled>Reprocess selected (0)</button>
  <button type="button" id="reprocess-all">Reprocess all matching</button>
 </div>
 <table id="claims"><thead><tr><th><input type="checkbox" id="select-all" aria-label="Select all on this page"></th><th>Id</th><th>Claim id</th><th>Facility</th><th>Payer</th><th>Service date</th><th>Rules</th><th class="num">Reprocessed</th><th>Failed at</th></tr></thead><tbody></tbody></table>
 <p id="empty" class="muted" hidden>No failed claims match.</p>
 <div class="actions"><button type="button" id="first-page" disabled>First page</button><button type="button" id="next-page" disabled>Next page</button></div>
</section>

<section id="detail" hidden>
 <h3>Failed claim <span id="detail-title"></span> <button type="button" id="close-detail">Close</button></h3>
 <p id="detail-meta" class="muted"></p>
 <ul id="claim-reasons" class="error"></ul>
 <form id="claim-form" novalidate>
  <fieldset><legend>Claim</legend><div class="grid" id="claim-fields"></div></fieldset>
  <fieldset><legend>Diagnoses (ICD-10-CM, principal first)</legend><div class="grid" id="diagnoses"></div></fieldset>
  <fieldset><legend>Lines</legend>
   <table id="lines"><thead><tr><th>#</th><th>From</th><th>To</th><th>Procedure</th><th>Modifiers</th><th>Units</th><th>Charge (cents)</th><th>POS</th><th>Dx pointers</th><th>Rendering NPI</th></tr></thead><tbody></tbody></table>
  </fieldset>
  <div class="actions"><button type="submit" id="save">Save</button><button type="button" id="reprocess">Reprocess</button></div>
 </form>
 <h4>Audit trail</h4>
 <ol id="audit"></ol>
</section>

<script>
(function () {
  var API = '/api/v1/claims/failed';
  var TOP = [
    ['claimId', 'Claim id', 'text'], ['facilityId', 'Facility id', 'text'], ['frequency', 'Frequency (1, 7, 8)', 'optional'],
    ['originalReference', 'Original reference', 'optional'], ['payerId', 'Payer id', 'text'], ['memberId', 'Member id', 'text'],
    ['patientFamily', 'Patient family name', 'text'], ['patientGiven', 'Patient given name', 'text'], ['birthDate', 'Birth date', 'text'],
    ['sex', 'Sex (M, F, U)', 'text'], ['billingNpi', 'Billing NPI', 'text'], ['renderingNpi', 'Rendering NPI', 'optional'],
    ['placeOfService', 'Place of service', 'text'], ['totalChargeCents', 'Total charge (cents)', 'integer'],
    ['locality.mac', 'Locality: MAC', 'locality'], ['locality.locality', 'Locality: number', 'locality']
  ];
  var LINE = [
    ['serviceFrom', 'text'], ['serviceTo', 'optional'], ['procedureCode', 'text'], ['modifiers', 'list'], ['units', 'number'],
    ['chargeCents', 'integer'], ['placeOfService', 'optional'], ['diagnosisPointers', 'numbers'], ['renderingNpi', 'optional']
  ];
  var state = { filter: {}, after: null, next: null, selected: new Set(), current: null };

  function $(id) { return document.getElementById(id); }
  function el(tag, props, children) {
    var e = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      if (k === 'text') e.textContent = props[k];
      else if (k === 'className') e.className = props[k];
      else if (k.indexOf('data-') === 0 || k === 'aria-label' || k === 'list' || k === 'for') e.setAttribute(k, props[k]);
      else e[k] = props[k];
    });
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return e;
  }
  function say(text, kind) { var m = $('message'); m.textContent = text; m.className = kind || ''; }


  async function call(method, url, body) {
    var headers = { 'Accept': 'application/json' };
    var init = { method: method, headers: headers };
    if (method !== 'GET') { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body || {}); }
    var res = await fetch(url, init);
    var json = await res.json().catch(function () { return {}; });
    if (!res.ok) throw new Error(json.error || (res.status + ' ' + res.statusText));
    return json;
  }
  function query(extra) {
    var p = new URLSearchParams();
    Object.keys(state.filter).forEach(function (k) { if (state.filter[k]) p.set(k, state.filter[k]); });
    Object.keys(extra || {}).forEach(function (k) { if (extra[k]) p.set(k, extra[k]); });
    var s = p.toString();
    return s ? '?' + s : '';
  }

  // ---------------------------------------------------------------- groups and list
  async function loadGroups() {
    var withoutRule = Object.assign({}, state.filter); delete withoutRule.rule;
    var saved = state.filter; state.filter = withoutRule;
    var q = query(); state.filter = saved;
    var data = await call('GET', API + '/groups' + q);
    $('total').textContent = '(' + data.total + ' failed claims)';
    var body = $('groups').tBodies[0]; body.textContent = '';
    var ids = $('rule-ids'); ids.textContent = '';
    data.groups.forEach(function (g) {
      var b = el('button', { type: 'button', className: 'link', text: g.rule, 'data-rule': g.rule });
      b.addEventListener('click', function () { $('f-rule').value = g.rule; applyFilters(); });
      var tr = el('tr', { className: state.filter.rule === g.rule ? 'active' : '' }, [el('td', null, [b]), el('td', { className: 'num', text: String(g.claims) }), el('td', { text: g.message })]);
      body.appendChild(tr);
      ids.appendChild(el('option', { value: g.rule }));
    });
    if (!data.groups.length) body.appendChild(el('tr', null, [el('td', { colSpan: 3, className: 'muted', text: 'No failing rules.' })]));
  }

  async function loadList(after) {
    var data = await call('GET', API + query({ after: after || '' }));
    state.after = after || null; state.next = data.next || null;
    var body = $('claims').tBodies[0]; body.textContent = '';
    data.items.forEach(function (c) {
      var box = el('input', { type: 'checkbox', checked: state.selected.has(c.id), 'aria-label': 'Select claim ' + c.id });
      box.addEventListener('change', function () { if (box.checked) state.selected.add(c.id); else state.selected.delete(c.id); selectionChanged(); });
      var open = el('button', { type: 'button', className: 'link', text: c.id, 'data-open': c.id });
      open.addEventListener('click', function () { openClaim(c.id).catch(function (e) { say(e.message, 'error'); }); });
      var rules = el('td', { className: 'rules' }, c.rules.map(function (r) { return el('span', { text: r }); }));
      var tr = el('tr', { 'data-id': c.id, className: state.current && state.current.id === c.id ? 'open' : '' }, [
        el('td', null, [box]), el('td', null, [open]), el('td', { text: c.claimId }), el('td', { text: c.facilityId }), el('td', { text: c.payerId }),
        el('td', { text: c.serviceDate || '' }), rules, el('td', { className: 'num', text: String(c.reprocessCount) }), el('td', { text: new Date(c.createdAt).toLocaleString() })
      ]);
      body.appendChild(tr);
    });
    $('empty').hidden = data.items.length > 0;
    $('next-page').disabled = !state.next;
    $('first-page').disabled = !state.after;
    $('select-all').checked = false;
  }

  function selectionChanged() {
    var b = $('reprocess-selected');
    b.textContent = 'Reprocess selected (' + state.selected.size + ')';
    b.disabled = state.selected.size === 0;
  }

  function readFilters() {
    var f = {};
    [['rule', 'f-rule'], ['facilityId', 'f-facility'], ['payerId', 'f-payer'], ['from', 'f-from'], ['to', 'f-to']].forEach(function (p) {
      var v = $(p[1]).value.trim(); if (v) f[p[0]] = v;
    });
    return f;
  }
  async function refresh(keepPage) {
    await Promise.all([loadGroups(), loadList(keepPage ? state.after : null)]);
  }
  function applyFilters() {
    state.filter = readFilters(); state.selected.clear(); selectionChanged();
    refresh(false).then(function () { say(''); }).catch(function (e) { say(e.message, 'error'); });
  }

  $('filters').addEventListener('submit', function (ev) { ev.preventDefault(); applyFilters(); });
  $('clear-filters').addEventListener('click', function () { ['f-rule', 'f-facility', 'f-payer', 'f-from', 'f-to'].forEach(function (i) { $(i).value = ''; }); applyFilters(); });
  $('next-page').addEventListener('click', function () { loadList(state.next).catch(function (e) { say(e.message, 'error'); }); });
  $('first-page').addEventListener('click', function () { loadList(null).catch(function (e) { say(e.message, 'error'); }); });
  $('select-all').addEventListener('change', function () {
    var on = $('select-all').checked;
    Array.prototype.forEach.call($('claims').tBodies[0].rows, function (tr) {
      var box = tr.querySelector('input[type=checkbox]'); box.checked = on;
      if (on) state.selected.add(tr.getAttribute('data-id')); else state.selected.delete(tr.getAttribute('data-id'));
    });
    selectionChanged();
  });

  function reportText(r) {
    var s = r.written + ' written to production, ' + r.stillFailing + ' still failing';
    if (r.notFound) s += ', ' + r.notFound + ' no longer failed';
    if (r.capped) s += ' (more matched than one run takes: run it again for the rest)';
    return s;
  }
  $('reprocess-selected').addEventListener('click', async function () {
    try {
      say('Reprocessing ' + state.selected.size + ' claims…');
      var r = await call('POST', API + '/reprocess', { ids: Array.from(state.selected) });
      state.selected.clear(); selectionChanged();
      await afterReprocess(r);
      say(reportText(r), r.stillFailing ? 'error' : 'ok');
    } catch (e) { say(e.message, 'error'); }
  });
  $('reprocess-all').addEventListener('click', async function () {
    var total = $('total').textContent;
    if (!confirm('Reprocess every claim matching the current filter' + (state.filter.rule ? ' (rule ' + state.filter.rule + ')' : '') + '? Up to 10,000 at a time.')) return;
    try {
      say('Reprocessing all matching claims ' + total + '…');
      var r = await call('POST', API + '/reprocess', { filter: state.filter });
      await afterReprocess(r);
      say(reportText(r), r.stillFailing ? 'error' : 'ok');
    } catch (e) { say(e.message, 'error'); }
  });
  async function afterReprocess(r) {
    var cur = state.current;
    await refresh(false);
    if (!cur) return;
    var mine = r.results.filter(function (x) { return x.id === cur.id; })[0];
    if (mine && mine.outcome === 'written') closeDetail();
    else if (mine) await openClaim(cur.id);
  }

  // ---------------------------------------------------------------- one claim
  function get(obj, path) {
    return path.split('.').reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  }
  function show(v) { return v == null ? '' : Array.isArray(v) ? v.join(', ') : String(v); }
  function input(path, value, cls) {
    return el('input', { value: show(value), 'data-path': path, className: cls || '', id: 'field-' + path, 'aria-label': path });
  }

  function renderClaim(item) {
    state.current = item;
    var c = item.claim;
    $('detail').hidden = false;
    $('detail-title').textContent = item.id + ' (claim ' + item.claimId + ', staging ' + item.stagingId + ')';
    $('detail-meta').textContent = 'Batch ' + item.batchId + ' · failed ' + new Date(item.createdAt).toLocaleString() + ' · reprocessed ' + item.reprocessCount + ' times';
    var fields = $('claim-fields'); fields.textContent = '';
    TOP.forEach(function (f) {
      fields.appendChild(el('label', null, [f[1], input(f[0], get(c, f[0]))]));
    });
    var dx = $('diagnoses'); dx.textContent = '';
    var n = Math.min(Math.max(c.diagnoses.length + 1, 1), 12);
    for (var i = 0; i < n; i++) dx.appendChild(el('label', null, [String.fromCharCode(65 + i), input('diagnoses[' + i + ']', c.diagnoses[i])]));
    var lines = $('lines').tBodies[0]; lines.textContent = '';
    c.lines.forEach(function (l, li) {
      var cells = [el('td', { text: String(l.line), 'data-path': 'lines[' + li + ']' })];
      LINE.forEach(function (f) {
        var short = f[0] === 'units' || f[0] === 'placeOfService';
        cells.push(el('td', null, [input('lines[' + li + '].' + f[0], l[f[0]], short ? 'short' : '')]));
      });
      lines.appendChild(el('tr', null, cells));
    });
    markReasons(item.reasons);
    var audit = $('audit'); audit.textContent = '';
    item.audit.forEach(function (a) {
      var li = el('li', null, [new Date(a.at).toLocaleString() + ' · ' + a.action + ' by ' + a.actor + (a.outcome ? ' · ' + a.outcome : '')]);
      if (a.changes && a.changes.length) {
        li.appendChild(el('div', { className: 'changes', text: a.changes.map(function (ch) { return ch.field + ': ' + JSON.stringify(ch.before) + ' → ' + JSON.stringify(ch.after); }).join('; ') }));
      } else if (a.unreadable) li.appendChild(el('div', { className: 'changes', text: '(changes sealed under a key this engine no longer has)' }));
      audit.appendChild(li);
    });
    if (!item.audit.length) audit.appendChild(el('li', { className: 'muted', text: 'No repairs or reprocessing yet.' }));
    Array.prototype.forEach.call($('claims').tBodies[0].rows, function (tr) { tr.className = tr.getAttribute('data-id') === item.id ? 'open' : ''; });
  }

  // A reason's field (e.g. lines[0].modifiers[1]) goes beside the closest input: the field itself,
  // then its parent (lines[0].modifiers), then the line; otherwise it is listed above the form.
  function markReasons(reasons) {
    var list = $('claim-reasons'); list.textContent = '';
    reasons.forEach(function (r) {
      var path = r.field === 'locality' ? 'locality.mac' : r.field === 'diagnoses' ? 'diagnoses[0]' : r.field;
      var target = null;
      while (path && !target) {
        target = document.querySelector('#claim-form [data-path="' + path.replace(/"/g, '') + '"]');
        if (target) break;
        var cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
        path = cut > 0 ? path.slice(0, cut) : '';
      }
      var text = r.rule + ': ' + r.message + (r.severity === 'warning' ? ' (warning)' : '');
      if (target) {
        if (target.tagName === 'INPUT') target.classList.add('bad');
        target.parentNode.appendChild(el('span', { className: 'why', text: text, 'data-rule': r.rule }));
      } else list.appendChild(el('li', { text: (r.field && r.field !== 'claim' ? r.field + ' · ' : '') + text, 'data-rule': r.rule }));
    });
  }

  async function openClaim(id) {
    var item = await call('GET', API + '/' + encodeURIComponent(id));
    renderClaim(item);
    say('');
    $('detail').scrollIntoView({ block: 'start' });
  }
  function closeDetail() { state.current = null; $('detail').hidden = true; }
  $('close-detail').addEventListener('click', closeDetail);

  function valueOf(kind, raw) {
    var v = raw.trim();
    if (kind === 'optional') return v === '' ? null : v;
    if (kind === 'integer') return /^-?[0-9]+$/.test(v) ? Number(v) : v;
    if (kind === 'number') return v !== '' && !isNaN(Number(v)) ? Number(v) : v;
    if (kind === 'list') return v.split(/[ ,;]+/).filter(Boolean);
    if (kind === 'numbers') return v.split(/[ ,;]+/).filter(Boolean).map(function (x) { return /^[0-9]+$/.test(x) ? Number(x) : x; });
    return v;
  }
  function same(a, b) { return JSON.stringify(a == null ? null : a) === JSON.stringify(b == null ? null : b); }
  function fieldValue(path) { return $('field-' + path).value; }

  // Only what differs from the stored claim is sent: the audit trail then names what the analyst changed.
  function buildPatch() {
    var c = state.current.claim, patch = {};
    TOP.forEach(function (f) {
      if (f[2] === 'locality') return;
      var v = valueOf(f[2], fieldValue(f[0]));
      if (!same(v, c[f[0]])) patch[f[0]] = v;
    });
    var mac = fieldValue('locality.mac').trim(), loc = fieldValue('locality.locality').trim();
    var locality = mac || loc ? { mac: mac, locality: loc } : null;
    if (!same(locality, c.locality)) patch.locality = locality;
    var dx = Array.prototype.map.call(document.querySelectorAll('#diagnoses input'), function (i) { return i.value.trim(); }).filter(Boolean);
    if (!same(dx, c.diagnoses)) patch.diagnoses = dx;
    var lines = {};
    c.lines.forEach(function (l, li) {
      var lp = {};
      LINE.forEach(function (f) {
        var v = valueOf(f[1], fieldValue('lines[' + li + '].' + f[0]));
        if (!same(v, l[f[0]])) lp[f[0]] = v;
      });
      if (Object.keys(lp).length) lines[li] = lp;
    });
    if (Object.keys(lines).length) patch.lines = lines;
    return patch;
  }

  async function save() {
    var patch = buildPatch();
    if (!Object.keys(patch).length) return false;
    var r = await call('PATCH', API + '/' + encodeURIComponent(state.current.id), patch);
    renderClaim(r.item);
    say('Saved: changed ' + r.changed.join(', ') + '. Reprocess to run the rules again.', 'ok');
    return true;
  }
  $('claim-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    save().then(function (saved) { if (!saved) say('Nothing changed.'); }).catch(function (e) { say(e.message, 'error'); });
  });
  $('reprocess').addEventListener('click', async function () {
    try {
      var id = state.current.id;
      await save(); // unsaved edits first: reprocess runs the stored claim
      var r = await call('POST', API + '/' + encodeURIComponent(id) + '/reprocess', {});
      var res = r.results[0];
      if (res.outcome === 'written') {
        closeDetail();
        await refresh(false);
        say('Claim ' + res.claimId + ' passed and was written to production.', 'ok');
      } else {
        await Promise.all([openClaim(id), refresh(true)]);
        say('Claim ' + res.claimId + ' still fails: ' + res.rules.join(', '), 'error');
      }
    } catch (e) { say(e.message, 'error'); }
  });

  applyFilters();
})();
</script>
</body></html>`;
}
