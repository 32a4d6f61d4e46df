/**
 * The ops landing page: channels with state, counters and queue depths, read from
 * /api/v1/channels, and the outside-system adapters (NPPES, CAQH, Plan-Net) with the figures of
 * /api/v1/integrations/health. Deliberately small, no CDN; it shows ids, codes and counts only,
 * never message content.
 */
export function opsPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wasl: channels</title>
<style>
 body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
 table{border-collapse:collapse;min-width:60%}
 th,td{border-bottom:1px solid #ddd;padding:.4rem .8rem;text-align:right}
 th:first-child,td:first-child,td.state{text-align:left}
 .running,.up{color:#2a7a2a}.error,.stopped,.down{color:#b00}.degraded{color:#a60}
 nav a{margin-right:1rem}
</style></head>
<body>
<h1>Wasl</h1>
<nav><a href="/editor/">Flow editor</a><a href="/claims/failed">Failed claims</a><a href="/api/v1/channels">Channels API</a><a href="/metrics">Metrics</a><a href="/fhir/R4/metadata">Demo FHIR server</a></nav>
<h2>Channels</h2>
<table id="channels"><thead><tr><th>Channel</th><th>State</th><th>Received</th><th>Filtered</th><th>Queued</th><th>Sent</th><th>Errored</th><th>In queue</th><th>Dead letters</th></tr></thead><tbody></tbody></table>
<h2>Integrations</h2>
<table id="integrations"><thead><tr><th>Adapter</th><th>Status</th><th>Availability 1 h</th><th>Availability 24 h</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>Circuit</th><th>Rate headroom</th><th>Cache hits / misses</th><th>Last error</th></tr></thead><tbody></tbody></table>
<p id="no-integrations" hidden>No adapters configured (adapters.yaml).</p>
<p id="updated"></p>
<script>
async function refresh() {
  const res = await fetch('/api/v1/channels');
  const { channels } = await res.json();
  const rows = channels.map(function (c) {
    const qs = Object.values(c.queues || {});
    const ready = qs.reduce(function (n, q) { return n + q.ready + q.delayed; }, 0);
    const dead = qs.reduce(function (n, q) { return n + q.dead; }, 0);
    const cells = [c.received, c.filtered, c.queued, c.sent, c.errored, ready, dead].map(function (n) { return '<td>' + n + '</td>'; }).join('');
    const name = document.createElement('span'); name.textContent = c.name + ' (' + c.id + ')';
    return '<tr><td>' + name.innerHTML + '</td><td class="state ' + c.state + '">' + c.state + '</td>' + cells + '</tr>';
  });
  document.querySelector('#channels tbody').innerHTML = rows.join('');
  await refreshIntegrations();
  document.getElementById('updated').textContent = 'Updated ' + new Date().toLocaleTimeString();
}
function text(value) {
  const span = document.createElement('span'); span.textContent = value === null || value === undefined ? '-' : String(value);
  return span.innerHTML;
}
function percent(ratio) { return ratio === null || ratio === undefined ? '-' : (ratio * 100).toFixed(2) + ' %'; }
async function refreshIntegrations() {
  const res = await fetch('/api/v1/integrations/health');
  if (!res.ok) return;
  const { adapters } = await res.json();
  document.getElementById('no-integrations').hidden = adapters.length > 0;
  document.querySelector('#integrations tbody').innerHTML = adapters.map(function (a) {
    const cells = [percent(a.availability.hour), percent(a.availability.day), a.latencyMs.p50, a.latencyMs.p95, a.latencyMs.p99, a.circuit, a.rateLimitHeadroom,
      a.cache ? a.cache.hits + ' / ' + a.cache.misses : null, a.lastError ? a.lastError.code + ' at ' + new Date(a.lastError.at).toLocaleTimeString() : null];
    return '<tr><td>' + text(a.id + ' (' + a.kind + ')') + '</td><td class="state ' + text(a.status) + '">' + text(a.status) + '</td>'
      + cells.map(function (c) { return '<td>' + text(c) + '</td>'; }).join('') + '</tr>';
  }).join('');
}
refresh(); setInterval(refresh, 2000);
</script>
</body></html>`;
}
