/**
 * The provider-data jobs the engine runs on a schedule. Timers never hold the process open.
 * - NPPES revalidation of every provider Wasl knows, once per configured `nppes` adapter
 *   (WASL_NPPES_REVALIDATE: `weekly` by default, or any schedule revalidation.ts reads, `off`);
 *   a deactivated NPI raises one alert (provider_alerts).
 * - CAQH ProView sync per `caqh` adapter (WASL_CAQH_SYNC_HOURS, default 24, `off`): polls open
 *   roster batches, imports the status of rostered providers, document metadata, and raises the
 *   attestation alerts (90/60/30 days, once each).
 */
import type { Knex } from 'knex';
import type { CaqhAdapter } from '../../connectors/caqh/client';
import type { NppesAdapter } from '../../connectors/nppes/client';
import { logger } from '../../common/logger';
import { CaqhSync, startCaqhScheduler, type CaqhScheduler } from './caqh-sync';
import type { AdapterRegistry } from './registry';
import { NppesRevalidationJob } from './revalidation';
import { openProviderStore } from './store';

export interface ProviderJobs {
  revalidation: NppesRevalidationJob[];
  caqh: CaqhScheduler[];
  stop(): Promise<void>;
}

export function startProviderJobs(knex: Knex, adapters: AdapterRegistry, env: NodeJS.ProcessEnv = process.env): ProviderJobs {
  const schedule = env.WASL_NPPES_REVALIDATE || 'weekly';
  const revalidation: NppesRevalidationJob[] = [];
  const caqh: CaqhScheduler[] = [];
  const store = openProviderStore(knex);
  if (schedule !== 'off') {
    for (const adapter of adapters.list().filter((a) => a.kind === 'nppes')) {
      const job = new NppesRevalidationJob({ store, nppes: adapter as unknown as NppesAdapter }, { schedule });
      job.start();
      revalidation.push(job);
    }
  }
  const caqhHours = env.WASL_CAQH_SYNC_HOURS || '24';
  if (caqhHours !== 'off') {
    const hours = Number(caqhHours);
    if (!Number.isFinite(hours) || hours <= 0) throw new Error(`WASL_CAQH_SYNC_HOURS must be a number of hours or off, got '${caqhHours}'`);
    const log = logger({ stage: 'caqh-sync' });
    for (const adapter of adapters.list().filter((a) => a.kind === 'caqh')) {
      const sync = new CaqhSync({ adapter: adapter as unknown as CaqhAdapter, providers: store, knex });
      caqh.push(startCaqhScheduler(sync, { intervalMs: hours * 3600 * 1000, onError: (e) => log.warn('CAQH sync failed; next run at the next interval', { adapter: adapter.id, code: e.code }) }));
    }
  }
  return {
    revalidation,
    caqh,
    stop: async () => {
      await Promise.all([...revalidation.map((j) => j.stop()), ...caqh.map((c) => c.stop())]);
    },
  };
}
