/**
 * CAQH ProView adapter: Roster API (add / update / de-roster → batch id), batch-result polling,
 * Status Check, supporting-document retrieval. Source: ../shared/domain/CAQH.md ([C] = CAQH doc).
 *
 * CONFIRMED [C]: HTTP Basic auth + JSON; 401 = bad credentials / wrong environment, 421 = creds do
 * not match the organization (DirectAssure); every call carries `organization_id` (≤ 5 digits) and
 * product PV; paths POST|PUT /RosterAPI/API/Roster?product=PV, /ProviewAPI/API/Deroster, GET
 * /RosterAPI/API/Roster (result), GET /RosterAPI/api/providerstatus?Product&Caqh_Provider_Id&
 * Organization_Id, GET /DocumentAPI/api/suppdocs (PDF bytes); bodies are arrays; answers
 * `200 {"batch_Id"}`, `400 {"Message"}`, `{batch_status, batch_time, roster_result}`.
 * Credentials: env var NAMES in settings (`usernameEnv`/`passwordEnv`, default CAQH_USERNAME /
 * CAQH_PASSWORD), never values in files.
 * CONFIGURABLE because UNCONFIRMED (default): `baseUrl` (none; demo host documented, production not);
 * `batchIdParam` (`batchId`; the v2.1 samples say `batch_id`); `derosterMethod` (PUT; docs say both);
 * `batchStatuses` (complete ['Complete'], failed []); `status.attestedStatuses` / `attestationDateField`
 * (no documented attestation-date field: see parse.ts); `documents.params` (names not public);
 * `paths` (docs are old); rate limits (none known); `poll` back-off (30 s → 15 min, ≤ 1 h: our advice).
 * NOT OFFERED (no public API): profile content (extracts only), a document list/metadata endpoint
 * (Wasl derives size, type, SHA-256 from the retrieved bytes), webhooks, OAuth.
 */
import crypto from 'node:crypto';
import { IntegrationError, TransientError, ValidationError, WaslError, toWaslError } from '../../common/errors';
import { AdapterHttpClient, responseBodyOf } from '../adapters/http';
import type { Logger } from '../../common/logger';
import type { Adapter, AdapterCallEvent, HealthCheckResult, HttpAdapterSettings } from '../adapters/types';
import { parseRetryAfter } from '../fhir/retry-after';
import {
  buildRosterAdd,
  buildRosterDelete,
  buildRosterUpdate,
  checkCaqhProviderId,
  checkOrganizationId,
  errorMessageOf,
  parseBatchAccepted,
  parseBatchResult,
  parseProviderStatus,
  type BatchParseOptions,
  type CaqhBatchResult,
  type CaqhBatchSubmission,
  type CaqhProviderStatus,
  type CaqhRosterAction,
  type CaqhRosterAddEntry,
  type CaqhRosterDeleteEntry,
  type CaqhRosterUpdateEntry,
  type StatusParseOptions,
} from './parse';

export * from './parse';

/** The demo/test host the public docs point at [C]. Production is not shown publicly. */
export const CAQH_DEMO_BASE_URL = 'https://proview-demo.caqh.org';

export const DEFAULT_CAQH_PATHS = {
  roster: '/RosterAPI/API/Roster',
  deroster: '/ProviewAPI/API/Deroster',
  status: '/RosterAPI/api/providerstatus',
  documents: '/DocumentAPI/api/suppdocs',
} as const;

/** Query parameter names of the document call: NOT public; these mirror the Status Check spelling. */
export const DEFAULT_DOCUMENT_PARAMS = { caqhProviderId: 'Caqh_Provider_Id', organizationId: 'Organization_Id', documentType: 'Document_Type' } as const;

export interface CaqhPollSettings {
  /** First wait between polls (default 30 s). */
  initialDelayMs?: number;
  /** Ceiling of the doubling wait (default 15 min). */
  maxDelayMs?: number;
  /** Longest `waitForBatch` keeps polling before it hands back a still-pending result (default 1 h). */
  maxWaitMs?: number;
}

