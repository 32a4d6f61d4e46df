/**
 * NPHIES simulator: a loopback HTTP(S) server speaking the NPHIES wire format (NPHIES.md §1-§8).
 * TEST CODE ONLY: never on the production path, never pointed at by a production config.
 *
 * ```ts
 * const sim = await startNphiesSimulator({ oauth: true, tls: 'generate' });
 * sim.processUrl;              // https://127.0.0.1:<port>/$process-message  (POST application/fhir+json)
 * sim.tokenUrl; sim.oauthClient;   // OAuth2 client credentials (test/simulators/oauth-server.ts), when `oauth`
 * sim.tls;                     // { ca, clientCert, clientKey } PEMs made at start, when tls: 'generate'
 * sim.setScenario('partial', 2);   // the next 2 adjudications; default `defaultScenario` ('approved')
 * sim.inject({ type: 'status', status: 500 }, 3);   // faults for the next 3 $process-message calls
 * sim.pay();                   // a PaymentReconciliation for every adjudicated, unpaid claim, to poll
 * sim.requestInformation('<claim identifier value>');  // a CommunicationRequest, to poll
 * sim.stats;                   // counters (below)
 * await sim.close();
 * ```
 *
 * `$process-message` (POST):
 * - auth: with `oauth`, a live bearer token from the token endpoint or 401; with `tls`, the TLS
 *   server asks for a client certificate signed by `tls.ca` and refuses the handshake without one.
 * - validation: `validateNphiesBundle` (connectors/nphies/validate.ts), as the connector does.
 *   Unparsable JSON or no MessageHeader id → HTTP 400 OperationOutcome; otherwise an invalid
 *   message → 200 with a response Bundle whose header says `fatal-error` and points at an
 *   OperationOutcome (NPHIES.md §7).
 * - eligibility-request → eligibility-response (CoverageEligibilityResponse, inforce unless
 *   scenario `not-inforce`; `error`/`rejected` → outcome error with `errorCodes`).
 * - claim-request / priorauth-request → claim-response / priorauth-response (ClaimResponse):
 *   `approved`, `partial` (later lines half paid), `rejected` (complete + adjudication-outcome
 *   rejected + `errorCodes`), `error` (outcome error + `errorCodes`), `queued` (outcome queued; the
 *   final `deferredScenario` answer is put on the provider's poll queue). Duplicates as NPHIES.md
 *   §7: the identical Bundle again → the stored answer (same response Bundle); the same claim
 *   identifier in another Bundle → ClaimResponse outcome error with `duplicateCode`, not adjudicated.
 * - status-check → status-response: the Task completed with output `status` (the claim's state)
 *   plus the stored ClaimResponse; unknown claim → Task rejected with output error `notFoundCode`.
 * - cancel-request → cancel-response: Task completed (claim cancelled) or rejected (unknown / paid).
 * - poll-request → poll-response: Task with one `response` output per delivered message, the
 *   messages as nested message Bundles; `count` input (default 1, at most 100); tag
 *   `queued-messages` when more remain. Delivered messages leave the queue.
 * - communication, payment-notice, communication-request → acknowledgement (MessageHeader only).
 *
 * Faults (`inject`): `slow` (delay, then answer), `status` (HTTP status, not processed),
 * `rate-limit` (429 + Retry-After seconds), `drop` (socket destroyed before processing),
 * `drop-after` (processed, then socket destroyed: the answer is lost), `duplicate` (answered as a
 * duplicate submission), `wrong-id` (processed; the answer names another request id).
 *
 * Error codes: the real BV-/IC-/RE- catalogue is a portal download (not public). `errorCodes`
 * defaults to codes named in NPHIES.md as examples; `duplicateCode` and `notFoundCode` are
 * simulator inventions (prefix SIM-), configurable so tests never depend on a guessed meaning.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Bundle, BundleEntry, Claim, ClaimResponse, Identifier, MessageHeader, OperationOutcome, Resource, Task } from '@medplum/fhirtypes';
import { validateNphiesBundle } from '../../../connectors/nphies/validate';
import { startOAuthServer, type OAuthServer } from '../oauth-server';
import {
  claimResponseMessage, communicationRequest, supporting, eligibilityResponseMessage, operationOutcome, paymentReconciliation, responseMessage, taskOutput, taskReply,
  unsolicitedMessage, type Incoming, type Scenario,
} from './responses';

export type { Scenario } from './responses';

export type NphiesFault =
  | { type: 'slow'; ms: number }
  | { type: 'status'; status: number }
  | { type: 'rate-limit'; retryAfterS: number }
  | { type: 'drop' }
  | { type: 'drop-after' }
  | { type: 'duplicate' }
  | { type: 'wrong-id' };

export interface NphiesSimulatorOptions {
  /** Require OAuth2 bearer tokens (client `wasl` / `wasl-secret` unless given). */
  oauth?: boolean | { clientId: string; clientSecret: string; tokenLifetimeS?: number };
  /**
   * HTTPS. `generate`: a CA-capable self-signed server certificate and a client certificate
   * signed by it, made at start (selfsigned), mutual TLS required. Or PEMs: with `ca`, clients
   * must present a certificate signed by it.
   */
  tls?: 'generate' | { key: string; cert: string; ca?: string };
  defaultScenario?: Scenario;
  /** The final answer to a queued claim, delivered by poll (default `approved`). */
  deferredScenario?: Scenario;
  errorCodes?: string[];
  duplicateCode?: string;
  notFoundCode?: string;
  /** Replaces validateNphiesBundle (e.g. to accept deliberately odd test messages). */
  validate?: (bundle: unknown) => { valid: boolean; outcome: OperationOutcome };
}

