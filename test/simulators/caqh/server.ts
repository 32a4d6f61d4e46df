/**
 * CAQH ProView SIMULATOR: a loopback HTTP server speaking the Roster and Status Check wire format
 * of ../shared/domain/CAQH.md §1-§3 and the supporting-document retrieval of §5.
 * TEST CODE ONLY: never on the production path, never pointed at by a production config.
 *
 * ```ts
 * const sim = await startCaqhSimulator({ pollsUntilComplete: 2 });
 * sim.url;                        // http://127.0.0.1:<port>  (the adapter's baseUrl)
 * sim.credentials;                // { username, password } it accepts (HTTP Basic)
 * sim.organizationId;             // '1234': the PO the credentials belong to
 * sim.setProvider('10000001', { providerStatus: 'Re-attestation', providerStatusDate: '2025-01-15' });
 * sim.setAttestation('10000001', '2025-01-15');   // shorthand: Re-attestation on that date
 * sim.setDocument('10000001', 'AAR', Buffer.from('%PDF-1.4 …'));
 * sim.inject({ type: 'status', status: 500 }, 2); // faults for the next 2 requests
 * sim.requests;                   // every request seen: method, path, query, authorization, body
 * await sim.close();
 * ```
 *
 * Wire format (CAQH.md; paths and query names are matched case-insensitively, as the ASP.NET
 * services behind them do, since the docs themselves spell them several ways):
 * - Auth: `Authorization: Basic base64(username:password)`, else 401 `{"Message": …}`. A body
 *   `organization_id` other than the credentials' PO → `orgMismatchStatus` (default 421, the code
 *   DirectAssure documents for this; what ProView answers is unconfirmed).
 * - `POST /RosterAPI/API/Roster?product=PV` add, `PUT` same path update,
 *   `PUT|POST /ProviewAPI/API/Deroster?product=PV` de-roster (`derosterMethods`): the body must be a
 *   JSON array of objects, each with `organization_id`, else 400 `{"Message": …}`; `product` must
 *   be PV, else 400. Answer: 200 `{"batch_Id": "<id>"}`.
 * - Field-level problems do not fail the call: they come back as a per-provider exception in the
 *   batch result (`exception_description`), as the roster exception file does (CAQH.md §6).
 *   Initial Add: the required fields of CAQH.md §2 and their formats; Quick Add: the CAQH id must
 *   be a provider the simulator knows; update/de-roster: the provider must be on the roster.
 * - `GET /RosterAPI/API/Roster?product=PV&<batchIdParam>=<id>`: `{batch_status, batch_time,
 *   roster_result}`; `pendingStatus` for the first `pollsUntilComplete` polls (roster_result null),
 *   then `completeStatus` with one line per entry: the entry echoed (minus SSN, birthdate, DEA,
 *   UPIN) with `caqh_provider_id` (assigned for an Initial Add) and `exception_description`.
 *   The batch applies to the roster when it completes. Unknown batch → 400 `{"Message": …}`.
 * - `GET /RosterAPI/api/providerstatus?Product=PV&Caqh_Provider_Id=<int>&Organization_Id=<int>`:
 *   the Status Check answer with the schema's PascalCase keys (`lowercaseStatusKeys` gives the
 *   lower-case keys of the docs' example instead). Unknown provider → `Provider_Found_Flag: N`.
 * - `GET /DocumentAPI/api/suppdocs?<docParams>`: raw PDF bytes (application/pdf) when the provider
 *   is rostered, authorized and the document exists; otherwise 404 `{"Message": why}` (the real
 *   response codes are unconfirmed).
 *
 * Simulator inventions (none of these are CAQH facts; all configurable): the pending status word
 * `In Process`, the complete word `Complete`, the batch id format, the CAQH ids it assigns, the
 * Message texts, the document-parameter names (the client's defaults) and the 404 for documents.
 *
 * Faults (`inject`, counted per request): `status` (HTTP status + Message), `rate-limit` (429 +
 * Retry-After seconds), `slow` (delay, then answer), `drop` (socket destroyed).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type CaqhFault = { type: 'status'; status: number } | { type: 'rate-limit'; retryAfterS: number } | { type: 'slow'; ms: number } | { type: 'drop' };

export interface CaqhSimProvider {
  caqhProviderId: string;
  poProviderId?: string;
  npi?: string;
  onRoster: boolean;
  authorizationFlag: 'Y' | 'N';
  providerStatus: string;
  /** YYYY-MM-DD. */
  providerStatusDate?: string;
  practiceState?: string;
  /** Roster attributes as last added/updated. */
  attributes: Record<string, string>;
}

