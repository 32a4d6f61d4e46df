import assert from 'node:assert/strict';
import { parseSearchRequest } from '@medplum/core';
import type { Location, OrganizationAffiliation, Practitioner, PractitionerRole } from '@medplum/fhirtypes';
import winston from 'winston';
import { createPlanNetAdapter, type PlanNetAdapter, type PlanNetAdapterSettings } from '../../../connectors/plannet/client';
import {
  acceptingFor, EXT_NETWORK_REFERENCE, PROFILES, readNewPatients, roleNetwork, type NetworkParticipation,
} from '../../../connectors/plannet/model';
import {
  KnexSubmissionTracker, buildOrganization, buildOrganizationAffiliation, buildPractitioner, buildPractitionerRole, participationIdentifier,
  pushLocationAccepting, pushParticipation, type SubmissionTracker,
} from '../../../connectors/plannet/push';
import type { ProviderRecord } from '../../../engine/providers/types';
import { validateFhir } from '../../../transformers/fhir/validate';
import { startPlanNetSimulator, type PlanNetSimulator, type PlanNetSimulatorOptions } from '../../simulators/plannet';
import {
  ADDRESSES, ORG_NPI, PREM_NET, STD_NET, amaraRecord, fixture, npiWithCheckDigit, orgRecord, postgresDb, sqliteDb, type TestDb,
} from './support';

const quiet = winston.createLogger({ silent: true });
const SYSTEM = 'urn:wasl:plannet-participation';

/** A practitioner the payer does not list yet. */
function newcomer(): ProviderRecord {
  return {
    npi: npiWithCheckDigit('198765432'), kind: 'individual', name: 'Noor Haddad, DO', taxonomies: ['208000000X'],
    addresses: [{ ...ADDRESSES.burr, line: [...ADDRESSES.burr.line] }], status: 'active', source: 'nppes', updatedAt: '2026-11-01T00:00:00Z',
  };
}

function participation(overrides: Partial<NetworkParticipation> = {}): NetworkParticipation {
  return { network: STD_NET, acceptingPatients: 'newpt', organizationNpi: ORG_NPI.burr, locations: ['Location/burr-clinic-main'], ...overrides };
}

async function serverSearch<T>(sim: PlanNetSimulator, query: string): Promise<T[]> {
  const bundle = await sim.repo.search(parseSearchRequest(query));
  return (bundle.entry ?? []).map((e) => e.resource as T);
}

