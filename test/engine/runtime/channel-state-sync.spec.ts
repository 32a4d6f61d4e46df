/**
 * ChannelStateSync (engine/runtime/channel-state-sync.ts): two "processes" (a ChannelControl and a
 * sync each, each on its own connection pool) share start / pause / stop through the real
 * `channel_states` table on SQLite and on PostgreSQL. Then the edges, on a store the test steers:
 * a read that predates a local request, a write that fails, a table that cannot be read.
 * The end-to-end proof with real engine processes is test/e2e/channel-states.spec.ts.
 */
import assert from 'node:assert/strict';
import { ChannelControl, type ControlledPart } from '../../../engine/runtime/channel-control';
import { ChannelStateSync, channelStatePollFromEnv } from '../../../engine/runtime/channel-state-sync';
import { ChannelStateStore, type RequestedState } from '../../../engine/store/channel-states';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import type { Dialect } from '../../../engine/store/rows';
import { capturingLogger } from '../../support/logging';
import { waitFor } from '../../support/node-runtime';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';

const POLL_MS = 150;

/** A source or consumer that records what it was told. */
class Part implements ControlledPart {
  readonly calls: string[] = [];
  held = false;
  async pause(): Promise<void> {
    this.calls.push('pause');
    this.held = true;
  }
  async resume(): Promise<void> {
    this.calls.push('resume');
    this.held = false;
  }
}

interface Proc {
  control: ChannelControl;
  sync: ChannelStateSync;
  source: Part;
  consumer: Part;
}

for (const dialect of ['sqlite', 'postgres'] as Dialect[]) {
  describe(`engine/runtime/channel-state-sync (${dialect})`, function () {
    this.timeout(30_000);
    let target: StoreTarget;
    let stores: KnexMessageStore[];
    let procs: Proc[];

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(() => {
      target = targetFor(dialect);
      stores = [];
      procs = [];
    });

    afterEach(async () => {
      for (const p of procs) await p.sync.stop();
      for (const s of stores) await s.close();
      await target.cleanup();
    });

    /** A process as the engine builds it: stored states applied first, then its parts register. */
    const startProcess = async (): Promise<Proc> => {
      const store = await target.open();
      await store.migrate();
      stores.push(store);
      const control = new ChannelControl();
      const sync = new ChannelStateSync({ control, store: new ChannelStateStore(store.knex, store.dialect), intervalMs: POLL_MS });
      await sync.start();
      const source = new Part();
      const consumer = new Part();
      control.registerSource('ch', source);
      control.registerConsumer('ch', consumer);
      const proc = { control, sync, source, consumer };
      procs.push(proc);
      return proc;
    };

    /** How long until `check` holds, failing after a few intervals. */
    const within = async (check: () => boolean): Promise<number> => {
      const started = Date.now();
      await waitFor(check, POLL_MS * 10);
      return Date.now() - started;
    };

    it('a stop requested of one process stops the other within the poll interval; a start through the other resumes both', async () => {
      const intake = await startProcess();
      const worker = await startProcess();

      assert.equal(await intake.sync.request('ch', 'stopped', 'alice'), 'stopped');
      assert.ok(intake.source.held && intake.consumer.held, 'the process asked has stopped when the request returns');
      const late = await within(() => worker.consumer.held && worker.source.held);
      assert.ok(late <= POLL_MS + 250, `the other process followed after ${late} ms (poll ${POLL_MS} ms)`);
      assert.equal(worker.control.state('ch'), 'stopped');

      assert.equal(await worker.sync.request('ch', 'running', 'bob'), 'running');
      assert.ok(!worker.source.held && !worker.consumer.held);
      await within(() => !intake.source.held && !intake.consumer.held);
      // Each part was told once per change: reading the same row again changes nothing.
      await new Promise((r) => setTimeout(r, POLL_MS * 3));
      for (const p of [intake, worker]) {
        assert.deepEqual(p.source.calls, ['pause', 'resume']);
        assert.deepEqual(p.consumer.calls, ['pause', 'resume']);
      }
    });

    it('a pause reaches the other process as a pause: its consumers keep running', async () => {
      const a = await startProcess();
      const b = await startProcess();
      await a.sync.request('ch', 'paused', 'alice');
      await within(() => b.source.held);
      assert.equal(b.control.state('ch'), 'paused');
      assert.equal(b.consumer.held, false);
    });

    it('a process started after a stop holds its parts from the moment they register', async () => {
      const first = await startProcess();
      await first.sync.request('ch', 'stopped', 'alice');
      const restarted = await startProcess();
      assert.deepEqual(restarted.source.calls, ['pause'], 'paused at registration, never running');
      assert.deepEqual(restarted.consumer.calls, ['pause']);
      assert.equal(restarted.control.state('ch'), 'stopped');
    });
  });
}

