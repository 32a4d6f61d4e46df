/**
 * Medplum 4.5.2's FhirRouter returns searchsets without `Bundle.link`, so a client cannot page.
 * The wrapper adds `self`, `previous` and `next` from `_count`/`_offset` and the `total` that
 * Medplum always fills in, and gives each entry its `fullUrl` as R4 requires for searchsets.
 */
import type { Bundle, BundleLink } from '@medplum/fhirtypes';

function lastInt(params: URLSearchParams, name: string): number | undefined {
  const all = params.getAll(name);
  if (all.length === 0) return undefined;
  const n = Number.parseInt(all[all.length - 1], 10);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function withOffset(baseUrl: string, path: string, params: URLSearchParams, count: number, offset: number): string {
  const p = new URLSearchParams(params);
  p.set('_count', String(count));
  p.set('_offset', String(offset));
  return `${baseUrl}${path}?${p.toString()}`;
}

/**
 * Adds paging links and entry fullUrls to a searchset in place (it is a fresh object per request).
 * Leaves a bundle that already has links alone, so a future Medplum that adds them wins.
 * @param bundle - the searchset Medplum returned
 * @param baseUrl - absolute server base, no trailing slash (`http://host:port/fhir/R4`)
 * @param path - request path relative to the base, with leading slash (`/Patient`)
 * @param params - the request's query parameters
 */
export function addSearchLinks(bundle: Bundle, baseUrl: string, path: string, params: URLSearchParams): void {
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    if (!entry.fullUrl && r?.resourceType && r.id) entry.fullUrl = `${baseUrl}/${r.resourceType}/${r.id}`;
  }
  if (bundle.link?.length) return;

  const query = params.toString();
  const links: BundleLink[] = [{ relation: 'self', url: `${baseUrl}${path}${query ? `?${query}` : ''}` }];
  const returned = bundle.entry?.length ?? 0;
  const offset = lastInt(params, '_offset') ?? 0;
  // Medplum's memory search has no default page size: without _count it returns everything.
  const count = lastInt(params, '_count') ?? returned;
  if (count > 0 && offset > 0) {
    links.push({ relation: 'previous', url: withOffset(baseUrl, path, params, count, Math.max(0, offset - count)) });
  }
  const more = bundle.total !== undefined ? offset + returned < bundle.total : returned === count && count > 0;
  if (count > 0 && more) {
    links.push({ relation: 'next', url: withOffset(baseUrl, path, params, count, offset + count) });
  }
  bundle.link = links;
}