export interface NphiesSimulatorStats {
  /** HTTP requests to $process-message, faults and refusals included. */
  requests: number;
  /** Valid messages by request event code. */
  byEvent: Record<string, number>;
  /** Claims and prior auths adjudicated (or queued) for the first time. */
  submissions: number;
  /** Identical Bundles answered from the store. */
  resends: number;
  /** Same claim identifier in a new Bundle, answered with `duplicateCode`. */
  duplicates: number;
  unauthorized: number;
  invalid: number;
  faults: number;
  /** Messages delivered by poll. */
  delivered: number;
}

interface ClaimRecord {
  requestBundleId: string;
  incoming: Incoming;
  claim: Claim;
  providerLicense: string;
  /** queued, approved, partial, rejected, error, cancelled. */
  state: string;
  /** The answer given to the submitting request (resends get it again). */
  answer: Bundle;
  /** The adjudication (after a deferred release, the final one). */
  claimResponse?: ClaimResponse;
  paid?: boolean;
}

export interface NphiesSimulator {
  url: string;
  processUrl: string;
  tokenUrl?: string;
  oauth?: OAuthServer;
  oauthClient?: { clientId: string; clientSecret: string };
  tls?: { ca: string; clientCert?: string; clientKey?: string };
  stats: NphiesSimulatorStats;
  setScenario(scenario: Scenario, count?: number): void;
  setDefaultScenario(scenario: Scenario): void;
  inject(fault: NphiesFault, count?: number): void;
  /** Queues a PaymentReconciliation per provider for adjudicated unpaid claims (all, or one identifier value). Returns how many claims. */
  pay(claimIdentifierValue?: string): number;
  requestInformation(claimIdentifierValue: string, text?: string): void;
  /** Messages waiting on the poll queues. */
  queued(): number;
  /** Claim states by identifier value. */
  claimState(identifierValue: string): string | undefined;
  close(): Promise<void>;
}

async function generateTls(): Promise<{ key: string; cert: string; ca: string; clientCert: string; clientKey: string }> {
  const selfsigned = await import('selfsigned');
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
    ],
    clientCertificate: { cn: 'wasl-nphies-sim-client', keyType: 'ec' },
  });
  return { key: pems.private, cert: pems.cert, ca: pems.cert, clientCert: pems.clientcert as string, clientKey: pems.clientprivate as string };
}

/** The response event of each request event (NPHIES.md §4). */
const RESPONSE_EVENT: Record<string, string> = {
  'eligibility-request': 'eligibility-response',
  'claim-request': 'claim-response',
  'priorauth-request': 'priorauth-response',
  'status-check': 'status-response',
  'cancel-request': 'cancel-response',
  'poll-request': 'poll-response',
};

const idKey = (i: Identifier | undefined): string | undefined => (i?.value ? `${i.system ?? ''}|${i.value}` : undefined);

