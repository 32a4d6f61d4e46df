/**
 * A protected resource in front of a FHIR server, for auth tests: an HTTP proxy on loopback that
 * checks each request's credentials and forwards it unchanged (method, path, query, body, headers
 * but `authorization` and the API key) to the upstream server, or answers 401 with an
 * OperationOutcome and `WWW-Authenticate`.
 *
 * ```ts
 * const fhir = await startFhirServer(0);                     // engine/fhir-server
 * const oauth = await startOAuthServer();                    // ./oauth-server
 * const guarded = await startProtectedFhir({ upstream: fhir.url, bearer: oauth });
 * // or { basic: { username, password } } or { apiKey: { header: 'x-api-key', key } }; several may be set
 * guarded.url           // FHIR base URL to give the client, e.g. http://127.0.0.1:4321/fhir/R4
 * guarded.stats         // { allowed, refused }
 * guarded.setAuthRequired(false)                             // let everything through
 * await guarded.close();
 * ```
 *
 * The proxy keeps the upstream's path (`/fhir/R4`) and passes the client's `Host` header, so the
 * Medplum server builds `next` links and `Location` headers that point back at the proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuthServer } from './oauth-server';

export interface ProtectedFhirOptions {
  /** Upstream FHIR base URL (e.g. `startFhirServer(0)`'s `url`). */
  upstream: string;
  /** Accept bearer tokens this authorization server issued and that are still live. */
  bearer?: Pick<OAuthServer, 'isValid'>;
  basic?: { username: string; password: string };
  apiKey?: { header: string; key: string };
}

export interface ProtectedFhir {
  /** FHIR base URL through the proxy. */
  url: string;
  stats: { allowed: number; refused: number };
  setAuthRequired(required: boolean): void;
  close(): Promise<void>;
}

export async function startProtectedFhir(opts: ProtectedFhirOptions): Promise<ProtectedFhir> {
  const upstream = new URL(opts.upstream);
  const stats = { allowed: 0, refused: 0 };
  let required = true;
  const apiKeyHeader = opts.apiKey?.header.toLowerCase();

  const authorised = (req: http.IncomingMessage): boolean => {
    if (!required) return true;
    const authorization = req.headers.authorization;
    if (opts.bearer && opts.bearer.isValid(authorization)) return true;
    if (opts.basic && authorization === `Basic ${Buffer.from(`${opts.basic.username}:${opts.basic.password}`, 'utf8').toString('base64')}`) return true;
    if (opts.apiKey && apiKeyHeader && req.headers[apiKeyHeader] === opts.apiKey.key) return true;
    return false;
  };

  const server = http.createServer((req, res) => {
    if (!authorised(req)) {
      stats.refused += 1;
      req.resume();
      res.writeHead(401, {
        'content-type': 'application/fhir+json',
        'www-authenticate': opts.bearer ? 'Bearer error="invalid_token"' : 'Basic realm="fhir"',
      });
      res.end(JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', details: { text: 'Unauthorized' } }] }));
      return;
    }
    stats.allowed += 1;
    const headers = { ...req.headers };
    delete headers.authorization;
    if (apiKeyHeader) delete headers[apiKeyHeader];
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname.replace(/\/+$/, '')}`,
    stats,
    setAuthRequired(r) {
      required = r;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
