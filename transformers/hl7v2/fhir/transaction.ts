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
    this.entries.push({ fullUrl, resource, request: { method: 'PUT', url: identifierSearchUrl(resource.resourceType, system, value) } });
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
    this.entries.push({ fullUrl, resource, request: { method: 'POST', url: resource.resourceType, ifNoneExist: query } });
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

  build(): Bundle {
    return { resourceType: 'Bundle', type: 'transaction', entry: this.entries.slice() };
  }
}
