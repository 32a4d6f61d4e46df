/**
 * Per-channel windows (engine/runtime/channel-stats.ts) on a clock the test moves: 10 s buckets
 * over an hour, the 30-bucket throughput, weighted latency percentiles over 5 minutes, the join
 * of a message sent to several destinations; and the same figures fed through EngineMetrics.
 */
import assert from 'node:assert/strict';
import { ChannelStats } from '../../../engine/runtime/channel-stats';
import { EngineMetrics } from '../../../engine/runtime/metrics';

/** A clock starting at a whole bucket, and a seeded random for the reservoir. */
function clock(start = Date.UTC(2026, 0, 1, 12, 0, 0)) {
  let now = start;
  let seed = 42;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    random: () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    },
  };
}

describe('engine/runtime/channel-stats', () => {
  it('counts outcomes in 10 s buckets over the last hour, oldest first', () => {
    const c = clock();
    const stats = new ChannelStats(c.now, c.random);
    stats.count('a', 'received', 3);
    c.advance(10_000);
    stats.count('a', 'received');
    stats.count('a', 'sent', 2);
    stats.count('b', 'errored');
    const s = stats.series('a');
    assert.equal(s.bucketSeconds, 10);
    assert.equal(s.received.length, 360);
    assert.deepEqual(s.received.slice(-2), [3, 1]);
    assert.deepEqual(s.sent.slice(-2), [0, 2]);
    assert.equal(s.errored.reduce((x, y) => x + y, 0), 0, 'channels are apart');
    assert.equal(new Date(s.startedAt).getTime(), c.now() - 359 * 10_000);
    // An hour later the old buckets are gone, not mixed into the new ones.
    c.advance(3600_000);
    stats.count('a', 'received');
    assert.equal(stats.series('a').received.reduce((x, y) => x + y, 0), 1);
  });

  it('throughput: messages done per bucket for the last 30 buckets', () => {
    const c = clock();
    const stats = new ChannelStats(c.now, c.random);
    stats.finished('a'); // filtered
    stats.destinationFinished('a', { messageId: 'm1', routes: 1, receivedAt: c.now(), ok: true });
    c.advance(20_000);
    stats.destinationFinished('a', { messageId: 'm2', routes: 1, receivedAt: c.now(), ok: false });
    const t = stats.throughput('a');
    assert.equal(t.length, 30);
    assert.deepEqual(t.slice(-3), [2, 0, 1]);
    c.advance(300_000);
    assert.deepEqual(stats.throughput('a'), new Array(30).fill(0));
  });

  it('latency percentiles over the last 5 minutes, from the receive time to the last destination', () => {
    const c = clock();
    const stats = new ChannelStats(c.now, c.random);
    for (let ms = 1; ms <= 1000; ms++) stats.destinationFinished('a', { messageId: `m${ms}`, routes: 1, receivedAt: c.now() - ms, ok: true });
    const p = stats.latency('a');
    // 1,000 values, 256 kept at random in this bucket: close to the exact 500 / 950 / 990.
    assert.ok(Math.abs((p.p50 ?? 0) - 500) <= 60, `p50 ${p.p50}`);
    assert.ok(Math.abs((p.p95 ?? 0) - 950) <= 30, `p95 ${p.p95}`);
    assert.ok((p.p99 ?? 0) >= 960 && (p.p99 ?? 0) <= 1000, `p99 ${p.p99}`);
    c.advance(300_000);
    assert.deepEqual(stats.latency('a'), { p50: null, p95: null, p99: null });
  });

  it('weights each bucket by how many messages its samples stand for', () => {
    const c = clock();
    const stats = new ChannelStats(c.now, c.random);
    // A busy bucket of fast messages, then a quiet one of slow ones: the median stays fast.
    for (let i = 0; i < 2000; i++) stats.destinationFinished('a', { messageId: `f${i}`, routes: 1, receivedAt: c.now() - 10, ok: true });
    c.advance(10_000);
    for (let i = 0; i < 100; i++) stats.destinationFinished('a', { messageId: `s${i}`, routes: 1, receivedAt: c.now() - 5000, ok: true });
    const p = stats.latency('a');
    assert.equal(p.p50, 10);
    assert.equal(p.p95, 10, '100 of 2,100 (4.8%) are slow: below the 5% p95 leaves');
    assert.equal(p.p99, 5000);
  });

  it('a message sent to two destinations is done (and timed) when the second finishes', () => {
    const c = clock();
    const stats = new ChannelStats(c.now, c.random);
    const receivedAt = c.now();
    c.advance(100);
    assert.equal(stats.destinationFinished('a', { messageId: 'm', routes: 2, receivedAt, ok: true }), undefined);
    assert.equal(stats.throughput('a').at(-1), 0);
    c.advance(200);
    assert.equal(stats.destinationFinished('a', { messageId: 'm', routes: 2, receivedAt, ok: true }), 0.3);
    assert.equal(stats.throughput('a').at(-1), 1);
    assert.equal(stats.latency('a').p50, 300);
    // One of two failed: done, but not a latency sample.
    stats.destinationFinished('a', { messageId: 'n', routes: 2, receivedAt, ok: false });
    assert.equal(stats.destinationFinished('a', { messageId: 'n', routes: 2, receivedAt, ok: true }), undefined);
    assert.equal(stats.throughput('a').at(-1), 2);
  });

  it('keeps the last stage error per channel', () => {
    const c = clock();
    const stats = new ChannelStats(c.now, c.random);
    stats.recordError('a', { code: 'TRANSIENT_X', message: 'down', stage: 'dest.lab' });
    assert.deepEqual(stats.lastError('a'), { code: 'TRANSIENT_X', message: 'down', stage: 'dest.lab', at: new Date(c.now()).toISOString() });
    assert.equal(stats.lastError('b'), undefined);
  });

  it('is fed by EngineMetrics: wasl_messages_total outcomes and settled stages', async () => {
    const metrics = new EngineMetrics({ defaultMetrics: false });
    metrics.messages.inc({ channel: 'a', outcome: 'received' });
    metrics.messages.inc({ channel: 'a', outcome: 'duplicate' });
    metrics.recordStage({ channel: 'a', stage: 'dest.lab', destination: 'lab', status: 'done', seconds: 0.01, messageId: 'm', routes: 1, receivedAt: Date.now() - 40 });
    metrics.recordStage({
      channel: 'a',
      stage: 'dest.lab',
      destination: 'lab',
      status: 'retried',
      seconds: 0.02,
      messageId: 'n',
      routes: 1,
      error: { kind: 'transient', code: 'TRANSIENT_MLLP_UNAVAILABLE', message: 'down' },
    });
    metrics.recordStage({ channel: 'a', stage: 'in', status: 'filtered', seconds: 0.001, messageId: 'o', routes: 1 });
    assert.equal(metrics.channelStats.series('a').received.at(-1), 1);
    assert.equal(metrics.channelStats.throughput('a').at(-1), 2);
    assert.ok((metrics.channelStats.latency('a').p50 ?? 0) >= 40);
    assert.equal(metrics.channelStats.lastError('a')?.code, 'TRANSIENT_MLLP_UNAVAILABLE');
    const text = await metrics.registry.metrics();
    assert.match(text, /wasl_stage_messages_total\{channel="a",stage="source",status="received"\} 1/);
    assert.match(text, /wasl_stage_messages_total\{channel="a",stage="source",status="duplicate"\} 1/);
    assert.match(text, /wasl_stage_messages_total\{channel="a",stage="dest.lab",status="retried"\} 1/);
    assert.match(text, /wasl_destination_errors_total\{channel="a",destination="lab",kind="transient"\} 1/);
    assert.match(text, /wasl_end_to_end_latency_seconds_count\{channel="a"\} 1/);
    assert.match(text, /wasl_stage_latency_seconds_count\{channel="a",stage="in"\} 1/);
  });
});
