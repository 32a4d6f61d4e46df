import type { Bundle, BundleEntry, Identifier, Resource } from '@medplum/fhirtypes';
import { deterministicUuid, identifierSearchUrl } from '../fhir-identity';

/**
 * Collects the entries of one FHIR transaction Bundle. Every entry gets a name-based
 * `urn:uuid:` fullUrl, so the same message always gives the same Bundle and references inside it
 * are stable. Resources with a business identifier are upserted conditionally on it, so a resend
 * never creates a second copy.
 */
export class TransactionBuilder {
  private readonly entries: BundleEntry[] = [];
  private readonly byKey = new Map<string, string>();
  /** The conditional key (`Type|system|value`) of each conditional entry. */
  private readonly keyOf = new Map<BundleEntry, { key: string; identifier: Identifier }>();

  /**
   * Conditional update (`PUT Type?identifier=system|value`): replaces the resource matched by
   * its identifier or creates it. Adding the same identifier twice keeps the first resource and
   * returns its fullUrl, so a mapper may call this for every segment that names the same thing.
   */
  upsert<T extends Resource>(resource: T, identifier: Identifier): string {
    const { system, value } = identifier;
    if (!system || !value) throw new Error(`upsert of ${resource.resourceType} needs an identifier with system and value`);
    const key = `${resource.resourceType}|${system}|${value}`;
    const known = this.byKey.get(key);
    if (known) return known;
    const fullUrl = `urn:uuid:${deterministicUuid(key)}`;
    this.byKey.set(key, fullUrl);
    const entry: BundleEntry = { fullUrl, resource, request: { method: 'PUT', url: identifierSearchUrl(resource.resourceType, system, value) } };
    this.entries.push(entry);
    this.keyOf.set(entry, { key, identifier: { system, value } });
    return fullUrl;
  }

  /**
   * Conditional create (`POST` with `ifNoneExist`): creates the resource unless one with the
   * identifier exists, and never changes an existing one (for reference data such as a
   * Practitioner named in passing). Same key twice: the first fullUrl.
   */
  createIfNoneExist<T extends Resource>(resource: T, identifier: Identifier): string {
    const { system, value } = identifier;
    if (!system || !value) throw new Error(`createIfNoneExist of ${resource.resourceType} needs an identifier with system and value`);
    const key = `${resource.resourceType}|${system}|${value}`;
    const known = this.byKey.get(key);
    if (known) return known;
    const fullUrl = `urn:uuid:${deterministicUuid(key)}`;
    this.byKey.set(key, fullUrl);
    const query = identifierSearchUrl(resource.resourceType, system, value).slice(resource.resourceType.length + 1);
    const entry: BundleEntry = { fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist: query } };
    this.entries.push(entry);
    this.keyOf.set(entry, { key, identifier: { system, value } });
    return fullUrl;
  }

  /** The fullUrl already given to this resource type + identifier, if any. */
  find(resourceType: string, system: string, value: string): string | undefined {
    return this.byKey.get(`${resourceType}|${system}|${value}`);
  }

  /** The entries added so far (for mappers that need to look back at what they added). */
  get size(): number {
    return this.entries.length;
  }

  /**
   * The transaction Bundle, with identifiers made safe for conditional writes. A conditional URL
   * `Type?identifier=system|value` matches every stored resource of that type carrying the
   * identifier, so after the first post, a resend fails ("matched multiple resources") or updates
   * the wrong resource if two resources of one type share an identifier. That happens when one
   * message names one order number in two OBR (ELR senders do: both carry the same placer and
   * filler; the second is keyed on `<filler>/<OBR-4>`, see clinical.ts uniqueKey). Hence, per
   * resource type:
   * - every conditional entry's resource carries its own key (without it, a resend never finds
   *   the resource and creates another);
   * - a key identifier stays only on the resource it keys;
   * - any other identifier stays on the first resource that carries it (later ones drop it, as
   *   `upsert` keeps the first resource for a repeated key). One resource may carry it twice
   *   (SCH-1 and SCH-2 both `APT001`: PLAC and FILL): that still matches one resource.
   * Resources are copied, not changed.
   */
  build(): Bundle {
    const owner = new Map<string, BundleEntry>();
    for (const [entry, { key }] of this.keyOf) owner.set(key, entry);
    const entry = this.entries.map((e) => {
      const resource = e.resource as (Resource & { identifier?: Identifier[] | Identifier }) | undefined;
      if (!resource) return e;
      const own = this.keyOf.get(e);
      if (resource.identifier !== undefined && !Array.isArray(resource.identifier)) return e;
      const kept: Identifier[] = [];
      const seen = new Set<string>();
      for (const id of resource.identifier ?? []) {
        if (!id.system || !id.value) {
          kept.push(id);
          continue;
        }
        const key = `${resource.resourceType}|${id.system}|${id.value}`;
        const first = owner.get(key);
        if (first && first !== e) continue;
        owner.set(key, e);
        seen.add(key);
        kept.push(id);
      }
      if (own && !seen.has(own.key)) kept.push(own.identifier);
      const same = kept.length === (resource.identifier?.length ?? 0) && kept.every((id, i) => id === (resource.identifier as Identifier[])[i]);
      return same ? e : { ...e, resource: { ...resource, identifier: kept } as Resource };
    });
    return { resourceType: 'Bundle', type: 'transaction', entry };
  }
}
