/**
 * `/channels/:id`: one channel over time. Throughput and error-rate charts (uPlot, from the
 * `series` of GET /api/v1/channels/:id), counters and latency, messages per store status, and the
 * destinations with their queue, retry policy and circuit breaker; start / pause / stop for those
 * allowed. The id is read from the address in the browser, never written into the HTML.
 */
import { renderPage, type RenderedPage } from './layout';

const HEAD = '<link rel="stylesheet" href="/assets/uplot/uPlot.min.css">\n<script src="/assets/uplot/uPlot.iife.min.js"></script>\n';

const BODY = String.raw`
<p><span id="channel-name" class="muted"></span> <span id="channel-state"></span>
 <span class="inline-actions" data-perm="channels.control" hidden>
  <button type="button" data-action="start">Start</button><button type="button" data-action="pause">Pause</button><button type="button" data-action="stop" class="danger">Stop</button>
 </span>
 · <a id="link-messages" href="/messages">Messages</a> · <a id="link-errors" href="/messages">Errors</a> · <a id="link-dead" href="/dead-letters">Dead letters</a>
</p>
<div class="cards" id="counters"></div>
<p id="last-error" class="error"></p>

<h2>Throughput <span class="muted" id="bucket-note"></span></h2>
<div id="chart-throughput" class="chart"></div>
<h2>Error rate</h2>
<div id="chart-errors" class="chart"></div>

<h2>Messages by status</h2>
<table id="stage-counts"><thead><tr><th>Status</th><th class="num">Messages</th></tr></thead><tbody></tbody></table>

<h2>Destinations</h2>
<table id="destinations"><thead><tr><th>Destination</th><th class="num">Ready</th><th class="num">Delayed (retry)</th><th class="num">Dead</th><th class="num">Oldest</th><th>Retry</th><th>Circuit</th></tr></thead><tbody></tbody></table>

<section id="stages-section" hidden>
<h2>Batch stages</h2>
<table id="batch-stages"><thead><tr><th>Stage</th><th class="num">Batches</th><th class="num">Items</th><th class="num">Failed</th><th class="num">Mean batch</th><th class="num">Last batch</th></tr></thead><tbody></tbody></table>
</section>
`;

