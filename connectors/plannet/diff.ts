/**
 * Differences between our record of a provider (ProviderRecord + our participation in a payer's
 * networks) and what the payer's Plan-Net directory says, field by field. Pure: the directory
 * view comes from `PlanNetAdapter.providerView`, the date from the caller.
 *
 * Fields:
 * - `provider`: the payer has no Practitioner/Organization with our NPI;
 * - `name`, `active`, `addresses`: the provider itself (reported, not pushed: the payer takes
 *   those from NPPES/CAQH, not from us);
 * - `networks[<Organization/id>].participating | acceptingPatients | organization | specialties |
 *   locations`: participation per network, which a push can fix (`pushable`).
 *
 * Comparison rules: names and addresses case-, space- and punctuation-insensitive, ZIP to 5
 * digits; lists as sorted sets. A participation field we leave unset (locations) is not compared.
 * Missing Must Support data on the payer side counts as "not present" (PLANNET.md §1), so it is
 * a difference (`theirs` undefined). A role/affiliation whose period ended before `today` does not
 * count as participating.
 */
import type { Location, Organization, OrganizationAffiliation, Practitioner, PractitionerRole, Resource } from '@medplum/fhirtypes';
import type { ProviderAddress } from '../../engine/providers/types';
import type { PayerProviderView } from './client';
import { acceptingFor, isCurrent, localReference, npiOf, nuccCodes, roleNetwork, type NetworkParticipation, type OurParticipation } from './model';

export interface FieldDifference {
  /** `name`, `active`, `addresses`, `provider`, or `networks[<network>].<field>`. */
  field: string;
  ours?: string;
  theirs?: string;
  /** The network, for participation fields. */
  network?: string;
  /** True when pushing our participation can fix it. */
  pushable: boolean;
}

export interface PlanNetDiff {
  npi: string;
  /** Whether the payer has the provider at all. */
  found: boolean;
  differences: FieldDifference[];
}

type AnyResource = Record<string, unknown>;
type Participation = PractitionerRole | OrganizationAffiliation;

function norm(text: string | undefined): string {
  return (text ?? '').toLowerCase().replace(/[.,]/g, ' ').replace(/\s+/g, ' ').trim();
}

function set(values: Iterable<string>): string | undefined {
  const list = [...new Set([...values].filter((v) => v !== ''))].sort();
  return list.length ? list.join(', ') : undefined;
}

function addressKey(a: { line?: string[]; city?: string; state?: string; postalCode?: string }): string {
  const zip = (a.postalCode ?? '').replace(/[^0-9]/g, '').slice(0, 5);
  return [norm((a.line ?? []).join(' ')), norm(a.city), (a.state ?? '').toUpperCase().trim(), zip].join('|');
}

function addressDisplay(key: string): string {
  return key.split('|').filter(Boolean).join(' ').toUpperCase();
}

function payerName(provider: Practitioner | Organization): string | undefined {
  if (provider.resourceType === 'Organization') return provider.name;
  const n = provider.name?.[0];
  if (!n) return undefined;
  if (n.text) return n.text;
  const main = [...(n.given ?? []), n.family].filter(Boolean).join(' ');
  return n.suffix?.length ? `${main}, ${n.suffix.join(', ')}` : main;
}

function networksOf(p: Participation): string[] {
  if (p.resourceType === 'PractitionerRole') {
    const n = roleNetwork(p as unknown as AnyResource);
    return n ? [n] : [];
  }
  return (p.network ?? []).map((r) => r.reference).filter((r): r is string => typeof r === 'string');
}

function orgReference(p: Participation): string | undefined {
  return p.organization?.reference;
}

/**
 * Compares one provider. `theirs.resources` must hold the participations' organizations and
 * locations (the view's includes) for the organization/accepting/address comparisons.
 * @param today - YYYY-MM-DD, for ended participations
 */
