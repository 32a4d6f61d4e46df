/**
 * Runs the loopback FHIR server on its own port. Tests, benchmarks and the destination-down
 * end-to-end tests start and stop it; passing the previous `repo` back in restarts it with its data.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { MemoryRepository } from '@medplum/fhir-router';
import { createFhirServer, type FhirServerOptions } from './server';

/** Where the standalone server mounts the FHIR base. */
export const FHIR_BASE_PATH = '/fhir/R4';

export interface RunningFhirServer {
  /** FHIR base URL, e.g. `http://127.0.0.1:41234/fhir/R4`. */
  url: string;
  port: number;
  repo: MemoryRepository;
  /** Deletes every resource. */
  reset(): void;
  /** Stops listening and drops open (keep-alive) connections. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts the FHIR server on `host:port` (port 0 picks a free port).
 * @param port - TCP port, 0 for any free one
 * @param host - interface to bind, default `127.0.0.1` (never all interfaces by accident)
 * @param options - see {@link FhirServerOptions}
 */
export async function startFhirServer(port: number, host = '127.0.0.1', options: FhirServerOptions = {}): Promise<RunningFhirServer> {
  const fhir = await createFhirServer(options);
  const app = express();
  app.disable('x-powered-by');
  app.use(FHIR_BASE_PATH, fhir.router);
  const server = http.createServer(app);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${hostPart}:${address.port}${FHIR_BASE_PATH}`,
    port: address.port,
    repo: fhir.repo,
    reset: fhir.reset,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Without this, close() waits for idle keep-alive sockets of clients (fetch pools them).
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
