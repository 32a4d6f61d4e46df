/**
 * EncounterSync: pulls Encounters page by page (Bundle `next` links), with each Encounter's
 * Patient and clinical notes, and stores them deduplicated by connection + Encounter id + version.
 *
 * Related resources come with the search when the CapabilityStatement lists
 * `_include=Encounter:patient` / `_revinclude=DocumentReference:encounter` /
 * `Composition:encounter`; otherwise they are fetched per page with one OR-search per type
 * (`Patient?_id=a,b`, `DocumentReference?encounter=Encounter/a,Encounter/b`), and per Encounter
 * only if that search fails. Encounters whose stored version is current are skipped before any of
 * that, so an incremental rerun costs one search.
 *
 * Failures: an Encounter that fails (a 404 attachment, an unreadable Patient) is counted and
 * recorded; the run continues. A page that cannot be read after retries is recorded; for offset
 * paging the run skips to the page after it, otherwise it stops there. Either way the high-water
 * mark does not move past what was not stored, so the next run fetches it again.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, CapabilityStatement, Composition, DocumentReference, Encounter, Patient, Resource } from '@medplum/fhirtypes';
import { toWaslError } from '../../../common/errors';
import { logger as createLogger, type Logger } from '../../../common/logger';
import { compositionNotes, documentReferenceNotes } from './notes';
import type { ExtractedNote, FhirReader, FhirSyncStore, SaveOutcome, SyncedEncounter, SyncErrorEntry, SyncQuery, SyncRun } from './types';

export interface EncounterSyncOptions {
  /** The FHIR connection's id: scopes dedupe, high-water marks and runs. */
  connectionId: string;
  reader: FhirReader;
  store: FhirSyncStore;
  /** The connection's base URL, to recognise absolute `<base>/Binary/<id>` attachment URLs. */
  baseUrl?: string;
  logger?: Logger;
  /** Encounters of one page processed at once (default 8). */
  concurrency?: number;
  /**
   * Tries per page before it is recorded as failed (default 1: the reader retries transient
   * failures itself, and more tries here would multiply its attempts and trip its breaker).
   */
  pageAttempts?: number;
  /** First retry delay of a page in ms, doubled per try (default 200). */
  pageRetryDelayMs?: number;
  /** Most errors kept in a run's summary (default 100); the counts stay exact. */
  maxErrors?: number;
}

export interface SyncHooks {
  /** Called for each created or updated Encounter after it is stored (awaited: back-pressure). */
  onEncounter?(encounter: SyncedEncounter, outcome: SaveOutcome): void | Promise<void>;
  /** Stops after the current page. */
  signal?: AbortSignal;
}

interface IncludeSupport {
  patient?: string;
  documentReference: boolean;
  composition: boolean;
}

/** Related resources of a page, grouped by `Encounter/<id>` and `Patient/<id>`. */
interface Related {
  patients: Map<string, Patient>;
  docs: Map<string, DocumentReference[]>;
  compositions: Map<string, Composition[]>;
  /** Whether docs/compositions hold the complete answer for the page (else fetch per Encounter). */
  docsLoaded: boolean;
  compositionsLoaded: boolean;
}

