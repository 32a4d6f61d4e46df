/**
 * Plan-Net payer directory adapter (issue 8): reads a payer's Da Vinci PDex Plan-Net directory and,
 * where the payer takes submissions, writes our providers' participation (push.ts, diff.ts).
 * PLANNET.md confirms [C]: the API is public and query-only (no auth SHOULD be needed; never send
 * consumer data); servers `instantiate` .../CapabilityStatement/plan-net; §5 lists the SHALL search
 * parameters and `_include`s (model.ts REQUIRED_SEARCH); practitioner ↔ network is a
 * PractitionerRole with `network-reference`, organization ↔ network OrganizationAffiliation.network;
 * accepting new patients is the complex `newpatients` extension, per network (`fromNetwork`);
 * active means period not ended (`date=ge<today>`); missing Must Support data = "not present".
 * We chose [I]: the project's FHIR client (connectors/fhir/fhir-client.ts: cockatiel retry and
 * breaker, bottleneck limiter, same-origin check of `next` links, FHIR error classification,
 * If-None-Exist and conditional PUT, OAuth/SMART auth) over AdapterHttpClient, which would need all
 * of that rebuilt; its call events feed the registry's `onEvent`. Every page is followed (loop and
 * page-count guards; a `next` on another origin fails the read). Includes the server left out
 * (Medplum ignores `_include`) are read one by one; 404s are reported as unresolved. Parameters
 * outside §5 and the server's CapabilityStatement are refused before sending. §5 has no
 * `identifier` search for Practitioner/Organization: NPI lookup uses it only when declared, else
 * name search + NPI filter. Writes are outside Plan-Net: off by default, sent only when enabled and
 * the payer's CapabilityStatement declares conditional update (push.ts).
 */
import { performance } from 'node:perf_hooks';
import type {
  Bundle, CapabilityStatement, Organization, OrganizationAffiliation, Practitioner, PractitionerRole, Resource,
} from '@medplum/fhirtypes';
import { IntegrationError, ValidationError, WaslError } from '../../common/errors';
import { logger as createLogger, type Logger } from '../../common/logger';
import type { Adapter, AdapterCallEvent, HealthCheckResult, HttpAdapterSettings } from '../adapters/types';
import { createAuthProvider } from '../fhir/auth';
import { FhirClientRegistry } from '../fhir/client-registry';
import type { FhirAuth } from '../fhir/connection';
import { FhirConnectionClient, type FhirRequestEvent, type WriteResult } from '../fhir/fhir-client';
import {
  COMMON_SEARCH_PARAMS, DIRECTORY_TYPES, INCLUDE_PATHS, NPI_SYSTEM, PLANNET_CAPABILITY, REQUIRED_SEARCH, isNetwork, localReference,
  npiOf, referenceOf, type DirectoryType,
} from './model';

/** Auth for a directory or submission endpoint. Secrets are named by environment variable, never inline. */
export type PlanNetAuthSettings =
  | { type: 'none' }
  | { type: 'api-key'; header: string; keyEnv: string }
  | { type: 'basic'; username: string; passwordEnv: string }
  | { type: 'client-credentials'; tokenUrl: string; clientId: string; clientSecretEnv: string; scope?: string };

export interface PlanNetPushSettings {
  /** Default false: Plan-Net itself is read-only; turn on only for a payer that takes submissions. */
  enabled: boolean;
  /** The payer's submission FHIR base, when not the directory's. */
  baseUrl?: string;
  auth?: PlanNetAuthSettings;
  /** System of the identifier our pushed roles carry (conditional update key). */
  identifierSystem?: string;
  /** Skip the CapabilityStatement check, for a payer that documents writes but does not declare them. */
  assumeAccepted?: boolean;
}

export interface PlanNetAdapterSettings extends HttpAdapterSettings {
  /** Adapter id, e.g. `payer-acme-directory`. */
  id: string;
  /** Plan-Net SHOULD NOT require auth (default none); some payers still front it with a key. */
  auth?: PlanNetAuthSettings;
  /** `_count` per page (default 50). */
  pageSize?: number;
  /** Pages per search at most (default 2,000): a guard against a server that never ends. */
  maxPages?: number;
  /** Parallel reads of includes the server did not return (default 4). */
  includeReadConcurrency?: number;
  push?: PlanNetPushSettings;
  onEvent?: (e: AdapterCallEvent) => void;
  logger?: Logger;
  /** Where `*Env` secrets are read (default process.env). */
  env?: Record<string, string | undefined>;
}

export type SearchValue = string | number | boolean | ReadonlyArray<string | number>;
export type PlanNetSearchParams = Record<string, SearchValue>;

