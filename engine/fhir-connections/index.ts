/** FHIR connections: registry (knex + AES-256-GCM secrets) and the helpers around it. */
export { FhirConnectionRegistry, FhirConnectionNotFound, CONNECTION_ID } from './registry';
export type { FhirConnectionInput, FhirConnectionView } from './registry';
export { SecretBox, SecretKeyError, secretBoxFrom, deriveKey, SECRET_KEY_HELP } from '../../common/secret-box';
export { SECRET_FIELDS, ALL_SECRET_FIELDS, AUTH_TYPES } from './auth-fields';
export { testFhirConnection } from './test-connection';
export type { ConnectionTestResult } from './test-connection';

import { KnexMessageStore } from '../store/knex-store';
import type { MessageStore } from '../store/types';
import { FhirConnectionRegistry as Registry } from './registry';
import { secretBoxFrom as boxFrom } from '../../common/secret-box';

/**
 * The registry on the message store's database (its migrations made the table), with secrets
 * sealed under `secretKey` (WASL_SECRET_KEY; `previousKeys`, comma-separated, still decrypt).
 * Undefined for a store that is not knex-backed.
 */
export function fhirConnectionRegistryFor(store: MessageStore, secretKey: string | undefined, previousKeys?: string): Registry | undefined {
  if (!(store instanceof KnexMessageStore)) return undefined;
  return new Registry(store.knex, store.dialect, boxFrom(secretKey, previousKeys));
}
