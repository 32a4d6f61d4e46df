/**
 * NPPES NPI Registry simulator: a loopback HTTP server speaking API v2.1 (NPPES.md §3) from the
 * shared NPPES fixtures. TEST CODE ONLY: never on the production path.
 *
 * ```ts
 * const sim = await startNppesSimulator();
 * sim.url;                     // http://127.0.0.1:<port>   (GET /api/?version=2.1&...)
 * sim.deactivate('1114920071');                  // drops it from answers (the real API's way)
 * sim.deactivate('1114920071', { mode: 'flagged', date: '2024-05-01' });   // or lists it with status D
 * sim.setAddress('1114920071', 'LOCATION', { address_1: '1 NEW ST', city: 'TULSA' });
 * sim.setBasic('1114920071', { last_name: 'SMITH' });
 * sim.inject({ type: 'status', status: 500 }, 2);   // faults for the next 2 requests
 * sim.stats; sim.maxInWindow(500);              // counters; most requests seen in any 500 ms
 * await sim.close();
 * ```
 *
 * Records: every `results[]` entry of every `shared/fixtures/nppes/*.json` (one per NPI), served
 * as stored (numbers as JSON numbers, as the fixtures have them), plus `records` from the
 * options; with `synthesize`, any other NPI with a valid check digit answers a copy of the first
 * NPI-1 record under that number (the bench's cold cache needs many distinct NPIs).
 *
 * Search: `number`, `enumeration_type`, `first_name`/`last_name` (`name_purpose=AO`: the
 * authorized official's), `organization_name` (legal and other names), `taxonomy_description`
 * (description substring or code), `city`/`state`/`postal_code`/`country_code` on one address of
 * `address_purpose` (LOCATION/PRIMARY: the location address, MAILING, SECONDARY: practice
 * locations, none: any); names, cities and postal codes take a trailing `*` after ≥2 characters;
 * a 5-digit postal code matches ZIP+4. `limit` (default 10, ≤200) and `skip` (≤1000).
 * `use_first_name_alias` is accepted and ignored (no alias table here). `result_count` is the
 * number of results on the page, as the real API does.
 *
 * Errors (HTTP 200, body `{"Errors":[...]}`): enumeration_type alone answers exactly the recorded
 * fixture (nppes_api_error_enumeration_type.json); "No valid search criteria provided" is CMS's
 * wording; the others (state alone, version, limit, skip, number, wildcard) use the same shape
 * with SIMULATOR wording and numbers (`S1`…): the real texts are not public.
 *
 * Faults (`inject`): `status` (HTTP status, plain text body), `rate-limit` (429 + Retry-After
 * seconds), `slow` (delay, then answer), `not-json` (200 with an HTML maintenance page), `errors`
 * (200 with the recorded Errors answer).
 * With `enforceRateLimit`, a request beyond `requests` in any sliding `perMs` is answered 429 and
 * counted in `stats.rateLimited`.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { projectRoot } from '../../../common/project-root';
import { isValidNpi } from '../../../connectors/nppes/npi';

/**
 * shared/fixtures/nppes, found from the project root so it works from the sources (tests) and from
 * dist/ (`npm run bench:nppes`), where a path relative to this file would point inside dist.
 */
export const NPPES_FIXTURES_DIR = path.join(projectRoot(), '..', 'shared', 'fixtures', 'nppes');

type Raw = Record<string, unknown> & { number: unknown; enumeration_type?: unknown; basic?: Record<string, unknown> };

export type NppesFault =
  | { type: 'status'; status: number }
  | { type: 'rate-limit'; retryAfterS: number }
  | { type: 'slow'; ms: number }
  | { type: 'not-json' }
  /** 200 with the recorded Errors answer, whatever was asked (NPPES refusing what we did not foresee). */
  | { type: 'errors' };

export interface NppesSimulatorOptions {
  /** More raw API records (as in `results[]`), added after the fixtures (same number: replaces). */
  records?: unknown[];
  /** Answer any valid NPI not held with a copy of the first NPI-1 record (bench). */
  synthesize?: boolean;
  /** Refuse (429) what a client over this limit would send. */
  enforceRateLimit?: { requests: number; perMs: number };
}

export interface NppesSimulatorStats {
  /** HTTP requests to /api/, faults and refusals included. */
  requests: number;
  /** Requests with `number` (lookups) by NPI. */
  byNumber: Record<string, number>;
  searches: number;
  /** Answers with `Errors`. */
  errors: number;
  faults: number;
  rateLimited: number;
}

