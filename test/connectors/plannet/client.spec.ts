import assert from 'node:assert/strict';
import type { PractitionerRole } from '@medplum/fhirtypes';
import winston from 'winston';
import type { AdapterCallEvent } from '../../../connectors/adapters/types';
import {
  createPlanNetAdapter, familyNameOf, planNetAdapterFactory, planNetSettingsFrom, type PlanNetAdapter, type PlanNetAdapterSettings,
} from '../../../connectors/plannet/client';
import type { AdapterFactory } from '../../../engine/providers/registry';
import { INCLUDE_PATHS, REQUIRED_SEARCH, roleNetwork } from '../../../connectors/plannet/model';
import { failure } from '../../support/failure';
import { fixtureResources, startPlanNetSimulator, type PlanNetSimulator, type PlanNetSimulatorOptions } from '../../simulators/plannet';
import { PREM_NET, STD_NET, fixtureNpi } from './support';

const quiet = winston.createLogger({ silent: true });
const ROLE_IDS = Array.from({ length: 45 }, (_, i) => `role-${String(i + 1).padStart(2, '0')}`);

describe('connectors/plannet PlanNetAdapter (read) against the Plan-Net simulator', function () {
  this.timeout(60_000);
  let sim: PlanNetSimulator | undefined;
  let adapter: PlanNetAdapter | undefined;

  async function start(simOpts: PlanNetSimulatorOptions = {}, settings: Partial<PlanNetAdapterSettings> = {}): Promise<{ sim: PlanNetSimulator; adapter: PlanNetAdapter }> {
    sim = await startPlanNetSimulator(simOpts);
    adapter = createPlanNetAdapter({ id: 'payer-acme-directory', baseUrl: sim.url, pageSize: 20, logger: quiet, ...settings });
    return { sim, adapter };
  }

  afterEach(async () => {
    await adapter?.close();
    await sim?.close();
    adapter = undefined;
    sim = undefined;
  });

  const searches = (s: PlanNetSimulator, type: string) => s.seen.filter((r) => r.method === 'GET' && r.path === `/${type}`);
  const reads = (s: PlanNetSimulator) => s.seen.filter((r) => r.method === 'GET' && /^\/[A-Z][A-Za-z]+\/[^/]+$/.test(r.path));

  it('reads all 45 PractitionerRoles across 3 pages of 20 and reads every include the server did not return', async () => {
    const { sim, adapter } = await start({ serverIncludes: 'none' });
    const result = await adapter.search<PractitionerRole>('PractitionerRole', {}, { include: 'required' });

    assert.deepEqual(result.resources.map((r) => r.id).sort(), ROLE_IDS);
    assert.equal(result.pages, 3);
    assert.equal(result.total, 45);
    const pages = searches(sim, 'PractitionerRole');
    assert.equal(pages.length, 3);
    assert.deepEqual(pages.map((p) => new URLSearchParams(p.query).get('_offset')), [null, '20', '40']);
    for (const p of pages) {
      const q = new URLSearchParams(p.query);
      assert.equal(q.get('_count'), '20');
      assert.deepEqual(q.getAll('_include').sort(), [...REQUIRED_SEARCH.PractitionerRole.include].sort(), 'every page asks for the §5 includes');
    }

    // Medplum ignores _include: every distinct target is read once, and nothing is missing.
    assert.equal(result.includedByServer, 0);
    const targets = new Set<string>();
    for (const role of result.resources) {
      for (const inc of REQUIRED_SEARCH.PractitionerRole.include) {
        for (const ref of INCLUDE_PATHS[inc](role as unknown as Record<string, unknown>)) targets.add(ref.reference as string);
      }
    }
    assert.equal(targets.size, 45 + 3 + 3 + 2 + 1 + 1, 'practitioners, organizations, locations, networks, service, endpoint');
    assert.deepEqual([...result.included.keys()].sort(), [...targets].sort());
    assert.equal(result.resolvedByRead, targets.size);
    assert.equal(reads(sim).length, targets.size, 'one read per missing include, none twice');
    assert.deepEqual(result.unresolved, []);
  });

  it('uses the includes the server returned and reads only the ones it left out', async () => {
    const { sim, adapter } = await start({ serverIncludes: ['PractitionerRole:practitioner', 'PractitionerRole:organization'] });
    const result = await adapter.search<PractitionerRole>('PractitionerRole', {}, { include: 'required' });
    assert.equal(result.resources.length, 45, 'included Practitioners are not taken for matches');
    assert.equal(result.includedByServer, 45 + 3);
    assert.equal(result.resolvedByRead, 3 + 2 + 1 + 1);
    const readPaths = reads(sim).map((r) => r.path);
    assert.equal(readPaths.length, 7);
    assert.ok(readPaths.every((p) => !p.startsWith('/Practitioner/') && !/^\/Organization\/(burr|hamilton|hartford)/.test(p)), readPaths.join(' '));
    assert.ok(result.included.has('Organization/acme-std-net') && result.included.has('Location/burr-clinic-main'));
  });

  it('reads nothing more when the server returns every include', async () => {
    const { sim, adapter } = await start({ serverIncludes: 'all' });
    const result = await adapter.search('PractitionerRole', {}, { include: 'required' });
    assert.equal(result.resources.length, 45);
    assert.equal(result.resolvedByRead, 0);
    assert.equal(reads(sim).length, 0);
    assert.equal(result.included.size, 55);
  });

  it('searches a network with the Plan-Net network parameter (40 roles, 2 pages)', async () => {
    const { adapter } = await start();
    const std = await adapter.search<PractitionerRole>('PractitionerRole', { network: STD_NET });
    assert.equal(std.resources.length, 40);
    assert.equal(std.pages, 2);
    assert.ok(std.resources.every((r) => roleNetwork(r as unknown as Record<string, unknown>) === STD_NET));
    const prem = await adapter.search<PractitionerRole>('PractitionerRole', { network: PREM_NET, specialty: 'http://nucc.org/provider-taxonomy|363LF0000X' });
    assert.deepEqual(prem.resources.map((r) => r.id), ['role-45']);
  });

  it('refuses a next link on another origin', async () => {
    const { sim, adapter } = await start();
    sim.foreignNextLink = true;
    const err = await failure(() => adapter.search('PractitionerRole'));
    assert.equal(err.code, 'INTEGRATION_PLANNET_FOREIGN_NEXT_LINK');
    assert.equal(err.kind, 'integration');
    assert.equal(searches(sim, 'PractitionerRole').length, 1, 'only the first page was fetched');
  });

  it('refuses, before sending, a parameter that is neither Plan-Net nor declared, and a foreign include', async () => {
    const { sim, adapter } = await start();
    const bad = await failure(() => adapter.search('PractitionerRole', { 'accepting-patients': 'true' }));
    assert.equal(bad.code, 'VALIDATION_PLANNET_UNSUPPORTED_PARAM');
    const inc = await failure(() => adapter.search('PractitionerRole', {}, { include: ['Location:endpoint'] }));
    assert.equal(inc.code, 'VALIDATION_PLANNET_UNSUPPORTED_INCLUDE');
    const count = await failure(() => adapter.search('PractitionerRole', { _count: 5 }));
    assert.equal(count.code, 'VALIDATION_PLANNET_UNSUPPORTED_PARAM');
    assert.equal(searches(sim, 'PractitionerRole').length, 0);
    // A declared non-§5 parameter is fine (the simulator declares identifier, as US Core servers do).
    const byId = await adapter.search('PractitionerRole', { identifier: 'urn:x|nothing' });
    assert.equal(byId.resources.length, 0);
  });

  it('reads the whole directory: every kind, networks apart from organizations, nothing dangling', async () => {
    const { adapter } = await start({ serverIncludes: 'none' });
    const dir = await adapter.readDirectory();
    const all = fixtureResources();
    const count = (type: string) => [...all.values()].filter((r) => r.resourceType === type).length;
    assert.equal(dir.practitioners.length, count('Practitioner'));
    assert.equal(dir.practitionerRoles.length, 45);
    assert.deepEqual(dir.networks.map((n) => n.id).sort(), ['acme-prem-net', 'acme-std-net']);
    assert.equal(dir.organizations.length, count('Organization') - 2);
    assert.equal(dir.organizationAffiliations.length, count('OrganizationAffiliation'));
    assert.equal(dir.locations.length, count('Location'));
    assert.equal(dir.healthcareServices.length, count('HealthcareService'));
    assert.equal(dir.insurancePlans.length, count('InsurancePlan'));
    assert.equal(dir.endpoints.length, count('Endpoint'));
    assert.equal(dir.byReference.size, all.size);
    assert.deepEqual(dir.unresolved, []);
    assert.equal(dir.stats.resolvedByRead, 0, 'a full read has every target already');
    assert.equal(dir.stats.pages, 3 + 3 + 6);
  });

  it('reads only what changed since a time, with the unchanged resources it points at', async () => {
    const { adapter } = await start({ serverIncludes: 'none' });
    const since = '2026-10-20T00:00:00Z';
    const dir = await adapter.readDirectory({ since });
    const changed = [...fixtureResources().values()].filter((r) => (r.meta?.lastUpdated ?? '') > since).map((r) => `${r.resourceType}/${r.id}`).sort();
    assert.ok(changed.length > 0 && changed.length < 45);
    assert.deepEqual([...dir.matched].sort(), changed);
    for (const ref of changed) {
      const role = dir.byReference.get(ref) as PractitionerRole;
      assert.ok(dir.byReference.has(role.practitioner?.reference as string), `${ref}'s practitioner is there`);
    }
    assert.ok(dir.stats.resolvedByRead > 0);
  });

  it('finds a practitioner by NPI, and by name + NPI when the server does not offer identifier search', async () => {
    const npi = fixtureNpi('Practitioner/prac-17');
    {
      const { sim, adapter } = await start();
      const p = await adapter.findProvider('individual', npi, 'Ben Brennan, MD');
      assert.equal(p?.id, 'prac-17');
      assert.ok(searches(sim, 'Practitioner').some((s) => new URLSearchParams(s.query).get('identifier')?.endsWith(`|${npi}`)));
      await adapter.close();
      await sim.close();
    }
    const { sim: sim2, adapter: adapter2 } = await start({ withoutSearchParams: { Practitioner: ['identifier'] } });
    assert.equal(familyNameOf('Ben Brennan, MD'), 'Brennan');
    const p = await adapter2.findProvider('individual', npi, 'Ben Brennan, MD');
    assert.equal(p?.id, 'prac-17');
    const q = searches(sim2, 'Practitioner').map((s) => new URLSearchParams(s.query));
    assert.equal(q.length, 1);
    assert.equal(q[0].get('family'), 'Brennan');
    assert.equal(q[0].get('identifier'), null);
    const none = await adapter2.findProvider('individual', '1234567893', 'Ben Brennan, MD');
    assert.equal(none, undefined);
  });

  it('lists a provider with its roles and their networks, organizations and locations', async () => {
    const { adapter } = await start({ serverIncludes: 'none' });
    const view = await adapter.providerView({ npi: fixtureNpi('Practitioner/prac-01'), kind: 'individual', name: 'Amara Abbott, MD' });
    assert.equal(view.provider?.id, 'prac-01');
    assert.deepEqual(view.participations.map((p) => p.id), ['role-01']);
    assert.deepEqual([...view.resources.keys()].sort(), ['Location/burr-clinic-main', 'Organization/acme-std-net', 'Organization/burr-clinic']);
    const org = await adapter.providerView({ npi: '1740000033', kind: 'organization', name: 'Hamilton Clinic' });
    assert.deepEqual(org.participations.map((p) => p.id), ['hamilton-clinic-prem']);
    assert.ok(org.resources.has('Organization/acme') && org.resources.has(PREM_NET));
  });

  it('finds deleted resources by _id', async () => {
    const { adapter } = await start();
    const present = await adapter.existingIds('PractitionerRole', ['role-01', 'role-99', 'role-45']);
    assert.deepEqual([...present].sort(), ['role-01', 'role-45']);
  });

  it('reports health, events per request, and rate-limit headroom', async () => {
    const events: AdapterCallEvent[] = [];
    const { sim, adapter } = await start({}, { rateLimit: { requests: 1000, perMs: 60_000 }, onEvent: (e) => events.push(e) });
    assert.equal(adapter.kind, 'plan-net');
    assert.deepEqual([...adapter.operations], ['read', 'push']);
    assert.equal(adapter.rateLimitHeadroom(), 1000);
    const health = await adapter.healthCheck();
    assert.equal(health.status, 'up');
    await adapter.search('PractitionerRole');
    assert.equal(events.length, 4, 'metadata + 3 pages');
    assert.ok(events.every((e) => e.adapter === 'payer-acme-directory' && e.operation === 'read' && e.outcome === 'ok' && e.latencyMs >= 0));
    assert.equal(adapter.rateLimitHeadroom(), 996);
    assert.equal(adapter.breakerState(), 'closed');

    await sim.close();
    const down = await adapter.healthCheck();
    assert.equal(down.status, 'down');
    assert.match(down.detail ?? '', /^TRANSIENT_FHIR_/);
  });

  it('is built by the registry factory from an adapters.yaml entry, secrets from the environment', async () => {
    const factory: AdapterFactory = planNetAdapterFactory;
    sim = await startPlanNetSimulator();
    const events: AdapterCallEvent[] = [];
    const built = await factory({
      id: 'payer-acme-directory',
      kind: 'plan-net',
      http: { baseUrl: sim.url, adapterId: 'payer-acme-directory', timeoutMs: 5000, onEvent: (e) => events.push(e), logger: quiet },
      settings: { pageSize: '20', auth: { type: 'api-key', header: 'x-api-key', keyEnv: 'ACME_DIRECTORY_KEY' }, push: { enabled: 'false' } },
      env: { ACME_DIRECTORY_KEY: 'k-123' },
      logger: quiet,
    });
    adapter = built as PlanNetAdapter;
    assert.equal(adapter.pushSettings.enabled, false);
    const result = await adapter.search('PractitionerRole');
    assert.equal(result.pages, 3, 'pageSize 20 from the string setting');
    assert.ok(sim.seen.every((r) => r.headers['x-api-key'] === 'k-123'));
    assert.ok(events.length >= 3);

    const missing = await failure(async () => planNetAdapterFactory({ id: 'x', http: { baseUrl: sim!.url }, settings: { auth: { type: 'api-key', header: 'x-api-key', keyEnv: 'NOPE' } }, env: {}, logger: quiet }));
    assert.equal(missing.code, 'VALIDATION_PLANNET_SECRET_MISSING');
    assert.equal(missing.path, 'auth.keyEnv');
    assert.doesNotMatch(missing.message, /k-123/);
    const unknown = await failure(async () => planNetSettingsFrom({ pagesize: 20 }));
    assert.equal(unknown.path, 'pagesize');
    const bad = await failure(async () => planNetSettingsFrom({ push: { enabled: 'yes' } }));
    assert.equal(bad.path, 'push.enabled');
  });
});
