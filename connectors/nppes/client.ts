/**
 * NppesAdapter: the NPI Registry API v2.1 (NPPES.md §3) as an {@link Adapter} of kind `nppes`,
 * with two operations:
 *
 * - `lookup(npi)`: the record of one NPI, or undefined when NPPES does not list it (a deactivated
 *   NPI simply stops appearing, §4: absence is not proof of a typo, and a typo never gets here:
 *   the format and Luhn check digit are checked first, {@link requireValidNpi});
 * - `search(criteria)`: by name, organization name, taxonomy, city/state/postal code, … with the
 *   API's parameters, `version=2.1` always, `limit` ≤ 200 and `skip` ≤ 1000, following pages on
 *   request (at most 1,200 records per query, the API's own ceiling).
 *
 * Criteria the API would refuse (enumeration_type or state alone, a one-letter wildcard, limit
 * over 200, …) are refused here first with a ValidationError naming the parameter. An `Errors`
 * answer from NPPES is an IntegrationError (never "not found"); HTTP 5xx, 429, timeouts are
 * TransientErrors from the shared client (connectors/adapters/http.ts), which also owns the
 * retries, circuit breaker, the response cache (default 7 days) and the rate limiter (default
 * 200 requests per 5 minutes: CMS publishes no limit, so this is a courtesy default;
 * excess calls queue, they never fail). Both are configurable per adapter.
 */