export interface CaqhAdapterSettings extends HttpAdapterSettings {
  /** Adapter id in the registry (default `caqh`). */
  id?: string;
  /** The PO's organization id, up to 5 digits [C]. */
  organizationId: string;
  /** Names of the environment variables holding the Basic-auth user and password. */
  usernameEnv?: string;
  passwordEnv?: string;
  paths?: Partial<Record<keyof typeof DEFAULT_CAQH_PATHS, string>>;
  /** Query name of the batch id on the Get-result call (unconfirmed; default `batchId`). */
  batchIdParam?: string;
  /** De-roster verb (docs say both; default PUT). */
  derosterMethod?: 'PUT' | 'POST';
  batchStatuses?: { complete?: string[]; failed?: string[] };
  status?: StatusParseOptions;
  documents?: { params?: Partial<Record<keyof typeof DEFAULT_DOCUMENT_PARAMS, string>> };
  poll?: CaqhPollSettings;
  /** A rostered provider whose Status Check is the live health probe; without it health reflects the breaker only. */
  healthCheck?: { caqhProviderId?: string };
}

export interface CaqhAdapterDeps {
  onEvent?: (e: AdapterCallEvent) => void;
  /** Where credentials are read (default process.env). */
  env?: Record<string, string | undefined>;
  /** fetch for the binary document call (default global fetch). */
  fetch?: typeof fetch;
  /** Logger of the HTTP client (default a child of the root logger). */
  logger?: Logger;
}

/** A supporting document as retrieved: its bytes and the metadata Wasl keeps, or why CAQH withheld it. */
export type CaqhDocumentResult =
  | { available: true; caqhProviderId: string; documentType: string; bytes: Buffer; contentType: string; size: number; sha256: string }
  | { available: false; caqhProviderId: string; documentType: string; httpStatus: number; reason?: string };

const DEFAULT_POLL: Required<CaqhPollSettings> = { initialDelayMs: 30_000, maxDelayMs: 900_000, maxWaitMs: 3_600_000 };

/** CAQH ProView Roster / Status Check / Document API adapter. */
export class CaqhAdapter implements Adapter {
  readonly id: string;
  readonly kind = 'caqh' as const;
  readonly operations = ['rosterAdd', 'rosterUpdate', 'rosterDelete', 'batchResult', 'statusCheck', 'supportingDocument'] as const;