/** Starts the simulator on 127.0.0.1 (a free port). */
export async function startNphiesSimulator(opts: NphiesSimulatorOptions = {}): Promise<NphiesSimulator> {
  const stats: NphiesSimulatorStats = { requests: 0, byEvent: {}, submissions: 0, resends: 0, duplicates: 0, unauthorized: 0, invalid: 0, faults: 0, delivered: 0 };
  const errorCodes = opts.errorCodes ?? ['BV-00731', 'IC-01428'];
  const duplicateCode = opts.duplicateCode ?? 'SIM-DUPLICATE';
  const notFoundCode = opts.notFoundCode ?? 'SIM-NOT-FOUND';
  const deferredScenario = opts.deferredScenario ?? 'approved';
  const validate = opts.validate ?? validateNphiesBundle;
  let defaultScenario: Scenario = opts.defaultScenario ?? 'approved';
  const scenarios: Scenario[] = [];
  const faults: NphiesFault[] = [];
  const claims = new Map<string, ClaimRecord>();
  /** Poll queues by provider license: message Bundles, FIFO. */
  const queues = new Map<string, Bundle[]>();
  const deferred: ClaimRecord[] = [];

  let oauth: OAuthServer | undefined;
  let oauthClient: { clientId: string; clientSecret: string } | undefined;
  if (opts.oauth) {
    const o = opts.oauth === true ? { clientId: 'wasl', clientSecret: 'wasl-secret' } : opts.oauth;
    oauth = await startOAuthServer({ tokenLifetimeS: o.tokenLifetimeS });
    oauthClient = { clientId: o.clientId, clientSecret: o.clientSecret };
    oauth.registerClient(oauthClient);
  }

  const enqueue = (providerLicense: string, message: Bundle) => {
    const q = queues.get(providerLicense) ?? [];
    q.push(message);
    queues.set(providerLicense, q);
  };

  const nextScenario = (): Scenario => scenarios.shift() ?? defaultScenario;

  function adjudicate(incoming: Incoming, providerLicense: string, forceDuplicate: boolean): Bundle {
    const claim = incoming.focal as Claim;
    const key = idKey(claim.identifier?.[0]) ?? `anon|${claim.id}`;
    const existing = claims.get(key);
    if (existing && existing.requestBundleId === incoming.bundle.id && !forceDuplicate) {
      stats.resends += 1;
      return existing.answer;
    }
    if (existing || forceDuplicate) {
      stats.duplicates += 1;
      return claimResponseMessage(incoming, { scenario: 'error', errorCodes: [duplicateCode], outcome: 'error', disposition: 'Duplicate submission' }).bundle;
    }
    stats.submissions += 1;
    const scenario = nextScenario();
    const { bundle, claimResponse } = claimResponseMessage(incoming, { scenario, errorCodes: scenario === 'rejected' || scenario === 'error' ? errorCodes : [] });
    const record: ClaimRecord = { requestBundleId: incoming.bundle.id as string, incoming, claim, providerLicense, state: scenario, answer: bundle, claimResponse };
    claims.set(key, record);
    if (scenario === 'queued') deferred.push(record);
    return bundle;
  }

  /** Queued claims get their final answer on the provider's poll queue (NPHIES.md §8). */
  function releaseDeferred(): void {
    while (deferred.length) {
      const record = deferred.shift() as ClaimRecord;
      if (record.state !== 'queued') continue;
      const { bundle, claimResponse } = claimResponseMessage(record.incoming, {
        scenario: deferredScenario,
        errorCodes: deferredScenario === 'rejected' || deferredScenario === 'error' ? errorCodes : [],
      });
      record.state = deferredScenario;
      record.claimResponse = claimResponse;
      enqueue(record.providerLicense, bundle);
    }
  }

  function findClaim(identifier: Identifier | undefined): ClaimRecord | undefined {
    const key = idKey(identifier);
    return key ? claims.get(key) : undefined;
  }

  function handle(incoming: Incoming, forceDuplicate: boolean): Bundle {
    const providerLicense = incoming.header.sender?.identifier?.value ?? 'unknown';
    stats.byEvent[incoming.event] = (stats.byEvent[incoming.event] ?? 0) + 1;
    switch (incoming.event) {
      case 'eligibility-request':
        return eligibilityResponseMessage(incoming, nextScenario(), errorCodes);
      case 'claim-request':
      case 'priorauth-request':
        return adjudicate(incoming, providerLicense, forceDuplicate);
      case 'status-check': {
        const record = findClaim((incoming.focal as Task).focus?.identifier);
        if (!record) return responseMessage(incoming, 'status-response', [taskReply(incoming, [taskOutput.error(notFoundCode)], 'rejected').entry, ...supporting(incoming)]);
        const { entry } = taskReply(incoming, [taskOutput.status(record.state)], 'completed');
        const cr = record.claimResponse && record.state !== 'queued' ? [{ fullUrl: `http://nphies.sa/ClaimResponse/${record.claimResponse.id}`, resource: record.claimResponse }] : [];
        return responseMessage(incoming, 'status-response', [entry, ...cr, ...supporting(incoming, record.incoming)]);
      }
      case 'cancel-request': {
        const record = findClaim((incoming.focal as Task).focus?.identifier);
        if (!record || record.paid || record.state === 'cancelled') {
          return responseMessage(incoming, 'cancel-response', [taskReply(incoming, [taskOutput.error(notFoundCode)], 'rejected').entry, ...supporting(incoming)]);
        }
        record.state = 'cancelled';
        return responseMessage(incoming, 'cancel-response', [taskReply(incoming, [], 'completed').entry, ...supporting(incoming)]);
      }
      case 'poll-request': {
        releaseDeferred();
        const task = incoming.focal as Task;
        const asked = task.input?.find((i) => i.type?.coding?.some((c) => c.code === 'count'))?.valuePositiveInt ?? 1;
        const q = queues.get(providerLicense) ?? [];
        const messages = q.splice(0, Math.min(100, Math.max(1, asked)));
        stats.delivered += messages.length;
        const nested: BundleEntry[] = messages.map((m) => ({ fullUrl: `urn:uuid:${m.id}`, resource: m }));
        const { entry } = taskReply(incoming, nested.map((n) => taskOutput.response(n.fullUrl as string)), 'completed');
        return responseMessage(incoming, 'poll-response', [entry, ...supporting(incoming), ...nested], { fromNphies: true, tags: q.length ? ['queued-messages'] : [] });
      }
      default:
        // communication, payment-notice, communication-request: acknowledged.
        return responseMessage(incoming, 'acknowledgement', []);
    }
  }

  function refuse(res: http.ServerResponse, status: number, outcome: OperationOutcome, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
    res.end(JSON.stringify(outcome));
  }

  async function onRequest(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/$process-message') {
      refuse(res, 404, operationOutcome('not-found', 'Only POST /$process-message'));
      return;
    }
    stats.requests += 1;
    const fault = faults.shift();
    if (fault) stats.faults += 1;
    if (fault?.type === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.type === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'status') {
      refuse(res, fault.status, operationOutcome('transient', `Simulated HTTP ${fault.status}`));
      return;
    }
    if (fault?.type === 'rate-limit') {
      refuse(res, 429, operationOutcome('throttled', 'Too many requests'), { 'retry-after': String(fault.retryAfterS) });
      return;
    }
    if (oauth && !oauth.isValid(req.headers.authorization)) {
      stats.unauthorized += 1;
      refuse(res, 401, operationOutcome('unauthorized', 'Missing or expired bearer token'), { 'www-authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    let bundle: Bundle;
    try {
      bundle = JSON.parse(body.toString('utf8')) as Bundle;
    } catch {
      stats.invalid += 1;
      refuse(res, 400, operationOutcome('unparsable', 'Body is not JSON'));
      return;
    }
    const header = bundle?.entry?.[0]?.resource as MessageHeader | undefined;
    if (bundle?.resourceType !== 'Bundle' || header?.resourceType !== 'MessageHeader' || !header.id) {
      stats.invalid += 1;
      refuse(res, 400, operationOutcome('structure', 'Not a message Bundle starting with a MessageHeader', 'Bundle.entry[0]'));
      return;
    }
    const event = header.eventCoding?.code ?? '';
    const verdict = validate(bundle);
    let answer: Bundle;
    if (!verdict.valid) {
      stats.invalid += 1;
      const outcome: OperationOutcome = { ...verdict.outcome, id: randomUUID() };
      answer = responseMessage({ header }, RESPONSE_EVENT[event] ?? 'acknowledgement', [], { code: 'fatal-error', details: { fullUrl: `urn:uuid:${outcome.id}`, resource: outcome }, fromNphies: true });
    } else {
      const ref = header.focus?.[0]?.reference;
      const focal = bundle.entry?.find((e) => e.fullUrl === ref)?.resource as Resource | undefined;
      answer = handle({ bundle, header, event, focal }, fault?.type === 'duplicate');
    }
    if (fault?.type === 'drop-after') {
      req.socket.destroy();
      return;
    }
    if (fault?.type === 'wrong-id') {
      answer = structuredClone(answer);
      (answer.entry?.[0]?.resource as MessageHeader).response = { identifier: randomUUID(), code: 'ok' };
    }
    res.writeHead(200, { 'content-type': 'application/fhir+json' });
    res.end(JSON.stringify(answer));
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      onRequest(req, res, Buffer.concat(chunks)).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  };

  let tlsInfo: NphiesSimulator['tls'];
  let server: http.Server | https.Server;
  if (opts.tls) {
    const material: { key: string; cert: string; ca?: string; clientCert?: string; clientKey?: string } = opts.tls === 'generate' ? await generateTls() : opts.tls;
    tlsInfo = { ca: material.ca ?? material.cert, clientCert: material.clientCert, clientKey: material.clientKey };
    server = https.createServer(
      { key: material.key, cert: material.cert, ...(material.ca ? { ca: material.ca, requestCert: true, rejectUnauthorized: true } : {}) },
      listener,
    );
  } else {
    server = http.createServer(listener);
  }
  const sockets = new Set<Socket>();
  server.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    processUrl: `${url}/$process-message`,
    tokenUrl: oauth?.tokenUrl,
    oauth,
    oauthClient,
    tls: tlsInfo,
    stats,
    setScenario(scenario, count = 1) {
      for (let i = 0; i < count; i += 1) scenarios.push(scenario);
    },
    setDefaultScenario(scenario) {
      defaultScenario = scenario;
    },
    inject(fault, count = 1) {
      for (let i = 0; i < count; i += 1) faults.push(fault);
    },
    pay(claimIdentifierValue) {
      const byProvider = new Map<string, { payer: string; header: MessageHeader; claims: Array<{ identifier: Identifier; amount: number; currency: string }> }>();
      let n = 0;
      for (const record of claims.values()) {
        if (record.paid || !['approved', 'partial'].includes(record.state) || record.claim.use !== 'claim') continue;
        if (claimIdentifierValue && record.claim.identifier?.[0]?.value !== claimIdentifierValue) continue;
        const benefit = record.claimResponse?.total?.find((t) => t.category?.coding?.[0]?.code === 'benefit')?.amount;
        const group = byProvider.get(record.providerLicense) ?? {
          payer: record.incoming.header.destination?.[0]?.receiver?.identifier?.value ?? 'PAYER',
          header: record.incoming.header,
          claims: [],
        };
        group.claims.push({ identifier: record.claim.identifier?.[0] as Identifier, amount: benefit?.value ?? 0, currency: benefit?.currency ?? 'SAR' });
        byProvider.set(record.providerLicense, group);
        record.paid = true;
        record.state = 'paid';
        n += 1;
      }
      for (const [license, g] of byProvider) {
        enqueue(license, unsolicitedMessage(g.header.sender, g.header.source?.endpoint ?? 'urn:provider', g.payer, 'payment-reconciliation', paymentReconciliation(g.payer, g.claims)));
      }
      return n;
    },
    requestInformation(claimIdentifierValue, text = 'Please send the discharge summary') {
      const record = [...claims.values()].find((r) => r.claim.identifier?.[0]?.value === claimIdentifierValue);
      if (!record) throw new Error(`simulator: no claim ${claimIdentifierValue}`);
      const payer = record.incoming.header.destination?.[0]?.receiver?.identifier?.value ?? 'PAYER';
      enqueue(
        record.providerLicense,
        unsolicitedMessage(record.incoming.header.sender, record.incoming.header.source?.endpoint ?? 'urn:provider', payer, 'communication-request',
          communicationRequest(payer, record.claim.identifier?.[0] as Identifier, text)),
      );
    },
    queued() {
      return [...queues.values()].reduce((n, q) => n + q.length, 0) + deferred.length;
    },
    claimState(value) {
      return [...claims.values()].find((r) => r.claim.identifier?.[0]?.value === value)?.state;
    },
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
          server.closeAllConnections?.();
        });
        await oauth?.close();
      })();
      return closing;
    },
  };
}