import { IntegrationError, ValidationError, toWaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { AdapterHttpClient, type AdapterHttpOptions } from '../adapters/http';
import type { Adapter, AdapterCallEvent, HealthCheckResult, HttpAdapterSettings } from '../adapters/types';
import { requireValidNpi } from './npi';
import { parseNppesResponse, type NppesRecord } from './parse';

/** The public NPI Registry (read-only, no auth). */
export const NPPES_PUBLIC_URL = 'https://npiregistry.cms.hhs.gov';
export const NPPES_API_VERSION = '2.1';
/** API ceilings (NPPES.md §3). */
export const NPPES_MAX_LIMIT = 200;
export const NPPES_MAX_SKIP = 1000;

export const NPPES_DEFAULTS = {
  timeoutMs: 15_000,
  /** 7 days: NPPES refreshes daily, but provider data rarely changes within a week. */
  cache: { ttlMs: 7 * 24 * 60 * 60 * 1000, maxEntries: 10_000 },
  /** 200 requests per 5 minutes. */
  rateLimit: { requests: 200, perMs: 5 * 60 * 1000 },
} as const;

export interface NppesAdapterSettings extends Partial<Omit<HttpAdapterSettings, 'rateLimit'>> {
  /** Default 200 per 300,000 ms; `false` for none (a licensed mirror, the bench). */
  rateLimit?: HttpAdapterSettings['rateLimit'] | false;
  /** Registry id (default `nppes`). */
  id?: string;
  /** An NPI whose lookup is the health check (default `1234567893`, CMS's worked example: any answer with `results` means up). */
  healthNpi?: string;
  onEvent?: (e: AdapterCallEvent) => void;
  /** For the HTTP client's retry and failure lines (default: the adapter-http child logger). */
  logger?: Logger;
}

/** Search criteria in the API's terms (camelCase here; `criteriaFromInput` also takes the API's snake_case). */
export interface NppesSearchCriteria {
  number?: string;
  enumerationType?: 'NPI-1' | 'NPI-2';
  /** Taxonomy description text; clients also pass a code. */
  taxonomyDescription?: string;
  firstName?: string;
  lastName?: string;
  useFirstNameAlias?: boolean;
  organizationName?: string;
  /** `AO` (authorized official's name) or `Provider`. */
  namePurpose?: 'AO' | 'Provider';
  addressPurpose?: 'LOCATION' | 'MAILING' | 'PRIMARY' | 'SECONDARY';
  city?: string;
  state?: string;
  /** 5 or 9 digits; a trailing `*` after at least 2 digits is a wildcard. */
  postalCode?: string;
  countryCode?: string;
  /** Per page, 1..200 (default 10 for one page, 200 when following pages). */
  limit?: number;
  /** 0..1000. */
  skip?: number;
}

export interface NppesSearchOptions {
  /** Follow pages (skip += limit) until a short page, `maxRecords`, or the API's skip ceiling. */
  allPages?: boolean;
  /** Stop after this many records (default and ceiling 1,200). */
  maxRecords?: number;
  /** Bypass the response cache (revalidation). */
  fresh?: boolean;
}

export interface NppesSearchResult {
  records: NppesRecord[];
  pages: number;
  /** More records may exist than the API lets one query page through: narrow the criteria. */
  truncated: boolean;
  /** `result_count` of the last page as sent (never used for paging). */
  reportedCount?: number;
}

const PARAMS: Record<Exclude<keyof NppesSearchCriteria, 'limit' | 'skip'>, string> = {
  number: 'number',
  enumerationType: 'enumeration_type',
  taxonomyDescription: 'taxonomy_description',
  firstName: 'first_name',
  lastName: 'last_name',
  useFirstNameAlias: 'use_first_name_alias',
  organizationName: 'organization_name',
  namePurpose: 'name_purpose',
  addressPurpose: 'address_purpose',
  city: 'city',
  state: 'state',
  postalCode: 'postal_code',
  countryCode: 'country_code',
};

const SNAKE_TO_CAMEL: Record<string, keyof NppesSearchCriteria> = Object.fromEntries([
  ...Object.entries(PARAMS).map(([camel, snake]) => [snake, camel]),
  ['limit', 'limit'],
  ['skip', 'skip'],
]) as Record<string, keyof NppesSearchCriteria>;

/**
 * Search criteria from loose input (a node's msg.payload, a CLI flag set): camelCase or the API's
 * snake_case keys; unknown keys are a ValidationError naming them (a misspelt criterion must not
 * silently widen a search).
 */
export function criteriaFromInput(input: Record<string, unknown>): NppesSearchCriteria {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || value === null || value === '') continue;
    // Own keys only: `toString` or `constructor` are not criteria.
    const camel = Object.hasOwn(PARAMS, key) || key === 'limit' || key === 'skip' ? (key as keyof NppesSearchCriteria) : Object.hasOwn(SNAKE_TO_CAMEL, key) ? SNAKE_TO_CAMEL[key] : undefined;
    if (!camel) {
      if (key === 'version' || key === 'pretty') continue;
      if (key === 'npi') {
        out.number = value;
        continue;
      }
      throw new ValidationError('NPPES_CRITERIA', `unknown NPPES search criterion '${key}'`, { path: key });
    }
    out[camel] = value;
  }
  if (out.limit !== undefined) out.limit = Number(out.limit);
  if (out.skip !== undefined) out.skip = Number(out.skip);
  if (typeof out.useFirstNameAlias === 'string') out.useFirstNameAlias = /^(true|1|yes)$/i.test(out.useFirstNameAlias);
  for (const k of Object.keys(out)) if (k !== 'limit' && k !== 'skip' && k !== 'useFirstNameAlias') out[k] = String(out[k]).trim();
  return out as NppesSearchCriteria;
}

/**
 * What loose input asks for (a node's msg.payload): an NPI (string or number, `{npi}` or
 * `{number}` alone) is a lookup, checked first; any other object is search criteria.
 */
export function nppesRequest(payload: unknown): { npi: string } | { criteria: NppesSearchCriteria } {
  if (typeof payload === 'number') return { npi: requireValidNpi(String(payload), 'payload') };
  if (typeof payload === 'string') {
    if (payload.trim() === '') throw new ValidationError('NPPES_INPUT', 'msg.payload is empty: give an NPI or search criteria', { path: 'payload' });
    return { npi: requireValidNpi(payload, 'payload') };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ValidationError('NPPES_INPUT', 'msg.payload must be an NPI, {npi} or an object of search criteria', { path: 'payload' });
  }
  const p = payload as Record<string, unknown>;
  const keys = Object.keys(p).filter((k) => p[k] !== undefined && p[k] !== '');
  const npi = p.npi ?? p.number;
  if (npi !== undefined && keys.every((k) => k === 'npi' || k === 'number')) return { npi: requireValidNpi(npi, 'payload.npi') };
  return { criteria: criteriaFromInput(p) };
}

