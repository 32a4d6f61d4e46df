/**
 * Which auth settings are secret, per auth type: the one list the registry (what to encrypt), the
 * API (what never to return, what may be omitted on update) and the config node follow.
 */
import type { FhirAuth, FhirAuthType } from '../../connectors/fhir/connection';

export const AUTH_TYPES: readonly FhirAuthType[] = ['none', 'basic', 'api-key', 'client-credentials', 'smart-backend', 'refresh-token'];

/** Secret fields of each type; the first `required` of them must be present on create. */
export const SECRET_FIELDS: Record<FhirAuthType, { fields: readonly string[]; required: readonly string[] }> = {
  none: { fields: [], required: [] },
  basic: { fields: ['password'], required: ['password'] },
  'api-key': { fields: ['key'], required: ['key'] },
  'client-credentials': { fields: ['clientSecret'], required: ['clientSecret'] },
  'smart-backend': { fields: ['privateKeyPem'], required: ['privateKeyPem'] },
  // expiresAt belongs with the access token it dates.
  'refresh-token': { fields: ['clientSecret', 'refreshToken', 'accessToken', 'expiresAt'], required: ['refreshToken'] },
};

/** Every field name that is secret in some type: what a response must never carry. */
export const ALL_SECRET_FIELDS = ['password', 'key', 'clientSecret', 'privateKeyPem', 'refreshToken', 'accessToken'] as const;

/** Splits auth settings into the public part and the secret part. */
export function splitAuth(auth: FhirAuth): { type: FhirAuthType; pub: Record<string, unknown>; secret: Record<string, unknown> } {
  const secretNames = new Set(SECRET_FIELDS[auth.type].fields);
  const pub: Record<string, unknown> = {};
  const secret: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(auth)) {
    if (k === 'type' || v === undefined) continue;
    (secretNames.has(k) ? secret : pub)[k] = v;
  }
  return { type: auth.type, pub, secret };
}

/** `password` → `hasPassword`. */
export function hasField(name: string): string {
  return `has${name[0].toUpperCase()}${name.slice(1)}`;
}