export interface NppesSimulator {
  /** Base URL (no path): `http://127.0.0.1:<port>`. */
  url: string;
  /** `url` + `/api/`. */
  apiUrl: string;
  stats: NppesSimulatorStats;
  /** Arrival times (performance.now() ms) of every request to /api/. */
  arrivals: number[];
  /** The query parameters of every request to /api/, in order. */
  queries: Record<string, string>[];
  /** The most requests that arrived within any `windowMs` (inclusive) so far. */
  maxInWindow(windowMs: number): number;
  /** NPIs held (fixtures and added records). */
  numbers(): string[];
  /** The raw record as it would be served (a copy), or undefined. */
  record(npi: string): Raw | undefined;
  addRecord(record: unknown): void;
  /** `absent` (default): no longer returned, as the real API; `flagged`: returned with status D and the date. */
  deactivate(npi: string, opts?: { mode?: 'absent' | 'flagged'; date?: string }): void;
  /** Listed and active again (with `reactivation_date` when given). */
  reactivate(npi: string, date?: string): void;
  /** Patches the first address of `purpose` (LOCATION or MAILING), or adds one. */
  setAddress(npi: string, purpose: 'LOCATION' | 'MAILING', patch: Record<string, string>): void;
  /** Patches `basic` (names, credential, status, …). */
  setBasic(npi: string, patch: Record<string, unknown>): void;
  setTaxonomies(npi: string, taxonomies: { code: string; desc?: string; primary?: boolean; state?: string; license?: string }[]): void;
  inject(fault: NppesFault, count?: number): void;
  /** Clears counters and arrivals (records and faults stay). */
  resetStats(): void;
  close(): Promise<void>;
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** The fixtures' records, one per NPI (later files win), in file order. */
export function fixtureRecords(): Raw[] {
  const byNumber = new Map<string, Raw>();
  for (const file of fs.readdirSync(NPPES_FIXTURES_DIR).filter((f) => f.endsWith('.json')).sort()) {
    const body = JSON.parse(fs.readFileSync(path.join(NPPES_FIXTURES_DIR, file), 'utf8')) as { results?: Raw[] };
    for (const r of body.results ?? []) byNumber.set(String(r.number), r);
  }
  return [...byNumber.values()];
}

/** The recorded error answer for enumeration_type alone, verbatim. */
function enumerationTypeError(): string {
  return fs.readFileSync(path.join(NPPES_FIXTURES_DIR, 'nppes_api_error_enumeration_type.json'), 'utf8');
}

const up = (v: unknown) => String(v ?? '').trim().toUpperCase();

/** Case-insensitive; `abc*` is a prefix match. */
function matches(value: unknown, pattern: string): boolean {
  const v = up(value);
  const p = pattern.toUpperCase();
  return p.endsWith('*') ? v.startsWith(p.slice(0, -1)) : v === p;
}

function postalMatches(value: unknown, pattern: string): boolean {
  const v = String(value ?? '').trim();
  if (pattern.endsWith('*')) return v.startsWith(pattern.slice(0, -1));
  return pattern.length === 5 ? v.slice(0, 5) === pattern : v === pattern;
}

const SEARCH_PARAMS = [
  'number', 'enumeration_type', 'taxonomy_description', 'first_name', 'last_name', 'use_first_name_alias', 'organization_name', 'name_purpose',
  'address_purpose', 'city', 'state', 'postal_code', 'country_code', 'limit', 'skip', 'pretty', 'version',
];

/** Starts the simulator on 127.0.0.1 (a free port). */
export async function startNppesSimulator(opts: NppesSimulatorOptions = {}): Promise<NppesSimulator> {
  const records = new Map<string, Raw>();
  for (const r of fixtureRecords()) records.set(String(r.number), clone(r));
  for (const r of opts.records ?? []) records.set(String((r as Raw).number), clone(r as Raw));
  const absent = new Set<string>();
  const faults: NppesFault[] = [];
  const stats: NppesSimulatorStats = { requests: 0, byNumber: {}, searches: 0, errors: 0, faults: 0, rateLimited: 0 };
  const arrivals: number[] = [];
  const queries: Record<string, string>[] = [];
  const template = [...records.values()].find((r) => r.enumeration_type === 'NPI-1');

  const held = (npi: string): Raw => {
    const r = records.get(npi);
    if (!r) throw new Error(`simulator holds no NPI ${npi}`);
    return r;
  };

  const served = (): Raw[] => [...records.entries()].filter(([n]) => !absent.has(n)).map(([, r]) => r);

  function errors(list: { field?: string; number?: string; description: string }[]): string {
    stats.errors += 1;
    return JSON.stringify({ Errors: list });
  }

  function addressesFor(r: Raw, purpose: string): Record<string, unknown>[] {
    const addresses = (Array.isArray(r.addresses) ? r.addresses : []) as Record<string, unknown>[];
    const practice = (Array.isArray(r.practiceLocations) ? r.practiceLocations : []) as Record<string, unknown>[];
    if (purpose === 'LOCATION' || purpose === 'PRIMARY') return addresses.filter((a) => up(a.address_purpose) === 'LOCATION');
    if (purpose === 'MAILING') return addresses.filter((a) => up(a.address_purpose) === 'MAILING');
    if (purpose === 'SECONDARY') return practice;
    return [...addresses, ...practice];
  }

  /** The answer body for a query string (always HTTP 200, like the real API). */
  function answer(q: URLSearchParams): string {
    const get = (k: string) => q.get(k)?.trim() || undefined;
    if (get('version') !== '2.1') return errors([{ field: 'version', number: 'S1', description: 'version 2.1 is required (simulator wording)' }]);
    const criteria = SEARCH_PARAMS.filter((k) => !['version', 'limit', 'skip', 'pretty', 'use_first_name_alias', 'address_purpose', 'name_purpose'].includes(k) && get(k) !== undefined);
    if (criteria.length === 0) return errors([{ description: 'No valid search criteria provided' }]);
    if (criteria.length === 1 && criteria[0] === 'enumeration_type') {
      stats.errors += 1;
      return enumerationTypeError();
    }
    if (get('state') && criteria.every((k) => ['state', 'enumeration_type', 'country_code'].includes(k))) {
      return errors([{ field: 'state', number: 'S2', description: 'state requires additional search criteria (simulator wording)' }]);
    }
    const limit = get('limit') === undefined ? 10 : Number(get('limit'));
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) return errors([{ field: 'limit', number: 'S3', description: 'limit must be 1 to 200 (simulator wording)' }]);
    const skip = get('skip') === undefined ? 0 : Number(get('skip'));
    if (!Number.isInteger(skip) || skip < 0 || skip > 1000) return errors([{ field: 'skip', number: 'S4', description: 'skip must be 0 to 1000 (simulator wording)' }]);
    const number = get('number');
    if (number !== undefined && !/^[0-9]{10}$/.test(number)) return errors([{ field: 'number', number: 'S5', description: 'number must be 10 digits (simulator wording)' }]);
    for (const k of ['first_name', 'last_name', 'organization_name', 'city', 'postal_code', 'taxonomy_description']) {
      const v = get(k);
      if (v && v.includes('*') && (!v.endsWith('*') || v.length < 3)) return errors([{ field: k, number: 'S6', description: `${k}: wildcard needs at least 2 characters (simulator wording)` }]);
    }

    if (number !== undefined) stats.byNumber[number] = (stats.byNumber[number] ?? 0) + 1;
    else stats.searches += 1;

    let pool = served();
    if (number !== undefined && opts.synthesize && !records.has(number) && template && isValidNpi(number)) {
      pool = [{ ...clone(template), number: Number(number) }];
    }
    const type = get('enumeration_type')?.toUpperCase();
    const ao = get('name_purpose')?.toUpperCase() === 'AO';
    const purpose = get('address_purpose')?.toUpperCase() ?? '';
    const location = (['city', 'state', 'postal_code', 'country_code'] as const).filter((k) => get(k) !== undefined);
    const results = pool.filter((r) => {
      const basic = (r.basic ?? {}) as Record<string, unknown>;
      if (number !== undefined && String(r.number) !== number) return false;
      if (type && up(r.enumeration_type) !== type) return false;
      const first = get('first_name');
      const last = get('last_name');
      if (first && !matches(ao ? basic.authorized_official_first_name : basic.first_name, first)) return false;
      if (last && !matches(ao ? basic.authorized_official_last_name : basic.last_name, last)) return false;
      const org = get('organization_name');
      if (org) {
        const names = [basic.organization_name, ...((Array.isArray(r.other_names) ? r.other_names : []) as Record<string, unknown>[]).map((o) => o.organization_name)];
        if (!names.some((n) => matches(n, org))) return false;
      }
      const tax = get('taxonomy_description');
      if (tax) {
        const taxonomies = (Array.isArray(r.taxonomies) ? r.taxonomies : []) as Record<string, unknown>[];
        const t = tax.toUpperCase().replace(/\*$/, '');
        if (!taxonomies.some((x) => up(x.code) === t || up(x.desc).includes(t))) return false;
      }
      if (location.length) {
        const ok = addressesFor(r, purpose).some((a) =>
          location.every((k) => {
            const v = get(k) as string;
            if (k === 'postal_code') return postalMatches(a.postal_code, v);
            return matches(a[k], v);
          }),
        );
        if (!ok) return false;
      }
      return true;
    });
    const page = results.slice(skip, skip + limit);
    return JSON.stringify({ result_count: page.length, results: page }, null, q.get('pretty') ? 4 : undefined);
  }

