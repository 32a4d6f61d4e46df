/**
 * Plan-Net payer directory simulator: the engine's own FHIR server (engine/fhir-server: Medplum
 * fhir-router over a validating in-memory repository) on loopback, loaded with the Plan-Net
 * resources in `fixtures/` (a fictional payer, two networks, 45 practitioners and roles, ...).
 * TEST CODE ONLY: never on the production path.
 *
 * ```ts
 * const sim = await startPlanNetSimulator({ acceptWrites: true, serverIncludes: 'none' });
 * sim.url;                      // http://127.0.0.1:<port>/fhir/R4
 * sim.seen;                     // every request: method, path, query, status
 * sim.failWrites(503, 2, 'PractitionerRole');   // the next 2 writes (of that type) answer 503, not processed
 * sim.foreignNextLink = true;   // searchset next links point at another origin
 * await sim.reset();            // fixtures only again
 * await sim.close();
 * ```
 *
 * What it adds around the engine's server, as a Plan-Net server would behave:
 * - `/metadata`: a CapabilityStatement that `instantiates` Plan-Net and lists the §5 search
 *   parameters and includes (plus `identifier` on the provider types, as a US Core server does);
 * - the Plan-Net SearchParameters Medplum lacks (PractitionerRole `network`, Organization and
 *   InsurancePlan `coverage-area`, InsurancePlan `plan-type`), indexed into Medplum. The IG's
 *   `network` expression ends at the Extension, which Medplum cannot match; ours ends at
 *   `.value.ofType(Reference)` (the same resources match);
 * - search parameters not in its CapabilityStatement answer 400 (as HAPI does by default), so a
 *   client cannot mistake an ignored parameter for "no results";
 * - `_include`: Medplum ignores it; the simulator returns the includes listed in
 *   `serverIncludes` (default all), evaluating the SearchParameter expressions. `'none'` or a
 *   partial list make the client read the rest itself;
 * - read-only by default (405 on writes, like a Plan-Net directory); `acceptWrites` makes it a
 *   payer that takes submissions (and declares conditional create/update).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { evalFhirPath, getSearchParameter, getStatus, indexSearchParameter } from '@medplum/core';
import { FhirRouter, type MemoryRepository } from '@medplum/fhir-router';
import type {
  Bundle, BundleEntry, CapabilityStatement, CapabilityStatementRestResource, OperationOutcome, Reference, Resource, SearchParameter,
} from '@medplum/fhirtypes';
import { createFhirServer, FHIR_CONTENT_TYPE } from '../../../engine/fhir-server';
import { loadFhirDefinitions } from '../../../engine/fhir-server/definitions';
import { addSearchLinks } from '../../../engine/fhir-server/search-links';
import {
  DIRECTORY_TYPES, EXT_LOCATION_REFERENCE, EXT_NETWORK_REFERENCE, PLANNET_BASE, PLANNET_CAPABILITY, REQUIRED_SEARCH, localReference,
} from '../../../connectors/plannet/model';

export const FIXTURES_DIR = path.join(__dirname, 'fixtures');
const BASE_PATH = '/fhir/R4';

export interface PlanNetSimulatorOptions {
  /** Take submissions (create/update, conditional) of providers, roles, affiliations, locations. Default false. */
  acceptWrites?: boolean;
  /** Which `_include`s the server returns: `'all'` (default), `'none'` (like Medplum alone) or a list. */
  serverIncludes?: 'all' | 'none' | readonly string[];
  /** Search parameters to leave out of the CapabilityStatement (then refused with 400), per type. */
  withoutSearchParams?: Partial<Record<string, readonly string[]>>;
  /** Load fixtures/ (default true). */
  fixtures?: boolean;
  /** Port (default 0: any free one). */
  port?: number;
}

export interface SeenRequest {
  method: string;
  /** Relative to the FHIR base, e.g. `/PractitionerRole` or `/Practitioner/prac-01`. */
  path: string;
  /** The raw query string (test data only). */
  query: string;
  status: number;
  /** Request headers (test data only: lets tests check auth headers arrive). */
  headers: Record<string, string | string[] | undefined>;
}

