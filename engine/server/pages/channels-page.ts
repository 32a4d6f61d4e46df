/**
 * `/`: every channel with its state, counters, queue depth and the age of its oldest queued
 * message, latency percentiles, a throughput sparkline and the last error, with start / pause /
 * stop for those allowed (`channels.control`); below, the outside-system adapters (NPPES, CAQH,
 * Plan-Net) from /api/v1/integrations/health. Refreshed every 2 s by fetch; rows are updated in
 * place, so a button under the pointer stays put.
 */
import { renderPage, type RenderedPage } from './layout';

const BODY = String.raw`
<table id="channels"><thead><tr>
 <th>Channel</th><th>State</th><th class="num">Received</th><th class="num">Filtered</th><th class="num">Queued</th><th class="num">Sent</th><th class="num">Errored</th>
 <th class="num">Queue depth</th><th class="num">Oldest queued</th><th class="num">Dead letters</th><th class="num" title="Receive to last destination done, last 5 minutes">p50 ms</th><th class="num">p95 ms</th><th class="num">p99 ms</th>
 <th>Throughput (5 min)</th><th>Last error</th><th data-perm="channels.control" hidden>Control</th>
</tr></thead><tbody></tbody></table>
<p id="no-channels" class="muted" hidden>No channels (channels.yaml).</p>

<h2>Integrations</h2>
<table id="integrations"><thead><tr><th>Adapter</th><th>Status</th><th class="num">Availability 1 h</th><th class="num">Availability 24 h</th><th class="num">p50 ms</th><th class="num">p95 ms</th><th class="num">p99 ms</th><th>Circuit</th><th class="num">Rate headroom</th><th>Cache hits / misses</th><th>Last error</th></tr></thead><tbody></tbody></table>
<p id="no-integrations" class="muted" hidden>No adapters configured (adapters.yaml).</p>
`;

