/**
 * The FHIR sync's tables (migration 0003) on knex, SQLite and PostgreSQL: implements
 * {@link FhirSyncStore} for connectors/fhir/sync. One transaction per Encounter: its row and its
 * notes change together, and a newer version replaces the notes.
 */
import type { Knex } from 'knex';
import { ValidationError } from '../../common/errors';
import { instantBefore } from '../../connectors/fhir/sync/encounter-sync';
import type { ExtractedNote, FhirSyncStore, SaveOutcome, SyncedEncounter, SyncErrorEntry, SyncRun } from '../../connectors/fhir/sync/types';
import { KnexMessageStore } from './knex-store';
import { fromDbTime, toDbTime, type Dialect } from './rows';
import type { MessageStore } from './types';

interface EncounterRow {
  id: number;
  version_id: string | null;
  last_updated: string | null;
}

interface RunRow {
  id: string;
  connection_id: string;
  started_at: Date | number | string;
  finished_at: Date | number | string;
  pages: number;
  fetched: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  duration_ms: number;
  complete: boolean | number;
  high_water_from: string | null;
  high_water_mark: string | null;
  errors: string;
}

/** A stored note, as read back (tests, the API). */
export interface StoredNote {
  source: string;
  resourceType: string;
  resourceId: string;
  title?: string;
  contentType: string;
  text?: string;
  extraction: string;
  reason?: string;
  bytes?: Buffer;
}

export interface StoredEncounter {
  encounterId: string;
  versionId?: string;
  lastUpdated?: string;
  status?: string;
  patientRef?: string;
  periodStart?: string;
  periodEnd?: string;
  encounter: unknown;
  patient?: unknown;
  notes: StoredNote[];
}

/** Ids per `where in`: under SQLite's bound-parameter limit. */
const IN_CHUNK = 500;

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e.message ?? '');
}

export class KnexFhirSyncStore implements FhirSyncStore {
  constructor(
    private readonly knex: Knex,
    private readonly dialect: Dialect,
  ) {}

  private now(): Date | number {
    return toDbTime(this.dialect, new Date());
  }

  async getHighWaterMark(connectionId: string, queryKey: string): Promise<string | undefined> {
    const row = await this.knex('fhir_sync_high_water')
      .select<{ high_water_mark: string }>('high_water_mark')
      .where({ connection_id: connectionId, query_key: queryKey })
      .first();
    return row?.high_water_mark;
  }

  async setHighWaterMark(connectionId: string, queryKey: string, value: string): Promise<void> {
    await this.knex('fhir_sync_high_water')
      .insert({ connection_id: connectionId, query_key: queryKey, high_water_mark: value, updated_at: this.now() })
      .onConflict(['connection_id', 'query_key'])
      .merge(['high_water_mark', 'updated_at']);
  }

  async versionsOf(connectionId: string, encounterIds: string[]): Promise<Map<string, { versionId?: string; lastUpdated?: string }>> {
    const out = new Map<string, { versionId?: string; lastUpdated?: string }>();
    for (let i = 0; i < encounterIds.length; i += IN_CHUNK) {
      const rows = await this.knex('fhir_encounters')
        .select<{ fhir_encounter_id: string; version_id: string | null; last_updated: string | null }[]>('fhir_encounter_id', 'version_id', 'last_updated')
        .where('connection_id', connectionId)
        .whereIn('fhir_encounter_id', encounterIds.slice(i, i + IN_CHUNK));
      for (const r of rows) out.set(r.fhir_encounter_id, { versionId: opt(r.version_id), lastUpdated: opt(r.last_updated) });
    }
    return out;
  }

  async saveEncounter(encounter: SyncedEncounter, retry = true): Promise<SaveOutcome> {
    try {
      return await this.knex.transaction((trx) => this.saveIn(trx, encounter));
    } catch (err) {
      // Another run inserted the same Encounter between our read and insert: decide again.
      if (retry && isUniqueViolation(err)) return this.saveEncounter(encounter, false);
      throw err;
    }
  }

  private async saveIn(trx: Knex.Transaction, e: SyncedEncounter): Promise<SaveOutcome> {
    const existing = await trx('fhir_encounters')
      .select<EncounterRow>('id', 'version_id', 'last_updated')
      .where({ connection_id: e.connectionId, fhir_encounter_id: e.encounterId })
      .first();
    if (existing) {
      if (e.versionId !== undefined && existing.version_id === e.versionId) return 'skipped';
      if (existing.last_updated && e.lastUpdated && instantBefore(e.lastUpdated, existing.last_updated)) return 'skipped';
    }
    const now = this.now();
    const values = {
      version_id: e.versionId ?? null,
      last_updated: e.lastUpdated ?? null,
      status: e.status ?? null,
      patient_ref: e.patientRef?.slice(0, 200) ?? null,
      period_start: e.periodStart ?? null,
      period_end: e.periodEnd ?? null,
      raw: JSON.stringify(e.encounter),
      patient_raw: e.patient ? JSON.stringify(e.patient) : null,
      note_count: e.notes.length,
      updated_at: now,
    };
    let rowId: number;
    if (existing) {
      rowId = existing.id;
      await trx('fhir_encounters').where({ id: rowId }).update(values);
      await trx('fhir_encounter_notes').where({ encounter_row_id: rowId }).delete();
    } else {
      const [inserted] = await trx('fhir_encounters')
        .insert({ ...values, connection_id: e.connectionId, fhir_encounter_id: e.encounterId, created_at: now })
        .returning<{ id: number }[]>('id');
      rowId = typeof inserted === 'object' ? inserted.id : (inserted as number);
    }
    if (e.notes.length) await trx('fhir_encounter_notes').insert(e.notes.map((n, i) => this.noteRow(rowId, i, n)));
    return existing ? 'updated' : 'created';
  }

