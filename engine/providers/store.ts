/**
 * The provider store (engine/providers/types.ts) on knex: SQLite embedded, PostgreSQL in
 * production, tables of migration 0005. Shared by NPPES revalidation, CAQH imports and payer
 * directory comparisons.
 *
 * `upsert` compares the new record with the stored one and records one change per field that
 * differs (status, name, taxonomy, and address per purpose), in the same transaction as the
 * write. Locally curated data is never overwritten with blanks: an empty name, an empty taxonomy
 * or address list, or a missing CAQH id / attestation date keeps what is stored.
 */
import type { Knex } from 'knex';
import type { ProviderAddress, ProviderAlert, ProviderChange, ProviderRecord, ProviderStore } from './types';

type Dialect = 'sqlite' | 'postgres';

export interface ProviderStoreOptions {
  /** Time of changes and alerts (tests pass a fixed one). */
  clock?: () => Date;
}

interface ProviderRow {
  npi: string;
  kind: string;
  name: string;
  taxonomies: string;
  addresses: string;
  status: string;
  deactivated_on: string | null;
  source: string;
  caqh_provider_id: string | null;
  attested_on: string | null;
  created_at: Date | number | string;
  updated_at: Date | number | string;
}

const MAX_PAGE = 1000;

function fromDbTime(value: Date | number | string): Date {
  if (value instanceof Date) return value;
  return new Date(typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint failed/.test(e.message ?? '');
}

const squash = (s: string | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();

/** One line per address: `1 MAIN ST STE 2, CITY, ST 12345` (country when not US). */
export function formatAddress(a: ProviderAddress): string {
  const street = a.line.map(squash).filter(Boolean).join(' ');
  const place = [squash(a.city), [squash(a.state), squash(a.postalCode)].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  const country = a.country && a.country.toUpperCase() !== 'US' ? `, ${a.country.toUpperCase()}` : '';
  return [street, place].filter(Boolean).join(', ') + country;
}

/** Addresses of one purpose as one comparable text (order-independent, case-insensitive). */
function addressesOf(list: ProviderAddress[], purpose: string): string {
  return list
    .filter((a) => (a.purpose || 'LOCATION').toUpperCase() === purpose)
    .map(formatAddress)
    .sort()
    .join(' | ');
}

/**
 * What changed from `before` to `after` (both complete records), as ProviderChanges without
 * source and time: status, name, taxonomy (codes, order included: the primary is first), and
 * each address purpose whose addresses differ (phone numbers are not compared).
 */
export function diffProviders(before: ProviderRecord, after: ProviderRecord): Pick<ProviderChange, 'field' | 'before' | 'after'>[] {
  const out: Pick<ProviderChange, 'field' | 'before' | 'after'>[] = [];
  const statusText = (r: ProviderRecord) => (r.status === 'deactivated' && r.deactivatedOn ? `deactivated ${r.deactivatedOn}` : r.status);
  if (before.status !== after.status) out.push({ field: 'status', before: statusText(before), after: statusText(after) });
  if (squash(before.name).toUpperCase() !== squash(after.name).toUpperCase()) out.push({ field: 'name', before: before.name, after: after.name });
  const codes = (r: ProviderRecord) => r.taxonomies.map((c) => c.trim().toUpperCase()).join(',');
  if (codes(before) !== codes(after)) out.push({ field: 'taxonomy', before: codes(before), after: codes(after) });
  const purposes = [...new Set([...before.addresses, ...after.addresses].map((a) => (a.purpose || 'LOCATION').toUpperCase()))].sort();
  for (const purpose of purposes) {
    const b = addressesOf(before.addresses, purpose);
    const a = addressesOf(after.addresses, purpose);
    if (b.toUpperCase() !== a.toUpperCase()) out.push({ field: 'address', before: b ? `${purpose}: ${b}` : '', after: a ? `${purpose}: ${a}` : '' });
  }
  if ((before.caqhProviderId ?? '') !== (after.caqhProviderId ?? '')) out.push({ field: 'caqhProviderId', before: before.caqhProviderId ?? '', after: after.caqhProviderId ?? '' });
  if ((before.attestedOn ?? '') !== (after.attestedOn ?? '')) out.push({ field: 'attestedOn', before: before.attestedOn ?? '', after: after.attestedOn ?? '' });
  return out;
}

/** `incoming` over `stored`, keeping stored values where the incoming record is blank. */
export function mergeProvider(stored: ProviderRecord, incoming: ProviderRecord): ProviderRecord {
  const status = incoming.status;
  const merged: ProviderRecord = {
    ...stored,
    ...incoming,
    name: squash(incoming.name) ? incoming.name : stored.name,
    taxonomies: incoming.taxonomies.length ? incoming.taxonomies : stored.taxonomies,
    addresses: incoming.addresses.length ? incoming.addresses : stored.addresses,
    caqhProviderId: incoming.caqhProviderId ?? stored.caqhProviderId,
    attestedOn: incoming.attestedOn ?? stored.attestedOn,
    // Active clears the date; deactivated keeps the known one when the source gives none.
    deactivatedOn: status === 'deactivated' ? (incoming.deactivatedOn ?? stored.deactivatedOn) : undefined,
  };
  for (const k of Object.keys(merged) as (keyof ProviderRecord)[]) if (merged[k] === undefined) delete merged[k];
  return merged;
}

function validTime(iso: string | undefined, fallback: Date): Date {
  const d = iso ? new Date(iso) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d : fallback;
}

class KnexProviderStore implements ProviderStore {
  private readonly dialect: Dialect;
  private readonly clock: () => Date;

  constructor(
    private readonly knex: Knex,
    opts: ProviderStoreOptions,
  ) {
    this.dialect = knex.client.dialect === 'postgresql' ? 'postgres' : 'sqlite';
    this.clock = opts.clock ?? (() => new Date());
  }

  private time(date: Date): Date | number {
    return this.dialect === 'postgres' ? date : date.getTime();
  }

  private toRecord(r: ProviderRow): ProviderRecord {
    const record: ProviderRecord = {
      npi: r.npi,
      kind: r.kind === 'organization' ? 'organization' : 'individual',
      name: r.name,
      taxonomies: JSON.parse(r.taxonomies) as string[],
      addresses: JSON.parse(r.addresses) as ProviderAddress[],
      status: r.status === 'deactivated' ? 'deactivated' : 'active',
      source: r.source,
      updatedAt: fromDbTime(r.updated_at).toISOString(),
    };
    if (r.deactivated_on) record.deactivatedOn = r.deactivated_on;
    if (r.caqh_provider_id) record.caqhProviderId = r.caqh_provider_id;
    if (r.attested_on) record.attestedOn = r.attested_on;
    return record;
  }

  private toRow(p: ProviderRecord, updatedAt: Date): Omit<ProviderRow, 'created_at'> {
    return {
      npi: p.npi,
      kind: p.kind,
      name: p.name,
      taxonomies: JSON.stringify(p.taxonomies),
      addresses: JSON.stringify(p.addresses),
      status: p.status,
      deactivated_on: p.deactivatedOn ?? null,
      source: p.source,
      caqh_provider_id: p.caqhProviderId ?? null,
      attested_on: p.attestedOn ?? null,
      updated_at: this.time(updatedAt),
    };
  }

  async get(npi: string): Promise<ProviderRecord | undefined> {
    const r = (await this.knex('providers').where({ npi }).first()) as ProviderRow | undefined;
    return r ? this.toRecord(r) : undefined;
  }

  async list(opts: { limit?: number; afterNpi?: string } = {}): Promise<ProviderRecord[]> {
    const limit = Math.min(MAX_PAGE, Math.max(1, Math.floor(opts.limit ?? 100)));
    const q = this.knex('providers').orderBy('npi').limit(limit);
    if (opts.afterNpi !== undefined) q.where('npi', '>', opts.afterNpi);
    return ((await q) as ProviderRow[]).map((r) => this.toRecord(r));
  }

  async upsert(record: ProviderRecord): Promise<ProviderChange[]> {
    try {
      return await this.upsertOnce(record);
    } catch (err) {
      // Another writer inserted the same new NPI between our read and insert: now it is an update.
      if (isUniqueViolation(err)) return this.upsertOnce(record);
      throw err;
    }
  }

  private upsertOnce(record: ProviderRecord): Promise<ProviderChange[]> {
    const now = this.clock();
    return this.knex.transaction(async (trx) => {
      const q = trx('providers').where({ npi: record.npi });
      if (this.dialect === 'postgres') q.forUpdate();
      const row = (await q.first()) as ProviderRow | undefined;
      if (!row) {
        await trx('providers').insert({ ...this.toRow(record, validTime(record.updatedAt, now)), created_at: this.time(now) });
        return [];
      }
      const stored = this.toRecord(row);
      const merged = mergeProvider(stored, record);
      const changes: ProviderChange[] = diffProviders(stored, merged).map((c) => ({ npi: record.npi, ...c, source: record.source, at: now.toISOString() }));
      await trx('providers').where({ npi: record.npi }).update(this.toRow(merged, validTime(record.updatedAt, now)));
      if (changes.length) {
        await trx('provider_changes').insert(changes.map((c) => ({ npi: c.npi, field: c.field, before: c.before, after: c.after, source: c.source, at: this.time(now) })));
      }
      return changes;
    });
  }

  async changes(npi: string): Promise<ProviderChange[]> {
    const rows = await this.knex('provider_changes').where({ npi }).orderBy('id');
    return rows.map((r: { npi: string; field: string; before: string; after: string; source: string; at: Date | number | string }) => ({
      npi: r.npi,
      field: r.field,
      before: r.before,
      after: r.after,
      source: r.source,
      at: fromDbTime(r.at).toISOString(),
    }));
  }

  async raiseAlert(alert: Omit<ProviderAlert, 'openedAt'>): Promise<boolean> {
    const inserted = await this.knex('provider_alerts')
      .insert({ kind: alert.kind, key: alert.key, message: alert.message, opened_at: this.time(this.clock()) })
      .onConflict(['kind', 'key'])
      .ignore()
      .returning('id');
    return inserted.length > 0;
  }

  async alerts(opts: { kind?: string } = {}): Promise<ProviderAlert[]> {
    const q = this.knex('provider_alerts').orderBy('id');
    if (opts.kind) q.where({ kind: opts.kind });
    const rows = await q;
    return rows.map((r: { kind: string; key: string; message: string; opened_at: Date | number | string }) => ({
      kind: r.kind,
      key: r.key,
      message: r.message,
      openedAt: fromDbTime(r.opened_at).toISOString(),
    }));
  }
}

/** The provider store on a migrated knex (the message store's: `store.knex`). */
export function openProviderStore(knex: Knex, opts: ProviderStoreOptions = {}): ProviderStore {
  return new KnexProviderStore(knex, opts);
}
