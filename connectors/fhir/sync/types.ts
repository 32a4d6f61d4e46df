/**
 * Types of the Encounter and note sync (issue 5, "Encounter and note ingestion"). The sync engine
 * (encounter-sync.ts) reads through a {@link FhirReader} and writes through a {@link FhirSyncStore};
 * it imports nothing of Node-RED or engine/, so the node, the CLI, the API and the bench share it.
 */
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';

/**
 * The four reads the sync needs. `FhirConnectionClient` (connectors/fhir/fhir-client.ts) satisfies
 * it with auth, retry, breaker and rate limit.
 */
export interface FhirReader {
  /** Type-level search; `params` values that are arrays repeat the parameter. */
  search(type: string, params: Record<string, string | number | string[]>): Promise<Bundle>;
  /** The page behind the Bundle's `next` link, or undefined when there is none. */
  nextPage(bundle: Bundle): Promise<Bundle | undefined>;
  read(type: string, id: string): Promise<Resource>;
  /**
   * GET of an absolute URL or one relative to the base (attachments, `metadata`). `contentType`
   * may carry parameters; `charset`, when set, names the charset separately.
   */
  fetchUrl(url: string): Promise<{ bytes: Uint8Array; contentType?: string; charset?: string }>;
  /** The CapabilityStatement (bare or as `{ statement }`); without it the sync GETs `metadata`. */
  capabilities?(): Promise<CapabilityStatement | { statement: CapabilityStatement }>;
}

/** What to sync. Dates are FHIR dates or instants (`2026-01-01`, `2026-01-01T00:00:00Z`). */
export interface SyncQuery {
  /** Encounter.date on or after. */
  since?: string;
  /** Encounter.date on or before. */
  until?: string;
  /** Encounter.status, e.g. `finished` (comma-separated for several). */
  status?: string;
  /** `Patient/<id>` or `<id>`. */
  patient?: string;
  /** Only Encounters changed on or after this instant; overrides the remembered high-water mark. */
  lastUpdatedSince?: string;
  /** Entries per page (`_count`, default 100). */
  pageSize?: number;
  /** Remember and use the high-water mark (default true). */
  incremental?: boolean;
}

export type ExtractionStatus = 'extracted' | 'not-extracted';

/** One clinical note: a Composition section, an attachment, or a narrative. */
export interface ExtractedNote {
  /** Where it came from: `DocumentReference/<id>#content[0]`, `Composition/<id>#section[1]`, `Composition/<id>#text`. */
  source: string;
  resourceType: 'DocumentReference' | 'Composition';
  resourceId: string;
  title?: string;
  /** Media type without parameters (`text/plain`), `text/xhtml` for narratives. */
  contentType: string;
  text?: string;
  extraction: ExtractionStatus;
  /** Why it was not extracted (no PHI): `no-text-layer`, `unsupported-type`, ... */
  reason?: string;
  /** The original bytes when not extracted, so a person or a later tool can read them. */
  bytes?: Uint8Array;
}

/** An Encounter with its Patient and notes, as stored and as emitted by wasl-fhir-poll. */
export interface SyncedEncounter {
  connectionId: string;
  encounterId: string;
  /** `meta.versionId`, else `meta.lastUpdated`; the dedupe key with the encounter id. */
  versionId?: string;
  lastUpdated?: string;
  status?: string;
  patientRef?: string;
  periodStart?: string;
  periodEnd?: string;
  encounter: Resource;
  patient?: Resource;
  notes: ExtractedNote[];
}

export type SaveOutcome = 'created' | 'updated' | 'skipped';

/** An error kept in the run summary: ids, codes and statuses only, never patient data. */
export interface SyncErrorEntry {
  /** The Encounter, or absent for a page-level failure. */
  encounterId?: string;
  /** 1-based page number for page-level failures. */
  page?: number;
  code: string;
  message: string;
}

export interface SyncSummary {
  fetched: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
  durationMs: number;
}

export interface SyncRun extends SyncSummary {
  id: string;
  connectionId: string;
  startedAt: Date;
  finishedAt: Date;
  pages: number;
  /** False when a page could not be read: the high-water mark then stays where it was. */
  complete: boolean;
  /** The `_lastUpdated` lower bound used by this run, and the one stored for the next. */
  highWaterFrom?: string;
  highWaterMark?: string;
  errors: SyncErrorEntry[];
}

/** Persistence for the sync; engine/store/fhir-sync-store.ts implements it on knex. */
export interface FhirSyncStore {
  getHighWaterMark(connectionId: string, queryKey: string): Promise<string | undefined>;
  setHighWaterMark(connectionId: string, queryKey: string, value: string): Promise<void>;
  /** Stored dedupe versions of these Encounters (absent: never stored). */
  versionsOf(connectionId: string, encounterIds: string[]): Promise<Map<string, { versionId?: string; lastUpdated?: string }>>;
  /** Insert, replace (newer version, notes replaced) or skip (same version). */
  saveEncounter(encounter: SyncedEncounter): Promise<SaveOutcome>;
  recordRun(run: SyncRun): Promise<void>;
  listRuns(filter?: { connectionId?: string; limit?: number }): Promise<SyncRun[]>;
}
