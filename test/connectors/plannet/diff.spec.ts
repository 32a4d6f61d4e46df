import assert from 'node:assert/strict';
import type { Location, Organization, OrganizationAffiliation, Practitioner, PractitionerRole, Resource } from '@medplum/fhirtypes';
import type { PayerProviderView } from '../../../connectors/plannet/client';
import { diffProvider, networksToPush } from '../../../connectors/plannet/diff';
import type { NetworkParticipation } from '../../../connectors/plannet/model';
import { ADDRESSES, ORG_NPI, PREM_NET, STD_NET, amaraRecord, fixture, orgRecord } from './support';

const TODAY = '2026-11-23';

/** What the directory says about prac-01 in the fixtures: role-01 in the standard network at Burr Family Clinic, accepting. */
function amaraView(mutate?: (role: PractitionerRole, practitioner: Practitioner) => void): PayerProviderView {
  const practitioner = fixture<Practitioner>('Practitioner/prac-01');
  const role = fixture<PractitionerRole>('PractitionerRole/role-01');
  mutate?.(role, practitioner);
  const resources = new Map<string, Resource>();
  for (const ref of ['Organization/burr-clinic', 'Organization/hamilton-clinic', 'Location/burr-clinic-main', 'Location/hamilton-clinic-main', STD_NET, PREM_NET]) {
    resources.set(ref, fixture(ref));
  }
  return { npi: amaraRecord().npi, kind: 'individual', provider: practitioner, participations: [role], resources };
}

function stdParticipation(overrides: Partial<NetworkParticipation> = {}): NetworkParticipation {
  return {
    network: STD_NET, acceptingPatients: 'newpt', organizationNpi: ORG_NPI.burr, locations: ['Location/burr-clinic-main'], specialties: ['207Q00000X'], ...overrides,
  };
}

