/**
 * What an R4 rest-hook Subscription notification names: the resources the FHIR source
 * (fhir-intake.ts) fetches from its upstream server.
 */
import type { Bundle, Resource } from '@medplum/fhirtypes';

/** A resource by type and id. */
export interface ResourceRef {
  resourceType: string;
  id: string;
}

/**
 * The resources a notification names, or undefined when the body is not a notification.
 * Bundle entries of the status (SubscriptionStatus in R4B, Parameters in the R4 backport) are
 * skipped; an id-only entry names its resource by `fullUrl`; a status with no other entries
 * names them by `notificationEvent.focus` (R4B) or the `focus` part (R4 backport).
 */
export function referencesIn(body: unknown): ResourceRef[] | undefined {
  if (body === undefined || body === null || (typeof body === 'object' && Object.keys(body).length === 0)) return [];
  if (typeof body !== 'object' || Array.isArray(body)) return undefined;
  const resource = body as Resource;
  if (resource.resourceType !== 'Bundle') {
    return typeof resource.resourceType === 'string' && resource.id ? [{ resourceType: resource.resourceType, id: resource.id }] : undefined;
  }
  const bundle = resource as Bundle;
  if (bundle.type !== 'history') return undefined;
  const refs: ResourceRef[] = [];
  const foci: string[] = [];
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource as (Resource & Record<string, unknown>) | undefined;
    if (r?.resourceType === 'SubscriptionStatus') {
      for (const ev of (r.notificationEvent as Array<{ focus?: { reference?: string } }> | undefined) ?? []) if (ev.focus?.reference) foci.push(ev.focus.reference);
      continue;
    }
    if (r?.resourceType === 'Parameters') {
      for (const p of (r.parameter as Array<{ name?: string; part?: Array<{ name?: string; valueReference?: { reference?: string } }> }> | undefined) ?? []) {
        if (p.name !== 'notification-event') continue;
        for (const part of p.part ?? []) if (part.name === 'focus' && part.valueReference?.reference) foci.push(part.valueReference.reference);
      }
      continue;
    }
    const ref = r?.resourceType && r.id ? { resourceType: r.resourceType, id: r.id } : parseReference(entry.fullUrl ?? entry.request?.url);
    if (ref) refs.push(ref);
  }
  if (refs.length === 0) for (const f of foci) {
    const ref = parseReference(f);
    if (ref) refs.push(ref);
  }
  const seen = new Set<string>();
  return refs.filter((r) => !seen.has(`${r.resourceType}/${r.id}`) && seen.add(`${r.resourceType}/${r.id}`));
}

/** `Patient/1`, `http://x/fhir/Patient/1`, `.../Patient/1/_history/2` -> Patient, 1. */
function parseReference(ref: string | undefined): ResourceRef | undefined {
  if (!ref) return undefined;
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?\/?$/.exec(ref.split('?')[0]);
  return m ? { resourceType: m[1], id: m[2] } : undefined;
}