/** A store the test answers by hand: each read waits until the test resolves it. */
class SteeredStore {
  saved: Array<[string, RequestedState]> = [];
  failSave = false;
  readonly reads: Array<{ resolve(v: Map<string, RequestedState>): void; reject(e: Error): void }> = [];
  async save(channel: string, state: RequestedState, by: string) {
    if (this.failSave) throw new Error('connection refused');
    this.saved.push([channel, state]);
    return { channel, state, updatedAt: new Date(), updatedBy: by };
  }
  states(): Promise<Map<string, RequestedState>> {
    return new Promise((resolve, reject) => this.reads.push({ resolve, reject }));
  }
}

describe('engine/runtime/channel-state-sync: edges', () => {
  const setUp = () => {
    const store = new SteeredStore();
    const control = new ChannelControl();
    const sync = new ChannelStateSync({ control, store, intervalMs: 60_000, logger: capturingLogger().logger });
    const part = new Part();
    control.registerSource('ch', part);
    return { store, control, sync, part };
  };

  it('a read that started before a local request does not undo it', async () => {
    const { store, control, sync, part } = setUp();
    const read = sync.poll();
    await sync.request('ch', 'stopped', 'alice');
    // The read answers with the row as it was before the request's write.
    store.reads[0].resolve(new Map([['ch', 'running']]));
    await read;
    assert.equal(control.state('ch'), 'stopped');
    assert.deepEqual(part.calls, ['pause']);
    // The next read sees the row the request wrote, and changes nothing.
    const next = sync.poll();
    store.reads[1].resolve(new Map([['ch', 'stopped']]));
    await next;
    assert.deepEqual(part.calls, ['pause']);
  });

  it('a request the database does not take is applied nowhere', async () => {
    const { store, control, sync, part } = setUp();
    store.failSave = true;
    await assert.rejects(sync.request('ch', 'stopped', 'alice'), /connection refused/);
    assert.equal(control.state('ch'), 'running');
    assert.deepEqual(part.calls, []);
  });

  it('does not start when the stored states cannot be read', async () => {
    const { store, sync } = setUp();
    const started = sync.start();
    store.reads[0].reject(new Error('relation "channel_states" does not exist'));
    await assert.rejects(started, /channel_states/);
    await sync.stop();
  });

  it('keeps the last state while the table cannot be read, saying so once, and catches up after', async () => {
    const store = new SteeredStore();
    const control = new ChannelControl();
    const { logger, lines } = capturingLogger();
    const sync = new ChannelStateSync({ control, store, intervalMs: 20, logger });
    const part = new Part();
    control.registerSource('ch', part);
    const started = sync.start();
    store.reads[0].resolve(new Map([['ch', 'paused']]));
    await started;
    try {
      for (let i = 1; i <= 3; i++) {
        await waitFor(() => store.reads.length > i);
        store.reads[i].reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      }
      assert.equal(control.state('ch'), 'paused');
      await waitFor(() => store.reads.length > 4);
      store.reads[4].resolve(new Map([['ch', 'running']]));
      await waitFor(() => control.state('ch') === 'running');
      const messages = lines.map((l) => JSON.parse(l) as { message: string });
      assert.equal(messages.filter((m) => m.message.startsWith('channel states could not be read')).length, 1);
      assert.equal(messages.filter((m) => m.message === 'channel states readable again').length, 1);
    } finally {
      // A read may be waiting for its answer: stop, answer it, then wait for the stop.
      const stopped = sync.stop();
      for (const r of store.reads.slice(5)) r.resolve(new Map());
      await stopped;
    }
  });

  it('reads WASL_CHANNEL_STATE_POLL_MS (default 2000, at least 100)', () => {
    assert.equal(channelStatePollFromEnv({}), 2000);
    assert.equal(channelStatePollFromEnv({ WASL_CHANNEL_STATE_POLL_MS: '500' }), 500);
    assert.throws(() => channelStatePollFromEnv({ WASL_CHANNEL_STATE_POLL_MS: '50' }), /100 or more/);
    assert.throws(() => channelStatePollFromEnv({ WASL_CHANNEL_STATE_POLL_MS: '2s' }), /WASL_CHANNEL_STATE_POLL_MS/);
  });
});