export interface CaqhSimulatorOptions {
  username?: string;
  password?: string;
  organizationId?: string;
  /** Polls answered `pendingStatus` before the batch completes (default 2). */
  pollsUntilComplete?: number;
  pendingStatus?: string;
  completeStatus?: string;
  /** Query parameter of the Get-result call (default `batchId`, as the client's default). */
  batchIdParam?: string;
  /** Methods accepted on the de-roster path (default PUT and POST: the docs label it both). */
  derosterMethods?: Array<'PUT' | 'POST'>;
  /** Status for an organization_id that is not the credentials' PO (default 421). */
  orgMismatchStatus?: number;
  /** Status Check answers with the example's lower-case keys. */
  lowercaseStatusKeys?: boolean;
  /** Document query parameter names (the client's defaults). */
  documentParams?: { caqhProviderId: string; organizationId: string; documentType: string };
  /** Paths (defaults: CAQH.md). */
  paths?: Partial<{ roster: string; deroster: string; status: string; documents: string }>;
}

export interface CaqhSimRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  contentType?: string;
  body?: unknown;
}

interface SimBatch {
  id: string;
  action: 'add' | 'update' | 'delete';
  polls: number;
  entries: Record<string, unknown>[];
  lines?: Record<string, unknown>[];
  batchTime: string;
}

export interface CaqhSimulator {
  url: string;
  credentials: { username: string; password: string };
  organizationId: string;
  requests: CaqhSimRequest[];
  stats: { requests: number; unauthorized: number; badRequests: number; faults: number; batches: number; polls: number };
  providers: Map<string, CaqhSimProvider>;
  /** Adds or changes a provider CAQH knows (defaults: on the roster, authorized, Initial Profile Complete). */
  setProvider(caqhProviderId: string, patch?: Partial<Omit<CaqhSimProvider, 'caqhProviderId'>>): CaqhSimProvider;
  /** The provider (re-)attested on `date` (YYYY-MM-DD): status `Re-attestation` dated `date`. */
  setAttestation(caqhProviderId: string, date: string): void;
  setDocument(caqhProviderId: string, documentType: string, bytes: Buffer): void;
  inject(fault: CaqhFault, count?: number): void;
  /** A batch as the simulator holds it (entries as received). */
  batch(id: string): SimBatch | undefined;
  close(): Promise<void>;
}

const REQUIRED_INITIAL = ['first_name', 'last_name', 'address1', 'city', 'state', 'zip', 'practice_state', 'birthdate', 'type', 'npi'];
/** Never echoed back in results. */
const SECRET_FIELDS = new Set(['ssn', 'short_ssn', 'birthdate', 'dea', 'upin', 'tax_id']);
const ATTRIBUTES = ['po_provider_id', 'last_recredential_date', 'next_recredential_date', 'delegation_flag', 'application_type', 'affiliation_flag', 'region_id'];

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