  private readonly http: AdapterHttpClient;
  private readonly organizationId: string;
  private readonly paths: Record<keyof typeof DEFAULT_CAQH_PATHS, string>;
  private readonly docParams: Record<keyof typeof DEFAULT_DOCUMENT_PARAMS, string>;
  private readonly batchOpts: BatchParseOptions;
  private readonly env: Record<string, string | undefined>;
  private readonly fetchImpl: typeof fetch;
  private readonly waits = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly settings: CaqhAdapterSettings,
    private readonly deps: CaqhAdapterDeps = {},
  ) {
    this.id = settings.id ?? 'caqh';
    this.organizationId = checkOrganizationId(settings.organizationId, 'caqh.organizationId');
    if (!settings.baseUrl) throw new ValidationError('CAQH_CONFIG', 'caqh.baseUrl is required (no public production URL; the demo host is https://proview-demo.caqh.org)', { path: 'baseUrl' });
    this.paths = { ...DEFAULT_CAQH_PATHS, ...settings.paths };
    this.docParams = { ...DEFAULT_DOCUMENT_PARAMS, ...settings.documents?.params };
    this.batchOpts = { completeStatuses: settings.batchStatuses?.complete, failedStatuses: settings.batchStatuses?.failed };
    this.env = deps.env ?? process.env;
    this.fetchImpl = deps.fetch ?? fetch;
    this.http = new AdapterHttpClient({ ...settings, adapterId: this.id, onEvent: deps.onEvent, logger: deps.logger });
  }

  /** The PO's organization id every call carries. */
  get organization(): string {
    return this.organizationId;
  }

  /** `Authorization: Basic …` from the env vars named in settings; a missing one is a config error, found before any call. */
  private authHeaders(): Record<string, string> {
    const userVar = this.settings.usernameEnv ?? 'CAQH_USERNAME';
    const passVar = this.settings.passwordEnv ?? 'CAQH_PASSWORD';
    const user = this.env[userVar];
    const pass = this.env[passVar];
    if (!user || !pass) {
      throw new ValidationError('CAQH_CREDENTIALS', `CAQH credentials missing: set the environment variables ${!user ? userVar : ''}${!user && !pass ? ' and ' : ''}${!pass ? passVar : ''}`, {
        details: { usernameEnv: userVar, passwordEnv: passVar },
      });
    }
    // RFC 7617: user-id may not contain a colon; CAQH issues plain ids, so a colon is a config slip.
    if (user.includes(':')) throw new ValidationError('CAQH_CREDENTIALS', `The CAQH user name in ${userVar} contains ':'`);
    return { authorization: `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`, accept: 'application/json' };
  }

  private guard(): void {
    if (this.closed) throw new TransientError('CAQH_CLOSED', `CAQH adapter ${this.id} is closed`);
  }

  /** Runs one call; turns its failure into CAQH's meaning (CAQH.md §7 "Errors"). */
  private async call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.guard();
    try {
      return await fn();
    } catch (err) {
      throw classifyCaqhError(err, operation, this.id);
    }
  }

  /** Adds providers to the roster (Initial Add or Quick Add). Answers at once with the batch id; poll it with {@link batchResult} / {@link waitForBatch}. */
  async rosterAdd(entries: readonly CaqhRosterAddEntry[]): Promise<CaqhBatchSubmission> {
    const body = buildRosterAdd(entries, this.organizationId);
    return this.submit('add', 'POST', this.paths.roster, body);
  }

  /** Updates roster attributes (recredential dates, flags, po_provider_id) of rostered providers. */
  async rosterUpdate(entries: readonly CaqhRosterUpdateEntry[]): Promise<CaqhBatchSubmission> {
    const body = buildRosterUpdate(entries, this.organizationId);
    return this.submit('update', 'PUT', this.paths.roster, body);
  }

  /** Removes providers from the roster (de-roster). */
  async rosterDelete(entries: readonly CaqhRosterDeleteEntry[]): Promise<CaqhBatchSubmission> {
    const body = buildRosterDelete(entries, this.organizationId);
    return this.submit('delete', this.settings.derosterMethod ?? 'PUT', this.paths.deroster, body);
  }

  private async submit(action: CaqhRosterAction, method: 'POST' | 'PUT', path: string, body: unknown[]): Promise<CaqhBatchSubmission> {
    const headers = this.authHeaders();
    const operation = `roster-${action}`;
    // No idempotency key: CAQH documents none, and a resent add creates roster exceptions. The
    // sync (engine/providers/caqh-sync.ts) keeps a ledger of submitted payloads instead.
    const answer = await this.call(operation, () => this.http.sendJson<unknown>(method, `${path}?product=PV`, body, { operation, headers }));
    return parseBatchAccepted(answer, action, body.length);
  }

  /** One poll of a batch's result (no waiting). */
  async batchResult(batchId: string): Promise<CaqhBatchResult> {
    if (!batchId) throw new ValidationError('CAQH_FIELD', 'batchId is required', { path: 'batchId' });
    const headers = this.authHeaders();
    const answer = await this.call('batch-result', () =>
      this.http.getJson<unknown>(this.paths.roster, {
        operation: 'batch-result',
        query: { product: 'PV', [this.settings.batchIdParam ?? 'batchId']: batchId },
        headers,
        cacheKey: false,
      }),
    );
    return parseBatchResult(answer, batchId, this.batchOpts);
  }

  /**
   * Polls a batch until CAQH reports a terminal `batch_status`, backing off (doubling from
   * `initialDelayMs` to `maxDelayMs`). Bounded: after `maxWaitMs` it returns the last result with
   * `state: 'pending'`; the caller keeps the batch id and polls again later, never re-submits.
   */
  async waitForBatch(batchId: string, opts: CaqhPollSettings = {}): Promise<CaqhBatchResult> {
    const { initialDelayMs, maxDelayMs, maxWaitMs } = { ...DEFAULT_POLL, ...defined(this.settings.poll), ...defined(opts) };
    const started = Date.now();
    const abort = new AbortController();
    this.waits.add(abort);
    try {
      let delay = initialDelayMs;
      for (;;) {
        const result = await this.batchResult(batchId);
        if (result.state !== 'pending') return result;
        const left = maxWaitMs - (Date.now() - started);
        if (left <= 0) return result;
        await sleep(Math.min(delay, left), abort.signal);
        delay = Math.min(delay * 2, maxDelayMs);
      }
    } finally {
      this.waits.delete(abort);
    }
  }

  /** Status Check for one provider (CAQH.md §3): profile status, status date, authorization, attestation date. */
  async statusCheck(caqhProviderId: string): Promise<CaqhProviderStatus> {
    checkCaqhProviderId(caqhProviderId, 'caqhProviderId');
    const headers = this.authHeaders();
    const answer = await this.call('status-check', () =>
      this.http.getJson<unknown>(this.paths.status, {
        operation: 'status-check',
        query: { Product: 'PV', Caqh_Provider_Id: caqhProviderId, Organization_Id: this.organizationId },
        headers,
        cacheKey: false,
      }),
    );
    return parseProviderStatus(answer, caqhProviderId, this.settings.status);
  }

  /**
   * Retrieves one supporting document (CAQH.md §5: raw PDF bytes, only when the provider is
   * rostered and authorized and the document exists, "otherwise a response code explains why").
   * A 4xx other than 400/401/421/429 comes back as `available: false` with CAQH's reason.
   *
   * This call goes through `fetch` directly, not the shared client: AdapterHttpClient speaks JSON
   * only. It still has a timeout, Basic auth and CAQH's error classes, and reports its events, but
   * no retry or breaker; the sync retries on its next run.
   */
  async supportingDocument(caqhProviderId: string, documentType: string): Promise<CaqhDocumentResult> {
    checkCaqhProviderId(caqhProviderId, 'caqhProviderId');
    if (!documentType) throw new ValidationError('CAQH_FIELD', 'documentType is required', { path: 'documentType' });
    this.guard();
    const headers = { ...this.authHeaders(), accept: 'application/pdf, application/json' };
    const url = new URL(this.paths.documents, this.settings.baseUrl);
    url.searchParams.set(this.docParams.caqhProviderId, caqhProviderId);
    url.searchParams.set(this.docParams.organizationId, this.organizationId);
    url.searchParams.set(this.docParams.documentType, documentType);
    const started = Date.now();
    const emit = (outcome: AdapterCallEvent['outcome'], code?: string, status?: number) =>
      this.deps.onEvent?.({ adapter: this.id, operation: 'supporting-document', outcome, latencyMs: Date.now() - started, code, status, at: Date.now() });
    let res: Response;
    let bytes: Buffer;
    try {
      res = await this.fetchImpl(url, { headers, signal: AbortSignal.timeout(this.settings.timeoutMs ?? 30_000) });
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      const e = toWaslError(err);
      emit('transient', e.code);
      throw e;
    }
    const base = { caqhProviderId, documentType };
    const contentType = res.headers.get('content-type') ?? 'application/octet-stream';
    if (res.ok && !contentType.toLowerCase().startsWith('application/json')) {
      emit('ok', undefined, res.status);
      return { ...base, available: true, bytes, contentType, size: bytes.length, sha256: crypto.createHash('sha256').update(bytes).digest('hex') };
    }
    const message = errorMessageOf(bytes.toString('utf8'));
    if (res.ok || [400, 401, 421, 429].includes(res.status) || res.status >= 500) {
      const err = classifyCaqhError(httpError(res.status, message, parseRetryAfter(res.headers.get('retry-after'))), 'supporting-document', this.id);
      emit(err.kind, err.code, res.status);
      throw err;
    }
    emit('integration', 'CAQH_DOCUMENT_UNAVAILABLE', res.status);
    return { ...base, available: false, httpStatus: res.status, reason: message };
  }

  /** A live Status Check of `healthCheck.caqhProviderId` when configured; else the breaker's view. */
  async healthCheck(): Promise<HealthCheckResult> {
    const started = Date.now();
    const probe = this.settings.healthCheck?.caqhProviderId;
    if (!probe) {
      const b = this.breakerState();
      return { status: b === 'closed' ? 'up' : b === 'open' ? 'down' : 'degraded', latencyMs: 0, detail: 'no live probe configured (healthCheck.caqhProviderId)' };
    }
    try {
      await this.statusCheck(probe);
      return { status: 'up', latencyMs: Date.now() - started };
    } catch (err) {
      const e = toWaslError(err);
      return { status: e.kind === 'transient' ? 'down' : 'degraded', latencyMs: Date.now() - started, detail: e.code };
    }
  }

  breakerState(): 'closed' | 'open' | 'half-open' {
    return this.http.breakerState();
  }

  rateLimitHeadroom(): number | undefined {
    return this.http.rateLimitHeadroom();
  }

  cacheStats(): { hits: number; misses: number; size: number } {
    return this.http.cacheStats();
  }

  /** Stops polling waits (they reject with TRANSIENT_CAQH_CLOSED) and closes the HTTP client. Safe twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waits) w.abort();
    this.waits.clear();
    await this.http.close();
  }
}

/** Builds the adapter from typed settings (tests, code). The registry uses {@link caqhAdapterFactory}. */
export function createCaqhAdapter(settings: CaqhAdapterSettings, deps: CaqhAdapterDeps = {}): CaqhAdapter {
  return new CaqhAdapter(settings, deps);
}