export interface SearchOptions {
  /** `_include` values (`Type:param`); `'required'` = the §5 list for the type. */
  include?: readonly string[] | 'required';
  /** Read includes the server did not return (default true). */
  resolveIncludes?: boolean;
}

export interface PlanNetSearchResult<T extends Resource = Resource> {
  /** The matches, every page, deduplicated by id. */
  resources: T[];
  /** Included resources by `Type/id`: from the server or read by us. */
  included: Map<string, Resource>;
  pages: number;
  /** `Bundle.total` of the first page, when the server sent one. */
  total?: number;
  includedByServer: number;
  resolvedByRead: number;
  /** Include targets that could not be read (404/410): `Type/id`. */
  unresolved: string[];
}

export interface PlanNetDirectory {
  practitioners: Practitioner[];
  practitionerRoles: PractitionerRole[];
  /** Organizations that are not networks (payers, provider groups, facilities). */
  organizations: Organization[];
  /** Organizations of type `ntwk` (plannet-Network). */
  networks: Organization[];
  organizationAffiliations: OrganizationAffiliation[];
  locations: Resource[];
  healthcareServices: Resource[];
  insurancePlans: Resource[];
  endpoints: Resource[];
  /** Every resource read, by `Type/id`. */
  byReference: Map<string, Resource>;
  /** `Type/id` of the search matches: with `since`, what changed; the rest is context they point at. */
  matched: Set<string>;
  stats: { pages: number; requests: number; includedByServer: number; resolvedByRead: number };
  /** References to resources the directory does not have (`Type/id`). */
  unresolved: string[];
}

/** What the payer's directory says about one of our providers. */
export interface PayerProviderView {
  npi: string;
  kind: 'individual' | 'organization';
  /** The payer's Practitioner / Organization, when found. */
  provider?: Practitioner | Organization;
  /** PractitionerRoles (individual) or OrganizationAffiliations (organization) naming it. */
  participations: Array<PractitionerRole | OrganizationAffiliation>;
  /** Networks, organizations and locations those reference, by `Type/id`. */
  resources: Map<string, Resource>;
}

export interface ResourceCapability {
  params: Set<string>;
  includes: Set<string>;
  interactions: Set<string>;
  conditionalCreate: boolean;
  conditionalUpdate: boolean;
}

export interface ServerCapability {
  fhirVersion: string;
  instantiatesPlanNet: boolean;
  resources: Map<string, ResourceCapability>;
}

const DEFAULTS = { pageSize: 50, maxPages: 2000, includeReadConcurrency: 4 };
/** Sent with every search by this client, never taken from callers' params. */
const CONTROL_PARAMS = new Set(['_count', '_offset', '_include', '_revinclude', '_format', '_elements', '_summary']);
const ID_CHUNK = 50;

/** Resolves our auth settings into the FHIR client's, reading secrets from the environment. */
export function resolveAuth(auth: PlanNetAuthSettings | undefined, env: Record<string, string | undefined>, path: string): FhirAuth {
  const secret = (name: string, field: string): string => {
    const value = env[name];
    if (!value) throw new ValidationError('PLANNET_SECRET_MISSING', `Environment variable ${name} is not set`, { path: `${path}.${field}` });
    return value;
  };
  switch (auth?.type ?? 'none') {
    case 'none':
      return { type: 'none' };
    case 'api-key': {
      const a = auth as Extract<PlanNetAuthSettings, { type: 'api-key' }>;
      return { type: 'api-key', header: a.header, key: secret(a.keyEnv, 'keyEnv') };
    }
    case 'basic': {
      const a = auth as Extract<PlanNetAuthSettings, { type: 'basic' }>;
      return { type: 'basic', username: a.username, password: secret(a.passwordEnv, 'passwordEnv') };
    }
    case 'client-credentials': {
      const a = auth as Extract<PlanNetAuthSettings, { type: 'client-credentials' }>;
      return { type: 'client-credentials', tokenUrl: a.tokenUrl, clientId: a.clientId, clientSecret: secret(a.clientSecretEnv, 'clientSecretEnv'), scope: a.scope };
    }
    default:
      throw new ValidationError('PLANNET_AUTH_CONFIG', `Unknown auth type ${String((auth as { type?: unknown }).type)}`, { path: `${path}.type` });
  }
}