export interface PlanNetSimulator {
  url: string;
  port: number;
  repo: MemoryRepository;
  seen: SeenRequest[];
  /** When set, searchset `next` links point at another origin. */
  foreignNextLink: boolean;
  /** The next `count` writes (POST/PUT/PATCH/DELETE, of `type` if given) answer `status` with an OperationOutcome. */
  failWrites(status: number, count?: number, type?: string): void;
  /** Empties the repository and loads the fixtures again; clears `seen`. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Search controls the server accepts on every type. */
const CONTROL_PARAMS = new Set(['_count', '_offset', '_include', '_revinclude', '_sort', '_format', '_total', '_summary', '_elements']);
/** Types a payer that takes submissions accepts writes of. */
const WRITABLE = new Set(['Practitioner', 'Organization', 'PractitionerRole', 'OrganizationAffiliation', 'Location']);
/** Searchable by identifier, as their US Core base profiles require. */
const IDENTIFIER_SEARCH = new Set(['Practitioner', 'Organization', 'PractitionerRole', 'OrganizationAffiliation', 'Location', 'HealthcareService', 'Endpoint']);

let searchParametersIndexed = false;

/** Plan-Net SearchParameters that Medplum's R4 index lacks (global state in @medplum/core: once). */
function indexPlanNetSearchParameters(): void {
  if (searchParametersIndexed) return;
  const sp = (id: string, code: string, base: string, type: SearchParameter['type'], expression: string, target?: string[]): SearchParameter => ({
    resourceType: 'SearchParameter',
    id,
    url: `${PLANNET_BASE}/SearchParameter/${id}`,
    name: id.replace(/-/g, '_'),
    status: 'active',
    description: `Plan-Net ${code} on ${base}`,
    code,
    base: [base as SearchParameter['base'][number]],
    type,
    expression,
    ...(target ? { target: target as SearchParameter['target'] } : {}),
  });
  const wanted = [
    sp('practitionerrole-network', 'network', 'PractitionerRole', 'reference', `PractitionerRole.extension.where(url='${EXT_NETWORK_REFERENCE}').value.ofType(Reference)`, ['Organization']),
    sp('organization-coverage-area', 'coverage-area', 'Organization', 'reference', `Organization.extension.where(url='${EXT_LOCATION_REFERENCE}').value.ofType(Reference)`, ['Location']),
    sp('insuranceplan-coverage-area', 'coverage-area', 'InsurancePlan', 'reference', 'InsurancePlan.coverageArea | InsurancePlan.plan.coverageArea', ['Location']),
    sp('insuranceplan-plan-type', 'plan-type', 'InsurancePlan', 'token', 'InsurancePlan.plan.type'),
  ];
  for (const p of wanted) if (!getSearchParameter(p.base[0], p.code)) indexSearchParameter(p);
  searchParametersIndexed = true;
}

function honouredIncludes(opt: PlanNetSimulatorOptions['serverIncludes']): Set<string> {
  if (opt === 'none') return new Set();
  if (opt === undefined || opt === 'all') return new Set(DIRECTORY_TYPES.flatMap((t) => REQUIRED_SEARCH[t].include));
  return new Set(opt);
}

function capabilityStatement(baseUrl: string, opts: PlanNetSimulatorOptions, includes: Set<string>): CapabilityStatement {
  const resources: CapabilityStatementRestResource[] = DIRECTORY_TYPES.map((type) => {
    const without = new Set(opts.withoutSearchParams?.[type] ?? []);
    const names = ['_id', '_lastUpdated', ...REQUIRED_SEARCH[type].params, ...(IDENTIFIER_SEARCH.has(type) ? ['identifier'] : [])];
    const writable = opts.acceptWrites === true && WRITABLE.has(type);
    return {
      type,
      interaction: [
        { code: 'read' }, { code: 'vread' }, { code: 'search-type' },
        ...(writable ? [{ code: 'create' as const }, { code: 'update' as const }] : []),
      ],
      conditionalCreate: writable,
      conditionalUpdate: writable,
      searchParam: [...new Set(names)].filter((n) => !without.has(n)).map((name) => {
        const sp = getSearchParameter(type, name);
        return { name, type: (sp?.type ?? (name === '_lastUpdated' ? 'date' : 'token')) as 'token', definition: sp?.url };
      }),
      searchInclude: REQUIRED_SEARCH[type].include.filter((i) => includes.has(i)),
      searchRevInclude: [...REQUIRED_SEARCH[type].revinclude],
    };
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-23',
    kind: 'instance',
    instantiates: [PLANNET_CAPABILITY],
    software: { name: 'Wasl Plan-Net simulator (engine FHIR server, Medplum fhir-router 4.5.2)' },
    implementation: { description: 'Plan-Net payer directory simulator (test only)', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server', resource: resources }],
  };
}

function outcome(code: 'not-supported' | 'invalid' | 'exception' | 'transient', text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function send(res: Response, status: number, body: Resource): void {
  res.status(status).type(FHIR_CONTENT_TYPE).send(JSON.stringify(body));
}

/** Reads every fixture bundle into the repository (validated by the engine's repository). */
export async function loadFixtures(repo: MemoryRepository, dir = FIXTURES_DIR): Promise<number> {
  let n = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Bundle;
    for (const entry of bundle.entry ?? []) {
      if (!entry.resource) continue;
      await repo.createResource(entry.resource);
      n++;
    }
  }
  return n;
}

/** Every fixture resource, by `Type/id` (for tests that compare against the source). */
export function fixtureResources(dir = FIXTURES_DIR): Map<string, Resource> {
  const out = new Map<string, Resource>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const bundle = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Bundle;
    for (const e of bundle.entry ?? []) if (e.resource) out.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
  }
  return out;
}

export async function startPlanNetSimulator(opts: PlanNetSimulatorOptions = {}): Promise<PlanNetSimulator> {
  loadFhirDefinitions();
  indexPlanNetSearchParameters();
  const fhir = await createFhirServer();
  const repo = fhir.repo;
  const router = new FhirRouter();
  const includes = honouredIncludes(opts.serverIncludes);
  const seen: SeenRequest[] = [];
  let failing: { status: number; count: number; type?: string } | undefined;

  const app = express();
  app.disable('x-powered-by');
  const base = express.Router();

  base.use((req, res, next) => {
    res.on('finish', () => {
      const [p, q = ''] = req.url.split('?');
      seen.push({ method: req.method, path: p, query: q, status: res.statusCode, headers: { ...req.headers } });
    });
    next();
  });

  base.get('/metadata', (req, res) => {
    send(res, 200, capabilityStatement(`${req.protocol}://${req.get('host')}${req.baseUrl}`, opts, includes));
  });

  // Writes: refused by a read-only directory; fault injection for a payer that takes them.
  base.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const type = req.path.split('/')[1] ?? '';
    if (opts.acceptWrites !== true || !WRITABLE.has(type)) {
      send(res, 405, outcome('not-supported', 'This Plan-Net directory is read-only'));
      return;
    }
    if (failing && failing.count > 0 && (!failing.type || failing.type === type)) {
      failing.count--;
      send(res, failing.status, outcome(failing.status >= 500 ? 'transient' : 'invalid', `Injected HTTP ${failing.status}`));
      return;
    }
    next();
  });

