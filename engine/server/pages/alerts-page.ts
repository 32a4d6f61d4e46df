/**
 * `/alerts`: open alerts, then recent ones (open and closed) from GET /api/v1/alerts, optionally
 * for one channel (`?channel=`). Refreshed every 2 s; the banner above every page shows the open ones.
 */
import { renderPage, type RenderedPage } from './layout';

const COLUMNS = '<th>Opened</th><th>Channel</th><th>Rule</th><th>Kind</th><th>State</th><th class="num">Value</th><th class="num">Threshold</th><th>Message</th><th>Closed</th>';

const BODY = String.raw`
<form class="filters" id="filters">
 <label>Channel<select id="f-channel"><option value="">any</option></select></label>
</form>
<h2>Open</h2>
<table id="open-alerts"><thead><tr>${COLUMNS}</tr></thead><tbody></tbody></table>
<p id="no-open" class="muted" hidden>No open alerts.</p>
<h2>Recent</h2>
<table id="recent-alerts"><thead><tr>${COLUMNS}</tr></thead><tbody></tbody></table>
<p id="no-recent" class="muted" hidden>No alerts yet.</p>
`;

const SCRIPT = String.raw`
  var channel = new URLSearchParams(location.search).get('channel') || '';

  function num(v) { return v === null || v === undefined ? '-' : typeof v === 'number' ? String(Math.round(v * 100) / 100) : String(v); }
  function fill(tableId, emptyId, alerts) {
    var body = $(tableId).tBodies[0]; body.textContent = '';
    alerts.forEach(function (a) {
      body.appendChild(el('tr', { 'data-alert': a.id, 'data-rule': a.rule, 'data-state': a.state }, [
        el('td', { text: fmtTime(a.openedAt) }), el('td', null, [a.channel ? el('a', { href: '/channels/' + enc(a.channel), text: a.channel }) : '-']),
        el('td', { text: dash(a.rule) }), el('td', { text: dash(a.kind) }), el('td', null, [el('span', { className: 'state ' + (a.state === 'open' ? 'error' : 'ok'), text: dash(a.state) })]),
        el('td', { className: 'num', text: num(a.value) }), el('td', { className: 'num', text: num(a.threshold) }), el('td', { text: dash(a.message) }), el('td', { text: fmtTime(a.closedAt) })
      ]));
    });
    $(emptyId).hidden = alerts.length > 0;
  }

  async function loadChannels() {
    var data = await call('GET', '/api/v1/channels');
    data.channels.forEach(function (c) { $('f-channel').appendChild(el('option', { value: c.id, text: c.name + ' (' + c.id + ')' })); });
    if (channel && !data.channels.some(function (c) { return c.id === channel; })) $('f-channel').appendChild(el('option', { value: channel, text: channel }));
    $('f-channel').value = channel;
  }

  async function refresh() {
    var both = await Promise.all([call('GET', '/api/v1/alerts' + query({ state: 'open', channel: channel })), call('GET', '/api/v1/alerts' + query({ state: 'all', channel: channel }))]);
    fill('open-alerts', 'no-open', both[0].alerts || []);
    fill('recent-alerts', 'no-recent', (both[1].alerts || []).slice(0, 100));
  }

  var refresher;
  $('f-channel').addEventListener('change', function () {
    channel = $('f-channel').value;
    history.replaceState(null, '', '/alerts' + query({ channel: channel }));
    if (refresher) refresher.now();
  });
  boot(async function () {
    await loadChannels().catch(function () { /* the filter is a convenience */ });
    refresher = poll(refresh);
  });
`;

export function alertsPage(): RenderedPage {
  return renderPage({ title: 'Alerts', nav: 'alerts', body: BODY, script: SCRIPT });
}
