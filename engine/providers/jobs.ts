/**
 * The provider-data jobs the engine runs on a schedule: NPPES revalidation of every provider Wasl
 * knows, once per configured `nppes` adapter (WASL_NPPES_REVALIDATE: `weekly` by default, or any
 * schedule engine/providers/revalidation.ts reads, `off` to disable). Timers never hold the process
 * open; a deactivated NPI raises one alert (provider_alerts).
 */
import type { Knex } from 'knex';
import type { NppesAdapter } from '../../connectors/nppes/client';
import type { AdapterRegistry } from './registry';
import { NppesRevalidationJob } from './revalidation';
import { openProviderStore } from './store';

export interface ProviderJobs {
  revalidation: NppesRevalidationJob[];
  stop(): Promise<void>;
}

export function startProviderJobs(knex: Knex, adapters: AdapterRegistry, env: NodeJS.ProcessEnv = process.env): ProviderJobs {
  const schedule = env.WASL_NPPES_REVALIDATE || 'weekly';
  const revalidation: NppesRevalidationJob[] = [];
  if (schedule !== 'off') {
    const store = openProviderStore(knex);
    for (const adapter of adapters.list().filter((a) => a.kind === 'nppes')) {
      const job = new NppesRevalidationJob({ store, nppes: adapter as unknown as NppesAdapter }, { schedule });
      job.start();
      revalidation.push(job);
    }
  }
  return {
    revalidation,
    stop: async () => {
      await Promise.all(revalidation.map((j) => j.stop()));
    },
  };
}