function npiOk(npi: string): boolean {
  if (!/^\d{10}$/.test(npi)) return false;
  const digits = `80840${npi.slice(0, 9)}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (10 - (sum % 10)) % 10 === Number(npi[9]);
}

/** Field problems of one add object, as an exception description (undefined when fine). */
function addProblem(entry: Record<string, unknown>, providers: Map<string, CaqhSimProvider>): string | undefined {
  const caqhId = str(entry.caqh_provider_id);
  const p = isObj(entry.provider) ? entry.provider : {};
  if (caqhId) {
    if (!providers.has(caqhId)) return 'Quick Add: CAQH Provider ID not found';
  } else {
    for (const k of REQUIRED_INITIAL) if (!str(p[k])) return `Initial Add: ${k} is required`;
  }
  const npi = str(p.npi);
  if (npi && !npiOk(npi)) return 'Invalid NPI';
  const bd = str(p.birthdate);
  if (bd && !/^\d{8}$/.test(bd)) return 'Invalid birthdate format (YYYYMMDD)';
  for (const k of ['state', 'practice_state']) {
    const v = str(p[k]);
    if (v && !/^[A-Z]{2}$/.test(v)) return `Invalid ${k}`;
  }
  if (!!str(p.license_state) !== !!str(p.license_number)) return 'License state and license number must both be provided';
  return undefined;
}

function echo(entry: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'provider' && isObj(v)) {
      out.provider = Object.fromEntries(Object.entries(v).filter(([pk]) => !SECRET_FIELDS.has(pk)));
    } else out[k] = v;
  }
  return out;
}

const compact = (d: string | undefined): string | undefined => d?.replace(/-/g, '');

/** Starts the simulator on 127.0.0.1 (a free port). */
export async function startCaqhSimulator(opts: CaqhSimulatorOptions = {}): Promise<CaqhSimulator> {
  const username = opts.username ?? 'wasl-po';
  const password = opts.password ?? 'wasl-po-secret';
  const organizationId = opts.organizationId ?? '1234';
  const pollsUntilComplete = opts.pollsUntilComplete ?? 2;
  const pendingStatus = opts.pendingStatus ?? 'In Process';
  const completeStatus = opts.completeStatus ?? 'Complete';
  const batchIdParam = (opts.batchIdParam ?? 'batchId').toLowerCase();
  const derosterMethods = opts.derosterMethods ?? ['PUT', 'POST'];
  const orgMismatchStatus = opts.orgMismatchStatus ?? 421;
  const docParams = opts.documentParams ?? { caqhProviderId: 'Caqh_Provider_Id', organizationId: 'Organization_Id', documentType: 'Document_Type' };
  const paths = {
    roster: '/RosterAPI/API/Roster',
    deroster: '/ProviewAPI/API/Deroster',
    status: '/RosterAPI/api/providerstatus',
    documents: '/DocumentAPI/api/suppdocs',
    ...opts.paths,
  };
  const expectedAuth = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

  const stats = { requests: 0, unauthorized: 0, badRequests: 0, faults: 0, batches: 0, polls: 0 };
  const requests: CaqhSimRequest[] = [];
  const providers = new Map<string, CaqhSimProvider>();
  const documents = new Map<string, Buffer>();
  const batches = new Map<string, SimBatch>();
  const faults: CaqhFault[] = [];
  let nextCaqhId = 10000001;

  const setProvider = (caqhProviderId: string, patch: Partial<Omit<CaqhSimProvider, 'caqhProviderId'>> = {}): CaqhSimProvider => {
    const existing = providers.get(caqhProviderId);
    const p: CaqhSimProvider = {
      caqhProviderId,
      onRoster: true,
      authorizationFlag: 'Y',
      providerStatus: 'Initial Profile Complete',
      attributes: {},
      ...existing,
      ...patch,
    };
    providers.set(caqhProviderId, p);
    return p;
  };

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const bad = (res: http.ServerResponse, message: string) => {
    stats.badRequests += 1;
    send(res, 400, { Message: message });
  };

  function applyBatch(b: SimBatch): Record<string, unknown>[] {
    return b.entries.map((entry) => {
      const caqhId = str(entry.caqh_provider_id);
      let problem: string | undefined;
      let assigned = caqhId;
      if (b.action === 'add') {
        problem = addProblem(entry, providers);
        if (!problem) {
          const p = isObj(entry.provider) ? entry.provider : {};
          assigned = caqhId ?? String(nextCaqhId++);
          const attrs = Object.fromEntries(ATTRIBUTES.map((k) => [k, str(entry[k])]).filter(([, v]) => v !== undefined)) as Record<string, string>;
          setProvider(assigned, {
            onRoster: true,
            poProviderId: str(entry.po_provider_id),
            npi: str(p.npi) ?? providers.get(assigned)?.npi,
            practiceState: str(p.practice_state) ?? providers.get(assigned)?.practiceState,
            attributes: { ...providers.get(assigned)?.attributes, ...attrs },
          });
        }
      } else {
        const known = caqhId ? providers.get(caqhId) : undefined;
        if (!known || !known.onRoster) problem = 'Provider is not on the roster';
        else if (b.action === 'update') {
          for (const k of ATTRIBUTES) if (str(entry[k]) !== undefined) known.attributes[k] = str(entry[k]) as string;
          if (str(entry.po_provider_id)) known.poProviderId = str(entry.po_provider_id);
        } else known.onRoster = false;
      }
      return { ...echo(entry), caqh_provider_id: assigned ?? '', exception_description: problem ?? '' };
    });
  }

  function onRoster(res: http.ServerResponse, query: Record<string, string>, body: unknown, action: 'add' | 'update' | 'delete'): void {
    if ((query.product ?? '').toUpperCase() !== 'PV') return bad(res, 'The product parameter must be PV');
    if (!Array.isArray(body)) return bad(res, 'The request body must be a JSON array');
    if (body.length === 0) return bad(res, 'The request body is empty');
    for (const e of body) {
      if (!isObj(e)) return bad(res, 'Each roster entry must be a JSON object');
      const org = str(e.organization_id);
      if (!org) return bad(res, 'organization_id is required');
      if (org !== organizationId) {
        stats.badRequests += 1;
        return send(res, orgMismatchStatus, { Message: 'The credentials do not match the Organization ID' });
      }
      if (action !== 'add' && !str(e.caqh_provider_id)) return bad(res, 'caqh_provider_id is required');
    }
    const id = crypto.randomUUID();
    batches.set(id, { id, action, polls: 0, entries: body as Record<string, unknown>[], batchTime: new Date().toISOString() });
    stats.batches += 1;
    send(res, 200, { batch_Id: id });
  }

  function onResult(res: http.ServerResponse, query: Record<string, string>): void {
    const id = query[batchIdParam];
    if (!id) return bad(res, `${opts.batchIdParam ?? 'batchId'} is required`);
    const b = batches.get(id);
    if (!b) return bad(res, 'Batch ID not found');
    stats.polls += 1;
    b.polls += 1;
    if (b.polls <= pollsUntilComplete) return send(res, 200, { batch_status: pendingStatus, batch_time: b.batchTime, roster_result: null });
    b.lines ??= applyBatch(b);
    send(res, 200, { batch_status: completeStatus, batch_time: b.batchTime, roster_result: b.lines });
  }

  function onStatus(res: http.ServerResponse, query: Record<string, string>): void {
    if ((query.product ?? '').toUpperCase() !== 'PV') return bad(res, 'The Product parameter must be PV');
    const caqhId = query.caqh_provider_id;
    const org = query.organization_id;
    if (!caqhId || !/^\d{1,10}$/.test(caqhId)) return bad(res, 'Caqh_Provider_Id must be an integer');
    if (!org || !/^\d{1,5}$/.test(org)) return bad(res, 'Organization_Id must be an integer');
    if (org !== organizationId) return send(res, orgMismatchStatus, { Message: 'The credentials do not match the Organization ID' });
    const p = providers.get(caqhId);
    const answer: Record<string, unknown> = p
      ? {
          Organization_ID: organizationId,
          CAQH_Provider_ID: caqhId,
          PO_Provider_ID: p.poProviderId ?? '',
          Roster_Status: p.onRoster ? 'ACTIVE' : 'NOT ON ROSTER',
          Authorization_Flag: p.authorizationFlag,
          Provider_Status: p.providerStatus,
          Provider_Status_Date: compact(p.providerStatusDate) ?? '',
          Provider_Practice_State: p.practiceState ?? '',
          Provider_Found_Flag: 'Y',
        }
      : { Organization_ID: organizationId, CAQH_Provider_ID: caqhId, Provider_Found_Flag: 'N' };
    send(res, 200, opts.lowercaseStatusKeys ? Object.fromEntries(Object.entries(answer).map(([k, v]) => [k.toLowerCase(), v])) : answer);
  }

  function onDocument(res: http.ServerResponse, query: Record<string, string>): void {
    const caqhId = query[docParams.caqhProviderId.toLowerCase()];
    const org = query[docParams.organizationId.toLowerCase()];
    const type = query[docParams.documentType.toLowerCase()];
    if (!caqhId || !org || !type) return bad(res, 'Provider, organization and document type are required');
    if (org !== organizationId) return send(res, orgMismatchStatus, { Message: 'The credentials do not match the Organization ID' });
    const p = providers.get(caqhId);
    if (!p || !p.onRoster) return send(res, 404, { Message: 'Provider is not on the roster' });
    if (p.authorizationFlag !== 'Y') return send(res, 404, { Message: 'Provider has not authorized the organization' });
    const doc = documents.get(`${caqhId}|${type.toLowerCase()}`);
    if (!doc) return send(res, 404, { Message: 'Document not found' });
    res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': String(doc.length) });
    res.end(doc);
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k.toLowerCase()] = v;
    const path = url.pathname.toLowerCase();
    let body: unknown;
    let parseError = false;
    if (raw.length) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        parseError = true;
      }
    }
    stats.requests += 1;
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body,
    });

    const fault = faults.shift();
    if (fault) stats.faults += 1;
    if (fault?.type === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.type === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'status') return send(res, fault.status, { Message: `Simulated HTTP ${fault.status}` });
    if (fault?.type === 'rate-limit') return send(res, 429, { Message: 'Too many requests' }, { 'retry-after': String(fault.retryAfterS) });

    if (req.headers.authorization !== expectedAuth) {
      stats.unauthorized += 1;
      return send(res, 401, { Message: 'Authorization has been denied for this request.' });
    }
    if (parseError) return bad(res, 'The request body is not valid JSON');
    const method = req.method ?? '';
    const hasJsonBody = () => (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json');

    if (path === paths.roster.toLowerCase()) {
      if (method === 'GET') return onResult(res, query);
      if (method === 'POST' || method === 'PUT') {
        if (!hasJsonBody()) return bad(res, 'Content-Type must be application/json');
        return onRoster(res, query, body, method === 'POST' ? 'add' : 'update');
      }
    } else if (path === paths.deroster.toLowerCase()) {
      if ((derosterMethods as string[]).includes(method)) {
        if (!hasJsonBody()) return bad(res, 'Content-Type must be application/json');
        return onRoster(res, query, body, 'delete');
      }
    } else if (path === paths.status.toLowerCase()) {
      if (method === 'GET') return onStatus(res, query);
    } else if (path === paths.documents.toLowerCase()) {
      if (method === 'GET') return onDocument(res, query);
    } else {
      return send(res, 404, { Message: `No HTTP resource was found that matches the request URI '${url.pathname}'.` });
    }
    send(res, 405, { Message: `The requested resource does not support http method '${method}'.` });
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      onRequest(req, res, Buffer.concat(chunks)).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}`,
    credentials: { username, password },
    organizationId,
    requests,
    stats,
    providers,
    setProvider,
    setAttestation(caqhProviderId, date) {
      setProvider(caqhProviderId, { providerStatus: 'Re-attestation', providerStatusDate: date });
    },
    setDocument(caqhProviderId, documentType, bytes) {
      documents.set(`${caqhProviderId}|${documentType.toLowerCase()}`, bytes);
    },
    inject(fault, count = 1) {
      for (let i = 0; i < count; i += 1) faults.push(fault);
    },
    batch: (id) => batches.get(id),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