function parseCapability(statement: CapabilityStatement): ServerCapability {
  const server = statement.rest?.find((r) => r.mode === 'server') ?? statement.rest?.[0];
  const resources = new Map<string, ResourceCapability>();
  for (const r of server?.resource ?? []) {
    resources.set(r.type, {
      params: new Set((r.searchParam ?? []).map((p) => p.name)),
      includes: new Set(r.searchInclude ?? []),
      interactions: new Set((r.interaction ?? []).map((i) => i.code)),
      conditionalCreate: r.conditionalCreate === true,
      conditionalUpdate: r.conditionalUpdate === true,
    });
  }
  return {
    fhirVersion: statement.fhirVersion ?? '',
    instantiatesPlanNet: (statement.instantiates ?? []).some((u) => u.split('|')[0] === PLANNET_CAPABILITY),
    resources,
  };
}

/** `Given Middle Family, MD` → `Family` (the NPPES-style display our provider records keep). */
export function familyNameOf(display: string): string | undefined {
  const words = display.split(',')[0].trim().split(/\s+/).filter(Boolean);
  return words.length ? words[words.length - 1] : undefined;
}

async function pool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++];
      await work(item);
    }
  });
  await Promise.all(workers);
}

function isGone(err: unknown): boolean {
  const status = err instanceof WaslError ? err.details?.status : undefined;
  return status === 404 || status === 410;
}

/**
 * One payer's Plan-Net directory. Safe for concurrent use; `close()` when done (safe twice).
 * Operations: `read` (searches, reads, metadata) and `push` (writes, see push.ts).
 */
export class PlanNetAdapter implements Adapter {
  readonly id: string;
  readonly kind = 'plan-net' as const;
  readonly operations = ['read', 'push'] as const;
  readonly baseUrl: string;
  readonly pushSettings: Required<Pick<PlanNetPushSettings, 'enabled' | 'identifierSystem' | 'assumeAccepted'>> & { baseUrl: string };
  private readonly directory: FhirConnectionClient;
  private readonly writer: FhirConnectionClient;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly concurrency: number;
  private readonly log: Logger;
  private readonly onEvent?: (e: AdapterCallEvent) => void;
  private readonly rateLimit?: { requests: number; perMs: number };
  /** Start times of recent requests, for the rate-limit headroom. */
  private readonly recent: number[] = [];
  private capability?: Promise<ServerCapability>;
  private writeCapability?: Promise<ServerCapability>;
  private requests = 0;

  constructor(settings: PlanNetAdapterSettings) {
    if (!settings.id) throw new ValidationError('PLANNET_CONFIG', 'Plan-Net adapter needs an id', { path: 'id' });
    const env = settings.env ?? process.env;
    this.id = settings.id;
    this.baseUrl = settings.baseUrl.replace(/\/+$/, '');
    this.pageSize = settings.pageSize && settings.pageSize > 0 ? Math.floor(settings.pageSize) : DEFAULTS.pageSize;
    this.maxPages = settings.maxPages && settings.maxPages > 0 ? settings.maxPages : DEFAULTS.maxPages;
    this.concurrency = settings.includeReadConcurrency && settings.includeReadConcurrency > 0 ? settings.includeReadConcurrency : DEFAULTS.includeReadConcurrency;
    this.log = settings.logger ?? createLogger({ stage: 'plannet', adapter: settings.id });
    this.onEvent = settings.onEvent;
    this.rateLimit = settings.rateLimit;
    const pushBase = (settings.push?.baseUrl ?? settings.baseUrl).replace(/\/+$/, '');
    this.pushSettings = {
      enabled: settings.push?.enabled === true,
      baseUrl: pushBase,
      identifierSystem: settings.push?.identifierSystem ?? 'urn:wasl:plannet-participation',
      assumeAccepted: settings.push?.assumeAccepted === true,
    };

    // Adapters are not FHIR connections: keep them out of /api/v1/channels circuits and their gauge.
    const registry = new FhirClientRegistry();
    const rateLimitPerSecond = settings.rateLimit ? (settings.rateLimit.requests * 1000) / settings.rateLimit.perMs : undefined;
    const common = {
      retry: settings.retry,
      breaker: { consecutiveFailures: settings.breaker?.threshold, halfOpenAfterMs: settings.breaker?.halfOpenAfterMs },
      logger: this.log,
      registry,
    };
    this.directory = new FhirConnectionClient({
      ...common,
      connection: { id: settings.id, baseUrl: this.baseUrl, timeoutMs: settings.timeoutMs, rateLimitPerSecond },
      auth: createAuthProvider(resolveAuth(settings.auth, env, 'auth'), { logger: this.log }),
    });
    this.directory.on('request', (e: FhirRequestEvent) => this.record(e, e.operation === 'create' || e.operation === 'update' ? 'push' : 'read'));
    const separateWriter = pushBase !== this.baseUrl || settings.push?.auth !== undefined;
    if (separateWriter && this.pushSettings.enabled) {
      this.writer = new FhirConnectionClient({
        ...common,
        connection: { id: `${settings.id}-push`, baseUrl: pushBase, timeoutMs: settings.timeoutMs, rateLimitPerSecond },
        auth: createAuthProvider(resolveAuth(settings.push?.auth, env, 'push.auth'), { logger: this.log }),
      });
      this.writer.on('request', (e: FhirRequestEvent) => this.record(e, 'push'));
    } else {
      this.writer = this.directory;
    }
  }