const DEFAULT_PAGE_SIZE = 100;
/** Ids per OR-search: keeps URLs well under common 8 KB limits. */
const OR_CHUNK = 50;
/** Pages followed for one related-resource search, a guard against a server that loops. */
const MAX_RELATED_PAGES = 100;
/** Broken pages skipped in a row (offset paging) before the run gives up on the rest. */
const MAX_SKIPPED_PAGES = 3;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function groupBy<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** `Patient/<id>` from a reference, ignoring absolute URLs of other servers and contained refs. */
function localRef(reference: string | undefined, type: string): string | undefined {
  if (!reference) return undefined;
  const m = new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`).exec(reference);
  return m ? `${type}/${m[1]}` : undefined;
}

function isRetired(resource: { status?: string; docStatus?: string }): boolean {
  return resource.status === 'entered-in-error' || resource.docStatus === 'entered-in-error';
}

/**
 * Whether FHIR instant `a` is before `b`. Parsed, not compared as text: servers may answer with
 * an offset (`+03:00`) or without milliseconds. Unparseable values are never "before".
 */
export function instantBefore(a: string, b: string): boolean {
  const x = Date.parse(a);
  const y = Date.parse(b);
  return Number.isFinite(x) && Number.isFinite(y) && x < y;
}

/** A stable key for the query's filters, so each distinct query keeps its own high-water mark. */
export function queryKeyOf(query: SyncQuery): string {
  const parts = (['since', 'until', 'status', 'patient'] as const)
    .filter((k) => query[k] !== undefined && query[k] !== '')
    .map((k) => `${k}=${query[k]}`);
  const key = parts.join('&');
  // Patient ids may be identifiers of a person: never store them in clear in the key.
  return query.patient || key.length > 150 ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
}

/** The connection id for a bare base URL: origin and path, without credentials or query. */
export function connectionIdForUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`.slice(0, 200);
}

/** Search parameters for the Encounter search. */
export function encounterSearchParams(query: SyncQuery, lastUpdatedFrom: string | undefined, include: IncludeSupport): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = { _count: String(query.pageSize ?? DEFAULT_PAGE_SIZE) };
  const dates: string[] = [];
  if (query.since) dates.push(`ge${query.since}`);
  if (query.until) dates.push(`le${query.until}`);
  if (dates.length) params.date = dates;
  if (query.status) params.status = query.status;
  if (query.patient) params.patient = query.patient.includes('/') ? query.patient : `Patient/${query.patient}`;
  // ge, not gt: Encounters changed in the same millisecond as the mark are fetched again and skipped by version.
  if (lastUpdatedFrom) params._lastUpdated = `ge${lastUpdatedFrom}`;
  if (include.patient) params._include = include.patient;
  const rev = [include.documentReference && 'DocumentReference:encounter', include.composition && 'Composition:encounter'].filter(Boolean) as string[];
  if (rev.length) params._revinclude = rev;
  return params;
}

/** Reads `_include`/`_revinclude` support for Encounter from a CapabilityStatement. */
export function includeSupportOf(caps: CapabilityStatement | undefined): IncludeSupport {
  const rest = caps?.rest?.find((r) => r.mode === 'server') ?? caps?.rest?.[0];
  const enc = rest?.resource?.find((r) => r.type === 'Encounter');
  const inc = new Set(enc?.searchInclude ?? []);
  const rev = new Set(enc?.searchRevInclude ?? []);
  return {
    patient: inc.has('Encounter:patient') ? 'Encounter:patient' : inc.has('Encounter:subject') ? 'Encounter:subject' : undefined,
    documentReference: rev.has('DocumentReference:encounter'),
    composition: rev.has('Composition:encounter'),
  };
}

/** For offset paging (`_offset`/`__offset`/`_getpagesoffset`): the link of the page after `url`. */
export function pageAfter(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  for (const name of ['_offset', '__offset', '_getpagesoffset']) {
    const offset = Number(u.searchParams.get(name));
    const count = Number(u.searchParams.get('_count'));
    if (u.searchParams.has(name) && Number.isInteger(offset) && Number.isInteger(count) && count > 0) {
      u.searchParams.set(name, String(offset + count));
      return u.toString();
    }
  }
  return undefined;
}

function nextLink(bundle: Bundle): string | undefined {
  return bundle.link?.find((l) => l.relation === 'next')?.url;
}

export class EncounterSync {
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly pageAttempts: number;
  private readonly pageRetryDelayMs: number;
  private readonly maxErrors: number;

