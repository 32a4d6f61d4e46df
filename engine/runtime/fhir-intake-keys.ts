/**
 * The FHIR source's dedupe keys (fhir-intake.ts says why this order): every request has one,
 * the first of the client's `Idempotency-Key`, a conditional create's `If-None-Exist`, the
 * resource's id + `meta.versionId`, and a hash of its canonical JSON. The key is hashed into the
 * store's control id, so criteria (which hold identifiers) never reach the store in clear.
 */
import { createHash } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';

export interface DedupeHints {
  /** The `Idempotency-Key` header, trimmed. */
  idempotencyKey?: string;
  /** `<type>?<If-None-Exist>` of a conditional create. */
  conditional?: string;
  /** Whether id + `meta.versionId` may identify the request (not for a Bundle posted to the base). Default true. */
  byVersion?: boolean;
}

/** The key of one request; `request` is its method and path, e.g. `POST Patient` or `PUT Patient/1`. */
export function dedupeKey(request: string, resource: Resource, hints: DedupeHints = {}): string {
  if (hints.idempotencyKey) return `key:${hints.idempotencyKey}`;
  if (hints.conditional) return `create:${hints.conditional}`;
  return (hints.byVersion !== false ? versionKey(resource) : undefined) ?? `content:${request} ${canonicalJson(resource)}`;
}

/** The `Idempotency-Key` header, when the client sent a non-blank one. */
export function idempotencyKeyOf(headers: Record<string, string | undefined>): string | undefined {
  return headers['idempotency-key']?.trim() || undefined;
}

/** One namespace for every interaction: a version POSTed and the same version fetched after a notification are one message. */
export function controlIdFor(key: string): string {
  return `fhir:${sha256(key).slice(0, 48)}`;
}

function versionKey(resource: Resource): string | undefined {
  return resource.id && resource.meta?.versionId ? `version:${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}` : undefined;
}

/** JSON with sorted keys: the same content always hashes the same, whatever the key order or whitespace. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A Patient's first identifier value, stored for search (never logged), as PID-3.1 is for HL7. */
export function patientKeyOf(resource: Resource): string | undefined {
  if (resource.resourceType !== 'Patient') return undefined;
  const value = resource.identifier?.[0]?.value;
  return value ? value.slice(0, 200) : undefined;
}