describe('connectors/plannet push against the Plan-Net simulator', function () {
  this.timeout(60_000);
  let sim: PlanNetSimulator | undefined;
  let adapter: PlanNetAdapter | undefined;
  let db: TestDb;
  let tracker: SubmissionTracker;

  async function start(simOpts: PlanNetSimulatorOptions = { acceptWrites: true }, settings: Partial<PlanNetAdapterSettings> = {}) {
    sim = await startPlanNetSimulator(simOpts);
    adapter = createPlanNetAdapter({
      id: 'payer-acme', baseUrl: sim.url, logger: quiet, push: { enabled: true }, retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 }, ...settings,
    });
    return { sim, adapter };
  }

  beforeEach(async () => {
    db = await sqliteDb();
    tracker = new KnexSubmissionTracker(db.knex);
  });

  afterEach(async () => {
    await adapter?.close();
    await sim?.close();
    await db.cleanup();
    adapter = undefined;
    sim = undefined;
  });

  const writes = (s: PlanNetSimulator) => s.seen.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

  it('creates the PractitionerRole, then updates the same one: no duplicate on a second push', async () => {
    const { sim, adapter } = await start();
    const record = newcomer();
    const first = await pushParticipation(adapter, tracker, { record, participation: participation() });
    assert.equal(first.status, 'accepted', first.error?.message);
    assert.equal(first.httpStatus, 201);
    assert.equal(first.resourceType, 'PractitionerRole');

    const second = await pushParticipation(adapter, tracker, { record, participation: participation({ acceptingPatients: 'nopt' }) });
    assert.equal(second.status, 'accepted', second.error?.message);
    assert.equal(second.httpStatus, 200);
    assert.equal(second.resourceId, first.resourceId);

    const identifier = `${SYSTEM}|${participationIdentifier('individual', record.npi, STD_NET)}`;
    const roles = await serverSearch<PractitionerRole>(sim, `PractitionerRole?identifier=${identifier}`);
    assert.equal(roles.length, 1, 'one role for this provider and network');
    const practitioners = await serverSearch<Practitioner>(sim, `Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|${record.npi}`);
    assert.equal(practitioners.length, 1, 'the Practitioner was created once');

    const role = roles[0];
    assert.equal(role.id, first.resourceId);
    assert.equal(role.practitioner?.reference, `Practitioner/${practitioners[0].id}`);
    assert.equal(role.organization?.reference, 'Organization/burr-clinic', 'found by NPI at the payer');
    assert.equal(roleNetwork(role as unknown as Record<string, unknown>), STD_NET);
    assert.equal(acceptingFor(role as unknown as Record<string, unknown>, STD_NET), 'nopt');
    assert.deepEqual(role.specialty?.[0].coding?.[0], { system: 'http://nucc.org/provider-taxonomy', code: '208000000X' });
    assert.deepEqual(role.meta?.profile, [PROFILES.PractitionerRole]);
    assert.deepEqual(writes(sim).map((w) => `${w.method} ${w.path} ${w.status}`), [
      'POST /Practitioner 201', 'PUT /PractitionerRole 201', 'POST /Practitioner 200', 'PUT /PractitionerRole 200',
    ]);
  });

  it('tracks each submission: status, HTTP answer, payer id and attempts', async () => {
    const { sim, adapter } = await start();
    const record = newcomer();
    const key = participationIdentifier('individual', record.npi, STD_NET);

    const first = await pushParticipation(adapter, tracker, { record, participation: participation() });
    let row = await tracker.get('payer-acme', key);
    assert.equal(row?.status, 'accepted');
    assert.equal(row?.httpStatus, 201);
    assert.equal(row?.resourceId, first.resourceId);
    assert.equal(row?.attempts, 1);
    assert.equal(row?.npi, record.npi);
    assert.equal(row?.network, STD_NET);
    assert.equal(row?.resourceType, 'PractitionerRole');
    assert.match(row?.payloadHash ?? '', /^[0-9a-f]{64}$/);
    assert.ok(row?.submittedAt instanceof Date);

    sim.failWrites(422, 1, 'PractitionerRole');
    const rejected = await pushParticipation(adapter, tracker, { record, participation: participation({ acceptingPatients: 'existptonly' }) });
    assert.equal(rejected.status, 'rejected');
    row = await tracker.get('payer-acme', key);
    assert.equal(row?.status, 'rejected');
    assert.equal(row?.httpStatus, 422);
    assert.equal(row?.errorCode, 'INTEGRATION_FHIR_REJECTED');
    assert.equal(row?.attempts, 2);

    sim.failWrites(503, 5, 'PractitionerRole');
    const failed = await pushParticipation(adapter, tracker, { record, participation: participation({ acceptingPatients: 'existptonly' }) });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error?.code, 'TRANSIENT_FHIR_UNAVAILABLE');
    assert.equal((await tracker.get('payer-acme', key))?.status, 'failed');

    sim.failWrites(503, 0);
    const ok = await pushParticipation(adapter, tracker, { record, participation: participation({ acceptingPatients: 'existptonly' }) });
    assert.equal(ok.status, 'accepted');
    row = await tracker.get('payer-acme', key);
    assert.equal(row?.status, 'accepted');
    assert.equal(row?.errorCode, undefined);
    assert.equal(row?.attempts, 4);
    assert.equal(await tracker.markPublished('payer-acme', key), true);
    assert.equal((await tracker.get('payer-acme', key))?.status, 'published');
    assert.equal(await tracker.markPublished('payer-acme', key), false, 'only an accepted one becomes published');
    assert.deepEqual((await tracker.list({ adapterId: 'payer-acme', npi: record.npi })).map((r) => r.status), ['published']);
  });

  it('sends nothing to a payer that does not accept submissions, or when push is off', async () => {
    {
      const { sim, adapter } = await start({ acceptWrites: false });
      const result = await pushParticipation(adapter, tracker, { record: newcomer(), participation: participation() });
      assert.equal(result.status, 'not-accepted');
      assert.match(result.reason ?? '', /does not accept conditional updates of PractitionerRole/);
      assert.deepEqual(writes(sim), []);
      await adapter.close();
      await sim.close();
    }
    const { sim: sim2, adapter: adapter2 } = await start({ acceptWrites: true }, { push: { enabled: false } });
    const off = await pushParticipation(adapter2, tracker, { record: newcomer(), participation: participation() });
    assert.equal(off.status, 'not-accepted');
    assert.deepEqual(writes(sim2), []);
    const row = await tracker.get('payer-acme', off.identifierValue);
    assert.equal(row?.status, 'not-accepted');
    assert.equal(row?.detail, 'push disabled for this adapter');
  });

  it('validates before sending: an invalid resource is not sent', async () => {
    const { sim, adapter } = await start();
    const result = await pushParticipation(adapter, tracker, { record: newcomer(), participation: participation({ start: '1 Jan 2026' }) });
    assert.equal(result.status, 'invalid');
    assert.equal(result.error?.code, 'VALIDATION_PLANNET_INVALID_RESOURCE');
    assert.equal(result.error?.path, 'PractitionerRole.period.start');
    assert.ok(!writes(sim).some((w) => w.path.startsWith('/PractitionerRole')));
    assert.equal((await tracker.get('payer-acme', result.identifierValue))?.status, 'invalid');
  });

  it('updates the payer\'s own role for the network in place, keeping what we do not manage', async () => {
    const { sim, adapter } = await start();
    const existing = fixture<PractitionerRole>('PractitionerRole/role-01');
    const result = await pushParticipation(adapter, tracker, {
      record: amaraRecord(), participation: participation({ acceptingPatients: 'existptonly', organizationNpi: ORG_NPI.hamilton, locations: ['Location/hamilton-clinic-main'] }), existing,
    });
    assert.equal(result.status, 'accepted', result.error?.message);
    assert.equal(result.resourceId, 'role-01');
    assert.equal(result.httpStatus, 200);
    const roles = await serverSearch<PractitionerRole>(sim, 'PractitionerRole?practitioner=Practitioner/prac-01');
    assert.equal(roles.length, 1);
    const role = roles[0];
    assert.equal(role.organization?.reference, 'Organization/hamilton-clinic');
    assert.deepEqual(role.location, [{ reference: 'Location/hamilton-clinic-main' }]);
    assert.equal(acceptingFor(role as unknown as Record<string, unknown>, STD_NET), 'existptonly');
    assert.deepEqual(role.telecom, existing.telecom, 'payer-only fields are kept');
    assert.deepEqual(role.healthcareService, existing.healthcareService);
    assert.ok(role.identifier?.some((i) => i.system === SYSTEM), 'it now carries our identifier');
    assert.equal(role.extension?.filter((e) => e.url === EXT_NETWORK_REFERENCE).length, 1);
    assert.equal(readNewPatients(role as unknown as Record<string, unknown>).length, 1);
    assert.ok(writes(sim).some((w) => w.method === 'PUT' && w.path === '/PractitionerRole/role-01'));
  });

  it('pushes an organization\'s OrganizationAffiliation and its own Location\'s newpatients', async () => {
    const { sim, adapter } = await start();
    const hamilton = orgRecord(ORG_NPI.hamilton, 'Hamilton Clinic', ADDRESSES.hamilton);
    const result = await pushParticipation(adapter, tracker, {
      record: hamilton,
      participation: { network: STD_NET, acceptingPatients: 'newpt', organization: 'Organization/acme', locations: ['Location/hamilton-clinic-main'], role: 'outpatient', specialties: ['193200000X'] },
    });
    assert.equal(result.status, 'accepted', result.error?.message);
    assert.equal(result.resourceType, 'OrganizationAffiliation');
    const affs = await serverSearch<OrganizationAffiliation>(sim, 'OrganizationAffiliation?participating-organization=Organization/hamilton-clinic');
    assert.deepEqual(affs.map((a) => a.network?.[0].reference).sort(), [PREM_NET, STD_NET]);
    const ours = affs.find((a) => a.network?.[0].reference === STD_NET);
    assert.equal(ours?.organization?.reference, 'Organization/acme');
    assert.deepEqual(ours?.meta?.profile, [PROFILES.OrganizationAffiliation]);

    const location = fixture<Location>('Location/hamilton-clinic-main');
    const loc = await pushLocationAccepting(adapter, tracker, {
      record: hamilton, network: PREM_NET, location, organizationRef: 'Organization/hamilton-clinic', acceptingPatients: 'newpt',
    });
    assert.equal(loc.status, 'accepted', loc.error?.message);
    const stored = await sim.repo.readResource<Location>('Location', 'hamilton-clinic-main');
    assert.equal(acceptingFor(stored as unknown as Record<string, unknown>, PREM_NET), 'newpt');
    assert.equal(acceptingFor(stored as unknown as Record<string, unknown>, STD_NET), 'existptonly', 'the other network\'s extension is kept');

    const notOurs = await pushLocationAccepting(adapter, tracker, {
      record: hamilton, network: PREM_NET, location: fixture<Location>('Location/burr-clinic-main'), organizationRef: 'Organization/hamilton-clinic', acceptingPatients: 'nopt',
    });
    assert.equal(notOurs.status, 'not-accepted');
  });

  it('builds resources that validate as FHIR R4, with the Plan-Net profiles and extensions', () => {
    const record = newcomer();
    const identifier = { system: SYSTEM, value: participationIdentifier('individual', record.npi, PREM_NET) };
    const p = participation({ network: PREM_NET, characteristics: ['Medicaid only'], start: '2026-01-01', end: '2026-12-31' });
    const role = buildPractitionerRole(record, p, { practitioner: 'Practitioner/x', organization: { reference: 'Organization/burr-clinic' } }, identifier);
    const hamilton = orgRecord(ORG_NPI.hamilton, 'Hamilton Clinic', ADDRESSES.hamilton);
    const aff = buildOrganizationAffiliation(hamilton, { network: PREM_NET, acceptingPatients: 'newpt', organization: 'Organization/acme' }, { participatingOrganization: 'Organization/hamilton-clinic', organization: { reference: 'Organization/acme' } }, identifier);
    const practitioner = buildPractitioner(record);
    const organization = buildOrganization(hamilton);
    for (const resource of [role, aff, practitioner, organization]) {
      const v = validateFhir(resource);
      assert.equal(v.valid, true, `${resource.resourceType}: ${JSON.stringify(v.outcome.issue)}`);
    }
    assert.deepEqual(role.meta?.profile, [PROFILES.PractitionerRole]);
    assert.deepEqual(practitioner.meta?.profile, [PROFILES.Practitioner]);
    assert.deepEqual(practitioner.name, [{ text: 'Noor Haddad, DO', family: 'Haddad', given: ['Noor'], suffix: ['DO'] }]);
    assert.deepEqual(organization.type?.[0].coding?.[0].code, 'prvgrp');
    assert.deepEqual(readNewPatients(role as unknown as Record<string, unknown>), [{ acceptingPatients: 'newpt', fromNetwork: PREM_NET, characteristics: ['Medicaid only'] }]);
    assert.equal(role.active, true, 'fixed true in the profile');
    assert.deepEqual(role.period, { start: '2026-01-01', end: '2026-12-31' });
    assert.deepEqual(aff.network, [{ reference: PREM_NET }]);
    assert.equal(aff.code?.[0].coding?.[0].system, 'http://hl7.org/fhir/us/davinci-pdex-plan-net/CodeSystem/OrganizationAffiliationRoleCS');
    // And the check can fail: a broken one does not validate.
    assert.equal(validateFhir({ ...role, period: { start: 'soon' } }).valid, false);
  });
});