  private noteRow(rowId: number, position: number, n: ExtractedNote): Record<string, unknown> {
    return {
      encounter_row_id: rowId,
      position,
      source: n.source.slice(0, 300),
      resource_type: n.resourceType,
      resource_id: n.resourceId,
      title: n.title?.slice(0, 500) ?? null,
      content_type: n.contentType.slice(0, 200),
      text: n.text ?? null,
      extraction: n.extraction,
      reason: n.reason ?? null,
      bytes: n.bytes ? Buffer.from(n.bytes) : null,
    };
  }

  async recordRun(run: SyncRun): Promise<void> {
    await this.knex('fhir_sync_runs').insert({
      id: run.id,
      connection_id: run.connectionId,
      started_at: toDbTime(this.dialect, run.startedAt),
      finished_at: toDbTime(this.dialect, run.finishedAt),
      pages: run.pages,
      fetched: run.fetched,
      created: run.created,
      updated: run.updated,
      skipped: run.skipped,
      failed: run.failed,
      duration_ms: run.durationMs,
      complete: run.complete,
      high_water_from: run.highWaterFrom ?? null,
      high_water_mark: run.highWaterMark ?? null,
      errors: JSON.stringify(run.errors),
    });
  }

  /** Newest first. */
  async listRuns(filter: { connectionId?: string; limit?: number } = {}): Promise<SyncRun[]> {
    const q = this.knex('fhir_sync_runs').select<RunRow[]>('*');
    if (filter.connectionId) q.where('connection_id', filter.connectionId);
    const rows = await q.orderBy([{ column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(Math.min(Math.max(filter.limit ?? 20, 1), 500));
    return rows.map((r) => ({
      id: r.id,
      connectionId: r.connection_id,
      startedAt: fromDbTime(r.started_at),
      finishedAt: fromDbTime(r.finished_at),
      pages: r.pages,
      fetched: r.fetched,
      created: r.created,
      updated: r.updated,
      skipped: r.skipped,
      failed: r.failed,
      durationMs: r.duration_ms,
      complete: Boolean(r.complete),
      highWaterFrom: opt(r.high_water_from),
      highWaterMark: opt(r.high_water_mark),
      errors: JSON.parse(r.errors) as SyncErrorEntry[],
    }));
  }

  /** One stored Encounter with its notes in order (tests, API). */
  async getEncounter(connectionId: string, encounterId: string): Promise<StoredEncounter | undefined> {
    const row = await this.knex('fhir_encounters').where({ connection_id: connectionId, fhir_encounter_id: encounterId }).first();
    if (!row) return undefined;
    const notes = await this.knex('fhir_encounter_notes').where({ encounter_row_id: row.id }).orderBy('position');
    return {
      encounterId: row.fhir_encounter_id,
      versionId: opt(row.version_id),
      lastUpdated: opt(row.last_updated),
      status: opt(row.status),
      patientRef: opt(row.patient_ref),
      periodStart: opt(row.period_start),
      periodEnd: opt(row.period_end),
      encounter: JSON.parse(row.raw),
      patient: row.patient_raw ? JSON.parse(row.patient_raw) : undefined,
      notes: notes.map((n: Record<string, unknown>) => ({
        source: n.source as string,
        resourceType: n.resource_type as string,
        resourceId: n.resource_id as string,
        title: opt(n.title as string | null),
        contentType: n.content_type as string,
        text: opt(n.text as string | null),
        extraction: n.extraction as string,
        reason: opt(n.reason as string | null),
        bytes: n.bytes ? Buffer.from(n.bytes as Buffer) : undefined,
      })),
    };
  }

  /** How many Encounters are stored for a connection. */
  async countEncounters(connectionId: string): Promise<number> {
    const row = await this.knex('fhir_encounters').where({ connection_id: connectionId }).count<{ n: number | string }>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }
}

/** The sync store sharing the message store's database (the node, the CLI and the API use this). */
export function fhirSyncStoreFor(store: MessageStore): KnexFhirSyncStore {
  if (!(store instanceof KnexMessageStore)) throw new ValidationError('FHIR_SYNC_STORE', 'The FHIR sync needs the knex message store');
  return new KnexFhirSyncStore(store.knex, store.dialect);
}
