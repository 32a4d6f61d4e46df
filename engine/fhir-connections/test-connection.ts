/**
 * "Test connection": reads `/metadata` through the connection's auth and reports what the server
 * is, or why it could not be reached. Used by `POST /api/v1/fhir-connections/:id/test`.
 */
import { performance } from 'node:perf_hooks';
import { toWaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { createAuthProvider, type AuthProviderOptions } from '../../connectors/fhir/auth';
import { FhirDestination } from '../../connectors/fhir/client';
import type { FhirConnection } from '../../connectors/fhir/connection';

export type ConnectionTestResult =
  | { ok: true; fhirVersion: string; resourceTypes: string[]; roundTripMs: number }
  | { ok: false; error: { code: string; message: string }; roundTripMs: number };

/** Default for the test: shorter than a sync's timeout, a person is waiting. */
const TEST_TIMEOUT_MS = 15_000;

export async function testFhirConnection(connection: FhirConnection, opts: Pick<AuthProviderOptions, 'fetch' | 'onRefreshTokenRotated'> & { logger?: Logger } = {}): Promise<ConnectionTestResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const timeoutMs = Math.min(connection.timeoutMs ?? TEST_TIMEOUT_MS, TEST_TIMEOUT_MS);
    const auth = createAuthProvider(connection.auth, { ...opts, timeoutMs });
    for (let attempt = 0; ; attempt++) {
      const headers = await auth.headers();
      const client = new FhirDestination({ baseUrl: connection.baseUrl, timeoutMs, headers, logger: opts.logger });
      try {
        const caps = await client.capabilities();
        return { ok: true, fhirVersion: caps.fhirVersion, resourceTypes: caps.resourceTypes, roundTripMs: ms() };
      } catch (err) {
        // One refresh after a 401, as every request does; a second 401 is the answer.
        const status = (err as { details?: { status?: number } }).details?.status;
        if (status === 401 && attempt === 0 && (await auth.invalidate(headers))) continue;
        throw err;
      } finally {
        await client.close();
      }
    }
  } catch (err) {
    const e = toWaslError(err);
    return { ok: false, error: { code: e.code, message: e.message }, roundTripMs: ms() };
  }
}
