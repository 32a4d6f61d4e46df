/**
 * Keeps our providers' participation in a payer's networks (affiliations and accepting new
 * patients) in sync with the payer's Plan-Net directory: read what the directory says about each
 * provider, diff it with our record (connectors/plannet/diff.ts), push the networks that differ
 * (connectors/plannet/push.ts, where the payer accepts submissions), read again and report.
 *
 * Our side is the source of truth for participation fields (`pushable`); differences in the
 * provider itself (name, active, addresses) are reported only. A submission the payer accepted is
 * marked `published` once its directory shows no difference for that network, in this run or a
 * later one (a payer may take up to 30 days to publish, PLANNET.md §7).
 *
 * Our participation is kept in `plannet_participations` (migration 0007, {@link KnexParticipationStore}).
 */
import type { Knex } from 'knex';
import type { Location, OrganizationAffiliation, PractitionerRole } from '@medplum/fhirtypes';
import { toWaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import type { PayerProviderView, PlanNetAdapter } from '../../connectors/plannet/client';
import { diffProvider, networksToPush, type FieldDifference } from '../../connectors/plannet/diff';
import { isAcceptingPatients, isCurrent, roleNetwork, type NetworkParticipation } from '../../connectors/plannet/model';
import {
  dialectOf, locationSubmissionKey, participationIdentifier, pushLocationAccepting, pushParticipation, type SubmissionResult, type SubmissionTracker,
} from '../../connectors/plannet/push';
import { toDbTime, type Dialect } from '../store/rows';
import type { ProviderStore } from './types';

/** Our participation records per adapter (payer directory) and NPI. */
export interface ParticipationStore {
  get(adapterId: string, npi: string): Promise<NetworkParticipation[]>;
  /** NPIs with participation in this payer's networks, in order. */
  npis(adapterId: string): Promise<string[]>;
  /** Replaces the provider's participation in this payer's networks. */
  save(adapterId: string, npi: string, networks: NetworkParticipation[]): Promise<void>;
}

interface ParticipationRow {
  adapter_id: string;
  npi: string;
  network: string;
  accepting_patients: string;
  organization_npi: string | null;
  organization_ref: string | null;
  locations: string | null;
  specialties: string | null;
  characteristics: string | null;
  role: string | null;
  start_date: string | null;
  end_date: string | null;
  updated_at: Date | number | string;
}

const TABLE = 'plannet_participations';

function json(list: string[] | undefined): string | null {
  return list ? JSON.stringify(list) : null;
}

function list(text: string | null): string[] | undefined {
  return text === null ? undefined : (JSON.parse(text) as string[]);
}

/** `plannet_participations` on knex (SQLite or PostgreSQL). */
export class KnexParticipationStore implements ParticipationStore {
  private readonly dialect: Dialect;

  constructor(private readonly knex: Knex, private readonly now: () => Date = () => new Date()) {
    this.dialect = dialectOf(knex);
  }

  async get(adapterId: string, npi: string): Promise<NetworkParticipation[]> {
    const rows = (await this.knex<ParticipationRow>(TABLE).where({ adapter_id: adapterId, npi }).orderBy('network')) as ParticipationRow[];
    return rows.map((r) => {
      const p: NetworkParticipation = {
        network: r.network,
        acceptingPatients: isAcceptingPatients(r.accepting_patients) ? r.accepting_patients : 'nopt',
      };
      if (r.organization_npi !== null) p.organizationNpi = r.organization_npi;
      if (r.organization_ref !== null) p.organization = r.organization_ref;
      if (r.locations !== null) p.locations = list(r.locations);
      if (r.specialties !== null) p.specialties = list(r.specialties);
      if (r.characteristics !== null) p.characteristics = list(r.characteristics);
      if (r.role !== null) p.role = r.role;
      if (r.start_date !== null) p.start = r.start_date;
      if (r.end_date !== null) p.end = r.end_date;
      return p;
    });
  }

  async npis(adapterId: string): Promise<string[]> {
    const rows = await this.knex(TABLE).distinct('npi').where({ adapter_id: adapterId }).orderBy('npi');
    return rows.map((r: { npi: string }) => r.npi);
  }

  async save(adapterId: string, npi: string, networks: NetworkParticipation[]): Promise<void> {
    const at = toDbTime(this.dialect, this.now());
    await this.knex.transaction(async (trx) => {
      await trx(TABLE).where({ adapter_id: adapterId, npi }).delete();
      if (!networks.length) return;
      await trx(TABLE).insert(networks.map((p) => ({
        adapter_id: adapterId,
        npi,
        network: p.network,
        accepting_patients: p.acceptingPatients,
        organization_npi: p.organizationNpi ?? null,
        organization_ref: p.organization ?? null,
        locations: json(p.locations),
        specialties: json(p.specialties),
        characteristics: json(p.characteristics),
        role: p.role ?? null,
        start_date: p.start ?? null,
        end_date: p.end ?? null,
        updated_at: at,
      })));
    });
  }
}

export interface PlanNetSyncOptions {
  adapter: PlanNetAdapter;
  providers: Pick<ProviderStore, 'get'>;
  participations: ParticipationStore;
  submissions: SubmissionTracker;
  /** Only these providers (default: every NPI with participation for this adapter). */
  npis?: string[];
  /** Read and diff only; push nothing. */
  dryRun?: boolean;
  /** YYYY-MM-DD for ended participations (default: today, UTC). */
  today?: string;
  now?: () => Date;
  logger?: Logger;
}

export interface ProviderSyncResult {
  npi: string;
  /** Whether the payer has the provider (before any push). */
  found: boolean;
  /** Differences before pushing. */
  differences: FieldDifference[];
  pushed: SubmissionResult[];
  /** Differences after pushing (equal to `differences` when nothing was pushed). */
  remaining: FieldDifference[];
  /** Set when the provider could not be compared (unknown NPI, directory down): code and message, no data. */
  error?: { code: string; message: string };
}

export interface PlanNetSyncReport {
  adapterId: string;
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  providers: ProviderSyncResult[];
  totals: {
    providers: number;
    withDifferences: number;
    differences: number;
    pushed: number;
    accepted: number;
    rejected: number;
    failed: number;
    notAccepted: number;
    published: number;
    errors: number;
  };
}

type Participation = PractitionerRole | OrganizationAffiliation;

function networksOf(p: Participation): string[] {
  if (p.resourceType === 'PractitionerRole') {
    const n = roleNetwork(p as unknown as Record<string, unknown>);
    return n ? [n] : [];
  }
  return (p.network ?? []).map((r) => r.reference ?? '').filter(Boolean);
}

/**
 * The payer's participation we should update for `network`: the one carrying our identifier, else
 * the only current one (updated in place, it then carries ours), else none (we create ours).
 */
function existingFor(view: PayerProviderView, network: string, identifier: { system: string; value: string }, today: string): Participation | undefined {
  const inNetwork = view.participations.filter((p) => networksOf(p).includes(network));
  const ours = inNetwork.find((p) => p.identifier?.some((i) => i.system === identifier.system && i.value === identifier.value));
  if (ours) return ours;
  const current = inNetwork.filter((p) => isCurrent(p as unknown as Record<string, unknown>, today));
  return current.length === 1 ? current[0] : undefined;
}

/**
 * Runs one sync over a payer's directory and returns the report. Never throws for a provider's
 * failure: it is recorded on that provider and the run goes on.
 */
export async function syncPlanNet(opts: PlanNetSyncOptions): Promise<PlanNetSyncReport> {
  const now = opts.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const today = opts.today ?? startedAt.slice(0, 10);
  const log = opts.logger ?? createLogger({ stage: 'plannet-sync', adapter: opts.adapter.id });
  const { adapter } = opts;
  const npis = opts.npis ?? (await opts.participations.npis(adapter.id));
  const results: ProviderSyncResult[] = [];
  let published = 0;

  for (const npi of npis) {
    const result: ProviderSyncResult = { npi, found: false, differences: [], pushed: [], remaining: [] };
    results.push(result);
    try {
      const record = await opts.providers.get(npi);
      if (!record) {
        result.error = { code: 'VALIDATION_PLANNET_PROVIDER_UNKNOWN', message: 'No provider record for this NPI' };
        continue;
      }
      const ours = { record, networks: await opts.participations.get(adapter.id, npi) };
      const view = await adapter.providerView(record);
      const before = diffProvider(ours, view, today, adapter.baseUrl);
      result.found = before.found;
      result.differences = before.differences;
      result.remaining = before.differences;

      const toPush = opts.dryRun ? [] : networksToPush(before);
      for (const network of toPush) {
        const participation = ours.networks.find((n) => n.network === network);
        if (!participation) continue;
        const identifier = { system: adapter.pushSettings.identifierSystem, value: participationIdentifier(record.kind, npi, network) };
        result.pushed.push(await pushParticipation(adapter, opts.submissions, {
          record,
          participation,
          existing: existingFor(view, network, identifier, today),
          lookupOrganization: (orgNpi) => opts.providers.get(orgNpi),
        }));
      }

      // Organizations: OrganizationAffiliation has no `newpatients`; it goes on their own Locations.
      if (record.kind === 'organization' && view.provider?.id) {
        const accepting = new Set(before.differences.filter((d) => d.pushable && d.field.endsWith('.acceptingPatients')).map((d) => d.network));
        for (const p of opts.dryRun ? [] : ours.networks.filter((n) => accepting.has(n.network))) {
          for (const ref of p.locations ?? []) {
            const [type, id] = ref.split('/');
            if (type !== 'Location' || !id) continue;
            const location = (view.resources.get(ref) as Location | undefined) ?? await adapter.read<Location>('Location', id);
            result.pushed.push(await pushLocationAccepting(adapter, opts.submissions, {
              record, network: p.network, location, organizationRef: `Organization/${view.provider.id}`, acceptingPatients: p.acceptingPatients,
            }));
          }
        }
      }

      const after = result.pushed.some((p) => p.status === 'accepted')
        ? diffProvider(ours, await adapter.providerView(record), today, adapter.baseUrl)
        : before;
      result.remaining = after.differences;

      // Accepted earlier or now, and the directory shows it: published.
      if (!opts.dryRun) {
        const differing = new Set(after.differences.filter((d) => d.pushable).map((d) => d.network ?? ''));
        for (const p of ours.networks) {
          if (differing.has(p.network) || !after.found) continue;
          if (await opts.submissions.markPublished(adapter.id, participationIdentifier(record.kind, npi, p.network))) published++;
          for (const ref of record.kind === 'organization' ? p.locations ?? [] : []) {
            if (await opts.submissions.markPublished(adapter.id, locationSubmissionKey(record.kind, npi, p.network, ref))) published++;
          }
        }
      }
    } catch (err) {
      const e = toWaslError(err);
      result.error = { code: e.code, message: e.message };
      log.warn('Plan-Net sync of a provider failed', { adapter: adapter.id, code: e.code });
    }
  }

  const pushed = results.flatMap((r) => r.pushed);
  const count = (status: SubmissionResult['status']) => pushed.filter((p) => p.status === status).length;
  const report: PlanNetSyncReport = {
    adapterId: adapter.id,
    startedAt,
    finishedAt: now().toISOString(),
    dryRun: opts.dryRun === true,
    providers: results,
    totals: {
      providers: results.length,
      withDifferences: results.filter((r) => r.differences.length > 0).length,
      differences: results.reduce((n, r) => n + r.differences.length, 0),
      pushed: pushed.length,
      accepted: count('accepted'),
      rejected: count('rejected'),
      failed: count('failed') + count('invalid'),
      notAccepted: count('not-accepted'),
      published,
      errors: results.filter((r) => r.error).length,
    },
  };
  log.info('Plan-Net sync done', { adapter: adapter.id, ...report.totals });
  return report;
}