describe('connectors/plannet KnexSubmissionTracker on PostgreSQL', function () {
  this.timeout(30_000);
  let db: TestDb | undefined;

  before(async function () {
    const pg = await postgresDb();
    if (typeof pg === 'string') {
      console.warn(`    PostgreSQL not available (${pg}): skipped`);
      this.skip();
    }
    db = pg as TestDb;
  });
  after(async () => db?.cleanup());

  it('tracks the same lifecycle as on SQLite', async () => {
    const tracker = new KnexSubmissionTracker((db as TestDb).knex);
    const start = { adapterId: 'payer-acme', identifierValue: 'abc', npi: '1234567893', network: STD_NET, resourceType: 'PractitionerRole' };
    await tracker.begin(start, 'f'.repeat(64));
    assert.equal((await tracker.get('payer-acme', 'abc'))?.status, 'sending');
    await tracker.finish(start, { status: 'accepted', httpStatus: 201, resourceId: 'r1', versionId: 'v1' });
    await tracker.begin(start);
    await tracker.finish(start, { status: 'accepted', httpStatus: 200, resourceId: 'r1', versionId: 'v2' });
    const row = await tracker.get('payer-acme', 'abc');
    assert.equal(row?.attempts, 2);
    assert.equal(row?.httpStatus, 200);
    assert.equal(row?.versionId, 'v2');
    assert.ok(row?.createdAt instanceof Date && row.updatedAt >= row.createdAt);
    assert.equal(await tracker.markPublished('payer-acme', 'abc'), true);
    assert.ok((await tracker.get('payer-acme', 'abc'))?.publishedAt instanceof Date);
    assert.deepEqual((await tracker.list({ status: 'published' })).map((r) => r.identifierValue), ['abc']);
  });
});