/** The CAQH-specific part of the settings (adapters.yaml `settings:`), without the shared HTTP ones. */
export type CaqhOwnSettings = Omit<CaqhAdapterSettings, keyof HttpAdapterSettings | 'id'>;

/** What the registry hands a factory (engine/providers/registry.ts AdapterSpec, structurally). */
export interface CaqhAdapterSpec {
  id: string;
  http: HttpAdapterSettings & { onEvent?: (e: AdapterCallEvent) => void };
  settings: Record<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
}

/** Registry factory (`kind: caqh`): the entry's HTTP settings + its checked `settings:` mapping. */
export function caqhAdapterFactory(spec: CaqhAdapterSpec): CaqhAdapter {
  const own = caqhSettingsFrom(spec.settings);
  const { onEvent, ...http } = spec.http;
  return new CaqhAdapter({ ...http, ...own, id: spec.id }, { env: spec.env, onEvent, logger: spec.logger });
}

function bad(path: string, message: string): never {
  throw new ValidationError('CAQH_SETTINGS', `caqh settings: ${path} ${message}`, { path });
}

function plainObject(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, 'must be a mapping');
  for (const k of Object.keys(v)) if (!keys.includes(k)) bad(`${path ? `${path}.` : ''}${k}`, `is not a setting (known: ${keys.join(', ')})`);
  return v as Record<string, unknown>;
}

