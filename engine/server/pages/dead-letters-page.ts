/**
 * `/dead-letters`: every destination's dead-letter queue with its count (GET /api/v1/dead-letters),
 * the letters of one queue (message id, attempt, reason; no bodies) and Replay, which puts the
 * queue's dead letters back on its work queue (`messages.reprocess`). `?queue=` opens one queue,
 * `?channel=` narrows the list to a channel's queues. Refreshed every 2 s.
 */
import { renderPage, type RenderedPage } from './layout';

const BODY = String.raw`
<p class="muted" id="channel-filter" hidden>Channel <strong id="channel-name"></strong> · <a href="/dead-letters">all channels</a></p>
<table id="queues"><thead><tr><th>Queue</th><th>Channel</th><th>Destination</th><th class="num">Dead letters</th><th></th></tr></thead><tbody></tbody></table>
<p id="no-queues" class="muted" hidden>No dead-letter queues.</p>

<section id="letters-section" hidden>
 <h2>Dead letters of <span id="letters-queue"></span></h2>
 <div class="actions"><button type="button" id="replay" data-perm="messages.reprocess" hidden>Replay all</button><button type="button" id="close-letters">Close</button></div>
 <table id="letters"><thead><tr><th>Message</th><th>Correlation id</th><th class="num">Attempt</th><th>Reason</th></tr></thead><tbody></tbody></table>
 <p id="no-letters" class="muted" hidden>This queue holds no dead letters.</p>
</section>
`;

const SCRIPT = String.raw`
  var params = new URLSearchParams(location.search);
  var selected = params.get('queue') || null;
  var channel = params.get('channel') || null;
  if (channel) { $('channel-filter').hidden = false; $('channel-name').textContent = channel; }

  function open(queue) {
    selected = queue;
    history.replaceState(null, '', '/dead-letters' + query({ channel: channel, queue: queue }));
    refresher.now();
  }

  async function loadQueues() {
    var data = await call('GET', '/api/v1/dead-letters');
    var qs = (data.queues || []).filter(function (q) { return !channel || q.channel === channel; });
    var body = $('queues').tBodies[0]; body.textContent = '';
    qs.forEach(function (q) {
      var show = el('button', { type: 'button', text: 'Show', 'data-show': q.queue });
      show.addEventListener('click', function () { open(q.queue); });
      body.appendChild(el('tr', { 'data-queue': q.queue, className: q.queue === selected ? 'current' : '' }, [
        el('td', { text: q.queue }), el('td', null, [q.channel ? el('a', { href: '/channels/' + enc(q.channel), text: q.channel }) : '-']), el('td', { text: dash(q.destination) }),
        el('td', { className: 'num' + (q.dead > 0 ? ' error' : ''), 'data-col': 'dead', text: dash(q.dead) }), el('td', null, [show])
      ]));
    });
    $('no-queues').hidden = qs.length > 0;
  }

  async function loadLetters() {
    $('letters-section').hidden = !selected;
    if (!selected) return;
    $('letters-queue').textContent = selected;
    var data;
    try { data = await call('GET', '/api/v1/queues/' + enc(selected) + '/dead-letters?limit=100'); }
    catch (e) { if (e.status === 404) { say('No queue ' + selected + '.', 'error'); selected = null; $('letters-section').hidden = true; return; } throw e; }
    var letters = data.deadLetters || data.letters || [];
    var body = $('letters').tBodies[0]; body.textContent = '';
    letters.forEach(function (l) {
      body.appendChild(el('tr', { 'data-message': l.messageId }, [
        el('td', null, [l.messageId ? el('a', { href: '/messages/' + enc(l.messageId), text: l.messageId }) : '-']),
        el('td', { text: dash(l.correlationId) }), el('td', { className: 'num', text: dash(l.attempt) }), el('td', { className: 'error narrow', text: dash(l.reason) })
      ]));
    });
    $('no-letters').hidden = letters.length > 0;
    $('replay').disabled = letters.length === 0;
  }

  $('close-letters').addEventListener('click', function () { open(null); });
  $('replay').addEventListener('click', async function () {
    if (!selected) return;
    var queue = selected;
    if (!confirm('Replay every dead letter of ' + queue + '? They go back on the queue and are delivered again.')) return;
    try {
      var r = await call('POST', '/api/v1/queues/' + enc(queue) + '/replay', {});
      say('Replayed ' + r.replayed + ' from ' + queue + '.', 'ok');
      refresher.now();
    } catch (e) { say('Replay ' + queue + ': ' + e.message, 'error'); }
  });

  var refresher;
  boot(async function () { refresher = poll(async function () { await Promise.all([loadQueues(), loadLetters()]); }); });
`;

export function deadLettersPage(): RenderedPage {
  return renderPage({ title: 'Dead letters', nav: 'dead-letters', body: BODY, script: SCRIPT });
}