const SCRIPT = String.raw`
  var id = pathId('/channels/');
  var charts = {};
  var COUNTERS = [['received', 'Received'], ['filtered', 'Filtered'], ['queued', 'Queued'], ['sent', 'Sent'], ['errored', 'Errored'], ['queueDepth', 'Queue depth']];

  function toSeconds(v) {
    if (typeof v === 'number') return v > 1e11 ? v / 1000 : v;
    var t = Date.parse(v);
    return isNaN(t) ? Date.now() / 1000 : t / 1000;
  }

  function chartData(series) {
    var n = Math.max((series.received || []).length, (series.sent || []).length, (series.errored || []).length, (series.filtered || []).length);
    var start = toSeconds(series.startedAt), step = Number(series.bucketSeconds) || 60;
    var xs = [], rate = [];
    for (var i = 0; i < n; i++) {
      xs.push(start + i * step);
      var sent = Number((series.sent || [])[i]) || 0, err = Number((series.errored || [])[i]) || 0;
      rate.push(sent + err > 0 ? (100 * err) / (sent + err) : null);
    }
    function col(name) { var a = series[name] || []; return xs.map(function (_, i) { return Number(a[i]) || 0; }); }
    return { throughput: [xs, col('received'), col('sent'), col('filtered'), col('errored')], errors: [xs, rate], step: step };
  }

  function width(elId) { return Math.max(300, $(elId).clientWidth || 800); }

  function drawCharts(series) {
    var d = chartData(series);
    $('bucket-note').textContent = '(messages per ' + d.step + ' s)';
    // What the charts hold, for people reading the page source and for the browser tests.
    function sum(a) { return a.reduce(function (n, v) { return n + (v || 0); }, 0); }
    $('chart-throughput').setAttribute('data-received', String(sum(d.throughput[1])));
    $('chart-throughput').setAttribute('data-sent', String(sum(d.throughput[2])));
    $('chart-errors').setAttribute('data-errored', String(sum(d.throughput[4])));
    if (typeof uPlot === 'undefined') { $('chart-throughput').textContent = 'uPlot did not load (/assets/uplot/).'; return; }
    if (!charts.throughput) {
      charts.throughput = new uPlot({
        width: width('chart-throughput'), height: 220,
        scales: { x: { time: true } },
        series: [{}, { label: 'Received', stroke: '#1f6fb2', width: 1.5 }, { label: 'Sent', stroke: '#2a7a2a', width: 1.5 }, { label: 'Filtered', stroke: '#888', width: 1 }, { label: 'Errored', stroke: '#b00', width: 1.5 }],
        axes: [{}, { label: 'messages' }]
      }, d.throughput, $('chart-throughput'));
      charts.errors = new uPlot({
        width: width('chart-errors'), height: 220,
        scales: { x: { time: true }, y: { range: [0, 100] } },
        series: [{}, { label: 'Error rate %', stroke: '#b00', fill: 'rgba(187,0,0,0.08)', width: 1.5, value: function (u, v) { return v === null ? '-' : v.toFixed(1) + ' %'; } }],
        axes: [{}, { label: '% errored' }]
      }, d.errors, $('chart-errors'));
      window.addEventListener('resize', function () {
        charts.throughput.setSize({ width: width('chart-throughput'), height: 220 });
        charts.errors.setSize({ width: width('chart-errors'), height: 220 });
      });
    } else {
      charts.throughput.setData(d.throughput);
      charts.errors.setData(d.errors);
    }
  }

  function card(label, value, key) {
    return el('div', { className: 'card', 'data-counter': key }, [el('div', { className: 'label', text: label }), el('div', { className: 'value', text: dash(value) })]);
  }

  function render(c) {
    document.title = 'Wasl: ' + c.name;
    document.querySelector('main h1').textContent = c.name;
    $('channel-name').textContent = c.id;
    $('channel-state').textContent = ''; $('channel-state').appendChild(stateBadge(c.state));
    Array.prototype.forEach.call(document.querySelectorAll('button[data-action]'), function (b) {
      var a = b.getAttribute('data-action'), s = c.state;
      b.disabled = a === 'start' ? (s === 'running' || s === 'disabled' || s === 'starting') : a === 'pause' ? s !== 'running' : (s === 'stopped' || s === 'disabled');
    });
    var cards = $('counters'); cards.textContent = '';
    COUNTERS.forEach(function (p) { cards.appendChild(card(p[1], c[p[0]], p[0])); });
    cards.appendChild(card('Oldest queued', fmtAge(c.oldestQueuedAgeSeconds), 'oldest'));
    var lat = c.latencyMs || {};
    cards.appendChild(card('Latency p50 / p95 / p99', fmtMs(lat.p50) + ' / ' + fmtMs(lat.p95) + ' / ' + fmtMs(lat.p99), 'latency'));
    var le = c.lastError;
    $('last-error').textContent = le ? 'Last error: ' + (le.code || '') + (le.message ? ': ' + le.message : '') + (le.at ? ' (' + fmtTime(le.at) + ')' : '') : '';

    if (c.series) drawCharts(c.series);

    var sc = $('stage-counts').tBodies[0]; sc.textContent = '';
    var counts = c.stageCounts || {};
    Object.keys(counts).forEach(function (status) {
      var link = el('a', { href: '/messages' + query({ channel: c.id, status: status }), text: status });
      sc.appendChild(el('tr', { 'data-status': status }, [el('td', null, [link]), el('td', { className: 'num', text: String(counts[status]) })]));
    });
    if (!Object.keys(counts).length) sc.appendChild(el('tr', null, [el('td', { colSpan: 2, className: 'muted', text: 'No messages yet.' })]));

    var dt = $('destinations').tBodies[0]; dt.textContent = '';
    (c.destinations || []).forEach(function (d) {
      var q = d.queue || {}, r = d.retry || {};
      var queueName = c.id + '.dest.' + d.name;
      var dead = el('td', { className: 'num' }, [Number(q.dead) > 0 ? el('a', { href: '/dead-letters' + query({ queue: queueName }), text: String(q.dead) }) : dash(q.dead)]);
      var retry = r.maxAttempts ? r.maxAttempts + ' attempts, ' + fmtMs(r.initialDelayMs) + ' to ' + fmtMs(r.maxDelayMs) : '-';
      var circuit = circuitText(d.circuit);
      dt.appendChild(el('tr', { 'data-destination': d.name }, [
        el('td', { text: d.name }), el('td', { className: 'num', text: dash(q.ready) }), el('td', { className: 'num', text: dash(q.delayed) }), dead,
        el('td', { className: 'num', text: fmtAge(q.oldestAgeSeconds) }), el('td', { text: retry }), el('td', null, [circuit === '-' ? '-' : stateBadge(circuit)])
      ]));
    });

    var stages = c.stages || null;
    $('stages-section').hidden = !stages;
    if (stages) {
      var bt = $('batch-stages').tBodies[0]; bt.textContent = '';
      Object.keys(stages).forEach(function (k) {
        var s = stages[k];
        bt.appendChild(el('tr', null, [el('td', { text: k }), el('td', { className: 'num', text: dash(s.batches) }), el('td', { className: 'num', text: dash(s.items) }),
          el('td', { className: 'num', text: dash(s.failed) }), el('td', { className: 'num', text: fmtMs(s.meanBatchMs) }), el('td', { className: 'num', text: fmtMs(s.lastBatchMs) })]));
      });
    }
  }

  async function refresh() {
    try {
      render(await call('GET', '/api/v1/channels/' + enc(id)));
    } catch (e) {
      if (e.status === 404) { say('No channel ' + id + '.', 'error'); return; }
      throw e;
    }
  }

  var refresher;
  Array.prototype.forEach.call(document.querySelectorAll('button[data-action]'), function (b) {
    b.addEventListener('click', async function () {
      var action = b.getAttribute('data-action');
      try {
        var r = await call('POST', '/api/v1/channels/' + enc(id) + '/' + action, {});
        say(controlText(id, r), 'ok');
        if (refresher) refresher.now();
      } catch (e) { say(action + ': ' + e.message, 'error'); }
    });
  });

  $('link-messages').href = '/messages' + query({ channel: id });
  $('link-errors').href = '/messages' + query({ channel: id, status: 'ERROR' });
  $('link-dead').href = '/dead-letters' + query({ channel: id });
  boot(async function () { refresher = poll(refresh); });
`;

export function channelPage(): RenderedPage {
  return renderPage({ title: 'Channel', nav: 'channels', head: HEAD, body: BODY, script: SCRIPT });
}
