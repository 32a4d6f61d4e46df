/**
 * A FHIR destination that costs (almost) nothing: answers every transaction with an all-201
 * transaction-response, and /metadata with a minimal CapabilityStatement. With
 * BENCH_MLLP_FHIR=stub the bench uses it instead of the engine's built-in demo FHIR server, whose
 * conditional PUTs scan every stored resource and, running inside the engine, share its event
 * loop: the stub shows what the engine itself costs. It stores nothing it is sent.
 */
import http from 'node:http';

export async function startFhirStub(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      if (req.method === 'GET' && req.url?.endsWith('/metadata')) {
        body = { resourceType: 'CapabilityStatement', status: 'active', kind: 'instance', fhirVersion: '4.0.1', format: ['json'], rest: [{ mode: 'server', resource: [{ type: 'Patient' }, { type: 'Encounter' }] }] };
      } else {
        let entries = 0;
        try {
          entries = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { entry?: unknown[] }).entry?.length ?? 0;
        } catch {
          // not a Bundle: answer an empty transaction-response
        }
        const entry = Array.from({ length: entries }, () => ({ response: { status: '201 Created' } }));
        body = { resourceType: 'Bundle', type: 'transaction-response', entry };
      }
      res.writeHead(200, { 'content-type': 'application/fhir+json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/fhir/R4`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
