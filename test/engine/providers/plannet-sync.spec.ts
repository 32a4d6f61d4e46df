import assert from 'node:assert/strict';
import { parseSearchRequest } from '@medplum/core';
import type { Location, PractitionerRole } from '@medplum/fhirtypes';
import winston from 'winston';
import { createPlanNetAdapter, type PlanNetAdapter } from '../../../connectors/plannet/client';
import { acceptingFor } from '../../../connectors/plannet/model';
import { KnexSubmissionTracker, participationIdentifier } from '../../../connectors/plannet/push';
import { KnexParticipationStore, syncPlanNet } from '../../../engine/providers/plannet-sync';
import { startPlanNetSimulator, type PlanNetSimulator, type PlanNetSimulatorOptions } from '../../simulators/plannet';
import {
  ADDRESSES, ORG_NPI, PREM_NET, STD_NET, amaraRecord, memoryProviders, orgRecord, postgresDb, sqliteDb, type TestDb,
} from '../../connectors/plannet/support';

const quiet = winston.createLogger({ silent: true });
const TODAY = '2026-11-23';
const ADAPTER = 'payer-acme';

/** Amara moved to Hamilton Clinic and stopped taking new patients; the payer still lists Burr Family Clinic, accepting. */
function moved() {
  return amaraRecord({ addresses: [{ ...ADDRESSES.hamilton, line: [...ADDRESSES.hamilton.line] }] });
}

const movedParticipation = {
  network: STD_NET, acceptingPatients: 'nopt' as const, organizationNpi: ORG_NPI.hamilton, locations: ['Location/hamilton-clinic-main'], specialties: ['207Q00000X'],
};