  // ---- Adapter -------------------------------------------------------------------------------

  /** GET `/metadata`: up when it answers a Plan-Net CapabilityStatement and the breaker is closed. */
  async healthCheck(): Promise<HealthCheckResult> {
    const started = performance.now();
    try {
      const info = await this.directory.capabilities();
      const latencyMs = Math.round(performance.now() - started);
      const parsed = parseCapability(info.statement);
      this.capability = Promise.resolve(parsed);
      if (!parsed.instantiatesPlanNet) return { status: 'degraded', latencyMs, detail: 'CapabilityStatement does not instantiate Plan-Net' };
      if (this.breakerState() !== 'closed') return { status: 'degraded', latencyMs, detail: `circuit ${this.breakerState()}` };
      return { status: 'up', latencyMs };
    } catch (err) {
      const e = err instanceof WaslError ? err : undefined;
      return { status: 'down', latencyMs: Math.round(performance.now() - started), detail: e?.code ?? 'UNEXPECTED' };
    }
  }

  breakerState(): 'closed' | 'open' | 'half-open' {
    const states = [this.directory.breakerState(), this.writer.breakerState()];
    if (states.includes('open')) return 'open';
    return states.includes('half-open') ? 'half-open' : 'closed';
  }

  /** Requests still allowed in the current window (sliding, over both clients); undefined when unlimited. */
  rateLimitHeadroom(): number | undefined {
    if (!this.rateLimit) return undefined;
    this.prune(Date.now());
    return Math.max(0, this.rateLimit.requests - this.recent.length);
  }

  async close(): Promise<void> {
    await this.directory.close();
    if (this.writer !== this.directory) await this.writer.close();
  }

  // ---- Reading -------------------------------------------------------------------------------

  /** The directory's CapabilityStatement, parsed; read once (a failure is not cached). */
  capabilities(): Promise<ServerCapability> {
    this.capability ??= this.directory.capabilities().then((c) => {
      const parsed = parseCapability(c.statement);
      if (!parsed.instantiatesPlanNet) this.log.warn('Directory does not declare the Plan-Net CapabilityStatement', { adapter: this.id });
      return parsed;
    });
    this.capability.catch(() => { this.capability = undefined; });
    return this.capability;
  }

  /**
   * Searches one resource type, following every `next` page, and returns the matches with their
   * includes (read one by one when the server did not return them).
   * @throws ValidationError `PLANNET_UNSUPPORTED_PARAM` / `PLANNET_UNSUPPORTED_INCLUDE` before sending;
   *   IntegrationError `PLANNET_FOREIGN_NEXT_LINK`, `PLANNET_PAGING_LOOP`, `PLANNET_TOO_MANY_PAGES`;
   *   the FHIR client's classified errors otherwise
   */
  async search<T extends Resource = Resource>(type: DirectoryType, params: PlanNetSearchParams = {}, opts: SearchOptions = {}): Promise<PlanNetSearchResult<T>> {
    const includes = opts.include === 'required' ? REQUIRED_SEARCH[type].include : opts.include ?? [];
    await this.checkSearch(type, params, includes);
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      for (const one of Array.isArray(v) ? v : [v]) query.append(k, String(one));
    }
    query.set('_count', String(this.pageSize));
    for (const inc of includes) query.append('_include', inc);

