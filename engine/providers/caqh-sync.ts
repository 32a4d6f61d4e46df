/**
 * CAQH ProView credentialing sync (issue 8; ../shared/domain/CAQH.md §7): the roster lifecycle
 * as a persisted state machine, the status sweep that imports each provider's CAQH state into
 * Wasl's provider records, the export of roster changes back to CAQH, supporting-document
 * metadata, and re-attestation alerts.
 *
 *   add (Initial / Quick) → pending_batch → rostered | exception;  rostered → (update) → rostered;
 *   rostered → (de-roster) → derostered
 *
 * - Submissions: every roster call is recorded in `caqh_batches` before it leaves (status
 *   `submitting`) and keyed by a hash of its payload. The same payload while that batch is still
 *   in flight returns the earlier batch instead of re-submitting (re-adding creates CAQH roster
 *   exceptions), and an add for an NPI already rostered or being added is refused; a submission
 *   whose answer was lost (timeout, reset) becomes `uncertain` and blocks the same payload until a
 *   person checks and passes `force`. Answers CAQH gave (400, 401, 5xx) mark it `refused`.
 *   The hash leaves out SSN, birth date, DEA, UPIN and tax id (a hash of a 9-digit SSN is not a
 *   secret), so a correction of only those needs `force`.
 * - Polling: `pollBatches` asks each pending batch once; `settleBatch` waits with the adapter's
 *   bounded back-off. Results are applied per provider line.
 * - Import (`importProvider`, the sweep): Status Check → `caqh_roster` → ProviderStore.upsert with
 *   source `caqh`, `caqhProviderId`, `attestedOn`. The Status Check carries no demographics and no
 *   public API serves profile content (CAQH.md §6), so the record's name and address come from
 *   the stored record, the last add's directory fields, or a `profile` the caller passes (e.g. read
 *   from a CAQH extract).
 * - Export (`exportRosterChanges`): what the API lets a PO change, i.e. the roster attributes of
 *   the update object (po_provider_id, recredential dates, delegation / application type /
 *   affiliation flags), sent as a roster update when they differ from what CAQH last accepted.
 * - Documents (`syncDocuments`): for rostered, authorized providers, each configured document
 *   type is retrieved; Wasl keeps metadata only (type, SHA-256, size, content type, version, when),
 *   a new version when the hash changes. There is no public list/metadata endpoint; the bytes go to
 *   the optional `onDocument` sink and are not stored here.
 * - Alerts (`checkAttestations`): deadline = attestation date + the re-attestation cycle
 *   (CAQH.md §4 [C]: 120 days, Illinois 180; both settings). At 90, 60 and 30 days before it
 *   (settings) ProviderStore.raiseAlert(kind `caqh-attestation-due`, key `<caqhId>:<days>`), each
 *   once: the store refuses a second (kind, key). When a run finds several thresholds crossed at
 *   once (the first run after an import, a paused scheduler) it raises only the tightest one: a
 *   "90 days left" alert at 50 days would mislead. With the default key an alert is once per
 *   provider and threshold for good, so a re-attested provider's next cycle raises none; set
 *   `alertKey: 'threshold-and-deadline'` (key `<caqhId>:<days>:<deadline>`) for one per cycle.
 *
 * Messages and logs name NPIs and CAQH ids only, never names, birth dates or SSNs.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { IntegrationError, ValidationError, WaslError, toWaslError } from '../../common/errors';
import { logger as makeLogger, type Logger } from '../../common/logger';
import type { CaqhAdapter, CaqhDocumentResult } from '../../connectors/caqh/client';
import {
  caqhDate,
  checkCaqhProviderId,
  toCaqhDate,
  type CaqhBatchResult,
  type CaqhBatchSubmission,
  type CaqhProviderStatus,
  type CaqhRosterAction,
  type CaqhRosterAddEntry,
  type CaqhRosterAttributes,
  type CaqhRosterResultLine,
} from '../../connectors/caqh/parse';
import { fromDbTime, toDbTime, type Dialect } from '../store/rows';
import type { ProviderAddress, ProviderRecord, ProviderStore } from './types';

/** What the sync needs of the adapter (CaqhAdapter, or a stand-in in tests). */
export type CaqhSyncAdapter = Pick<CaqhAdapter, 'organization' | 'rosterAdd' | 'rosterUpdate' | 'rosterDelete' | 'batchResult' | 'waitForBatch' | 'statusCheck' | 'supportingDocument'>;

export const ATTESTATION_ALERT_KIND = 'caqh-attestation-due';

export interface CaqhSyncSettings {
  /** Re-attestation cycle in days (CAQH.md §4 [C]: 120). */
  attestationCycleDays?: number;
  /** Per practice state overrides (CAQH.md §4 [C]: Illinois 180). */
  stateCycleDays?: Record<string, number>;
  /** Days before the deadline at which an alert is raised (issue 8: 90, 60, 30). */
  alertThresholdDays?: number[];
  /** `threshold`: key `<caqhId>:<days>` (once per provider and threshold); `threshold-and-deadline`: once per cycle. */
  alertKey?: 'threshold' | 'threshold-and-deadline';
  /** Supporting-document types to retrieve per provider (CAQH's type names are not public: none by default). */
  documentTypes?: string[];
}

