/**
 * The upstream FHIR server a FHIR source fetches notified resources from (Subscription rest-hook
 * notifications). A thin wrapper on connectors/fhir/fhir-client.ts `FhirConnectionClient`, which
 * classifies failures and owns the circuit breaker. Its own retries are off: the intake retries
 * the whole fetch-store-queue step (engine/runtime/fhir-intake.ts), so one loop decides.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Logger } from '../../common/logger';
import { staticAuthProvider } from '../../connectors/fhir/auth/static-auth';
import { fhirClients } from '../../connectors/fhir/client-registry';
import { FhirConnectionClient } from '../../connectors/fhir/fhir-client';
import type { FhirUpstreamReader } from './fhir-intake';

export interface FhirUpstreamOptions {
  /** The channel whose circuit list (`/api/v1/channels`) shows this connection's breaker. */
  channel: string;
  /** Names the connection in metrics and the API, e.g. `<channel>-upstream`. */
  id: string;
  baseUrl: string;
  timeoutMs?: number;
  logger: Logger;
}

/** Builds the reader; throws `VALIDATION_FHIR_BASE_URL` for a base URL that is not http(s). */
export function fhirUpstreamReader(options: FhirUpstreamOptions): FhirUpstreamReader {
  const client = new FhirConnectionClient({
    connection: { id: options.id, baseUrl: options.baseUrl, timeoutMs: options.timeoutMs },
    auth: staticAuthProvider({}),
    retry: { maxAttempts: 1 },
    logger: options.logger,
  });
  const unbind = fhirClients.bind(options.channel, client);
  return {
    read: (resourceType: string, id: string) => client.read<Resource>(resourceType, id),
    close: async () => {
      unbind();
      await client.close();
    },
  };
}