    const matches = new Map<string, T>();
    const included = new Map<string, Resource>();
    let page: Bundle | undefined = await this.directory.search(type, query);
    const total = page.total;
    const seenLinks = new Set<string>();
    let pages = 0;
    while (page) {
      pages++;
      for (const entry of page.entry ?? []) {
        const r = entry.resource;
        if (!r?.id || r.resourceType === 'OperationOutcome') continue;
        const mode = entry.search?.mode;
        if (mode === 'match' || (mode === undefined && r.resourceType === type)) matches.set(r.id, r as T);
        else included.set(referenceOf(r), r);
      }
      const next = page.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      if (seenLinks.has(next)) throw new IntegrationError('PLANNET_PAGING_LOOP', `Plan-Net ${this.id}: ${type} search repeats a next link`, { details: { pages } });
      seenLinks.add(next);
      if (pages >= this.maxPages) throw new IntegrationError('PLANNET_TOO_MANY_PAGES', `Plan-Net ${this.id}: ${type} search exceeds ${this.maxPages} pages`, { details: { pages } });
      page = await this.nextPage(page, type);
    }
    const includedByServer = included.size;
    const resources = [...matches.values()];
    let resolvedByRead = 0;
    let unresolved: string[] = [];
    if (opts.resolveIncludes !== false && includes.length) {
      const missing = this.missingIncludes(resources, includes, included);
      ({ resolved: resolvedByRead, unresolved } = await this.readInto(missing, included));
    }
    this.log.debug('Plan-Net search done', { adapter: this.id, type, pages, matches: resources.length, includedByServer, resolvedByRead });
    return { resources, included, pages, total, includedByServer, resolvedByRead, unresolved };
  }

  /**
   * Reads the whole directory: the eight resource types (networks are Organizations of type
   * `ntwk`). With `since`, only what changed after it (`_lastUpdated=gt`), with the §5 includes,
   * so unchanged resources the changed ones point at arrive too. Either way, references to
   * resources not read are then read one by one; those the server does not have are `unresolved`.
   */
  async readDirectory(opts: { since?: string } = {}): Promise<PlanNetDirectory> {
    const byReference = new Map<string, Resource>();
    const matched: Array<{ type: DirectoryType; resource: Resource }> = [];
    const stats = { pages: 0, requests: 0, includedByServer: 0, resolvedByRead: 0 };
    const before = this.requests;
    for (const type of DIRECTORY_TYPES) {
      const params: PlanNetSearchParams = opts.since ? { _lastUpdated: `gt${opts.since}` } : {};
      const result = await this.search(type, params, { include: opts.since ? 'required' : [], resolveIncludes: false });
      stats.pages += result.pages;
      stats.includedByServer += result.includedByServer;
      for (const r of result.resources) {
        byReference.set(referenceOf(r), r);
        matched.push({ type, resource: r });
      }
      for (const [ref, r] of result.included) if (!byReference.has(ref)) byReference.set(ref, r);
    }
    const missing = new Set<string>();
    for (const { type, resource } of matched) {
      for (const inc of REQUIRED_SEARCH[type].include) {
        for (const ref of INCLUDE_PATHS[inc](resource as unknown as Record<string, unknown>)) {
          const local = localReference(ref.reference, this.baseUrl);
          if (local && !byReference.has(local)) missing.add(local);
        }
      }
    }
    const { resolved, unresolved } = await this.readInto([...missing], byReference);
    stats.resolvedByRead = resolved;
    stats.requests = this.requests - before;
    const all = [...byReference.values()];
    const ofType = <T extends Resource>(t: string) => all.filter((r) => r.resourceType === t) as T[];
    const orgs = ofType<Organization>('Organization');
    return {
      practitioners: ofType('Practitioner'),
      practitionerRoles: ofType('PractitionerRole'),
      organizations: orgs.filter((o) => !isNetwork(o as unknown as Record<string, unknown>)),
      networks: orgs.filter((o) => isNetwork(o as unknown as Record<string, unknown>)),
      organizationAffiliations: ofType('OrganizationAffiliation'),
      locations: ofType('Location'),
      healthcareServices: ofType('HealthcareService'),
      insurancePlans: ofType('InsurancePlan'),
      endpoints: ofType('Endpoint'),
      byReference,
      matched: new Set(matched.map((m) => referenceOf(m.resource))),
      stats,
      unresolved,
    };
  }

  /** Which of `ids` the directory still has (PLANNET.md §1: re-check cached ids with `_id` to find deletes). */
  async existingIds(type: DirectoryType, ids: readonly string[]): Promise<Set<string>> {
    const present = new Set<string>();
    for (let i = 0; i < ids.length; i += ID_CHUNK) {
      const chunk = ids.slice(i, i + ID_CHUNK);
      const result = await this.search(type, { _id: chunk.join(',') }, { resolveIncludes: false });
      for (const r of result.resources) if (r.id) present.add(r.id);
    }
    return present;
  }

  /**
   * The payer's Practitioner (individual) or Organization with this NPI. Uses `identifier` search
   * when the server declares it; otherwise (§5 does not require it) searches by family name /
   * organization name and keeps the resources carrying the NPI.
   * @param nameHint - our display name ("Given Family, CRED" or the legal name), for the fallback
   */
  async findProvider(kind: 'individual' | 'organization', npi: string, nameHint?: string): Promise<Practitioner | Organization | undefined> {
    const type = kind === 'individual' ? 'Practitioner' : 'Organization';
    const caps = await this.capabilities();
    let params: PlanNetSearchParams;
    if (caps.resources.get(type)?.params.has('identifier')) {
      params = { identifier: `${NPI_SYSTEM}|${npi}` };
    } else {
      const name = kind === 'individual' ? (nameHint ? familyNameOf(nameHint) : undefined) : nameHint;
      if (!name) throw new ValidationError('PLANNET_NAME_NEEDED', `${type} search by NPI is not offered by ${this.id}: a name is needed`, { path: 'name' });
      params = kind === 'individual' ? { family: name } : { name };
    }
    const result = await this.search<Practitioner | Organization>(type, params, { resolveIncludes: false });
    const hits = result.resources.filter((r) => npiOf(r as unknown as Record<string, unknown>) === npi);
    return hits.find((r) => r.active !== false) ?? hits[0];
  }

  /**
   * What the directory says about one provider: its Practitioner/Organization and the
   * PractitionerRoles/OrganizationAffiliations naming it, with their networks, organizations and
   * locations (included or read).
   */
  async providerView(record: { npi: string; kind: 'individual' | 'organization'; name?: string }): Promise<PayerProviderView> {
    const provider = await this.findProvider(record.kind, record.npi, record.name);
    const view: PayerProviderView = { npi: record.npi, kind: record.kind, provider, participations: [], resources: new Map() };
    if (!provider?.id) return view;
    const result = record.kind === 'individual'
      ? await this.search<PractitionerRole>('PractitionerRole', { practitioner: `Practitioner/${provider.id}` }, {
        include: ['PractitionerRole:organization', 'PractitionerRole:location', 'PractitionerRole:network'],
      })
      : await this.search<OrganizationAffiliation>('OrganizationAffiliation', { 'participating-organization': `Organization/${provider.id}` }, {
        include: ['OrganizationAffiliation:primary-organization', 'OrganizationAffiliation:location', 'OrganizationAffiliation:network'],
      });
    view.participations = result.resources;
    view.resources = result.included;
    return view;
  }

  // ---- Writing (used by push.ts) -------------------------------------------------------------

  /**
   * Whether the payer takes submissions of `type`: push enabled, and its CapabilityStatement
   * declares what the push needs — `update` with conditional update, and/or `create` with
   * conditional create (If-None-Exist) — unless `assumeAccepted`.
   */
  async acceptsSubmissions(type: string, needs: ReadonlyArray<'update' | 'create'> = ['update']): Promise<{ accepted: boolean; reason?: string }> {
    if (!this.pushSettings.enabled) return { accepted: false, reason: 'push disabled for this adapter' };
    if (this.pushSettings.assumeAccepted) return { accepted: true };
    const r = (await this.writerCapabilities()).resources.get(type);
    if (needs.includes('update') && (!r?.interactions.has('update') || !r.conditionalUpdate)) {
      return { accepted: false, reason: `payer does not accept conditional updates of ${type}` };
    }
    if (needs.includes('create') && (!r?.interactions.has('create') || !r.conditionalCreate)) {
      return { accepted: false, reason: `payer does not accept conditional creates of ${type}` };
    }
    return { accepted: true };
  }

  /** GET `<type>/<id>` from the directory. */
  async read<T extends Resource>(type: DirectoryType, id: string): Promise<T> {
    return this.directory.read<T>(type, id);
  }

  /** PUT `<type>?identifier=<system>|<value>`: updates the one match, creates when none. */
  async updateByIdentifier<T extends Resource>(resource: T, identifier: { system: string; value: string }): Promise<WriteResult<T>> {
    return this.writer.update(resource, { conditional: `identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}` });
  }

  /** PUT `<type>/<id>`. */
  async updateById<T extends Resource>(resource: T): Promise<WriteResult<T>> {
    return this.writer.update(resource);
  }

  /** POST with `If-None-Exist: identifier=<NPI system>|<npi>`: the existing one (200) or a new one (201). */
  async createIfNoneExist<T extends Resource>(resource: T, identifier: { system: string; value: string }): Promise<WriteResult<T>> {
    return this.writer.create(resource, { ifNoneExist: `identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}` });
  }

  /** A search on the submission endpoint (one page; for resolving references before a write). */
  async searchWritable<T extends Resource>(type: string, params: Record<string, string>): Promise<T[]> {
    const bundle = await this.writer.search(type, params);
    return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
  }

  // ---- internals -----------------------------------------------------------------------------

  private writerCapabilities(): Promise<ServerCapability> {
    if (this.writer === this.directory) return this.capabilities();
    this.writeCapability ??= this.writer.capabilities().then((c) => parseCapability(c.statement));
    this.writeCapability.catch(() => { this.writeCapability = undefined; });
    return this.writeCapability;
  }

  private async checkSearch(type: DirectoryType, params: PlanNetSearchParams, includes: readonly string[]): Promise<void> {
    const spec = REQUIRED_SEARCH[type];
    if (!spec) throw new ValidationError('PLANNET_UNSUPPORTED_TYPE', `${String(type)} is not a Plan-Net directory type`, { path: 'type' });
    let declared: ResourceCapability | undefined;
    for (const name of Object.keys(params)) {
      const base = name.split(/[:.]/)[0];
      if (CONTROL_PARAMS.has(base)) {
        throw new ValidationError('PLANNET_UNSUPPORTED_PARAM', `${name} is set by the adapter, not by the caller`, { path: `params.${name}` });
      }
      if (spec.params.includes(base) || (COMMON_SEARCH_PARAMS as readonly string[]).includes(base)) continue;
      declared ??= (await this.capabilities()).resources.get(type);
      if (!declared?.params.has(base)) {
        throw new ValidationError('PLANNET_UNSUPPORTED_PARAM', `${type} search parameter ${base} is neither a Plan-Net one nor declared by ${this.id}`, { path: `params.${name}` });
      }
    }
    for (const inc of includes) {
      if (!inc.startsWith(`${type}:`) || !INCLUDE_PATHS[inc]) {
        throw new ValidationError('PLANNET_UNSUPPORTED_INCLUDE', `${inc} is not a Plan-Net include of ${type}`, { path: 'include' });
      }
    }
  }

  private async nextPage(page: Bundle, type: string): Promise<Bundle | undefined> {
    try {
      return await this.directory.nextPage(page);
    } catch (err) {
      if (err instanceof WaslError && err.code === 'VALIDATION_FHIR_FOREIGN_URL') {
        // The server's fault, not our input: following it would send our requests (and any
        // credentials) elsewhere, and a partial directory must not pass for a whole one.
        throw new IntegrationError('PLANNET_FOREIGN_NEXT_LINK', `Plan-Net ${this.id}: ${type} next link points at another origin; not followed`, { cause: err });
      }
      throw err;
    }
  }

  private missingIncludes(resources: readonly Resource[], includes: readonly string[], have: Map<string, Resource>): string[] {
    const missing = new Set<string>();
    for (const r of resources) {
      for (const inc of includes) {
        for (const ref of INCLUDE_PATHS[inc](r as unknown as Record<string, unknown>)) {
          const local = localReference(ref.reference, this.baseUrl);
          if (local && !have.has(local)) missing.add(local);
        }
      }
    }
    return [...missing];
  }

  /** Reads `refs` into `into`; 404/410 go to `unresolved`, anything else fails the read. */
  private async readInto(refs: readonly string[], into: Map<string, Resource>): Promise<{ resolved: number; unresolved: string[] }> {
    let resolved = 0;
    const unresolved: string[] = [];
    await pool(refs, this.concurrency, async (ref) => {
      const [type, id] = ref.split('/');
      try {
        into.set(ref, await this.directory.read(type, id));
        resolved++;
      } catch (err) {
        if (!isGone(err)) throw err;
        unresolved.push(ref);
      }
    });
    if (unresolved.length) this.log.info('Plan-Net references not in the directory', { adapter: this.id, count: unresolved.length });
    return { resolved, unresolved: unresolved.sort() };
  }

  private record(e: FhirRequestEvent, operation: 'read' | 'push'): void {
    const at = Date.now();
    if (e.code !== 'TRANSIENT_FHIR_CIRCUIT_OPEN') {
      this.requests++;
      if (this.rateLimit) {
        this.recent.push(at);
        this.prune(at);
      }
    }
    const outcome: AdapterCallEvent['outcome'] = e.code === 'TRANSIENT_FHIR_CIRCUIT_OPEN' ? 'breaker-open' : e.outcome;
    try {
      this.onEvent?.({ adapter: this.id, operation, outcome, latencyMs: e.durationMs, code: e.code, status: e.status, at });
    } catch (err) {
      this.log.warn('Adapter event listener failed', { adapter: this.id, error: err instanceof Error ? err.name : 'unknown' });
    }
  }

  private prune(now: number): void {
    if (!this.rateLimit) return;
    const from = now - this.rateLimit.perMs;
    while (this.recent.length && this.recent[0] <= from) this.recent.shift();
  }
}