export interface CaqhSyncDeps {
  adapter: CaqhSyncAdapter;
  providers: ProviderStore;
  /** The engine store's knex, migrated (0006_caqh). */
  knex: Knex;
  settings?: CaqhSyncSettings;
  now?: () => Date;
  /** Receives each new document version's bytes (e.g. to put them in a document store). */
  onDocument?: (doc: CaqhDocumentVersion, bytes: Buffer) => void | Promise<void>;
  logger?: Logger;
}

export type CaqhRosterState = 'pending_batch' | 'rostered' | 'exception' | 'derostered';

/** Directory fields kept from an add (never SSN, birth date, DEA, UPIN, tax id). */
export interface CaqhProfile {
  firstName?: string;
  middleName?: string;
  lastName?: string;
  nameSuffix?: string;
  address?: ProviderAddress;
  practiceState?: string;
  providerType?: string;
  /** NUCC taxonomy codes, when the caller knows them (CAQH's provider type is not a taxonomy). */
  taxonomies?: string[];
}

export interface CaqhRosterEntry {
  npi: string;
  caqhProviderId?: string;
  poProviderId?: string;
  organizationId: string;
  state: CaqhRosterState;
  exceptionDescription?: string;
  rosterStatus?: string;
  providerStatus?: string;
  providerStatusDate?: string;
  authorized?: boolean;
  practiceState?: string;
  attestedOn?: string;
  lastRecredentialDate?: string;
  nextRecredentialDate?: string;
  lastBatchId?: string;
  profile?: CaqhProfile;
  statusCheckedAt?: Date;
  updatedAt: Date;
}

export type CaqhBatchStatus = 'submitting' | 'uncertain' | 'pending' | 'complete' | 'failed' | 'refused';

interface BatchEntryIds {
  npi: string;
  caqhProviderId?: string;
  poProviderId?: string;
  /** Update: the roster attributes sent (applied when CAQH accepts them). */
  attributes?: CaqhRosterAttributes;
}

export interface CaqhStoredBatch {
  id: string;
  batchId?: string;
  action: CaqhRosterAction;
  status: CaqhBatchStatus;
  batchStatus?: string;
  batchTime?: string;
  entries: BatchEntryIds[];
  polls: number;
  lines?: CaqhRosterResultLine[];
  errorCode?: string;
  submittedAt: Date;
  completedAt?: Date;
}

export interface CaqhDocumentVersion {
  caqhProviderId: string;
  documentType: string;
  version: number;
  sha256: string;
  sizeBytes: number;
  contentType: string;
  fetchedAt: Date;
  checkedAt: Date;
}

/** A roster add for one provider: the CAQH add object plus the NPI Wasl keys the provider by. */
export interface CaqhRosterAddRequest {
  npi: string;
  entry: CaqhRosterAddEntry;
}

/** The roster attributes a PO may change (the update object, CAQH.md §2); dates as YYYY-MM-DD or YYYYMMDD. */
export type CaqhRosterPatch = Omit<CaqhRosterAttributes, 'caqh_provider_id'>;

export interface RaisedAttestationAlert {
  npi: string;
  caqhProviderId: string;
  thresholdDays: number;
  daysLeft: number;
  deadline: string;
  key: string;
}

export interface CaqhSyncRunSummary {
  batchesPolled: number;
  batchesCompleted: number;
  providersChecked: number;
  providersImported: number;
  documentsChecked: number;
  documentVersions: number;
  alertsRaised: number;
  errors: Array<{ step: string; id?: string; code: string }>;
}

const DAY_MS = 86_400_000;
const SECRET_FIELDS = ['ssn', 'short_ssn', 'birthdate', 'dea', 'upin', 'tax_id'] as const;
const PATCH_FIELDS = ['po_provider_id', 'last_recredential_date', 'next_recredential_date', 'delegation_flag', 'application_type', 'affiliation_flag'] as const;

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);
const bool = (v: unknown): boolean | undefined => (v === null || v === undefined ? undefined : v === true || v === 1 || v === '1' || v === 't' || v === 'true');

/** Canonical JSON (sorted keys) for hashing. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function payloadHash(action: CaqhRosterAction, organizationId: string, entries: unknown[]): string {
  const scrubbed = entries.map((e) => {
    const o = { ...(e as Record<string, unknown>) };
    if (o.provider && typeof o.provider === 'object') {
      const p = { ...(o.provider as Record<string, unknown>) };
      for (const k of SECRET_FIELDS) delete p[k];
      o.provider = p;
    }
    return o;
  });
  return crypto.createHash('sha256').update(canonical({ action, organizationId, entries: scrubbed })).digest('hex');
}

/** `YYYY-MM-DD` + days. */
export function addDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (both YYYY-MM-DD, UTC calendar days). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

const isoDay = (d: Date | string): string => (typeof d === 'string' ? caqhDate(d, 'date') : d.toISOString().slice(0, 10));

function profileOf(entry: CaqhRosterAddEntry): CaqhProfile | undefined {
  const p = entry.provider;
  if (!p) return undefined;
  const line = [p.address1, p.address2].filter((l): l is string => !!l);
  return {
    firstName: p.first_name,
    middleName: p.middle_name,
    lastName: p.last_name,
    nameSuffix: p.name_suffix,
    practiceState: p.practice_state,
    providerType: p.type,
    // The add's address is the correspondence address (CAQH.md §2), hence MAILING.
    address:
      p.address1 && p.city && p.state && p.zip
        ? { purpose: 'MAILING', line, city: p.city, state: p.state, postalCode: p.zip_extn ? `${p.zip}-${p.zip_extn}` : p.zip, country: 'US', phone: p.phone }
        : undefined,
  };
}