  constructor(private readonly options: EncounterSyncOptions) {
    this.log = options.logger ?? createLogger({ stage: 'fhir-sync' });
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.pageAttempts = Math.max(1, options.pageAttempts ?? 1);
    this.pageRetryDelayMs = options.pageRetryDelayMs ?? 200;
    this.maxErrors = options.maxErrors ?? 100;
  }

  /** Runs one sync and stores its summary. Throws only if the store fails. */
  async run(query: SyncQuery = {}, hooks: SyncHooks = {}): Promise<SyncRun> {
    const { connectionId, reader, store } = this.options;
    const startedAt = new Date();
    const t0 = performance.now();
    const run: SyncRun = {
      id: randomUUID(), connectionId, startedAt, finishedAt: startedAt, pages: 0, complete: true,
      fetched: 0, created: 0, updated: 0, skipped: 0, failed: 0, durationMs: 0, errors: [],
    };
    const incremental = query.incremental !== false;
    const queryKey = queryKeyOf(query);
    const from = query.lastUpdatedSince ?? (incremental ? await store.getHighWaterMark(connectionId, queryKey) : undefined);
    run.highWaterFrom = from;
    let maxSeen: string | undefined;
    let minFailed: string | undefined;

    const addError = (e: SyncErrorEntry) => {
      if (run.errors.length < this.maxErrors) run.errors.push(e);
    };

    const include = await this.includeSupport();
    let pageNo = 1;
    let page: Bundle | undefined = await this.fetchPage(() => reader.search('Encounter', encounterSearchParams(query, from, include)), pageNo, run, addError);

    while (page) {
      run.pages += 1;
      const encounters = (page.entry ?? [])
        .filter((e) => e.resource?.resourceType === 'Encounter' && (e.search?.mode ?? 'match') === 'match')
        .map((e) => e.resource as Encounter);
      run.fetched += encounters.length;
      for (const enc of encounters) {
        const lu = enc.meta?.lastUpdated;
        if (lu && (!maxSeen || instantBefore(maxSeen, lu))) maxSeen = lu;
      }
      const failedHere = await this.processPage(page, encounters, include, run, addError, hooks);
      for (const lu of failedHere) if (!minFailed || instantBefore(lu, minFailed)) minFailed = lu;

      if (hooks.signal?.aborted) {
        run.complete = false;
        break;
      }
      const current: Bundle = page;
      const link = nextLink(current);
      if (!link) break;
      pageNo += 1;
      page = await this.fetchPage(() => reader.nextPage(current), pageNo, run, addError);
      // A page that stayed broken: with offset paging, go on with the page after it.
      let lost = link;
      for (let skips = 0; !page && skips < MAX_SKIPPED_PAGES && !hooks.signal?.aborted; skips++) {
        const after = pageAfter(lost);
        if (!after) break;
        lost = after;
        pageNo += 1;
        const synthetic: Bundle = { resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: after }] };
        page = await this.fetchPage(() => reader.nextPage(synthetic), pageNo, run, addError);
        if (page && !page.entry?.length) {
          page = undefined;
          break;
        }
      }
    }

    // Not past an Encounter that failed (ge: it is fetched again), and nowhere if a page was lost.
    const mark = run.complete ? minFailed ?? maxSeen ?? from : from;
    if (incremental && mark && mark !== from) await store.setHighWaterMark(connectionId, queryKey, mark);
    run.highWaterMark = mark;
    run.finishedAt = new Date();
    run.durationMs = Math.round(performance.now() - t0);
    await store.recordRun(run);
    this.log.info('fhir sync finished', {
      connectionId, runId: run.id, pages: run.pages, fetched: run.fetched, created: run.created, updated: run.updated,
      skipped: run.skipped, failed: run.failed, complete: run.complete, durationMs: run.durationMs,
    });
    return run;
  }

  private async includeSupport(): Promise<IncludeSupport> {
    const { reader } = this.options;
    try {
      const got = reader.capabilities
        ? await reader.capabilities()
        : (JSON.parse(Buffer.from((await reader.fetchUrl('metadata')).bytes).toString('utf8')) as CapabilityStatement);
      return includeSupportOf('statement' in got ? got.statement : got);
    } catch (err) {
      this.log.warn('fhir sync: no CapabilityStatement, fetching related resources per page', { code: toWaslError(err).code });
      return { documentReference: false, composition: false };
    }
  }

  /** One page with retries; undefined (and the run marked incomplete) when it stays broken. */
  private async fetchPage(
    get: () => Promise<Bundle | undefined>,
    pageNo: number,
    run: SyncRun,
    addError: (e: SyncErrorEntry) => void,
  ): Promise<Bundle | undefined> {
    let last: unknown;
    for (let attempt = 1; attempt <= this.pageAttempts; attempt++) {
      try {
        const bundle = await get();
        if (bundle && bundle.resourceType !== 'Bundle') throw new Error('page is not a Bundle');
        return bundle;
      } catch (err) {
        last = err;
        if (attempt < this.pageAttempts) await sleep(this.pageRetryDelayMs * 2 ** (attempt - 1));
      }
    }
    const e = toWaslError(last);
    run.complete = false;
    addError({ page: pageNo, code: e.code, message: `page ${pageNo} could not be read: ${e.code}` });
    this.log.warn('fhir sync: page failed', { connectionId: this.options.connectionId, page: pageNo, code: e.code });
    return undefined;
  }

  /** Stores a page's Encounters; returns the lastUpdated of those that failed. */
  private async processPage(
    page: Bundle,
    encounters: Encounter[],
    include: IncludeSupport,
    run: SyncRun,
    addError: (e: SyncErrorEntry) => void,
    hooks: SyncHooks,
  ): Promise<string[]> {
    const { connectionId, store } = this.options;
    const stored = await store.versionsOf(connectionId, encounters.map((e) => e.id ?? ''));
    const todo = encounters.filter((enc) => {
      const prev = stored.get(enc.id ?? '');
      const version = enc.meta?.versionId ?? enc.meta?.lastUpdated;
      const same = prev && version !== undefined && prev.versionId === version;
      const older = prev?.lastUpdated && enc.meta?.lastUpdated && instantBefore(enc.meta.lastUpdated, prev.lastUpdated);
      if (same || older) run.skipped += 1;
      return !(same || older);
    });
    if (todo.length === 0) return [];

    const related = await this.loadRelated(page, todo, include);
    const failedLastUpdated: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const enc = todo[next++];
        try {
          const record = await this.buildRecord(enc, related);
          const outcome = await store.saveEncounter(record);
          run[outcome] += 1;
          if (outcome !== 'skipped') await hooks.onEncounter?.(record, outcome);
        } catch (err) {
          const e = toWaslError(err);
          run.failed += 1;
          if (enc.meta?.lastUpdated) failedLastUpdated.push(enc.meta.lastUpdated);
          addError({ encounterId: enc.id, code: e.code, message: e.message });
          this.log.warn('fhir sync: encounter failed', { connectionId, encounterId: enc.id, code: e.code });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, todo.length) }, worker));
    return failedLastUpdated;
  }

  /** Patients and notes for a page: from the included entries, else one OR-search per type. */
  private async loadRelated(page: Bundle, encounters: Encounter[], include: IncludeSupport): Promise<Related> {
    const related: Related = {
      patients: new Map(), docs: new Map(), compositions: new Map(),
      docsLoaded: include.documentReference, compositionsLoaded: include.composition,
    };
    const addResource = (r: Resource | undefined) => {
      if (!r?.id) return;
      if (r.resourceType === 'Patient') related.patients.set(`Patient/${r.id}`, r);
      else if (r.resourceType === 'DocumentReference') {
        for (const ref of r.context?.encounter ?? []) {
          const key = localRef(ref.reference, 'Encounter');
          if (key) groupBy(related.docs, key, r);
        }
      } else if (r.resourceType === 'Composition') {
        const key = localRef(r.encounter?.reference, 'Encounter');
        if (key) groupBy(related.compositions, key, r);
      }
    };
    for (const entry of page.entry ?? []) if (entry.search?.mode === 'include') addResource(entry.resource);

    const encRefs = encounters.map((e) => `Encounter/${e.id}`);
    const patientIds = [...new Set(encounters.map((e) => localRef(e.subject?.reference, 'Patient')).filter((r): r is string => !!r && !related.patients.has(r)))]
      .map((r) => r.slice('Patient/'.length));
    const jobs: Promise<void>[] = [];
    if (patientIds.length) {
      // Missing patients are read one by one later; a failure here only costs speed.
      jobs.push(this.searchChunked('Patient', '_id', patientIds).then((rs) => rs.forEach(addResource), () => undefined));
    }
    if (!related.docsLoaded) {
      jobs.push(this.searchChunked('DocumentReference', 'encounter', encRefs).then(
        (rs) => {
          rs.forEach(addResource);
          related.docsLoaded = true;
        },
        () => undefined,
      ));
    }
    if (!related.compositionsLoaded) {
      jobs.push(this.searchChunked('Composition', 'encounter', encRefs).then(
        (rs) => {
          rs.forEach(addResource);
          related.compositionsLoaded = true;
        },
        () => undefined,
      ));
    }
    await Promise.all(jobs);
    return related;
  }

  /** OR-search in chunks (`name=a,b,c`), following next links; every matching resource. */
  private async searchChunked(type: string, name: string, values: string[]): Promise<Resource[]> {
    const out: Resource[] = [];
    for (let i = 0; i < values.length; i += OR_CHUNK) {
      out.push(...(await this.searchAll(type, { [name]: values.slice(i, i + OR_CHUNK).join(','), _count: '1000' })));
    }
    return out;
  }

  private async searchAll(type: string, params: Record<string, string>): Promise<Resource[]> {
    const { reader } = this.options;
    const out: Resource[] = [];
    let bundle: Bundle | undefined = await reader.search(type, params);
    for (let pages = 0; bundle && pages < MAX_RELATED_PAGES; pages++) {
      out.push(...(bundle.entry ?? []).map((e: BundleEntry) => e.resource).filter((r): r is Resource => r?.resourceType === type));
      bundle = nextLink(bundle) ? await reader.nextPage(bundle) : undefined;
    }
    return out;
  }

  private async buildRecord(enc: Encounter, related: Related): Promise<SyncedEncounter> {
    const { reader, connectionId, baseUrl } = this.options;
    const encRef = `Encounter/${enc.id}`;
    const patientRef = localRef(enc.subject?.reference, 'Patient');
    let patient: Resource | undefined = patientRef ? related.patients.get(patientRef) : undefined;
    if (patientRef && !patient) patient = await reader.read('Patient', patientRef.slice('Patient/'.length));

    const docs = related.docsLoaded ? related.docs.get(encRef) ?? [] : ((await this.searchAll('DocumentReference', { encounter: encRef })) as DocumentReference[]);
    const comps = related.compositionsLoaded
      ? related.compositions.get(encRef) ?? []
      : ((await this.searchAll('Composition', { encounter: encRef })) as Composition[]);

    const notes: ExtractedNote[] = [];
    for (const c of comps) if (!isRetired(c)) notes.push(...compositionNotes(c));
    for (const d of docs) if (!isRetired(d)) notes.push(...(await documentReferenceNotes(reader, d, baseUrl)));

    return {
      connectionId,
      encounterId: enc.id ?? '',
      versionId: enc.meta?.versionId ?? enc.meta?.lastUpdated,
      lastUpdated: enc.meta?.lastUpdated,
      status: enc.status,
      patientRef: enc.subject?.reference,
      periodStart: enc.period?.start,
      periodEnd: enc.period?.end,
      encounter: enc,
      patient,
      notes,
    };
  }
}
