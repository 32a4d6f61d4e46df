/**
 * The workbench's reads of failed_claims (PostgreSQL, through knex's query builder so the values
 * are always bound parameters). Every list is keyset-paged on `id` (the primary key), never by
 * OFFSET: a page costs the same at row 1,000,000 as at row 1, and rows leaving the table while an
 * analyst pages (reprocessed away) neither repeat nor skip others.
 *
 * Index use: (status, facility_id), (status, payer_id) and service_date on failed_claims; rule on
 * failed_claim_reasons (the `rule` filter is an EXISTS on it).
 */
import type { Knex } from 'knex';
import type { ClaimTables } from '../../connectors/claims/schema';
import type { FailedClaimFilter } from './workbench-input';

/** Adds the filter's conditions on `failed_claims` aliased `f`. */
export function whereFilter(qb: Knex.QueryBuilder, filter: FailedClaimFilter, tables: ClaimTables): Knex.QueryBuilder {
  const status = filter.status ?? 'open';
  if (status !== 'all') qb.where('f.status', status);
  if (filter.facilityId) qb.where('f.facility_id', filter.facilityId);
  if (filter.payerId) qb.where('f.payer_id', filter.payerId);
  if (filter.from) qb.where('f.service_date', '>=', filter.from);
  if (filter.to) qb.where('f.service_date', '<=', filter.to);
  if (filter.rule) {
    const rule = filter.rule;
    qb.whereExists(function () {
      this.select(1).from(`${tables.reasons} as r`).whereRaw('r.failed_claim_id = f.id').andWhere('r.rule', rule);
    });
  }
  return qb;
}

/** One row of the list: no claim body, no sealed fields. */
export interface FailedClaimSummary {
  id: string;
  stagingId: string;
  claimId: string;
  facilityId: string;
  payerId: string;
  serviceDate: string | null;
  rules: string[];
  status: string;
  reprocessCount: number;
  createdAt: string;
}

/** A failed_claims row without its claim content (the list's columns). */
export interface SummaryRow {
  id: string;
  staging_id: string;
  claim_id: string;
  facility_id: string;
  payer_id: string;
  service_date: string | null;
  rules: string;
  status: string;
  reprocess_count: number;
  created_at: Date | string;
}

/**
 * The summary columns. Dates as text: node-postgres turns a `date` into a JS Date at local
 * midnight, which shifts the day in any zone west of UTC.
 */
export function summaryColumns(knex: Knex): Array<string | Knex.Raw> {
  return [
    knex.raw('f.id::text as id'),
    knex.raw('f.staging_id::text as staging_id'),
    'f.claim_id',
    'f.facility_id',
    'f.payer_id',
    knex.raw("to_char(f.service_date, 'YYYY-MM-DD') as service_date"),
    'f.rules',
    'f.status',
    'f.reprocess_count',
    'f.created_at',
  ];
}

export function toSummary(r: SummaryRow): FailedClaimSummary {
  return {
    id: r.id,
    stagingId: r.staging_id,
    claimId: r.claim_id,
    facilityId: r.facility_id,
    payerId: r.payer_id,
    serviceDate: r.service_date,
    rules: r.rules ? r.rules.split(',') : [],
    status: r.status,
    reprocessCount: Number(r.reprocess_count),
    createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
  };
}

/** A page of summaries after `after`, and the cursor of the next page (undefined on the last). */
export async function listPage(
  knex: Knex,
  tables: ClaimTables,
  filter: FailedClaimFilter,
  limit: number,
  after?: string,
): Promise<{ items: FailedClaimSummary[]; next?: string }> {
  const qb = knex(`${tables.failed} as f`).select(summaryColumns(knex));
  whereFilter(qb, filter, tables);
  if (after) qb.where('f.id', '>', after);
  // One row more than asked tells whether a next page exists without a count.
  const rows = (await qb.orderBy('f.id', 'asc').limit(limit + 1)) as SummaryRow[];
  const items = rows.slice(0, limit).map(toSummary);
  return { items, next: rows.length > limit ? items[items.length - 1].id : undefined };
}

/** Ids matching the filter, in id order, at most `cap` (and whether there were more). */
export async function matchingIds(knex: Knex, tables: ClaimTables, filter: FailedClaimFilter, cap: number): Promise<{ ids: string[]; capped: boolean }> {
  const qb = knex(`${tables.failed} as f`).select(knex.raw('f.id::text as id'));
  whereFilter(qb, filter, tables);
  const rows = (await qb.orderBy('f.id', 'asc').limit(cap + 1)) as Array<{ id: string }>;
  return { ids: rows.slice(0, cap).map((r) => r.id), capped: rows.length > cap };
}

export interface RuleGroup {
  rule: string;
  /** The message most reasons of this rule carry (messages may embed a value, so they can differ). */
  message: string;
  /** `error` when any reason of the rule is an error. */
  severity: string;
  /** Failed claims with at least one reason of this rule. */
  claims: number;
}

/** Claims per failing rule under the filter, largest first, for triage. */
export async function ruleGroups(knex: Knex, tables: ClaimTables, filter: FailedClaimFilter): Promise<{ total: number; groups: RuleGroup[] }> {
  const claims = whereFilter(knex(`${tables.failed} as f`).select('f.id'), filter, tables);
  const rows = (await knex(`${tables.reasons} as g`)
    .select(
      'g.rule',
      knex.raw('count(distinct g.failed_claim_id)::int as claims'),
      knex.raw('mode() within group (order by g.message) as message'),
      knex.raw("case when bool_or(g.severity = 'error') then 'error' else 'warning' end as severity"),
    )
    .whereIn('g.failed_claim_id', claims)
    .groupBy('g.rule')
    .orderBy([
      { column: 'claims', order: 'desc' },
      { column: 'g.rule', order: 'asc' },
    ])) as Array<{ rule: string; claims: number; message: string; severity: string }>;
  const total = (await whereFilter(knex(`${tables.failed} as f`).count<Array<{ n: string }>>({ n: '*' }), filter, tables))[0];
  return { total: Number(total?.n ?? 0), groups: rows.map((r) => ({ rule: r.rule, message: r.message, severity: r.severity, claims: Number(r.claims) })) };
}
