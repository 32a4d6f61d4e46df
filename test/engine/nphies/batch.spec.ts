/**
 * NPHIES claim batches against the simulator over HTTP (the real client, the durable ledger):
 * 1,000 claims with bounded concurrency, aborted part-way and resumed; the simulator must
 * adjudicate each claim exactly once and receive each claim-request exactly once.
 */
import assert from 'node:assert/strict';
import { NphiesClient } from '../../../connectors/nphies/client';
import { ndjsonLines, runBatch, seededIds, formatProgress, type BatchLineResult, type BatchProgress } from '../../../engine/nphies/batch';
import { ClaimLifecycle } from '../../../engine/nphies/lifecycle';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { startNphiesSimulator, type NphiesSimulator } from '../../simulators/nphies';
import { PARTIES, claimInput } from '../../simulators/nphies/requests';
import { sqliteTarget } from '../store/helpers';
import { claimsNdjson } from './support';

describe('NPHIES claim batch', function () {
  this.timeout(120_000);
  let sim: NphiesSimulator;
  const target = sqliteTarget();
  let store: KnexMessageStore;
  let lc: ClaimLifecycle;
  let client: NphiesClient;

  before(async () => {
    sim = await startNphiesSimulator();
    store = await target.open();
    await store.migrate();
    lc = new ClaimLifecycle(store.knex, store.dialect);
    client = new NphiesClient({ endpoint: { url: sim.processUrl }, ledger: lc.ledger, retry: { maxAttempts: 1 } });
  });

  after(async () => {
    await client?.close();
    await sim?.close();
    await store?.close();
    await target.cleanup();
  });

  it('submits 1,000 claims, resumes after an abort, and never submits a claim twice', async () => {
    sim.setScenario('queued', 40);
    sim.setScenario('partial', 30);
    const lines = ndjsonLines(claimsNdjson(1000));
    const send = (b: Parameters<NphiesClient['send']>[0], o: { idempotencyKey: string }) => client.send(b, o);
    let inFlight = 0;
    let maxInFlight = 0;
    const counted = async (b: Parameters<NphiesClient['send']>[0], o: { idempotencyKey: string }) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await send(b, o);
      } finally {
        inFlight--;
      }
    };

    const abort = new AbortController();
    const first: BatchLineResult[] = [];
    const progress: BatchProgress[] = [];
    const p1 = await runBatch(lines, {
      lifecycle: lc, send: counted, concurrency: 16, batchId: 'run-1', signal: abort.signal,
      onResult: (r) => {
        first.push(r);
        if (first.length === 400) abort.abort();
      },
      onProgress: (p) => progress.push(p),
    });
    assert.equal(p1.status, 'aborted');
    assert.ok(maxInFlight <= 16 && maxInFlight > 1, `in flight at most 16, saw ${maxInFlight}`);
    assert.ok(p1.done >= 400 && p1.done < 1000, `done ${p1.done}`);
    assert.equal(p1.failed, 0, JSON.stringify(first.find((r) => r.error)));
    assert.equal(p1.remaining, 1000 - p1.done);
    assert.ok(progress.some((p) => p.rate > 0 && p.etaSeconds !== undefined));
    assert.equal(sim.stats.submissions, p1.done);
    assert.deepEqual(await lc.getBatch('run-1').then((b) => [b?.status, b?.done]), ['aborted', p1.done]);

    const second: BatchLineResult[] = [];
    const p2 = await runBatch(lines, { lifecycle: lc, send: counted, concurrency: 16, batchId: 'run-2', onResult: (r) => void second.push(r) });
    assert.deepEqual([p2.status, p2.done, p2.failed, p2.skipped, p2.remaining], ['finished', 1000, 0, p1.done, 0]);
    assert.equal(second.length, 1000);
    assert.equal(second.filter((r) => r.resumed).length, p1.done);
    assert.deepEqual(new Set(second.map((r) => r.line)).size, 1000);

    assert.equal(sim.stats.submissions, 1000, 'each claim adjudicated once');
    assert.equal(sim.stats.byEvent['claim-request'], 1000, 'each claim-request received once');
    assert.deepEqual([sim.stats.duplicates, sim.stats.resends], [0, 0]);
    // The simulator's scenarios: 40 queued (answered pended), 30 partial, the rest approved.
    assert.deepEqual(await lc.countByState(), { approved: 930, partial: 30, pended: 40 });
    assert.equal(await lc.ledger.count('answered'), 1000);
  });

  it('rebuilds the identical bundle for a claim (same ids, same time)', () => {
    const a = seededIds('claim-1');
    const b = seededIds('claim-1');
    assert.deepEqual([a(), a()], [b(), b()]);
    assert.match(seededIds('x')(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('reports bad lines as failed and keeps going', async () => {
    const text = ['not json', JSON.stringify({ claim: { ...claimInput('BAD-1'), items: [] }, parties: PARTIES }), JSON.stringify({ claim: claimInput('OK-1', 1), parties: PARTIES })].join('\n');
    const results: BatchLineResult[] = [];
    const p = await runBatch(ndjsonLines(text), { lifecycle: lc, send: (b, o) => client.send(b, o), onResult: (r) => void results.push(r) });
    assert.deepEqual([p.done, p.failed], [1, 2]);
    const byLine = Object.fromEntries(results.map((r) => [r.line, r]));
    assert.equal(byLine[1].error?.code, 'VALIDATION_NPHIES_BATCH_JSON');
    assert.equal(byLine[2].error?.code, 'VALIDATION_NPHIES_CLAIM_ITEMS');
    assert.equal(byLine[3].state, 'approved');
    assert.match(formatProgress(p, { bar: true, width: 10 }), /^\[##########\] 100% 3\/3 done 1 \(resumed 0\) failed 2 remaining 0 /);
  });
});