function str(v: unknown, path: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v.trim() === '') bad(path, 'must be a non-empty string');
  return v.trim();
}

function strList(v: unknown, path: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) bad(path, 'must be a list of strings');
  return v.map((x, i) => str(x, `${path}[${i}]`) as string);
}

function ms(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) bad(path, 'must be a whole number of milliseconds');
  return n;
}

/**
 * Checks the `settings:` mapping of a `kind: caqh` entry; a ValidationError's `path` names the bad
 * key. `organizationId` is required (quote it in YAML if it has a leading zero).
 */
export function caqhSettingsFrom(raw: Record<string, unknown>): CaqhOwnSettings {
  const top = plainObject(raw ?? {}, '', [
    'organizationId', 'usernameEnv', 'passwordEnv', 'paths', 'batchIdParam', 'derosterMethod', 'batchStatuses', 'status', 'documents', 'poll', 'healthCheck',
  ]);
  const organizationId = str(top.organizationId, 'organizationId');
  if (!organizationId) bad('organizationId', 'is required (the PO id CAQH issued, up to 5 digits)');
  checkOrganizationId(organizationId, 'organizationId');
  const envName = (v: unknown, path: string) => {
    const name = str(v, path);
    if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) bad(path, 'must be an environment variable NAME (the value stays in the environment)');
    return name;
  };
  const out: CaqhOwnSettings = { organizationId, usernameEnv: envName(top.usernameEnv, 'usernameEnv'), passwordEnv: envName(top.passwordEnv, 'passwordEnv') };
  if (top.paths !== undefined) {
    const p = plainObject(top.paths, 'paths', Object.keys(DEFAULT_CAQH_PATHS));
    out.paths = Object.fromEntries(Object.entries(p).map(([k, v]) => {
      const path = str(v, `paths.${k}`) as string;
      if (!path.startsWith('/')) bad(`paths.${k}`, 'must start with /');
      return [k, path];
    }));
  }
  out.batchIdParam = str(top.batchIdParam, 'batchIdParam');
  if (top.derosterMethod !== undefined) {
    const m = str(top.derosterMethod, 'derosterMethod')?.toUpperCase();
    if (m !== 'PUT' && m !== 'POST') bad('derosterMethod', 'must be PUT or POST');
    out.derosterMethod = m;
  }
  if (top.batchStatuses !== undefined) {
    const b = plainObject(top.batchStatuses, 'batchStatuses', ['complete', 'failed']);
    out.batchStatuses = { complete: strList(b.complete, 'batchStatuses.complete'), failed: strList(b.failed, 'batchStatuses.failed') };
  }
  if (top.status !== undefined) {
    const st = plainObject(top.status, 'status', ['attestedStatuses', 'expiredStatuses', 'attestationDateField']);
    out.status = {
      attestedStatuses: strList(st.attestedStatuses, 'status.attestedStatuses'),
      expiredStatuses: strList(st.expiredStatuses, 'status.expiredStatuses'),
      attestationDateField: str(st.attestationDateField, 'status.attestationDateField'),
    };
  }
  if (top.documents !== undefined) {
    const d = plainObject(top.documents, 'documents', ['params']);
    if (d.params !== undefined) {
      const p = plainObject(d.params, 'documents.params', Object.keys(DEFAULT_DOCUMENT_PARAMS));
      out.documents = { params: Object.fromEntries(Object.entries(p).map(([k, v]) => [k, str(v, `documents.params.${k}`) as string])) };
    }
  }
  if (top.poll !== undefined) {
    const p = plainObject(top.poll, 'poll', ['initialDelayMs', 'maxDelayMs', 'maxWaitMs']);
    out.poll = { initialDelayMs: ms(p.initialDelayMs, 'poll.initialDelayMs'), maxDelayMs: ms(p.maxDelayMs, 'poll.maxDelayMs'), maxWaitMs: ms(p.maxWaitMs, 'poll.maxWaitMs') };
  }
  if (top.healthCheck !== undefined) {
    const h = plainObject(top.healthCheck, 'healthCheck', ['caqhProviderId']);
    const id = str(h.caqhProviderId, 'healthCheck.caqhProviderId');
    if (id !== undefined) checkCaqhProviderId(id, 'healthCheck.caqhProviderId');
    out.healthCheck = { caqhProviderId: id };
  }
  return out;
}