const SCRIPT = String.raw`
  var COUNTS = ['received', 'filtered', 'queued', 'sent', 'errored'];
  var rows = {};

  /** An SVG polyline of the throughput buckets (oldest first), drawn with DOM calls. */
  function sparkline(values) {
    var NS = 'http://www.w3.org/2000/svg', w = 120, h = 24;
    var svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'spark'); svg.setAttribute('width', w); svg.setAttribute('height', h); svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    var vs = Array.isArray(values) ? values.map(Number) : [];
    var max = Math.max.apply(null, vs.concat([1]));
    var step = vs.length > 1 ? w / (vs.length - 1) : w;
    var line = document.createElementNS(NS, 'polyline');
    line.setAttribute('points', vs.map(function (v, i) { return (i * step).toFixed(1) + ',' + (h - 1 - (v / max) * (h - 2)).toFixed(1); }).join(' '));
    svg.appendChild(line);
    var total = vs.reduce(function (a, b) { return a + b; }, 0);
    var t = document.createElementNS(NS, 'title'); t.textContent = total + ' messages done in the last ' + Math.round(vs.length * 10 / 60) + ' min'; svg.appendChild(t);
    svg.setAttribute('data-total', String(total));
    return svg;
  }

  function deadOf(c) {
    return Object.keys(c.queues || {}).reduce(function (n, q) { return n + (Number(c.queues[q].dead) || 0); }, 0);
  }
  function depthOf(c) {
    if (typeof c.queueDepth === 'number') return c.queueDepth;
    return Object.keys(c.queues || {}).reduce(function (n, q) { return n + (Number(c.queues[q].ready) || 0) + (Number(c.queues[q].delayed) || 0); }, 0);
  }

  async function control(id, action) {
    try {
      var r = await call('POST', '/api/v1/channels/' + enc(id) + '/' + action, {});
      say(controlText(id, r), 'ok');
      refresher.now();
    } catch (e) { say(action + ' ' + id + ': ' + e.message, 'error'); }
  }

  function makeRow(c) {
    var r = { cells: {}, buttons: {} };
    r.name = el('a', { href: '/channels/' + enc(c.id) });
    r.tr = el('tr', { 'data-channel': c.id });
    r.tr.appendChild(el('td', { className: 'nowrap' }, [r.name, el('div', { className: 'muted small', text: c.id })]));
    r.state = el('td', { 'data-col': 'state' }); r.tr.appendChild(r.state);
    COUNTS.concat(['depth', 'oldest', 'dead', 'p50', 'p95', 'p99']).forEach(function (k) {
      r.cells[k] = el('td', { className: 'num', 'data-col': k }); r.tr.appendChild(r.cells[k]);
    });
    r.spark = el('td', { 'data-col': 'throughput' }); r.tr.appendChild(r.spark);
    r.lastError = el('td', { 'data-col': 'last-error', className: 'error narrow' }); r.tr.appendChild(r.lastError);
    if (can('channels.control')) {
      var box = el('div', { className: 'row-actions' });
      ['start', 'pause', 'stop'].forEach(function (a) {
        var b = el('button', { type: 'button', text: a.charAt(0).toUpperCase() + a.slice(1), 'data-action': a, className: a === 'stop' ? 'danger' : '' });
        b.addEventListener('click', function () { control(c.id, a); });
        r.buttons[a] = b; box.appendChild(b);
      });
      r.tr.appendChild(el('td', null, [box]));
    }
    return r;
  }

  function updateRow(r, c) {
    r.name.textContent = c.name;
    r.state.textContent = ''; r.state.appendChild(stateBadge(c.state));
    COUNTS.forEach(function (k) { r.cells[k].textContent = dash(c[k]); });
    r.cells.depth.textContent = String(depthOf(c));
    r.cells.oldest.textContent = fmtAge(c.oldestQueuedAgeSeconds);
    r.cells.dead.textContent = String(deadOf(c));
    var lat = c.latencyMs || {};
    ['p50', 'p95', 'p99'].forEach(function (p) { r.cells[p].textContent = lat[p] === null || lat[p] === undefined ? '-' : String(Math.round(lat[p])); });
    r.spark.textContent = ''; r.spark.appendChild(sparkline(c.throughput));
    var le = c.lastError;
    r.lastError.textContent = le ? (le.code || '') + (le.message ? ': ' + le.message : '') + (le.at ? ' (' + fmtTime(le.at) + ')' : '') : '';
    var s = c.state;
    if (r.buttons.start) {
      r.buttons.start.disabled = s === 'running' || s === 'disabled' || s === 'starting';
      r.buttons.pause.disabled = s !== 'running';
      r.buttons.stop.disabled = s === 'stopped' || s === 'disabled';
    }
  }

  async function refreshChannels() {
    var data = await call('GET', '/api/v1/channels');
    var body = $('channels').tBodies[0];
    var seen = {};
    data.channels.forEach(function (c) {
      seen[c.id] = true;
      if (!rows[c.id]) { rows[c.id] = makeRow(c); body.appendChild(rows[c.id].tr); }
      updateRow(rows[c.id], c);
    });
    Object.keys(rows).forEach(function (id) { if (!seen[id]) { rows[id].tr.remove(); delete rows[id]; } });
    $('no-channels').hidden = data.channels.length > 0;
  }

  function percent(ratio) { return ratio === null || ratio === undefined ? '-' : (ratio * 100).toFixed(2) + ' %'; }
  async function refreshIntegrations() {
    var data;
    try { data = await call('GET', '/api/v1/integrations/health'); } catch (e) { if (e.status === 403 || e.status === 404) return; throw e; }
    var adapters = data.adapters || [];
    $('no-integrations').hidden = adapters.length > 0;
    var body = $('integrations').tBodies[0]; body.textContent = '';
    adapters.forEach(function (a) {
      var av = a.availability || {}, lat = a.latencyMs || {};
      var cells = [percent(av.hour), percent(av.day), lat.p50, lat.p95, lat.p99, a.circuit, a.rateLimitHeadroom,
        a.cache ? a.cache.hits + ' / ' + a.cache.misses : null, a.lastError ? a.lastError.code + ' at ' + fmtTime(a.lastError.at) : null];
      body.appendChild(el('tr', { 'data-adapter': a.id }, [el('td', { text: a.id + ' (' + a.kind + ')' }), el('td', null, [stateBadge(a.status)])].concat(
        cells.map(function (v, i) { return el('td', { className: i < 5 || i === 6 ? 'num' : '', text: dash(v) }); }))));
    });
  }

  var refresher;
  boot(async function () {
    refresher = poll(async function () { await Promise.all([refreshChannels(), refreshIntegrations()]); });
  });
`;

export function channelsPage(): RenderedPage {
  return renderPage({ title: 'Channels', nav: 'channels', body: BODY, script: SCRIPT });
}
