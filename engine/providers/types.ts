/**
 * The provider records Wasl keeps (NPPES lookups, CAQH imports, payer directory comparisons all
 * read and write them), their change history, and the alerts provider work raises. Stored through
 * knex in the engine's store (SQLite embedded, PostgreSQL in production), migration 0005.
 */

export interface ProviderAddress {
  purpose: 'LOCATION' | 'MAILING' | string;
  line: string[];
  city: string;
  state: string;
  postalCode: string;
  country?: string;
  phone?: string;
}

export interface ProviderRecord {
  npi: string;
  /** NPI-1 individual, NPI-2 organization. */
  kind: 'individual' | 'organization';
  /** Display name: "Given Family, CRED" or the organization's legal name. */
  name: string;
  /** NUCC taxonomy codes, primary first. */
  taxonomies: string[];
  addresses: ProviderAddress[];
  /** NPPES status: active, or deactivated (with the date). */
  status: 'active' | 'deactivated';
  deactivatedOn?: string;
  /** Where the record came from last: nppes | caqh | manual | plan-net. */
  source: string;
  /** CAQH ProView provider id, when known. */
  caqhProviderId?: string;
  /** Last CAQH attestation date (YYYY-MM-DD), when known. */
  attestedOn?: string;
  updatedAt: string;
}

/** One detected change of a provider record (revalidation, import). */
export interface ProviderChange {
  npi: string;
  field: 'status' | 'name' | 'address' | 'taxonomy' | string;
  before: string;
  after: string;
  source: string;
  at: string;
}

/** An alert raised by provider work; `(kind, key)` is unique: raising it again is a no-op. */
export interface ProviderAlert {
  kind: 'npi-deactivated' | 'caqh-attestation-due' | string;
  /** What makes it unique, e.g. `<npi>` or `<caqhId>:<threshold days>`. */
  key: string;
  message: string;
  openedAt: string;
}

export interface ProviderStore {
  get(npi: string): Promise<ProviderRecord | undefined>;
  list(opts?: { limit?: number; afterNpi?: string }): Promise<ProviderRecord[]>;
  /** Inserts or updates; returns the changes against the stored record (empty for a new one). */
  upsert(record: ProviderRecord): Promise<ProviderChange[]>;
  changes(npi: string): Promise<ProviderChange[]>;
  /** Raises an alert once: returns false when (kind, key) was already raised. */
  raiseAlert(alert: Omit<ProviderAlert, 'openedAt'>): Promise<boolean>;
  alerts(opts?: { kind?: string }): Promise<ProviderAlert[]>;
}