describe('connectors/plannet diffProvider', () => {
  it('finds no difference when our record and the directory agree', () => {
    const diff = diffProvider({ record: amaraRecord(), networks: [stdParticipation()] }, amaraView(), TODAY);
    assert.equal(diff.found, true);
    assert.deepEqual(diff.differences, []);
    assert.deepEqual(networksToPush(diff), []);
  });

  it('lists exactly the changed participation fields, with both values', () => {
    const ours = { record: amaraRecord(), networks: [stdParticipation({ acceptingPatients: 'nopt', organizationNpi: ORG_NPI.hamilton })] };
    const diff = diffProvider(ours, amaraView(), TODAY);
    assert.deepEqual(diff.differences, [
      { field: `networks[${STD_NET}].acceptingPatients`, ours: 'nopt', theirs: 'newpt', network: STD_NET, pushable: true },
      { field: `networks[${STD_NET}].organization`, ours: ORG_NPI.hamilton, theirs: ORG_NPI.burr, network: STD_NET, pushable: true },
    ]);
    assert.deepEqual(networksToPush(diff), [STD_NET]);
  });

  it('compares specialties and locations as sets, and leaves unset fields alone', () => {
    const ours = { record: amaraRecord(), networks: [stdParticipation({ specialties: ['207R00000X', '207Q00000X'], locations: undefined, organizationNpi: undefined })] };
    const diff = diffProvider(ours, amaraView(), TODAY);
    assert.deepEqual(diff.differences.map((d) => [d.field, d.ours, d.theirs]), [
      [`networks[${STD_NET}].specialties`, '207Q00000X, 207R00000X', '207Q00000X'],
    ]);
    const sameSet = diffProvider({ record: amaraRecord(), networks: [stdParticipation({ locations: ['Location/burr-clinic-main', 'Location/burr-clinic-main'] })] }, amaraView(), TODAY);
    assert.deepEqual(sameSet.differences, []);
  });

  it('reads accepting-new-patients per network (fromNetwork) and treats a missing extension as not present', () => {
    const other = amaraView((role) => {
      // Only an extension for another network: nothing said for ours.
      role.extension = role.extension?.map((e) => (e.url.endsWith('/newpatients')
        ? { ...e, extension: e.extension?.map((p) => (p.url === 'fromNetwork' ? { ...p, valueReference: { reference: PREM_NET } } : p)) }
        : e));
    });
    const diff = diffProvider({ record: amaraRecord(), networks: [stdParticipation()] }, other, TODAY);
    assert.deepEqual(diff.differences.map((d) => [d.field, d.ours, d.theirs]), [[`networks[${STD_NET}].acceptingPatients`, 'newpt', undefined]]);
  });

  it('reports a network the payer lacks, and one whose role ended, as participation differences', () => {
    const ours = { record: amaraRecord(), networks: [stdParticipation(), { network: PREM_NET, acceptingPatients: 'newpt' as const }] };
    const missing = diffProvider(ours, amaraView(), TODAY);
    assert.deepEqual(missing.differences, [{ field: `networks[${PREM_NET}].participating`, ours: 'yes', theirs: 'no', network: PREM_NET, pushable: true }]);

    const ended = diffProvider({ record: amaraRecord(), networks: [stdParticipation()] }, amaraView((role) => { role.period = { start: '2025-01-01', end: '2026-06-30' }; }), TODAY);
    assert.deepEqual(ended.differences.map((d) => [d.field, d.ours, d.theirs, d.pushable]), [
      // An ended role's location is no longer where the payer lists the provider.
      ['addresses', '12 BURR ROAD WEST HARTFORD CT 06107', undefined, false],
      [`networks[${STD_NET}].participating`, 'yes', 'no', true],
    ]);

    // We ended it; the payer still lists it.
    const weEnded = diffProvider({ record: amaraRecord(), networks: [stdParticipation({ end: '2026-10-31' })] }, amaraView(), TODAY);
    assert.deepEqual(weEnded.differences.map((d) => [d.field, d.ours, d.theirs]), [[`networks[${STD_NET}].participating`, 'no', 'yes']]);

    // A network we know nothing about is reported but is not ours to push.
    const unknown = diffProvider({ record: amaraRecord(), networks: [] }, amaraView(), TODAY);
    assert.deepEqual(unknown.differences.map((d) => [d.field, d.pushable]), [[`networks[${STD_NET}].participating`, false]]);
  });

  it('reports provider-level differences (name, active, addresses) as not pushable', () => {
    const record = amaraRecord({ name: 'Amara Abbott-Reyes, MD', status: 'deactivated', addresses: [{ ...ADDRESSES.hamilton, line: [...ADDRESSES.hamilton.line] }] });
    const diff = diffProvider({ record, networks: [stdParticipation()] }, amaraView(), TODAY);
    assert.deepEqual(diff.differences.map((d) => [d.field, d.ours, d.theirs, d.pushable]), [
      ['name', 'Amara Abbott-Reyes, MD', 'Amara Abbott, MD', false],
      ['active', 'false', 'true', false],
      ['addresses', '400 MAIN STREET NEW BRITAIN CT 06051', '12 BURR ROAD WEST HARTFORD CT 06107', false],
    ]);
    assert.deepEqual(networksToPush(diff), []);
    // Case, punctuation and ZIP+4 do not count.
    const same = diffProvider({ record: amaraRecord({ name: 'AMARA  ABBOTT MD', addresses: [{ ...ADDRESSES.burr, line: ['12 burr road'], postalCode: '06107-0001' }] }), networks: [stdParticipation()] }, amaraView(), TODAY);
    assert.deepEqual(same.differences, []);
  });

  it('reports a provider the payer does not have', () => {
    const view: PayerProviderView = { npi: amaraRecord().npi, kind: 'individual', participations: [], resources: new Map() };
    const diff = diffProvider({ record: amaraRecord(), networks: [stdParticipation()] }, view, TODAY);
    assert.equal(diff.found, false);
    assert.deepEqual(diff.differences.map((d) => [d.field, d.ours, d.theirs]), [
      ['provider', amaraRecord().npi, undefined],
      [`networks[${STD_NET}].participating`, 'yes', 'no'],
    ]);
  });

  it('compares an organization through its affiliation: organization reference and its locations\' newpatients', () => {
    const hamilton = orgRecord(ORG_NPI.hamilton, 'Hamilton Clinic', ADDRESSES.hamilton);
    const affiliation = fixture<OrganizationAffiliation>('OrganizationAffiliation/hamilton-clinic-prem');
    const location = fixture<Location>('Location/hamilton-clinic-main');
    const view: PayerProviderView = {
      npi: hamilton.npi, kind: 'organization', provider: fixture<Organization>('Organization/hamilton-clinic'), participations: [affiliation],
      resources: new Map<string, Resource>([['Location/hamilton-clinic-main', location], ['Organization/acme', fixture('Organization/acme')], [PREM_NET, fixture(PREM_NET)]]),
    };
    const ours = { record: hamilton, networks: [{ network: PREM_NET, acceptingPatients: 'existptonly' as const, organization: 'Organization/acme', specialties: ['193200000X'] }] };
    const diff = diffProvider(ours, view, TODAY);
    // The fixture Location says existptonly for the standard network only: nothing for premium.
    assert.deepEqual(diff.differences.map((d) => [d.field, d.ours, d.theirs]), [[`networks[${PREM_NET}].acceptingPatients`, 'existptonly', undefined]]);
  });
});