/** Builds the adapter from its settings. */
export function createPlanNetAdapter(settings: PlanNetAdapterSettings): PlanNetAdapter {
  return new PlanNetAdapter(settings);
}

function bool(value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ValidationError('PLANNET_CONFIG', `${path} must be true or false`, { path });
}

function int(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new ValidationError('PLANNET_CONFIG', `${path} must be a positive integer`, { path });
  return n;
}

function str(value: unknown, path: string, required = false): string | undefined {
  if (value === undefined && !required) return undefined;
  if (typeof value !== 'string' || value === '') throw new ValidationError('PLANNET_CONFIG', `${path} must be a non-empty string`, { path });
  return value;
}

function authFrom(value: unknown, path: string): PlanNetAuthSettings | undefined {
  if (value === undefined) return undefined;
  const a = value as Record<string, unknown>;
  if (typeof a !== 'object' || a === null) throw new ValidationError('PLANNET_CONFIG', `${path} must be a mapping`, { path });
  switch (a.type) {
    case 'none':
      return { type: 'none' };
    case 'api-key':
      return { type: 'api-key', header: str(a.header, `${path}.header`, true) as string, keyEnv: str(a.keyEnv, `${path}.keyEnv`, true) as string };
    case 'basic':
      return { type: 'basic', username: str(a.username, `${path}.username`, true) as string, passwordEnv: str(a.passwordEnv, `${path}.passwordEnv`, true) as string };
    case 'client-credentials':
      return {
        type: 'client-credentials', tokenUrl: str(a.tokenUrl, `${path}.tokenUrl`, true) as string, clientId: str(a.clientId, `${path}.clientId`, true) as string,
        clientSecretEnv: str(a.clientSecretEnv, `${path}.clientSecretEnv`, true) as string, scope: str(a.scope, `${path}.scope`),
      };
    default:
      throw new ValidationError('PLANNET_CONFIG', `${path}.type must be none, api-key, basic or client-credentials`, { path: `${path}.type` });
  }
}