const WILDCARD_FIELDS: (keyof NppesSearchCriteria)[] = ['firstName', 'lastName', 'organizationName', 'city', 'postalCode', 'taxonomyDescription'];

/**
 * The query string for one page, after checking the API's rules (NPPES.md §3): refused criteria
 * throw ValidationError with `path` = the API parameter. `version=2.1` is always set.
 */
export function buildSearchQuery(criteria: NppesSearchCriteria): Record<string, string> {
  const bad = (param: string, message: string): never => {
    throw new ValidationError('NPPES_CRITERIA', message, { path: param });
  };
  const q: Record<string, string> = { version: NPPES_API_VERSION };
  for (const [camel, param] of Object.entries(PARAMS) as [keyof typeof PARAMS, string][]) {
    const v = criteria[camel];
    if (v === undefined || v === '') continue;
    if (camel === 'useFirstNameAlias') {
      q[param] = v ? 'True' : 'False';
      continue;
    }
    q[param] = String(v).trim();
  }
  if (q.number !== undefined) q.number = requireValidNpi(q.number, 'number');
  if (q.enumeration_type !== undefined && !['NPI-1', 'NPI-2'].includes(q.enumeration_type.toUpperCase())) bad('enumeration_type', 'enumeration_type must be NPI-1 or NPI-2');
  if (q.enumeration_type) q.enumeration_type = q.enumeration_type.toUpperCase();
  if (q.address_purpose !== undefined) {
    q.address_purpose = q.address_purpose.toUpperCase();
    if (!['LOCATION', 'MAILING', 'PRIMARY', 'SECONDARY'].includes(q.address_purpose)) bad('address_purpose', 'address_purpose must be LOCATION, MAILING, PRIMARY or SECONDARY');
  }
  if (q.name_purpose !== undefined) {
    const np = q.name_purpose.toUpperCase();
    if (np !== 'AO' && np !== 'PROVIDER') bad('name_purpose', 'name_purpose must be AO or Provider');
    q.name_purpose = np === 'AO' ? 'AO' : 'Provider';
  }
  if (q.state !== undefined) {
    if (!/^[A-Za-z]{2}$/.test(q.state)) bad('state', 'state must be a 2-letter code');
    q.state = q.state.toUpperCase();
  }
  if (q.country_code !== undefined) {
    if (!/^[A-Za-z]{2}$/.test(q.country_code)) bad('country_code', 'country_code must be a 2-letter code');
    q.country_code = q.country_code.toUpperCase();
  }
  if (q.postal_code !== undefined && !/^[0-9]{2,9}\*?$/.test(q.postal_code)) bad('postal_code', 'postal_code must be digits (5 or 9, or at least 2 followed by *)');
  for (const camel of WILDCARD_FIELDS) {
    const param = PARAMS[camel as keyof typeof PARAMS];
    const v = q[param];
    if (v === undefined) continue;
    const star = v.indexOf('*');
    if (star >= 0 && (star !== v.length - 1 || v.length < 3)) bad(param, `${param}: a wildcard * must trail at least 2 characters`);
  }
  if (q.use_first_name_alias === 'True' && [q.first_name, q.last_name].some((v) => v?.includes('*'))) {
    bad('use_first_name_alias', 'use_first_name_alias cannot be combined with a wildcard name');
  }

  // What alone is not enough (the API answers these with Errors): nothing; enumeration_type alone;
  // state alone (it needs another criterion besides type/country); country_code US alone.
  const criteriaKeys = Object.keys(q).filter((k) => k !== 'version' && k !== 'use_first_name_alias' && k !== 'address_purpose' && k !== 'name_purpose');
  if (criteriaKeys.length === 0) bad('number', 'no search criteria: give an NPI, a name, an organization name, a taxonomy or a location');
  const besides = (...ks: string[]) => criteriaKeys.filter((k) => !ks.includes(k));
  if (besides('enumeration_type').length === 0) bad('enumeration_type', 'enumeration_type requires additional search criteria');
  if (q.state !== undefined && besides('state', 'enumeration_type', 'country_code').length === 0) bad('state', 'state requires additional search criteria (besides enumeration type and country)');
  if (q.country_code === 'US' && besides('country_code', 'enumeration_type').length === 0) bad('country_code', 'country_code US requires additional search criteria');

  if (criteria.limit !== undefined) {
    if (!Number.isInteger(criteria.limit) || criteria.limit < 1 || criteria.limit > NPPES_MAX_LIMIT) bad('limit', `limit must be 1..${NPPES_MAX_LIMIT}`);
    q.limit = String(criteria.limit);
  }
  if (criteria.skip !== undefined) {
    if (!Number.isInteger(criteria.skip) || criteria.skip < 0 || criteria.skip > NPPES_MAX_SKIP) bad('skip', `skip must be 0..${NPPES_MAX_SKIP}`);
    q.skip = String(criteria.skip);
  }
  return q;
}

