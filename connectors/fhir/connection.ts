/**
 * A FHIR connection: one EHR's FHIR R4 server as Wasl reaches it. Managed through
 * `/api/v1/fhir-connections` (secrets encrypted at rest, never returned) and the Node-RED config
 * node `wasl-fhir-server` (secrets in Node-RED's credential store). Sources and destinations take
 * a connection and get a {@link FhirConnectionClient} for it.
 *
 * This file is the contract between the parts: auth (connectors/fhir/auth/), the resilient client
 * (connectors/fhir/fhir-client.ts), the connection registry and API, ingestion and write-back.
 */

/** How requests authenticate. Secrets are plain here: encryption is the registry's job. */
export type FhirAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  /** A static key sent in a header (e.g. `x-api-key`). */
  | { type: 'api-key'; header: string; key: string }
  /** OAuth2 client credentials grant (client_secret_basic or _post). */
  | { type: 'client-credentials'; tokenUrl: string; clientId: string; clientSecret: string; scope?: string; clientAuth?: 'basic' | 'post' }
  /** SMART Backend Services: a signed JWT client assertion (private_key_jwt), RS384 or ES384. */
  | { type: 'smart-backend'; tokenUrl: string; clientId: string; privateKeyPem: string; algorithm: 'RS384' | 'ES384'; keyId?: string; scope?: string }
  /** A bearer token refreshed with a refresh token when it expires or is refused. */
  | { type: 'refresh-token'; tokenUrl: string; clientId: string; clientSecret?: string; refreshToken: string; accessToken?: string; expiresAt?: number };

export type FhirAuthType = FhirAuth['type'];

export interface FhirConnection {
  /** Stable id (kebab-case), used in URLs, metrics labels and the sync high-water marks. */
  id: string;
  name: string;
  /** FHIR base URL, e.g. `https://ehr.example/fhir/R4`. */
  baseUrl: string;
  fhirVersion: 'R4';
  auth: FhirAuth;
  /** Per request (default 30,000 ms). */
  timeoutMs?: number;
  /** Requests per second at most (default: unlimited); extra requests wait, they do not fail. */
  rateLimitPerSecond?: number;
  enabled: boolean;
}

/**
 * Supplies the Authorization (or API key) header for a request and recovers from a 401.
 * Implementations cache tokens until shortly before expiry; concurrent callers share one refresh.
 */
export interface AuthProvider {
  /** Headers to add to the next request. */
  headers(): Promise<Record<string, string>>;
  /**
   * Called once after a 401: drop the cached token so the next `headers()` fetches a new one.
   * Returns false when there is nothing to refresh (none/basic/api-key): the 401 is final.
   * Pass the headers the refused request carried: when several requests were refused with the
   * same token, only the first drop counts and a token fetched since then is kept.
   */
  invalidate(rejected?: Record<string, string>): Promise<boolean>;
}

/** Circuit breaker state per connection, as shown in `/api/v1/channels` and `/metrics`. */
export type BreakerState = 'closed' | 'open' | 'half-open';