/**
 * The kind's own `settings:` of an adapters.yaml entry (values may be strings after `${VAR}`
 * substitution): `pageSize`, `maxPages`, `includeReadConcurrency`, `auth`, `push { enabled,
 * baseUrl, identifierSystem, assumeAccepted, auth }`. Unknown keys are refused.
 * @throws ValidationError `VALIDATION_PLANNET_CONFIG` whose `path` names the bad key
 */
export function planNetSettingsFrom(settings: Record<string, unknown>): Pick<PlanNetAdapterSettings, 'pageSize' | 'maxPages' | 'includeReadConcurrency' | 'auth' | 'push'> {
  const known = new Set(['pageSize', 'maxPages', 'includeReadConcurrency', 'auth', 'push']);
  for (const key of Object.keys(settings)) {
    if (!known.has(key)) throw new ValidationError('PLANNET_CONFIG', `Unknown Plan-Net setting ${key}`, { path: key });
  }
  const out: ReturnType<typeof planNetSettingsFrom> = {
    pageSize: int(settings.pageSize, 'pageSize'),
    maxPages: int(settings.maxPages, 'maxPages'),
    includeReadConcurrency: int(settings.includeReadConcurrency, 'includeReadConcurrency'),
    auth: authFrom(settings.auth, 'auth'),
  };
  if (settings.push !== undefined) {
    const p = settings.push as Record<string, unknown>;
    if (typeof p !== 'object' || p === null) throw new ValidationError('PLANNET_CONFIG', 'push must be a mapping', { path: 'push' });
    out.push = {
      enabled: bool(p.enabled, 'push.enabled') ?? false,
      baseUrl: str(p.baseUrl, 'push.baseUrl'),
      identifierSystem: str(p.identifierSystem, 'push.identifierSystem'),
      assumeAccepted: bool(p.assumeAccepted, 'push.assumeAccepted'),
      auth: authFrom(p.auth, 'push.auth'),
    };
  }
  return out;
}

/**
 * The registry's factory for `kind: plan-net` (engine/providers/registry.ts `AdapterFactory`,
 * typed structurally here so the connector does not depend on the engine): the entry's HTTP
 * settings and event sink from `spec.http`, the Plan-Net ones from `spec.settings`.
 */
export const planNetAdapterFactory = (spec: {
  id: string;
  http: HttpAdapterSettings & { onEvent?: (e: AdapterCallEvent) => void; logger?: Logger };
  settings: Record<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
}): PlanNetAdapter => new PlanNetAdapter({
  ...spec.http,
  ...planNetSettingsFrom(spec.settings ?? {}),
  id: spec.id,
  env: { ...spec.env },
  logger: spec.http.logger ?? spec.logger,
  onEvent: spec.http.onEvent,
});