/** The object without its undefined members (so they do not override defaults in a spread). */
function defined<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new TransientError('CAQH_CLOSED', 'CAQH adapter closed while waiting for a batch'));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new TransientError('CAQH_CLOSED', 'CAQH adapter closed while waiting for a batch'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A stand-in error for an HTTP answer, in the shape {@link classifyCaqhError} reads. */
function httpError(status: number, message: string | undefined, retryAfterMs?: number): WaslError {
  const details = { status, body: message };
  if (status === 429 || status >= 500) return new TransientError('HTTP_STATUS', `HTTP ${status}`, { details, retryAfterMs });
  return new IntegrationError('HTTP_STATUS', `HTTP ${status}`, { details });
}

/** HTTP status and CAQH `Message` of an error from the shared client (or {@link httpError}). */
function statusAndMessage(e: WaslError): { status?: number; message?: string } {
  const d = (e.details ?? {}) as Record<string, unknown>;
  const status = typeof d.status === 'number' ? d.status : undefined;
  // The shared client keeps the answer body off `details` (it may hold names): responseBodyOf.
  return { status, message: errorMessageOf(responseBodyOf(e) ?? d.body) };
}

/**
 * CAQH's meaning of a failure (CAQH.md §1, §7): 400 `Message` = permanent, fix the data;
 * 401 = bad credentials or wrong environment and 421 = credentials do not match the organization,
 * both configuration errors; 429, 5xx and timeouts stay transient. Codes are stable strings.
 */
export function classifyCaqhError(err: unknown, operation: string, adapterId = 'caqh'): WaslError {
  const e = toWaslError(err);
  if (e.code.includes('CAQH_')) return e;
  const { status, message } = statusAndMessage(e);
  const details = { adapter: adapterId, operation, status, caqhMessage: message };
  const said = message ? `: ${message}` : '';
  if (status === 400) return new IntegrationError('CAQH_REJECTED', `CAQH rejected ${operation} (400)${said}`, { cause: e, details });
  if (status === 401) {
    return new IntegrationError('CAQH_UNAUTHORIZED', `CAQH refused the credentials for ${operation} (401): check the user/password env vars and that baseUrl is the environment they belong to`, {
      cause: e,
      details,
    });
  }
  if (status === 421) return new IntegrationError('CAQH_ORG_MISMATCH', `CAQH says the credentials do not match organization_id (421) on ${operation}`, { cause: e, details });
  if (status === 429) return new TransientError('CAQH_RATE_LIMITED', `CAQH rate-limited ${operation} (429)`, { cause: e, details, retryAfterMs: e.retryAfterMs });
  if (status !== undefined && status >= 500) return new TransientError('CAQH_UNAVAILABLE', `CAQH answered ${status} on ${operation}`, { cause: e, details, retryAfterMs: e.retryAfterMs });
  if (status !== undefined && status >= 400) return new IntegrationError('CAQH_HTTP_STATUS', `CAQH answered ${status} on ${operation}${said}`, { cause: e, details });
  return e;
}
