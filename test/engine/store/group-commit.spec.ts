import assert from 'node:assert/strict';
import { GroupCommit } from '../../../engine/store/group-commit';

describe('engine/store GroupCommit', () => {
  it('commits writes submitted in one tick as one batch, in order', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number>(async (items) => {
      batches.push(items);
      return items.map(() => undefined);
    });
    await Promise.all([1, 2, 3].map((n) => gc.submit(n)));
    assert.deepEqual(batches, [[1, 2, 3]]);
  });

  it('queues writes while a commit runs and commits them next, together', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const firstCommitHeld = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit<number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await firstCommitHeld;
      return items.map(() => undefined);
    });
    const first = gc.submit(1);
    await new Promise((r) => setImmediate(r));
    const later = [2, 3, 4].map((n) => gc.submit(n));
    release();
    await Promise.all([first, ...later]);
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
  });

  it('resolves a write only after its batch committed', async () => {
    let committed = false;
    const gc = new GroupCommit<number>(async (items) => {
      await new Promise((r) => setTimeout(r, 5));
      committed = true;
      return items.map(() => undefined);
    });
    await gc.submit(1);
    assert.equal(committed, true);
  });

  it('splits at maxBatch', async () => {
    const sizes: number[] = [];
    const gc = new GroupCommit<number>(async (items) => {
      sizes.push(items.length);
      return items.map(() => undefined);
    }, 4);
    await Promise.all(Array.from({ length: 10 }, (_, i) => gc.submit(i)));
    assert.deepEqual(sizes, [4, 4, 2]);
  });

  it('rejects only the items the commit reports as failed', async () => {
    const gc = new GroupCommit<number>(async (items) => items.map((n) => (n === 2 ? new Error('bad 2') : undefined)));
    const out = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
    assert.deepEqual(out.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  });

  it('retries each item alone when the batch transaction fails', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number>(async (items) => {
      batches.push(items);
      if (items.includes(2)) throw new Error('constraint');
      return items.map(() => undefined);
    });
    const out = await Promise.allSettled([1, 2, 3].map((n) => gc.submit(n)));
    assert.deepEqual(out.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(batches, [[1, 2, 3], [1], [2], [3]]);
  });

  it('lets a write that may wait ride along with the next one, or go alone once its wait is over', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number>(async (items) => {
      batches.push(items);
      return items.map(() => undefined);
    });
    const lazy = gc.submit(1, 200);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(batches, [], 'still waiting');
    await Promise.all([lazy, gc.submit(2)]);
    assert.deepEqual(batches, [[1, 2]], 'taken along by the write that could not wait');

    const started = performance.now();
    await gc.submit(3, 30);
    assert.deepEqual(batches, [[1, 2], [3]]);
    assert.ok(performance.now() - started >= 25, 'alone, it waited its time');

    // Close does not wait out a write's wait.
    const waiting = gc.submit(4, 60_000);
    await gc.close();
    await waiting;
    assert.deepEqual(batches.at(-1), [4]);
  });

  it('commits pending writes on close, then refuses new ones', async () => {
    const seen: number[] = [];
    const gc = new GroupCommit<number>(async (items) => {
      seen.push(...items);
      return items.map(() => undefined);
    });
    const pending = gc.submit(1);
    await gc.close();
    await pending;
    assert.deepEqual(seen, [1]);
    await assert.rejects(gc.submit(2), /closed/);
    await gc.close();
  });
});
