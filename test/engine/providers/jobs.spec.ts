import assert from 'node:assert/strict';
import knexFactory from 'knex';
import type { Adapter } from '../../../connectors/adapters/types';
import { startProviderJobs } from '../../../engine/providers/jobs';
import { AdapterRegistry } from '../../../engine/providers/registry';

function fakeAdapter(id: string, kind: Adapter['kind']): Adapter {
  return {
    id,
    kind,
    operations: ['lookup'],
    healthCheck: async () => ({ status: 'up', latencyMs: 1 }),
    breakerState: () => 'closed',
    rateLimitHeadroom: () => undefined,
    close: async () => undefined,
  };
}

describe('engine/providers/jobs', () => {
  const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  after(() => knex.destroy());

  it('schedules one NPPES revalidation per nppes adapter, on the configured schedule, and stops them', async () => {
    const registry = new AdapterRegistry();
    registry.register(fakeAdapter('nppes', 'nppes'));
    registry.register(fakeAdapter('nppes-backup', 'nppes'));
    registry.register(fakeAdapter('caqh', 'caqh'));
    const jobs = startProviderJobs(knex, registry, { WASL_NPPES_REVALIDATE: '12h' });
    assert.equal(jobs.revalidation.length, 2);
    assert.equal(jobs.caqh.length, 1, 'one CAQH sync per caqh adapter');
    assert.ok(jobs.revalidation.every((j) => j.intervalMs === 12 * 3600 * 1000));
    await jobs.stop();
  });

  it('runs none when WASL_NPPES_REVALIDATE=off, and weekly by default', async () => {
    const registry = new AdapterRegistry();
    registry.register(fakeAdapter('nppes', 'nppes'));
    const off = startProviderJobs(knex, registry, { WASL_NPPES_REVALIDATE: 'off', WASL_CAQH_SYNC_HOURS: 'off' });
    assert.equal(off.revalidation.length, 0);
    assert.equal(off.caqh.length, 0);
    assert.throws(() => startProviderJobs(knex, registry, { WASL_CAQH_SYNC_HOURS: 'soon' }), /WASL_CAQH_SYNC_HOURS must be a number of hours or off, got 'soon'/);
    const jobs = startProviderJobs(knex, registry, {});
    assert.equal(jobs.revalidation[0].intervalMs, 7 * 24 * 3600 * 1000);
    await jobs.stop();
  });
});