/**
 * Splits a configured URL into origin+prefix and the API path: users paste either
 * `https://npiregistry.cms.hhs.gov` or `.../api/`; a proxy may add a prefix (`http://gw/nppes/api`).
 */
export function splitNppesUrl(url: string): { baseUrl: string; path: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError('NPPES_URL', 'NPPES base URL is not a URL', { path: 'baseUrl' });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ValidationError('NPPES_URL', 'NPPES base URL must be http(s)', { path: 'baseUrl' });
  const prefix = u.pathname.replace(/\/+$/, '').replace(/\/api$/, '');
  return { baseUrl: `${u.origin}${prefix}`, path: '/api/' };
}

/** The NPPES adapter; build it through {@link createNppesAdapter} (the registry does). */
export class NppesAdapter implements Adapter {
  readonly kind = 'nppes' as const;
  readonly operations = ['lookup', 'search'] as const;
  readonly id: string;
  readonly baseUrl: string;
  private readonly http: AdapterHttpClient;
  private readonly apiPath: string;
  private readonly healthNpi: string;
  private closed = false;

  constructor(settings: NppesAdapterSettings = {}) {
    this.id = settings.id ?? 'nppes';
    const { baseUrl, path } = splitNppesUrl(settings.baseUrl ?? NPPES_PUBLIC_URL);
    this.baseUrl = baseUrl;
    this.apiPath = path;
    this.healthNpi = requireValidNpi(settings.healthNpi ?? '1234567893', 'healthNpi');
    this.http = new AdapterHttpClient({
      ...settings,
      adapterId: this.id,
      baseUrl,
      timeoutMs: settings.timeoutMs ?? NPPES_DEFAULTS.timeoutMs,
      cache: { ...NPPES_DEFAULTS.cache, ...settings.cache },
      rateLimit: settings.rateLimit === false ? undefined : (settings.rateLimit ?? { ...NPPES_DEFAULTS.rateLimit }),
      onEvent: settings.onEvent,
    });
  }

  /**
   * The NPPES record of `npi`, or undefined when NPPES lists no such NPI (deactivated NPIs are not
   * listed). Throws ValidationError before any call for a malformed NPI or a wrong check digit.
   */
  async lookup(npi: string, opts: { fresh?: boolean } = {}): Promise<NppesRecord | undefined> {
    const number = requireValidNpi(npi, 'npi');
    const body = await this.get('lookup', { version: NPPES_API_VERSION, number }, opts.fresh);
    // Never trust result_count: pick the record that carries the number asked for.
    return parseNppesResponse(body).records.find((r) => r.npi === number);
  }