function mergeProfile(a: CaqhProfile | undefined, b: CaqhProfile | undefined): CaqhProfile | undefined {
  if (!a) return b;
  if (!b) return a;
  const out: CaqhProfile = { ...a };
  for (const [k, v] of Object.entries(b)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function displayName(p: CaqhProfile): string | undefined {
  const given = [p.firstName, p.middleName].filter(Boolean).join(' ');
  const full = [given, p.lastName].filter(Boolean).join(' ');
  if (!full) return undefined;
  return p.nameSuffix ? `${full} ${p.nameSuffix}` : full;
}

/** The CAQH ProView sync. Build one per adapter; `runOnce` is what the scheduler calls. */
export class CaqhSync {
  private readonly adapter: CaqhSyncAdapter;
  private readonly providers: ProviderStore;
  private readonly knex: Knex;
  private readonly dialect: Dialect;
  private readonly now: () => Date;
  private readonly log: Logger;
  private readonly cycleDays: number;
  private readonly stateCycleDays: Record<string, number>;
  private readonly thresholds: number[];
  private readonly alertKey: 'threshold' | 'threshold-and-deadline';
  private readonly documentTypes: string[];

  constructor(private readonly deps: CaqhSyncDeps) {
    this.adapter = deps.adapter;
    this.providers = deps.providers;
    this.knex = deps.knex;
    this.dialect = deps.knex.client.dialect === 'postgresql' ? 'postgres' : 'sqlite';
    this.now = deps.now ?? (() => new Date());
    this.log = deps.logger ?? makeLogger({ stage: 'caqh-sync' });
    const s = deps.settings ?? {};
    this.cycleDays = s.attestationCycleDays ?? 120;
    this.stateCycleDays = Object.fromEntries(Object.entries(s.stateCycleDays ?? { IL: 180 }).map(([k, v]) => [k.toUpperCase(), v]));
    this.thresholds = [...(s.alertThresholdDays ?? [90, 60, 30])].sort((a, b) => b - a);
    if (this.thresholds.some((t) => !Number.isInteger(t) || t < 0)) throw new ValidationError('CAQH_CONFIG', 'alertThresholdDays must be whole days ≥ 0', { path: 'alertThresholdDays' });
    if (!Number.isInteger(this.cycleDays) || this.cycleDays <= 0) throw new ValidationError('CAQH_CONFIG', 'attestationCycleDays must be a positive whole number', { path: 'attestationCycleDays' });
    this.alertKey = s.alertKey ?? 'threshold';
    this.documentTypes = s.documentTypes ?? [];
  }

  private t(d: Date = this.now()): Date | number {
    return toDbTime(this.dialect, d);
  }

  // ---------------------------------------------------------------------------------------------
  // Roster submissions

  /**
   * Adds providers to the CAQH roster (one batch). Each request's NPI keys the roster row;
   * `po_provider_id` defaults to the NPI. Returns the stored batch (pending until polled).
   * @param opts.force submit even when the same payload was submitted before (see the header)
   */
  async addToRoster(requests: readonly CaqhRosterAddRequest[], opts: { force?: boolean } = {}): Promise<CaqhStoredBatch> {
    if (!requests.length) throw new ValidationError('CAQH_EMPTY', 'roster add: at least one provider', { path: 'requests' });
    const entries = requests.map((r) => ({ ...r.entry, po_provider_id: r.entry.po_provider_id ?? r.npi }));
    const ids = requests.map((r, i) => ({ npi: r.npi, caqhProviderId: entries[i].caqh_provider_id, poProviderId: entries[i].po_provider_id }));
    const before = async () => {
      for (const r of requests) {
        const row = await this.rosterRow(r.npi);
        if (row && (row.state === 'rostered' || row.state === 'pending_batch')) {
          throw new ValidationError('CAQH_ALREADY_ROSTERED', `NPI ${r.npi} is ${row.state === 'rostered' ? 'already on' : 'being added to'} the CAQH roster (pass force to add again)`, { path: 'npi' });
        }
      }
    };
    return this.submit('add', entries, ids, opts.force ?? false, opts.force ? undefined : before, async (batch) => {
      for (const [i, r] of requests.entries()) {
        const existing = await this.rosterRow(r.npi);
        const profile = mergeProfile(existing?.profile, profileOf(r.entry));
        const row = {
          caqh_provider_id: r.entry.caqh_provider_id ?? existing?.caqhProviderId ?? null,
          po_provider_id: entries[i].po_provider_id,
          organization_id: this.adapter.organization,
          state: 'pending_batch',
          exception_description: null,
          last_batch_id: batch.batchId,
          practice_state: r.entry.provider?.practice_state ?? existing?.practiceState ?? null,
          profile: profile ? JSON.stringify(profile) : null,
          updated_at: this.t(),
        };
        if (existing) await this.knex('caqh_roster').where({ npi: r.npi }).update(row);
        else await this.knex('caqh_roster').insert({ ...row, npi: r.npi, created_at: this.t() });
      }
    });
  }

  /**
   * Exports roster changes of one provider to CAQH (a roster update batch), sending only the
   * attributes that differ from what CAQH last accepted. Returns undefined when nothing differs.
   */
  async exportRosterChanges(npi: string, patch: CaqhRosterPatch, opts: { force?: boolean } = {}): Promise<CaqhStoredBatch | undefined> {
    const row = await this.requireRostered(npi);
    const wanted: CaqhRosterAttributes = {};
    for (const k of PATCH_FIELDS) {
      const v = patch[k];
      if (v === undefined) continue;
      wanted[k] = k.endsWith('_date') ? toCaqhDate(v, k) : v;
    }
    const current: Partial<Record<(typeof PATCH_FIELDS)[number], string | undefined>> = {
      po_provider_id: row.poProviderId,
      last_recredential_date: row.lastRecredentialDate && toCaqhDate(row.lastRecredentialDate),
      next_recredential_date: row.nextRecredentialDate && toCaqhDate(row.nextRecredentialDate),
    };
    const changed = Object.fromEntries(Object.entries(wanted).filter(([k, v]) => current[k as keyof typeof current] !== v)) as CaqhRosterAttributes;
    if (!Object.keys(changed).length) return undefined;
    const entry = { caqh_provider_id: row.caqhProviderId as string, ...changed };
    return this.submit('update', [entry], [{ npi, caqhProviderId: row.caqhProviderId, attributes: changed }], opts.force ?? false, undefined, async (batch) => {
      await this.knex('caqh_roster').where({ npi }).update({ last_batch_id: batch.batchId, updated_at: this.t() });
    });
  }

  /** Removes a provider from the CAQH roster (e.g. on termination). */
  async removeFromRoster(npi: string, opts: { force?: boolean } = {}): Promise<CaqhStoredBatch> {
    const row = await this.requireRostered(npi);
    return this.submit('delete', [{ caqh_provider_id: row.caqhProviderId as string }], [{ npi, caqhProviderId: row.caqhProviderId }], opts.force ?? false, undefined, async (batch) => {
      await this.knex('caqh_roster').where({ npi }).update({ last_batch_id: batch.batchId, updated_at: this.t() });
    });
  }

  private async requireRostered(npi: string): Promise<CaqhRosterEntry> {
    const row = await this.rosterRow(npi);
    if (!row?.caqhProviderId) throw new ValidationError('CAQH_NOT_ROSTERED', `NPI ${npi} has no CAQH provider id on the roster`, { path: 'npi' });
    if (row.state === 'derostered') throw new ValidationError('CAQH_NOT_ROSTERED', `NPI ${npi} was removed from the CAQH roster`, { path: 'npi' });
    return row;
  }

  private async submit(
    action: CaqhRosterAction,
    entries: Array<Record<string, unknown>>,
    ids: BatchEntryIds[],
    force: boolean,
    before: (() => Promise<void>) | undefined,
    onAccepted: (batch: CaqhStoredBatch) => Promise<void>,
  ): Promise<CaqhStoredBatch> {
    const hash = payloadHash(action, this.adapter.organization, entries);
    if (!force) {
      // Only batches still in flight count: after one finished, the same payload is a new intent
      // (the same dates again after a change, a re-add after a de-roster).
      const earlier = await this.knex('caqh_batches').where({ payload_hash: hash }).whereIn('status', ['submitting', 'uncertain', 'pending']).orderBy('submitted_at', 'desc').first();
      if (earlier) {
        const b = this.batchFromRow(earlier);
        if (b.status === 'submitting' || b.status === 'uncertain') {
          throw new IntegrationError('CAQH_SUBMISSION_UNCERTAIN', `An identical roster ${action} (${b.id}) was sent but its answer was lost: check CAQH before sending it again with force`, {
            details: { id: b.id },
          });
        }
        this.log.info('caqh roster submission already made', { action, id: b.id, batchId: b.batchId });
        return b;
      }
    }
    await before?.();
    const id = crypto.randomUUID();
    await this.knex('caqh_batches').insert({
      id,
      action,
      payload_hash: hash,
      entries: JSON.stringify(ids),
      entry_count: entries.length,
      status: 'submitting',
      polls: 0,
      submitted_at: this.t(),
    });
    let accepted: CaqhBatchSubmission;
    try {
      const call =
        action === 'add'
          ? this.adapter.rosterAdd(entries as CaqhRosterAddEntry[])
          : action === 'update'
            ? this.adapter.rosterUpdate(entries as Array<{ caqh_provider_id: string }>)
            : this.adapter.rosterDelete(entries as Array<{ caqh_provider_id: string }>);
      accepted = await call;
    } catch (err) {
      const e = toWaslError(err);
      // An answer from CAQH (any HTTP status) or a check that failed before sending: nothing was
      // created. No answer at all (timeout, reset): CAQH may have created the batch.
      const answered = e.kind === 'validation' || typeof e.details?.status === 'number' || neverSent(e);
      await this.knex('caqh_batches').where({ id }).update({ status: answered ? 'refused' : 'uncertain', error_code: e.code });
      this.log.warn('caqh roster submission failed', { action, id, code: e.code, uncertain: !answered });
      throw e;
    }
    await this.knex('caqh_batches').where({ id }).update({ batch_id: accepted.batchId, status: 'pending' });
    const batch = (await this.batch(id)) as CaqhStoredBatch;
    await onAccepted(batch);
    this.log.info('caqh roster batch submitted', { action, id, batchId: accepted.batchId, entries: entries.length });
    return batch;
  }

  // ---------------------------------------------------------------------------------------------
  // Batch results

  /** Polls every pending batch once; applies the finished ones. Returns them as stored after the poll. */
  async pollBatches(): Promise<{ polled: CaqhStoredBatch[]; errors: CaqhSyncRunSummary['errors'] }> {
    const rows = await this.knex('caqh_batches').where({ status: 'pending' }).orderBy('submitted_at');
    const polled: CaqhStoredBatch[] = [];
    const errors: CaqhSyncRunSummary['errors'] = [];
    for (const row of rows) {
      const b = this.batchFromRow(row);
      try {
        const result = await this.adapter.batchResult(b.batchId as string);
        polled.push(await this.applyBatchResult(b, result));
      } catch (err) {
        const e = toWaslError(err);
        errors.push({ step: 'poll', id: b.id, code: e.code });
        await this.knex('caqh_batches').where({ id: b.id }).update({ error_code: e.code, last_polled_at: this.t() });
        if (e.kind !== 'transient') this.log.error('caqh batch poll failed', { id: b.id, code: e.code });
      }
    }
    return { polled, errors };
  }

  /** Waits for one stored batch with the adapter's bounded back-off, then applies the result. */
  async settleBatch(id: string, poll?: { initialDelayMs?: number; maxDelayMs?: number; maxWaitMs?: number }): Promise<CaqhStoredBatch> {
    const b = await this.batch(id);
    if (!b) throw new ValidationError('CAQH_UNKNOWN_BATCH', `No CAQH batch ${id}`, { path: 'id' });
    if (b.status !== 'pending') return b;
    const result = await this.adapter.waitForBatch(b.batchId as string, poll);
    return this.applyBatchResult(b, result);
  }

  private async applyBatchResult(b: CaqhStoredBatch, result: CaqhBatchResult): Promise<CaqhStoredBatch> {
    const base = { polls: b.polls + 1, last_polled_at: this.t(), batch_status: result.batchStatus, batch_time: result.batchTime ?? null, error_code: null };
    if (result.state === 'pending') {
      await this.knex('caqh_batches').where({ id: b.id }).update(base);
      return (await this.batch(b.id)) as CaqhStoredBatch;
    }
    await this.knex.transaction(async (trx) => {
      await trx('caqh_batches')
        .where({ id: b.id })
        .update({ ...base, status: result.state, result: JSON.stringify(result.lines), completed_at: this.t() });
      for (const entry of b.entries) {
        const line = this.matchLine(entry, result.lines, b.entries.length);
        await this.applyLine(trx, b, entry, line, result);
      }
    });
    this.log.info('caqh roster batch finished', { id: b.id, batchId: b.batchId, state: result.state, lines: result.lines.length });
    return (await this.batch(b.id)) as CaqhStoredBatch;
  }

  /** The result line of an entry: by po_provider_id, CAQH id or NPI; a one-entry batch takes its one line. */
  private matchLine(entry: BatchEntryIds, lines: CaqhRosterResultLine[], entryCount: number): CaqhRosterResultLine | undefined {
    const hit =
      (entry.poProviderId && lines.find((l) => l.poProviderId === entry.poProviderId)) ||
      (entry.caqhProviderId && lines.find((l) => l.caqhProviderId === entry.caqhProviderId)) ||
      lines.find((l) => l.npi === entry.npi);
    if (hit) return hit;
    return entryCount === 1 && lines.length === 1 ? lines[0] : undefined;
  }

  private async applyLine(trx: Knex.Transaction, b: CaqhStoredBatch, entry: BatchEntryIds, line: CaqhRosterResultLine | undefined, result: CaqhBatchResult): Promise<void> {
    const q = () => trx('caqh_roster').where({ npi: entry.npi });
    const now = this.t();
    if (result.state === 'failed') {
      const exception = `batch ${result.batchStatus}`;
      if (b.action === 'add') await q().update({ state: 'exception', exception_description: exception, updated_at: now });
      else await q().update({ exception_description: exception, updated_at: now });
      return;
    }
    // Complete without a line for this provider: leave the state; the status sweep settles it.
    if (!line) return;
    if (line.outcome === 'exception') {
      if (b.action === 'add') await q().update({ state: 'exception', exception_description: line.exceptionDescription ?? null, updated_at: now });
      else await q().update({ exception_description: line.exceptionDescription ?? null, updated_at: now });
      return;
    }
    if (b.action === 'add') {
      await q().update({ state: 'rostered', caqh_provider_id: line.caqhProviderId ?? entry.caqhProviderId ?? null, exception_description: null, updated_at: now });
    } else if (b.action === 'update') {
      const a = entry.attributes ?? {};
      const patch: Record<string, unknown> = { exception_description: null, updated_at: now };
      if (a.po_provider_id) patch.po_provider_id = a.po_provider_id;
      if (a.last_recredential_date) patch.last_recredential_date = caqhDate(a.last_recredential_date, 'last_recredential_date');
      if (a.next_recredential_date) patch.next_recredential_date = caqhDate(a.next_recredential_date, 'next_recredential_date');
      await q().update(patch);
    } else {
      await q().update({ state: 'derostered', exception_description: null, updated_at: now });
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Import (Status Check → caqh_roster → ProviderStore)

  /**
   * Links an NPI to a CAQH provider id already on the PO's roster (added outside Wasl), so the
   * sweep imports it. Optionally with directory fields (e.g. from a CAQH extract).
   */
  async linkProvider(npi: string, caqhProviderId: string, profile?: CaqhProfile): Promise<void> {
    checkCaqhProviderId(caqhProviderId, 'caqhProviderId');
    const existing = await this.rosterRow(npi);
    const merged = mergeProfile(existing?.profile, profile);
    const row = { caqh_provider_id: caqhProviderId, organization_id: this.adapter.organization, profile: merged ? JSON.stringify(merged) : null, updated_at: this.t() };
    if (existing) await this.knex('caqh_roster').where({ npi }).update(row);
    else await this.knex('caqh_roster').insert({ ...row, npi, state: 'rostered', created_at: this.t() });
  }

  /**
   * Imports one provider's CAQH state: a Status Check, stored on the roster row, then upserted
   * into Wasl's provider record (source `caqh`, caqhProviderId, attestedOn). Returns the record
   * and the changes the store found, or undefined when CAQH does not know the provider.
   */
  async importProvider(npi: string, opts: { profile?: CaqhProfile } = {}): Promise<{ status: CaqhProviderStatus; record?: ProviderRecord; changes: number } | undefined> {
    const row = await this.rosterRow(npi);
    if (!row?.caqhProviderId) throw new ValidationError('CAQH_NOT_ROSTERED', `NPI ${npi} has no CAQH provider id (add or link it first)`, { path: 'npi' });
    const status = await this.adapter.statusCheck(row.caqhProviderId);
    const profile = mergeProfile(row.profile, opts.profile);
    const update: Record<string, unknown> = { status_checked_at: this.t(), updated_at: this.t() };
    if (!status.found) {
      await this.knex('caqh_roster').where({ npi }).update(update);
      this.log.warn('caqh provider not found', { npi, caqhProviderId: row.caqhProviderId });
      return { status, changes: 0 };
    }
    Object.assign(update, {
      roster_status: status.rosterStatus ?? null,
      provider_status: status.providerStatus ?? null,
      provider_status_date: status.providerStatusDate ?? null,
      authorized: status.authorized ?? null,
      practice_state: status.practiceState ?? row.practiceState ?? null,
      // Keep the last known attestation date when this answer does not tell (e.g. an in-progress status).
      attested_on: status.attestedOn ?? row.attestedOn ?? null,
      profile: profile ? JSON.stringify(profile) : null,
    });
    if (status.poProviderId) update.po_provider_id = status.poProviderId;
    if (status.onRoster && (row.state === 'pending_batch' || row.state === 'exception')) Object.assign(update, { state: 'rostered', exception_description: null });
    if (!status.onRoster && row.state === 'rostered' && status.rosterStatus) update.state = 'derostered';
    await this.knex('caqh_roster').where({ npi }).update(update);

    const existing = await this.providers.get(npi);
    const attestedOn = status.attestedOn ?? row.attestedOn ?? existing?.attestedOn;
    let record: ProviderRecord;
    if (existing) {
      record = { ...existing, source: 'caqh', caqhProviderId: row.caqhProviderId, attestedOn, updatedAt: this.now().toISOString() };
      if (opts.profile) record = withProfile(record, opts.profile);
    } else {
      const name = profile && displayName(profile);
      if (!name) {
        throw new ValidationError('CAQH_IMPORT_PROFILE', `NPI ${npi}: no provider record and no directory fields to create one (pass a profile, or add the NPI through NPPES first)`, {
          path: 'profile',
        });
      }
      record = withProfile(
        { npi, kind: 'individual', name, taxonomies: [], addresses: [], status: 'active', source: 'caqh', caqhProviderId: row.caqhProviderId, attestedOn, updatedAt: this.now().toISOString() },
        profile as CaqhProfile,
      );
    }
    const changes = await this.providers.upsert(record);
    return { status, record, changes: changes.length };
  }

  // ---------------------------------------------------------------------------------------------
  // Supporting documents

  /** Retrieves each configured document type of rostered, authorized providers and records its metadata. */
  async syncDocuments(opts: { npi?: string; documentTypes?: string[] } = {}): Promise<{ checked: number; newVersions: CaqhDocumentVersion[]; errors: CaqhSyncRunSummary['errors'] }> {
    const types = opts.documentTypes ?? this.documentTypes;
    const out = { checked: 0, newVersions: [] as CaqhDocumentVersion[], errors: [] as CaqhSyncRunSummary['errors'] };
    if (!types.length) return out;
    let q = this.knex('caqh_roster').where({ state: 'rostered' }).whereNotNull('caqh_provider_id');
    if (opts.npi) q = q.andWhere({ npi: opts.npi });
    for (const row of (await q).map((r) => this.rosterFromRow(r))) {
      // Only after authorization (CAQH.md §7.4): CAQH refuses otherwise, so do not ask.
      if (row.authorized !== true) continue;
      for (const type of types) {
        try {
          const doc = await this.adapter.supportingDocument(row.caqhProviderId as string, type);
          out.checked += 1;
          const v = await this.recordDocument(doc);
          if (v) out.newVersions.push(v);
        } catch (err) {
          out.errors.push({ step: 'document', id: row.caqhProviderId, code: toWaslError(err).code });
        }
      }
    }
    return out;
  }

  private async recordDocument(doc: CaqhDocumentResult): Promise<CaqhDocumentVersion | undefined> {
    const key = { caqh_provider_id: doc.caqhProviderId, document_type: doc.documentType };
    const checkRow = { ...key, available: doc.available, http_status: doc.available ? 200 : doc.httpStatus, reason: doc.available ? null : (doc.reason ?? null), checked_at: this.t() };
    await this.knex('caqh_document_checks').insert(checkRow).onConflict(['caqh_provider_id', 'document_type']).merge();
    if (!doc.available) return undefined;
    const latest = await this.knex('caqh_documents').where(key).orderBy('version', 'desc').first();
    if (latest && latest.sha256 === doc.sha256) {
      await this.knex('caqh_documents').where({ id: latest.id }).update({ checked_at: this.t() });
      return undefined;
    }
    const version: CaqhDocumentVersion = {
      caqhProviderId: doc.caqhProviderId,
      documentType: doc.documentType,
      version: (latest ? Number(latest.version) : 0) + 1,
      sha256: doc.sha256,
      sizeBytes: doc.size,
      contentType: doc.contentType,
      fetchedAt: this.now(),
      checkedAt: this.now(),
    };
    await this.knex('caqh_documents').insert({
      ...key,
      version: version.version,
      sha256: version.sha256,
      size_bytes: version.sizeBytes,
      content_type: version.contentType.slice(0, 100),
      fetched_at: this.t(version.fetchedAt),
      checked_at: this.t(version.checkedAt),
    });
    await this.deps.onDocument?.(version, doc.bytes);
    return version;
  }

  /** Document versions (newest first) of a provider. */
  async documents(caqhProviderId: string): Promise<CaqhDocumentVersion[]> {
    const rows = await this.knex('caqh_documents').where({ caqh_provider_id: caqhProviderId }).orderBy([{ column: 'document_type' }, { column: 'version', order: 'desc' }]);
    return rows.map((r) => ({
      caqhProviderId: r.caqh_provider_id,
      documentType: r.document_type,
      version: Number(r.version),
      sha256: r.sha256,
      sizeBytes: Number(r.size_bytes),
      contentType: r.content_type,
      fetchedAt: fromDbTime(r.fetched_at),
      checkedAt: fromDbTime(r.checked_at),
    }));
  }

  // ---------------------------------------------------------------------------------------------
  // Attestation alerts

  /** Re-attestation cycle of a practice state. */
  cycleFor(practiceState: string | undefined): number {
    return (practiceState && this.stateCycleDays[practiceState.toUpperCase()]) || this.cycleDays;
  }

  /** The re-attestation deadline of an attestation date (YYYY-MM-DD). */
  deadlineFor(attestedOn: string, practiceState?: string): string {
    return addDays(attestedOn, this.cycleFor(practiceState));
  }

  /**
   * Raises the attestation alerts due `today` (default: now), each once (see the header).
   * Returns the alerts this call raised.
   */
  async checkAttestations(today: Date | string = this.now()): Promise<RaisedAttestationAlert[]> {
    const day = isoDay(today);
    const rows = (await this.knex('caqh_roster').where({ state: 'rostered' }).whereNotNull('attested_on').whereNotNull('caqh_provider_id')).map((r) => this.rosterFromRow(r));
    const raised: RaisedAttestationAlert[] = [];
    for (const row of rows) {
      const deadline = this.deadlineFor(row.attestedOn as string, row.practiceState);
      const daysLeft = daysBetween(day, deadline);
      const crossed = this.thresholds.filter((t) => daysLeft <= t);
      if (!crossed.length) continue;
      const thresholdDays = crossed[crossed.length - 1];
      const caqhId = row.caqhProviderId as string;
      const key = this.alertKey === 'threshold' ? `${caqhId}:${thresholdDays}` : `${caqhId}:${thresholdDays}:${deadline}`;
      const when = daysLeft >= 0 ? `due in ${daysLeft} days` : `overdue by ${-daysLeft} days`;
      const message = `CAQH ProView re-attestation of provider ${caqhId} (NPI ${row.npi}) is ${when} (deadline ${deadline}; ${thresholdDays}-day notice)`;
      if (await this.providers.raiseAlert({ kind: ATTESTATION_ALERT_KIND, key, message })) {
        raised.push({ npi: row.npi, caqhProviderId: caqhId, thresholdDays, daysLeft, deadline, key });
        this.log.warn('caqh attestation alert raised', { npi: row.npi, caqhProviderId: caqhId, thresholdDays, daysLeft });
      }
    }
    return raised;
  }

  // ---------------------------------------------------------------------------------------------
  // One run

  /** One sync run: poll batches, sweep statuses (import), documents, attestation alerts. Never throws for one provider's failure. */
  async runOnce(): Promise<CaqhSyncRunSummary> {
    const summary: CaqhSyncRunSummary = { batchesPolled: 0, batchesCompleted: 0, providersChecked: 0, providersImported: 0, documentsChecked: 0, documentVersions: 0, alertsRaised: 0, errors: [] };
    const polled = await this.pollBatches();
    summary.batchesPolled = polled.polled.length + polled.errors.length;
    summary.batchesCompleted = polled.polled.filter((b) => b.status === 'complete' || b.status === 'failed').length;
    summary.errors.push(...polled.errors);

    const rows = await this.knex('caqh_roster').whereIn('state', ['rostered', 'pending_batch']).whereNotNull('caqh_provider_id').orderBy('npi');
    for (const r of rows) {
      try {
        summary.providersChecked += 1;
        const res = await this.importProvider(r.npi);
        if (res?.record) summary.providersImported += 1;
      } catch (err) {
        summary.errors.push({ step: 'import', id: r.npi, code: toWaslError(err).code });
      }
    }
    const docs = await this.syncDocuments();
    summary.documentsChecked = docs.checked;
    summary.documentVersions = docs.newVersions.length;
    summary.errors.push(...docs.errors);
    summary.alertsRaised = (await this.checkAttestations()).length;
    this.log.info('caqh sync run', { ...summary, errors: summary.errors.length });
    return summary;
  }

  // ---------------------------------------------------------------------------------------------
  // Reads

  async rosterRow(npi: string): Promise<CaqhRosterEntry | undefined> {
    const r = await this.knex('caqh_roster').where({ npi }).first();
    return r ? this.rosterFromRow(r) : undefined;
  }

  async roster(): Promise<CaqhRosterEntry[]> {
    return (await this.knex('caqh_roster').orderBy('npi')).map((r) => this.rosterFromRow(r));
  }

  async batch(id: string): Promise<CaqhStoredBatch | undefined> {
    const r = await this.knex('caqh_batches').where({ id }).first();
    return r ? this.batchFromRow(r) : undefined;
  }

  async batches(opts: { status?: CaqhBatchStatus } = {}): Promise<CaqhStoredBatch[]> {
    const q = this.knex('caqh_batches').orderBy('submitted_at');
    if (opts.status) q.where({ status: opts.status });
    return (await q).map((r) => this.batchFromRow(r));
  }

  private rosterFromRow(r: Record<string, unknown>): CaqhRosterEntry {
    const s = (k: string) => opt(r[k] as string | null);
    return {
      npi: r.npi as string,
      caqhProviderId: s('caqh_provider_id'),
      poProviderId: s('po_provider_id'),
      organizationId: r.organization_id as string,
      state: r.state as CaqhRosterState,
      exceptionDescription: s('exception_description'),
      rosterStatus: s('roster_status'),
      providerStatus: s('provider_status'),
      providerStatusDate: s('provider_status_date'),
      authorized: bool(r.authorized),
      practiceState: s('practice_state'),
      attestedOn: s('attested_on'),
      lastRecredentialDate: s('last_recredential_date'),
      nextRecredentialDate: s('next_recredential_date'),
      lastBatchId: s('last_batch_id'),
      profile: r.profile ? (JSON.parse(r.profile as string) as CaqhProfile) : undefined,
      statusCheckedAt: r.status_checked_at === null || r.status_checked_at === undefined ? undefined : fromDbTime(r.status_checked_at as number | Date | string),
      updatedAt: fromDbTime(r.updated_at as number | Date | string),
    };
  }

  private batchFromRow(r: Record<string, unknown>): CaqhStoredBatch {
    const s = (k: string) => opt(r[k] as string | null);
    return {
      id: r.id as string,
      batchId: s('batch_id'),
      action: r.action as CaqhRosterAction,
      status: r.status as CaqhBatchStatus,
      batchStatus: s('batch_status'),
      batchTime: s('batch_time'),
      entries: JSON.parse(r.entries as string) as BatchEntryIds[],
      polls: Number(r.polls),
      lines: r.result ? (JSON.parse(r.result as string) as CaqhRosterResultLine[]) : undefined,
      errorCode: s('error_code'),
      submittedAt: fromDbTime(r.submitted_at as number | Date | string),
      completedAt: r.completed_at === null || r.completed_at === undefined ? undefined : fromDbTime(r.completed_at as number | Date | string),
    };
  }
}

/** Failures that prove the request never left: an open breaker, a closed adapter, a refused connection. */
function neverSent(e: WaslError): boolean {
  return e.code === 'TRANSIENT_ADAPTER_BREAKER_OPEN' || e.code === 'TRANSIENT_CAQH_CLOSED' || e.details?.code === 'ECONNREFUSED';
}

function withProfile(record: ProviderRecord, p: CaqhProfile): ProviderRecord {
  const out = { ...record };
  const name = displayName(p);
  if (name && !record.name) out.name = name;
  if (p.taxonomies?.length && !record.taxonomies.length) out.taxonomies = p.taxonomies;
  if (p.address && !record.addresses.some((a) => a.purpose === p.address?.purpose)) out.addresses = [...record.addresses, p.address];
  return out;
}

/** Builds the sync. */
export function createCaqhSync(deps: CaqhSyncDeps): CaqhSync {
  return new CaqhSync(deps);
}

export interface CaqhScheduler {
  /** Resolves when the run in progress (if any) has finished. Safe twice. */
  stop(): Promise<void>;
  /** Runs now unless a run is in progress (then waits for it). */
  runNow(): Promise<CaqhSyncRunSummary | undefined>;
}

/**
 * Runs `sync.runOnce()` every `intervalMs` (default daily: CAQH.md §7.3 suggests a daily status
 * sweep). Runs never overlap; the timer is unref'd, so it never keeps the process alive.
 */
export function startCaqhScheduler(sync: Pick<CaqhSync, 'runOnce'>, opts: { intervalMs?: number; runAtStart?: boolean; onError?: (err: WaslError) => void; onRun?: (s: CaqhSyncRunSummary) => void } = {}): CaqhScheduler {
  const intervalMs = opts.intervalMs ?? DAY_MS;
  let running: Promise<CaqhSyncRunSummary | undefined> | undefined;
  let stopped = false;
  const run = (): Promise<CaqhSyncRunSummary | undefined> => {
    if (running) return running;
    if (stopped) return Promise.resolve(undefined);
    running = sync
      .runOnce()
      .then((s) => {
        opts.onRun?.(s);
        return s;
      })
      .catch((err: unknown) => {
        opts.onError?.(toWaslError(err));
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  if (opts.runAtStart) void run();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    runNow: run,
  };
}
