/**
 * A FHIR Claim / CoverageEligibilityRequest that an EHR already holds (posted to a `type: fhir`
 * source, alone or in a Bundle with its Patient, Coverage, Organizations...) wrapped as an NPHIES
 * request message: MessageHeader first, every resource under `<provider endpoint>/<Type>/<id>`,
 * references that pointed at a Bundle `fullUrl` (`urn:uuid:`) rewritten to `Type/id`, and the
 * NPHIES profile added where a resource has none. Pure: ids and time come from `opts`.
 *
 * It does not invent content: what the EHR's resources lack (an extension, an identifier system)
 * is for validateNphiesBundle to report, with the path.
 */
import type { Bundle, Claim, Reference, Resource } from '@medplum/fhirtypes';
import { ValidationError } from '../../common/errors';
import { BuildContext, type BuildOptions, type EntryRef } from './bundles/common';
import { claimProfileId, type NphiesClaimType } from './bundles/profiles';
import type { NphiesParties, NphiesRequestKind } from './types';

const FOCAL_TYPE: Partial<Record<NphiesRequestKind, string>> = {
  'eligibility-request': 'CoverageEligibilityRequest',
  'priorauth-request': 'Claim',
  'claim-request': 'Claim',
  'cancel-request': 'Task',
};

/** Profile ids by resource type, for resources that arrive without meta.profile. */
const DEFAULT_PROFILE: Record<string, string> = {
  CoverageEligibilityRequest: 'eligibility-request',
  Patient: 'patient',
  Coverage: 'coverage',
  Organization: 'organization',
  Practitioner: 'practitioner',
  PractitionerRole: 'practitioner-role',
  Location: 'location',
  Encounter: 'encounter',
  Task: 'task',
};

/** The resources of a payload: one resource, or the entries of a Bundle with their fullUrls. */
function resourcesOf(payload: Resource): Array<{ fullUrl?: string; resource: Resource }> {
  if (payload.resourceType !== 'Bundle') return [{ resource: payload }];
  return (payload.entry ?? []).filter((e) => e.resource).map((e) => ({ fullUrl: e.fullUrl, resource: e.resource as Resource }));
}

function claimProfile(claim: Claim, kind: NphiesRequestKind): string {
  const code = claim.type?.coding?.[0]?.code as NphiesClaimType | undefined;
  const type: NphiesClaimType = code && ['institutional', 'professional', 'pharmacy', 'oral', 'vision'].includes(code) ? code : 'professional';
  return claimProfileId(type, kind === 'priorauth-request' ? 'preauthorization' : 'claim');
}

/** Rewrites every `reference` whose value is a key of `map`, deeply, in place. */
function rewriteReferences(value: unknown, map: Map<string, string>): void {
  if (Array.isArray(value)) value.forEach((v) => rewriteReferences(v, map));
  else if (value && typeof value === 'object') {
    const ref = value as Reference;
    if (typeof ref.reference === 'string' && map.has(ref.reference)) ref.reference = map.get(ref.reference);
    for (const v of Object.values(value)) rewriteReferences(v, map);
  }
}

/**
 * Wraps a FHIR payload as the `kind` request message.
 * @throws ValidationError `NPHIES_PAYLOAD` when the payload holds no (or several) focal resources
 */
export function wrapFhirAsMessage(kind: NphiesRequestKind, payload: Resource, parties: NphiesParties, opts: BuildOptions = {}): Bundle {
  const focalType = FOCAL_TYPE[kind];
  if (!focalType) throw new ValidationError('NPHIES_PAYLOAD', `${kind} cannot be built from a FHIR resource`, { path: 'payload' });
  // Copies: the message gets ids and profiles the caller's payload must not see.
  const items = resourcesOf(structuredClone(payload));
  const focals = items.filter((i) => i.resource.resourceType === focalType);
  if (focals.length !== 1) {
    throw new ValidationError('NPHIES_PAYLOAD', `msg.payload must hold exactly one ${focalType} (found ${focals.length})`, { path: 'payload' });
  }
  const ctx = new BuildContext(parties, opts);
  const refs = new Map<string, string>();
  for (const item of items) {
    const r = item.resource as Resource & { id?: string };
    r.id ??= ctx.newId();
    if (item.fullUrl) refs.set(item.fullUrl, `${r.resourceType}/${r.id}`);
  }
  let focalRef: EntryRef | undefined;
  for (const item of items) {
    const r = item.resource as Resource & { id?: string };
    rewriteReferences(r, refs);
    if (!r.meta?.profile?.length) {
      const id = r.resourceType === 'Claim' ? claimProfile(r, kind) : DEFAULT_PROFILE[r.resourceType];
      if (id) r.meta = { ...r.meta, ...ctx.meta(id) };
    }
    const ref = ctx.add(r);
    if (item === focals[0]) focalRef = ref;
  }
  return ctx.bundle(kind, focalRef as EntryRef);
}
