import assert from 'node:assert/strict';
import type { Bundle, BundleEntry, Identifier, Resource } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import { validateFhir } from '../../../transformers/fhir/validate';
import { hl7ToFhirTransaction, type Hl7ToFhirOptions } from '../../../transformers/hl7v2/fhir';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { hl7Fixture } from '../fixtures';

/** Maps a fixture (`*.hl7`) or message text to a transaction Bundle, unchecked. */
export function bundleOf(fixtureOrText: string, options?: Hl7ToFhirOptions): Bundle {
  const text = fixtureOrText.endsWith('.hl7') ? hl7Fixture(fixtureOrText) : fixtureOrText;
  return hl7ToFhirTransaction(parseHl7(text), options);
}

/** The Bundle passes the R4 schema (the first issues are in the failure message). */
export function assertValid(b: Bundle): void {
  const v = validateFhir(b);
  assert.ok(v.valid, JSON.stringify(v.outcome.issue.slice(0, 5)));
}

/** Maps a fixture (`*.hl7`) or message text and checks the Bundle against the R4 schema. */
export function mapped(fixtureOrText: string, options?: Hl7ToFhirOptions): Bundle {
  const bundle = bundleOf(fixtureOrText, options);
  const result = validateFhir(bundle);
  assert.equal(result.valid, true, JSON.stringify(result.outcome.issue));
  return bundle;
}

/** Every resource of `type`, in Bundle order. */
export function all<T extends Resource>(b: Bundle, type: T['resourceType']): T[] {
  return b.entry!.filter((e) => e.resource?.resourceType === type).map((e) => e.resource as T);
}

/** The only (or first) resource of `type`; fails when there is none. */
export function one<T extends Resource>(b: Bundle, type: T['resourceType']): T {
  const found = all<T>(b, type);
  assert.ok(found.length > 0, `no ${type} in the Bundle`);
  return found[0];
}

/** The entry holding `resource`. */
export function entryOf(b: Bundle, resource: Resource): BundleEntry {
  const e = b.entry!.find((x) => x.resource === resource);
  assert.ok(e);
  return e;
}

/** The fullUrl of the entry holding `resource`. */
export function urlOf(b: Bundle, resource: Resource): string {
  return entryOf(b, resource).fullUrl!;
}

/** Runs `fn`, expecting a ValidationError; returns it. */
export function rejection(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err;
  }
  assert.fail('expected a ValidationError');
}

/** Every urn:uuid reference in the Bundle points at an entry of the Bundle. */
export function assertReferencesResolve(b: Bundle): void {
  const urls = new Set(b.entry!.map((e) => e.fullUrl));
  const refs = JSON.stringify(b).match(/"reference":"urn:uuid:[^"]+"/g) ?? [];
  for (const r of refs) assert.ok(urls.has(r.slice(13, -1)), `dangling ${r}`);
}

/** `Type|system|value` of the identifier a conditional entry (PUT url or POST ifNoneExist) is keyed on. */
export function conditionalKey(e: BundleEntry): string | undefined {
  const query = e.request?.method === 'PUT' ? e.request.url.split('?')[1] : e.request?.ifNoneExist;
  const m = query && /^identifier=([^|]*)\|(.*)$/.exec(query);
  if (!m) return undefined;
  const part = (s: string) => decodeURIComponent(s).replace(/\\([\\,$|])/g, '$1');
  return `${e.resource!.resourceType}|${part(m[1])}|${part(m[2])}`;
}

/**
 * A resend of the Bundle matches at most one stored resource per conditional entry: each
 * conditional resource carries its own key, and no two resources of one type share any
 * identifier system|value (a conditional URL matches every resource carrying it).
 */
export function assertConditionalKeysUnique(b: Bundle): void {
  const holder = new Map<string, number>();
  b.entry!.forEach((e, i) => {
    const r = e.resource as Resource & { identifier?: Identifier[] };
    const own = new Set((Array.isArray(r.identifier) ? r.identifier : []).map((id) => `${r.resourceType}|${id.system}|${id.value}`));
    for (const k of own) {
      assert.ok(!holder.has(k), `entries ${holder.get(k)} and ${i} both carry ${k}`);
      holder.set(k, i);
    }
    const key = conditionalKey(e);
    if (key) assert.ok(own.has(key), `entry ${i} is keyed on ${key} but does not carry it`);
  });
}