  function maxInWindow(windowMs: number): number {
    const t = [...arrivals].sort((a, b) => a - b);
    let best = 0;
    let j = 0;
    for (let i = 0; i < t.length; i++) {
      while (t[i] - t[j] > windowMs) j++;
      best = Math.max(best, i - j + 1);
    }
    return best;
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    if (req.method !== 'GET' || !/^\/api\/?$/.test(url.pathname)) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const now = performance.now();
    arrivals.push(now);
    queries.push(Object.fromEntries(url.searchParams));
    stats.requests += 1;
    const limit = opts.enforceRateLimit;
    if (limit) {
      const recent = arrivals.filter((t) => now - t <= limit.perMs).length;
      if (recent > limit.requests) {
        stats.rateLimited += 1;
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': String(Math.ceil(limit.perMs / 1000)) });
        res.end('rate limited');
        return;
      }
    }
    const fault = faults.shift();
    if (fault) {
      stats.faults += 1;
      if (fault.type === 'status') {
        res.writeHead(fault.status, { 'content-type': 'text/plain' });
        res.end(`simulated ${fault.status}`);
        return;
      }
      if (fault.type === 'rate-limit') {
        res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': String(fault.retryAfterS) });
        res.end('simulated 429');
        return;
      }
      if (fault.type === 'errors') {
        stats.errors += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(enumerationTypeError());
        return;
      }
      if (fault.type === 'not-json') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>The NPI Registry is down for maintenance</body></html>');
        return;
      }
      await new Promise((r) => setTimeout(r, fault.ms));
    }
    const body = answer(url.searchParams);
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  }

  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      onRequest(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`simulator error: ${err.message}`);
      });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    apiUrl: `${base}/api/`,
    stats,
    arrivals,
    queries,
    maxInWindow,
    numbers: () => [...records.keys()],
    record: (npi) => (records.has(npi) ? clone(held(npi)) : undefined),
    addRecord: (record) => {
      records.set(String((record as Raw).number), clone(record as Raw));
    },
    deactivate(npi, o = {}) {
      const r = held(npi);
      if ((o.mode ?? 'absent') === 'absent') {
        absent.add(npi);
        return;
      }
      absent.delete(npi);
      r.basic = { ...(r.basic ?? {}), status: 'D', deactivation_date: o.date ?? '2024-01-01' };
    },
    reactivate(npi, date) {
      const r = held(npi);
      absent.delete(npi);
      const basic = { ...(r.basic ?? {}), status: 'A' } as Record<string, unknown>;
      if (date) basic.reactivation_date = date;
      else delete basic.deactivation_date;
      r.basic = basic;
    },
    setAddress(npi, purpose, patch) {
      const r = held(npi);
      const addresses = (Array.isArray(r.addresses) ? r.addresses : (r.addresses = [])) as Record<string, unknown>[];
      const a = addresses.find((x) => up(x.address_purpose) === purpose);
      if (a) Object.assign(a, patch);
      else addresses.push({ address_purpose: purpose, address_type: 'DOM', country_code: 'US', ...patch });
    },
    setBasic(npi, patch) {
      const r = held(npi);
      r.basic = { ...(r.basic ?? {}), ...patch };
    },
    setTaxonomies(npi, taxonomies) {
      held(npi).taxonomies = taxonomies.map((t) => ({ state: '', license: '', primary: false, ...t }));
    },
    inject(fault, count = 1) {
      for (let i = 0; i < count; i++) faults.push(fault);
    },
    resetStats() {
      Object.assign(stats, { requests: 0, byNumber: {}, searches: 0, errors: 0, faults: 0, rateLimited: 0 });
      arrivals.length = 0;
      queries.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