  /** One page, or every page with `allPages` (see {@link NppesSearchOptions}). */
  async search(criteria: NppesSearchCriteria, opts: NppesSearchOptions = {}): Promise<NppesSearchResult> {
    const maxRecords = Math.min(opts.maxRecords ?? NPPES_MAX_LIMIT + NPPES_MAX_SKIP, NPPES_MAX_LIMIT + NPPES_MAX_SKIP);
    const limit = criteria.limit ?? (opts.allPages ? NPPES_MAX_LIMIT : undefined);
    let skip = criteria.skip ?? 0;
    buildSearchQuery({ ...criteria, limit }); // refuse bad criteria before the first call
    const seen = new Set<string>();
    const records: NppesRecord[] = [];
    let pages = 0;
    let truncated = false;
    let reportedCount: number | undefined;
    for (;;) {
      const query = buildSearchQuery({ ...criteria, limit, skip: skip || criteria.skip !== undefined ? skip : undefined });
      const parsed = parseNppesResponse(await this.get('search', query, opts.fresh));
      pages += 1;
      reportedCount = parsed.reportedCount;
      for (const r of parsed.records) {
        // A page boundary can shift while paging (NPPES refreshes daily): never list an NPI twice.
        if (seen.has(r.npi)) continue;
        seen.add(r.npi);
        records.push(r);
      }
      const pageSize = limit ?? 10;
      const full = parsed.records.length >= pageSize;
      if (!opts.allPages || !full) break;
      if (records.length >= maxRecords) {
        truncated = true;
        break;
      }
      if (skip + pageSize > NPPES_MAX_SKIP) {
        truncated = true;
        break;
      }
      skip += pageSize;
    }
    if (records.length > maxRecords) {
      records.length = maxRecords;
      truncated = true;
    }
    return { records, pages, truncated, ...(reportedCount !== undefined ? { reportedCount } : {}) };
  }

  async healthCheck(): Promise<HealthCheckResult> {
    const started = performance.now();
    try {
      await this.get('health', { version: NPPES_API_VERSION, number: this.healthNpi }, true).then(parseNppesResponse);
      return { status: 'up', latencyMs: Math.round(performance.now() - started) };
    } catch (err) {
      const e = toWaslError(err);
      const latencyMs = Math.round(performance.now() - started);
      // NPPES answered, but not as expected: reachable, so degraded rather than down.
      if (e instanceof IntegrationError) return { status: 'degraded', latencyMs, detail: e.code };
      return { status: 'down', latencyMs, detail: e.code };
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

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.http.close();
  }

  private get(operation: string, query: Record<string, string>, fresh?: boolean): Promise<unknown> {
    if (this.closed) return Promise.reject(new ValidationError('NPPES_CLOSED', `NPPES adapter ${this.id} is closed`));
    return this.http.getJson<unknown>(this.apiPath, { operation, query, ...(fresh ? { cacheKey: false as const } : {}) });
  }
}

/**
 * Factory for the adapter registry (`kind: nppes` in adapters.yaml / the API). Takes the adapter
 * entry as it is (id, baseUrl, timeoutMs, retry, breaker, rateLimit, cache) and reads the kind's
 * own `settings` (`healthNpi`) from it; unset values get the NPPES defaults.
 */
export function createNppesAdapter(settings: NppesAdapterSettings & { settings?: { healthNpi?: unknown } } = {}): NppesAdapter {
  const { settings: own, ...rest } = settings as NppesAdapterSettings & { settings?: { healthNpi?: unknown }; kind?: unknown };
  delete (rest as { kind?: unknown }).kind;
  const healthNpi = rest.healthNpi ?? (typeof own?.healthNpi === 'string' ? own.healthNpi : undefined);
  return new NppesAdapter({ ...rest, ...(healthNpi ? { healthNpi } : {}) });
}

/**
 * The registry's factory for `kind: nppes` (engine/providers/kinds.ts): the entry's HTTP settings
 * as `spec.http` (unset cache and rate limit get the NPPES defaults: 7 days, 200 per 5 minutes)
 * and its own `settings:` (only `healthNpi`; any other key is a ValidationError naming it).
 */
export function nppesAdapterFactory(spec: { id: string; http: AdapterHttpOptions; settings?: Record<string, unknown> }): NppesAdapter {
  const own = spec.settings ?? {};
  for (const key of Object.keys(own)) {
    if (key !== 'healthNpi') throw new ValidationError('NPPES_SETTINGS', `unknown NPPES adapter setting '${key}' (known: healthNpi)`, { path: key });
  }
  if (own.healthNpi !== undefined && typeof own.healthNpi !== 'string' && typeof own.healthNpi !== 'number') {
    throw new ValidationError('NPPES_SETTINGS', 'healthNpi must be an NPI', { path: 'healthNpi' });
  }
  const { adapterId: _adapterId, ...http } = spec.http;
  return new NppesAdapter({ ...http, id: spec.id, ...(own.healthNpi !== undefined ? { healthNpi: String(own.healthNpi) } : {}) });
}