describe('engine/providers plannet-sync against the Plan-Net simulator', function () {
  this.timeout(60_000);
  let sim: PlanNetSimulator | undefined;
  let adapter: PlanNetAdapter | undefined;
  let db: TestDb;
  let participations: KnexParticipationStore;
  let submissions: KnexSubmissionTracker;
  const providers = memoryProviders([moved(), orgRecord(ORG_NPI.hamilton, 'Hamilton Clinic', ADDRESSES.hamilton)]);

  async function start(simOpts: PlanNetSimulatorOptions = { acceptWrites: true, serverIncludes: 'none' }) {
    sim = await startPlanNetSimulator(simOpts);
    adapter = createPlanNetAdapter({ id: ADAPTER, baseUrl: sim.url, logger: quiet, push: { enabled: true }, retry: { maxAttempts: 1 } });
    return { sim, adapter };
  }

  beforeEach(async () => {
    db = await sqliteDb();
    participations = new KnexParticipationStore(db.knex);
    submissions = new KnexSubmissionTracker(db.knex);
    await participations.save(ADAPTER, moved().npi, [movedParticipation]);
  });

  afterEach(async () => {
    await adapter?.close();
    await sim?.close();
    await db.cleanup();
    adapter = undefined;
    sim = undefined;
  });

  const writes = (s: PlanNetSimulator) => s.seen.filter((r) => r.method !== 'GET');

  it('reads, diffs, pushes the changed network and reports the differences, then finds nothing left', async () => {
    const { sim, adapter } = await start();
    const report = await syncPlanNet({ adapter, providers, participations, submissions, today: TODAY, logger: quiet });

    assert.equal(report.adapterId, ADAPTER);
    assert.equal(report.providers.length, 1);
    const [amara] = report.providers;
    assert.equal(amara.error, undefined);
    assert.equal(amara.found, true);
    assert.deepEqual(amara.differences.map((d) => [d.field, d.ours, d.theirs, d.pushable]), [
      ['addresses', '400 MAIN STREET NEW BRITAIN CT 06051', '12 BURR ROAD WEST HARTFORD CT 06107', false],
      [`networks[${STD_NET}].acceptingPatients`, 'nopt', 'newpt', true],
      [`networks[${STD_NET}].organization`, ORG_NPI.hamilton, ORG_NPI.burr, true],
      [`networks[${STD_NET}].locations`, 'Location/hamilton-clinic-main', 'Location/burr-clinic-main', true],
    ]);
    assert.deepEqual(amara.pushed.map((p) => [p.status, p.httpStatus, p.resourceId, p.network]), [['accepted', 200, 'role-01', STD_NET]]);
    assert.deepEqual(amara.remaining, [], 'the payer\'s directory now agrees, addresses included (they come from the role\'s location)');
    assert.deepEqual(report.totals, {
      providers: 1, withDifferences: 1, differences: 4, pushed: 1, accepted: 1, rejected: 0, failed: 0, notAccepted: 0, published: 1, errors: 0,
    });

    const role = await sim.repo.readResource<PractitionerRole>('PractitionerRole', 'role-01');
    assert.equal(role.organization?.reference, 'Organization/hamilton-clinic');
    assert.equal(acceptingFor(role as unknown as Record<string, unknown>, STD_NET), 'nopt');
    const tracked = await submissions.get(ADAPTER, participationIdentifier('individual', moved().npi, STD_NET));
    assert.equal(tracked?.status, 'published');
    assert.equal(tracked?.resourceId, 'role-01');

    // A second run: nothing differs, nothing is written.
    sim.seen.length = 0;
    const again = await syncPlanNet({ adapter, providers, participations, submissions, today: TODAY, logger: quiet });
    assert.deepEqual(again.providers[0].differences, []);
    assert.deepEqual(again.providers[0].pushed, []);
    assert.deepEqual(writes(sim), []);
    assert.equal(again.totals.published, 0);
  });

  it('dry run: reports the differences and writes nothing', async () => {
    const { sim, adapter } = await start();
    const report = await syncPlanNet({ adapter, providers, participations, submissions, today: TODAY, dryRun: true, logger: quiet });
    assert.equal(report.dryRun, true);
    assert.equal(report.providers[0].differences.length, 4);
    assert.deepEqual(report.providers[0].pushed, []);
    assert.deepEqual(report.providers[0].remaining, report.providers[0].differences);
    assert.deepEqual(writes(sim), []);
    assert.deepEqual(await submissions.list(), []);
  });

  it('a read-only directory: the push is not accepted, the differences remain, the run goes on past an unknown NPI', async () => {
    const { sim, adapter } = await start({ acceptWrites: false });
    const report = await syncPlanNet({ adapter, providers, participations, submissions, today: TODAY, npis: ['1234567893', moved().npi], logger: quiet });
    assert.equal(report.providers[0].error?.code, 'VALIDATION_PLANNET_PROVIDER_UNKNOWN');
    const amara = report.providers[1];
    assert.deepEqual(amara.pushed.map((p) => p.status), ['not-accepted']);
    assert.equal(amara.remaining.length, 4);
    assert.deepEqual(writes(sim), []);
    assert.equal(report.totals.notAccepted, 1);
    assert.equal(report.totals.errors, 1);
    assert.equal((await submissions.list({ npi: moved().npi }))[0].status, 'not-accepted');
  });

  it('adds a role for a network the payer does not list yet, once', async () => {
    const { sim, adapter } = await start();
    await participations.save(ADAPTER, moved().npi, [
      movedParticipation,
      { network: PREM_NET, acceptingPatients: 'newpt', organizationNpi: ORG_NPI.hamilton, locations: ['Location/hamilton-clinic-main'] },
    ]);
    const report = await syncPlanNet({ adapter, providers, participations, submissions, today: TODAY, logger: quiet });
    const amara = report.providers[0];
    assert.ok(amara.differences.some((d) => d.field === `networks[${PREM_NET}].participating` && d.ours === 'yes' && d.theirs === 'no'));
    assert.deepEqual(amara.pushed.map((p) => [p.network, p.status, p.httpStatus]).sort(), [[PREM_NET, 'accepted', 201], [STD_NET, 'accepted', 200]]);
    assert.deepEqual(amara.remaining, []);
    const again = await syncPlanNet({ adapter, providers, participations, submissions, today: TODAY, logger: quiet });
    assert.deepEqual(again.providers[0].pushed, []);
    const roles = (await sim.repo.search(parseSearchRequest('PractitionerRole?practitioner=Practitioner/prac-01'))).entry ?? [];
    assert.equal(roles.length, 2, 'one role per network');
  });
  it('an organization: updates its affiliation and puts accepting-new-patients on its own Location', async () => {
    const { sim, adapter } = await start();
    await participations.save(ADAPTER, ORG_NPI.hamilton, [
      { network: PREM_NET, acceptingPatients: 'newpt', organization: 'Organization/acme', locations: ['Location/hamilton-clinic-main'], specialties: ['193200000X'], role: 'outpatient' },
    ]);
    const report = await syncPlanNet({ adapter, providers, participations, submissions, today: TODAY, npis: [ORG_NPI.hamilton], logger: quiet });
    const hamilton = report.providers[0];
    assert.equal(hamilton.error, undefined);
    assert.deepEqual(hamilton.differences.map((d) => [d.field, d.ours, d.theirs]), [[`networks[${PREM_NET}].acceptingPatients`, 'newpt', undefined]]);
    assert.deepEqual(hamilton.pushed.map((p) => [p.resourceType, p.status, p.resourceId]), [
      ['OrganizationAffiliation', 'accepted', 'hamilton-clinic-prem'],
      ['Location', 'accepted', 'hamilton-clinic-main'],
    ]);
    assert.deepEqual(hamilton.remaining, []);
    assert.equal(report.totals.published, 2);
    const location = await sim.repo.readResource<Location>('Location', 'hamilton-clinic-main');
    assert.equal(acceptingFor(location as unknown as Record<string, unknown>, PREM_NET), 'newpt');
    assert.equal(acceptingFor(location as unknown as Record<string, unknown>, STD_NET), 'existptonly');
    assert.deepEqual((await submissions.list({ npi: ORG_NPI.hamilton })).map((r) => [r.resourceType, r.status]).sort(), [
      ['Location', 'published'], ['OrganizationAffiliation', 'published'],
    ]);
  });
});