  // Type-level searches: strict parameters, includes, paging links.
  base.get(/^\/([A-Z][A-Za-z]+)\/?$/, async (req: Request, res: Response, next: NextFunction) => {
    try {
      const type = req.path.replace(/\//g, '');
      const statement = capabilityStatement('', opts, includes);
      const declared = statement.rest?.[0].resource?.find((r) => r.type === type);
      const query = new URLSearchParams(req.url.split('?')[1] ?? '');
      const allowed = new Set((declared?.searchParam ?? []).map((p) => p.name));
      for (const name of new Set(query.keys())) {
        const baseName = name.split(/[:.]/)[0];
        if (!CONTROL_PARAMS.has(baseName) && !allowed.has(baseName)) {
          send(res, 400, outcome('not-supported', `Unknown search parameter ${baseName} for ${type}`));
          return;
        }
      }
      const forward = new URLSearchParams(query);
      forward.delete('_include');
      forward.delete('_revinclude');
      const qs = forward.toString();
      const [result, bundle] = await router.handleRequest(
        { method: 'GET', url: qs ? `${type}?${qs}` : type, pathname: '', params: {}, query: {}, body: undefined, headers: req.headers, config: {} },
        repo,
      );
      const status = getStatus(result);
      if (status >= 400 || !bundle) {
        send(res, status, result);
        return;
      }
      const searchset = bundle as Bundle;
      const baseUrl = `${req.protocol}://${req.get('host')}${req.baseUrl}`;
      for (const e of searchset.entry ?? []) e.search = { mode: 'match' };
      addSearchLinks(searchset, baseUrl, req.path, query);
      await addIncludes(searchset, query.getAll('_include').filter((i) => includes.has(i)), repo, baseUrl);
      if (simulator.foreignNextLink) {
        for (const link of searchset.link ?? []) {
          if (link.relation === 'next') link.url = link.url.replace(/^https?:\/\/[^/]+/, 'http://directory-mirror.invalid:8443');
        }
      }
      send(res, 200, searchset);
    } catch (err) {
      next(err);
    }
  });

  base.use(fhir.router);
  app.use(BASE_PATH, base);

  if (opts.fixtures !== false) await loadFixtures(repo);

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;

  const simulator: PlanNetSimulator = {
    url: `http://127.0.0.1:${port}${BASE_PATH}`,
    port,
    repo,
    seen,
    foreignNextLink: false,
    failWrites(status: number, count = 1, type?: string) {
      failing = { status, count, type };
    },
    async reset() {
      fhir.reset();
      if (opts.fixtures !== false) await loadFixtures(repo);
      seen.length = 0;
      failing = undefined;
      simulator.foreignNextLink = false;
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
  return simulator;
}

/** Appends `search.mode = include` entries for the honoured `_include`s of the matches. */
async function addIncludes(bundle: Bundle, wanted: string[], repo: MemoryRepository, baseUrl: string): Promise<void> {
  if (!wanted.length) return;
  const have = new Set((bundle.entry ?? []).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`));
  const extra: BundleEntry[] = [];
  for (const inc of wanted) {
    const [sourceType, code] = inc.split(':');
    const expression = getSearchParameter(sourceType, code)?.expression;
    if (!expression) continue;
    for (const entry of bundle.entry ?? []) {
      if (entry.search?.mode !== 'match' || entry.resource?.resourceType !== sourceType) continue;
      for (const value of evalFhirPath(expression, entry.resource)) {
        const ref = localReference((value as Reference)?.reference);
        if (!ref || have.has(ref)) continue;
        const [type, id] = ref.split('/');
        try {
          const resource = await repo.readResource(type, id);
          have.add(ref);
          extra.push({ fullUrl: `${baseUrl}/${ref}`, resource, search: { mode: 'include' } });
        } catch {
          // A dangling reference: a real server leaves it out as well.
        }
      }
    }
  }
  bundle.entry = [...(bundle.entry ?? []), ...extra];
}