export function diffProvider(ours: OurParticipation, theirs: PayerProviderView, today: string, baseUrl?: string): PlanNetDiff {
  const { record } = ours;
  const differences: FieldDifference[] = [];
  const resolve = (ref: string | undefined): Resource | undefined => {
    const local = localReference(ref, baseUrl);
    return local ? theirs.resources.get(local) : undefined;
  };

  if (!theirs.provider) {
    differences.push({ field: 'provider', ours: record.npi, theirs: undefined, pushable: true });
  } else {
    const name = payerName(theirs.provider);
    if (norm(name) !== norm(record.name)) differences.push({ field: 'name', ours: record.name, theirs: name, pushable: false });
    const oursActive = record.status === 'active' ? 'true' : 'false';
    const theirsActive = theirs.provider.active === undefined ? undefined : String(theirs.provider.active);
    if (oursActive !== theirsActive) differences.push({ field: 'active', ours: oursActive, theirs: theirsActive, pushable: false });
  }

  const current = theirs.participations.filter((p) => isCurrent(p as unknown as AnyResource, today));

  // Addresses: ours where the provider practises; theirs on the provider and on its current
  // participations' locations (Plan-Net puts practice addresses on Location).
  const practice = record.addresses.filter((a: ProviderAddress) => a.purpose === 'LOCATION');
  if (theirs.provider && (practice.length || record.addresses.length)) {
    const oursSet = set((practice.length ? practice : record.addresses).map(addressKey));
    const theirKeys: string[] = (theirs.provider.address ?? []).map(addressKey);
    for (const p of current) {
      for (const l of p.location ?? []) {
        const loc = resolve(l.reference) as Location | undefined;
        if (loc?.address) theirKeys.push(addressKey(loc.address));
      }
    }
    const theirsSet = set(theirKeys);
    if (oursSet !== theirsSet) {
      differences.push({
        field: 'addresses', ours: oursSet?.split(', ').map(addressDisplay).join('; '), theirs: theirsSet?.split(', ').map(addressDisplay).join('; '), pushable: false,
      });
    }
  }

  const networks = new Set<string>([...ours.networks.map((n) => n.network), ...current.flatMap(networksOf)]);
  for (const network of [...networks].sort()) {
    const mine = ours.networks.find((n) => n.network === network);
    const theirsIn = current.filter((p) => networksOf(p).includes(network));
    differences.push(...diffNetwork(ours, mine, theirsIn, network, today, resolve));
  }
  return { npi: record.npi, found: Boolean(theirs.provider), differences };
}

function diffNetwork(
  ours: OurParticipation, mine: NetworkParticipation | undefined, theirsIn: Participation[], network: string, today: string,
  resolve: (ref: string | undefined) => Resource | undefined,
): FieldDifference[] {
  const field = (name: string) => `networks[${network}].${name}`;
  const oursIn = Boolean(mine) && !(mine?.end && mine.end < today);
  const theirsInNetwork = theirsIn.length > 0;
  if (oursIn !== theirsInNetwork) {
    // A network we have no record of at all is the payer's knowledge, not ours to undo.
    return [{ field: field('participating'), ours: oursIn ? 'yes' : 'no', theirs: theirsInNetwork ? 'yes' : 'no', network, pushable: Boolean(mine) }];
  }
  if (!oursIn || !mine) return [];

  const out: FieldDifference[] = [];
  const add = (name: string, o: string | undefined, t: string | undefined) => {
    if (o !== t) out.push({ field: field(name), ours: o, theirs: t, network, pushable: true });
  };

  // Accepting new patients: on the role (individuals); on the affiliation's Locations (organizations).
  const accepting = set(theirsIn.flatMap((p) => {
    if (p.resourceType === 'PractitionerRole') return [acceptingFor(p as unknown as AnyResource, network) ?? ''];
    return (p.location ?? []).map((l) => {
      const loc = resolve(l.reference);
      return loc ? acceptingFor(loc as unknown as AnyResource, network) ?? '' : '';
    });
  }));
  add('acceptingPatients', mine.acceptingPatients, accepting);

  if (mine.organizationNpi || mine.organization) {
    const theirsOrg = set(theirsIn.map((p) => {
      const ref = orgReference(p);
      if (mine.organization) return localReference(ref, undefined) ?? ref ?? '';
      const org = resolve(ref);
      return npiOf(org as unknown as AnyResource) ?? (p.organization?.identifier?.value ?? '');
    }));
    add('organization', mine.organization ?? mine.organizationNpi, theirsOrg);
  }

  const specialties = mine.specialties?.length ? mine.specialties : ours.record.taxonomies.slice(0, 1);
  add('specialties', set(specialties), set(theirsIn.flatMap((p) => nuccCodes(p.specialty))));

  if (mine.locations) {
    add('locations', set(mine.locations), set(theirsIn.flatMap((p) => (p.location ?? []).map((l) => localReference(l.reference) ?? l.reference ?? ''))));
  }
  return out;
}

/** The networks whose participation differs in a way a push can fix. */
export function networksToPush(diff: PlanNetDiff): string[] {
  return [...new Set(diff.differences.filter((d) => d.pushable && d.network).map((d) => d.network as string))].sort();
}