describe('engine/providers KnexParticipationStore', () => {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    describe(dialect, function () {
      let db: TestDb | undefined;
      before(async function () {
        const opened = dialect === 'sqlite' ? await sqliteDb() : await postgresDb();
        if (typeof opened === 'string') {
          console.warn(`    PostgreSQL not available (${opened}): skipped`);
          this.skip();
        }
        db = opened as TestDb;
      });
      after(async () => db?.cleanup());

      it('saves, replaces and reads participation', async () => {
        const store = new KnexParticipationStore((db as TestDb).knex);
        await store.save(ADAPTER, '1111111112', [
          { network: STD_NET, acceptingPatients: 'existptfam', organizationNpi: ORG_NPI.burr, locations: ['Location/a', 'Location/b'], specialties: ['207Q00000X'], characteristics: ['Medicaid only'], role: 'ph', start: '2026-01-01' },
          { network: PREM_NET, acceptingPatients: 'newpt', organization: 'Organization/acme', end: '2026-12-31' },
        ]);
        await store.save(ADAPTER, '2222222221', [{ network: STD_NET, acceptingPatients: 'nopt' }]);
        assert.deepEqual(await store.get(ADAPTER, '1111111112'), [
          { network: PREM_NET, acceptingPatients: 'newpt', organization: 'Organization/acme', end: '2026-12-31' },
          { network: STD_NET, acceptingPatients: 'existptfam', organizationNpi: ORG_NPI.burr, locations: ['Location/a', 'Location/b'], specialties: ['207Q00000X'], characteristics: ['Medicaid only'], role: 'ph', start: '2026-01-01' },
        ]);
        assert.deepEqual(await store.npis(ADAPTER), ['1111111112', '2222222221']);
        await store.save(ADAPTER, '1111111112', [{ network: STD_NET, acceptingPatients: 'nopt' }]);
        assert.deepEqual(await store.get(ADAPTER, '1111111112'), [{ network: STD_NET, acceptingPatients: 'nopt' }]);
        assert.deepEqual(await store.get('other-payer', '1111111112'), []);
      });
    });
  }
});
