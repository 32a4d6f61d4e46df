/**
 * The source side of a FHIR channel (`source: { type: fhir }`): turns one FHIR REST interaction
 * (create, update, transaction/batch, Subscription notification) into a stored, queued message and
 * the HTTP answer. The MLLP intake's promise holds here too: a 2xx only ever goes back after the
 * message row is in the store AND the queue confirmed the message (engine/runtime/hl7-intake.ts).
 *
 * HTTP-agnostic: engine/runtime/fhir-intake-http.ts reads the request (content type, size, JSON)
 * and writes the answer; this file decides what the answer is: validate, store, queue, answer.
 * Its helpers: fhir-intake-keys.ts (dedupe keys), fhir-intake-outcomes.ts (OperationOutcomes,
 * `Prefer`, the answers), fhir-intake-references.ts (what a notification names),
 * fhir-intake-retry.ts (fetch retries), fhir-intake-capability.ts (`GET metadata`).
 *
 * Dedupe (docs/architecture.md "FHIR source endpoint"): every request has one idempotency key,
 * the first of
 *   1. `Idempotency-Key` header (an explicit client key),
 *   2. `If-None-Exist` on a create: FHIR's own conditional create ("create unless it exists"),
 *   3. the resource's `id` + `meta.versionId` (a version of a resource never changes),
 *   4. a SHA-256 of the canonical JSON of method, type, id and body: a resend of the same bytes.
 * `X-Request-Id` is deliberately not a key: fhir-kit-client, HAPI's client and our own
 * wasl-fhir-out make a fresh one per attempt, so keying on it would queue every retry again.
 * The key is hashed (criteria hold identifiers) into the store's control id, and the row id
 * follows from it (`messageIdFor`), so a resend finds its row and is not queued twice.
 *
 * What flows on: `msg.payload` is always a FHIR transaction Bundle, because that is what the
 * queue and wasl-fhir-out carry and post: a created resource is one `POST <Type>` entry (with
 * the client's `If-None-Exist`), an update one `PUT <Type>/<id>` entry, a transaction as it came,
 * a batch as a transaction (batch entries cannot reference each other, so only atomicity at the
 * destination changes). `msg.fhirRequest` says what the client asked for. The store keeps the
 * request body exactly as received.
 */
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, CapabilityStatement, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { TransientError, ValidationError, WaslError, toWaslError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { validateFhir } from '../../transformers/fhir/validate';
import { capabilityStatement } from './fhir-intake-capability';
import { controlIdFor, dedupeKey, idempotencyKeyOf, patientKeyOf } from './fhir-intake-keys';
import { FHIR_JSON, bundleAnswer, invalid, issue, outcomeResponse, rejectedResponse, resourceAnswer, truncate, unavailableResponse } from './fhir-intake-outcomes';
import { referencesIn, type ResourceRef } from './fhir-intake-references';
import { withFetchRetries } from './fhir-intake-retry';
import type { Accepted, FhirIntakeRequest, FhirIntakeResponse, FhirRequestInfo, FhirUpstreamReader } from './fhir-intake-types';
import { messageIdFor } from './hl7-intake';
import { RecentKeys } from './recent-keys';
import type { WaslRuntime } from './types';
import type { WaslMsg } from './wasl-msg';

export type { FhirIntakeRequest, FhirIntakeResponse, FhirRequestInfo, FhirUpstreamReader } from './fhir-intake-types';
export { referencesIn } from './fhir-intake-references';
export { canonicalJson } from './fhir-intake-keys';

export interface FhirIntakeOptions {
  channel: string;
  /** Accepted resource types (a Bundle's entries included). Empty: every R4 type. */
  resourceTypes?: string[];
  /** How long the flow may take to queue a message before the client gets 503. Default 30 s. */
  queueTimeoutMs?: number;
  /** Where Subscription notifications fetch from; absent: the hook answers 404. */
  upstream?: FhirUpstreamReader;
  /** Attempts to fetch a notified resource (and store and queue it). Default 5. */
  fetchAttempts?: number;
  /** First retry delay of a fetch; doubles per attempt with jitter, at most `fetchMaxDelayMs`. */
  fetchInitialDelayMs?: number;
  fetchMaxDelayMs?: number;
  /** Seconds a client is told to wait after a 503. Default 5. */
  retryAfterSeconds?: number;
  logger: Logger;
  /** Hands the message to the flow (the node's `send`). */
  submit(msg: WaslMsg): void;
}

const SENDER = 'fhir';
const RESOURCE_TYPE = /^[A-Z][A-Za-z]+$/;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

export class FhirIntake {
  private readonly recentlyAccepted = new RecentKeys(10_000);
  /** Requests being stored and queued, by control id: a concurrent resend awaits the first. */
  private readonly inFlight = new Map<string, Promise<Accepted>>();
  private readonly accepted: Set<string> | undefined;
  private readonly fetches = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly runtime: WaslRuntime,
    private readonly options: FhirIntakeOptions,
  ) {
    this.accepted = options.resourceTypes?.length ? new Set(options.resourceTypes) : undefined;
  }

  /** Answers one request. Never throws: every failure becomes a status and an OperationOutcome. */
  async handle(req: FhirIntakeRequest): Promise<FhirIntakeResponse> {
    try {
      return await this.route(req);
    } catch (err) {
      const e = toWaslError(err);
      if (e.kind === 'validation') return rejectedResponse(e);
      this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'errored' });
      this.options.logger.error('FHIR request not accepted; answering 503', { error: e.code });
      return unavailableResponse(e, this.options.retryAfterSeconds ?? 5);
    }
  }

  private async route(req: FhirIntakeRequest): Promise<FhirIntakeResponse> {
    const [first, second, ...rest] = req.path;
    const method = req.method.toUpperCase();
    if (first === 'metadata' && req.path.length === 1 && (method === 'GET' || method === 'HEAD')) {
      return { status: 200, headers: { 'content-type': FHIR_JSON }, body: this.capabilityStatement(req.baseUrl) };
    }
    if (first === 'subscription-hook' && req.path.length === 1 && method === 'POST') return this.notification(req);
    if (method === 'POST' && first === undefined) return this.bundle(req);
    if (method === 'POST' && second === undefined && RESOURCE_TYPE.test(first)) return this.create(req, first);
    if (method === 'PUT' && second !== undefined && rest.length === 0 && RESOURCE_TYPE.test(first)) return this.update(req, first, second);
    return outcomeResponse(first && !RESOURCE_TYPE.test(first) && first !== 'metadata' && first !== 'subscription-hook' ? 404 : 405, [
      {
        severity: 'error',
        code: 'not-supported',
        diagnostics: `${method} ${['', ...req.path].join('/') || '/'} is not supported here: this endpoint accepts create (POST [type]), update (PUT [type]/[id]), transaction or batch (POST /), a Subscription notification (POST /subscription-hook) and GET /metadata`,
      },
    ]);
  }

  /** `POST [base]/[type]`. */
  private async create(req: FhirIntakeRequest, type: string): Promise<FhirIntakeResponse> {
    const resource = await this.checked(req, type);
    const ifNoneExist = req.headers['if-none-exist']?.trim() || undefined;
    const key = dedupeKey(`POST ${type}`, resource, { idempotencyKey: idempotencyKeyOf(req.headers), conditional: ifNoneExist && `${type}?${ifNoneExist}` });
    const flow = transactionOf([{ fullUrl: `urn:uuid:${randomUUID()}`, resource, request: { method: 'POST', url: type, ...(ifNoneExist ? { ifNoneExist } : {}) } }]);
    const result = await this.storeAndQueue({ key, resource, flow, info: { interaction: 'create', resourceType: type } });
    // A conditional create that matched is "200 OK, nothing created" in FHIR; any other resend gets the first answer again.
    const status = result.duplicate && ifNoneExist ? 200 : 201;
    return resourceAnswer(req, status, `${type}/${result.messageId}`, { ...resource, id: result.messageId }, result);
  }

  /** `PUT [base]/[type]/[id]`: the body's id must be the URL's (FHIR R4 3.1.0.4.2, "update"). */
  private async update(req: FhirIntakeRequest, type: string, id: string): Promise<FhirIntakeResponse> {
    if (!FHIR_ID.test(id)) throw invalid([issue('value', `'${truncate(id)}' is not a valid FHIR id`, `${type}.id`)]);
    const resource = await this.checked(req, type);
    if (resource.id !== id) {
      throw invalid([issue('invariant', resource.id ? `Resource id '${resource.id}' does not match the id '${id}' in the URL` : `Resource has no id; an update must carry the id '${id}' of the URL`, `${type}.id`)]);
    }
    const key = dedupeKey(`PUT ${type}/${id}`, resource, { idempotencyKey: idempotencyKeyOf(req.headers) });
    const flow = transactionOf([{ resource, request: { method: 'PUT', url: `${type}/${id}` } }]);
    const result = await this.storeAndQueue({ key, resource, flow, info: { interaction: 'update', resourceType: type, id } });
    return resourceAnswer(req, 201, `${type}/${id}`, resource, result);
  }

  /** `POST [base]` with a transaction or batch Bundle. */
  private async bundle(req: FhirIntakeRequest): Promise<FhirIntakeResponse> {
    const bundle = (await this.checked(req, 'Bundle')) as Bundle;
    if (bundle.type !== 'transaction' && bundle.type !== 'batch') {
      throw invalid([issue('value', `POST to the base takes a Bundle of type transaction or batch, not '${bundle.type ?? ''}'`, 'Bundle.type')]);
    }
    const problems: OperationOutcomeIssue[] = [];
    (bundle.entry ?? []).forEach((entry, i) => {
      const at = `Bundle.entry[${i}]`;
      const method = entry.request?.method;
      if (!entry.request) problems.push(issue('required', `Missing required element 'request'`, `${at}.request`));
      const type = entry.resource?.resourceType;
      if ((method === 'POST' || method === 'PUT') && !entry.resource) problems.push(issue('required', `A ${method} entry needs a resource`, `${at}.resource`));
      if (type && this.accepted && !this.accepted.has(type)) problems.push(issue('not-supported', `Resource type '${type}' is not accepted by this channel`, `${at}.resource.resourceType`));
    });
    if (problems.length) await this.reject(bundle, 'Bundle', problems, 422);
    const key = dedupeKey('POST', bundle, { idempotencyKey: idempotencyKeyOf(req.headers), byVersion: false });
    const flow: Bundle = bundle.type === 'transaction' ? bundle : { ...bundle, type: 'transaction' };
    const result = await this.storeAndQueue({ key, resource: bundle, flow, info: { interaction: bundle.type, resourceType: 'Bundle' } });
    return bundleAnswer(req, bundle, result);
  }

  /**
   * `POST [base]/subscription-hook`: an R4 rest-hook notification. The body may be empty (a
   * heartbeat or an R4 "no payload" ping: nothing names a resource, so nothing is fetched), the
   * resource itself (R4 full payload, as Medplum sends it), or a `history` Bundle (the R4
   * Subscriptions backport: a status entry, then the notified resources in full or id-only).
   * Each named resource is fetched from `upstream` in the background with its own retries; the
   * hook is answered at once, as the sender expects (it retries or disables a slow endpoint).
   */
  private async notification(req: FhirIntakeRequest): Promise<FhirIntakeResponse> {
    const upstream = this.options.upstream;
    if (!upstream) {
      return outcomeResponse(404, [issue('not-supported', 'this channel has no upstream FHIR server configured, so it takes no Subscription notifications')]);
    }
    const references = referencesIn(req.body);
    if (references === undefined) {
      throw invalid([issue('structure', 'A notification is empty, a resource, or a Bundle of type history', 'Bundle.type')]);
    }
    for (const ref of references) void this.fetchAndAccept(upstream, ref);
    this.options.logger.info('subscription notification received', { references: references.length });
    return outcomeResponse(200, [{ severity: 'information', code: 'informational', diagnostics: `notification received; ${references.length} resource(s) to fetch` }]);
  }

  /** Fetches a notified resource and stores and queues it, with retries; a failure for good is stored as ERROR. */
  private async fetchAndAccept(upstream: FhirUpstreamReader, ref: ResourceRef): Promise<void> {
    const log = this.options.logger.child({ resourceType: ref.resourceType });
    const controller = new AbortController();
    if (this.closed) controller.abort();
    this.fetches.add(controller);
    try {
      const retries = {
        attempts: this.options.fetchAttempts ?? 5,
        initialDelayMs: this.options.fetchInitialDelayMs ?? 1000,
        maxDelayMs: this.options.fetchMaxDelayMs ?? 30_000,
        signal: controller.signal,
        onRetry: (r: { error: WaslError; attempt: number; delayMs: number }) =>
          log.warn('fetching a notified resource failed; retrying', { error: r.error.code, attempt: r.attempt, delayMs: r.delayMs }),
      };
      const { accepted, attempt } = await withFetchRetries(retries, async (attempt) => ({ accepted: await this.fetchOnce(upstream, ref), attempt }));
      log.info('notified resource fetched and queued', { messageId: accepted.messageId, duplicate: accepted.duplicate, attempt });
    } catch (err) {
      const error = toWaslError(err);
      log.error('notified resource could not be fetched; recorded as ERROR', { error: error.code });
      await this.recordFailure(JSON.stringify({ notification: `${ref.resourceType}/${ref.id}` }), `fetch-failed:${randomUUID()}`, ref.resourceType, error);
    } finally {
      this.fetches.delete(controller);
    }
  }

  /** One attempt: read the resource, check it, store and queue it under its upstream id (the destination gets the same id). */
  private async fetchOnce(upstream: FhirUpstreamReader, ref: ResourceRef): Promise<Accepted> {
    const resource = await upstream.read(ref.resourceType, ref.id);
    if (resource?.resourceType !== ref.resourceType || resource.id !== ref.id) {
      throw new ValidationError('FHIR_UPSTREAM_MISMATCH', `upstream answered a ${resource?.resourceType ?? 'non-resource'} for ${ref.resourceType}/${ref.id}`);
    }
    const result = validateFhir(resource);
    if (!result.valid) throw new ValidationError('FHIR_INVALID', 'the fetched resource is not valid FHIR R4', { details: { issues: result.outcome.issue } });
    if (this.accepted && !this.accepted.has(resource.resourceType)) {
      throw new ValidationError('FHIR_UNSUPPORTED', `resource type ${resource.resourceType} is not accepted by this channel`);
    }
    const key = dedupeKey(`PUT ${ref.resourceType}/${ref.id}`, resource);
    const flow = transactionOf([{ resource, request: { method: 'PUT', url: `${ref.resourceType}/${ref.id}` } }]);
    return this.storeAndQueue({ key, resource, flow, info: { interaction: 'notification', resourceType: ref.resourceType, id: ref.id } });
  }

  /**
   * A body that is not JSON: stored as ERROR and answered 400. The parser's message is not
   * echoed (V8 quotes the text around the error, which may be patient data); its position is.
   */
  async rejectUnreadable(raw: string, parserMessage: string): Promise<FhirIntakeResponse> {
    const position = /position (\d+)/.exec(parserMessage)?.[1];
    const err = invalid([issue('structure', `The body is not valid JSON${position ? ` (at character ${position})` : ''}`)]);
    await this.recordFailure(raw, `rejected:${randomUUID()}`, 'unreadable', err);
    this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'rejected' });
    this.options.logger.warn('FHIR request rejected', { error: err.code, reason: 'not JSON' });
    return rejectedResponse(err);
  }

  /** Parses and validates a request body as a resource of `type`; throws a 4xx validation error (stored as ERROR). */
  private async checked(req: FhirIntakeRequest, type: string): Promise<Resource> {
    const body = req.body;
    const problems: OperationOutcomeIssue[] = [];
    let status = 400;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      problems.push(issue('structure', 'The body must be a FHIR resource (a JSON object)', type));
    } else {
      const bodyType = (body as { resourceType?: unknown }).resourceType;
      if (bodyType !== type) {
        problems.push(issue('invariant', `resourceType '${typeof bodyType === 'string' ? truncate(bodyType) : ''}' in the body does not match '${type}' in the URL`, `${type}.resourceType`));
      } else if (this.accepted && type !== 'Bundle' && !this.accepted.has(type)) {
        problems.push(issue('not-supported', `Resource type '${type}' is not accepted by this channel`, `${type}.resourceType`));
        status = 422;
      } else {
        const result = validateFhir(body);
        if (!result.valid) problems.push(...result.outcome.issue!);
      }
    }
    if (problems.length === 0) return body as Resource;
    return this.reject(body, type, problems, status);
  }

  /** Stores a rejected request as ERROR (a unique control id, so a corrected resend is new) and throws its 4xx. */
  private async reject(body: unknown, type: string, problems: OperationOutcomeIssue[], status: number): Promise<never> {
    const err = invalid(problems, status);
    await this.recordFailure(JSON.stringify(body ?? null), `rejected:${randomUUID()}`, type, err);
    this.runtime.metrics.messages.inc({ channel: this.options.channel, outcome: 'rejected' });
    this.options.logger.warn('FHIR request rejected', { resourceType: type, error: err.code, status, issues: problems.length });
    throw err;
  }

  /**
   * Stores the row and queues the message, in that order, and resolves only when both are done
   * (a resend of an accepted key is answered from the store and not queued again). Throws a
   * transient error when either failed: the client gets 503 and its retry is deduplicated.
   */
  private async storeAndQueue(entry: { key: string; resource: Resource; flow: Bundle; info: FhirRequestInfo }): Promise<Accepted> {
    const controlId = controlIdFor(entry.key);
    const pending = this.inFlight.get(controlId);
    if (pending) return { ...(await pending), duplicate: true };
    const work = this.storeThenQueue(controlId, entry);
    this.inFlight.set(controlId, work);
    try {
      return await work;
    } finally {
      this.inFlight.delete(controlId);
    }
  }

  private async storeThenQueue(controlId: string, entry: { resource: Resource; flow: Bundle; info: FhirRequestInfo }): Promise<Accepted> {
    const { channel, logger } = this.options;
    const id = messageIdFor(channel, SENDER, controlId);
    const log = logger.child({ correlationId: id });
    let received;
    try {
      received = await this.runtime.store.receive({
        id,
        channel,
        correlationId: id,
        sender: SENDER,
        controlId,
        messageType: entry.resource.resourceType === 'Bundle' ? `Bundle^${(entry.resource as Bundle).type ?? ''}` : entry.resource.resourceType,
        patientKey: patientKeyOf(entry.resource),
        raw: JSON.stringify(entry.resource),
      });
    } catch (err) {
      log.error('message store write failed; answering 503', { error: toWaslError(err).code });
      throw new TransientError('STORE_UNAVAILABLE', 'the message could not be stored', { cause: err });
    }
    if (received.duplicate && (received.accepted || this.recentlyAccepted.has(controlId))) {
      this.runtime.metrics.messages.inc({ channel, outcome: 'duplicate' });
      log.info('duplicate FHIR request, already accepted; answering again without queueing');
      return { messageId: received.id, duplicate: true };
    }
    // New, or a resend whose first copy was never confirmed queued: queue it now.
    const receipt = this.runtime.receipts.open(this.options.queueTimeoutMs ?? 30_000);
    try {
      this.options.submit({
        payload: entry.flow,
        fhirRequest: entry.info,
        wasl: { correlationId: received.correlationId, messageId: received.id, channel, receipt: receipt.id, attempt: 1 },
      });
    } catch (err) {
      this.runtime.receipts.fail(receipt.id, err);
    }
    try {
      await receipt.settled;
    } catch (err) {
      log.warn('message not queued; answering 503', { error: toWaslError(err).code });
      throw new TransientError('QUEUE_UNAVAILABLE', 'the message could not be queued', { cause: err });
    }
    // Awaited: the `accepted` flag is what lets a resend after a restart be answered without a second copy.
    await this.runtime.store.markAccepted(received.id).catch((err) => log.warn('could not mark message accepted', { error: toWaslError(err).code }));
    this.recentlyAccepted.add(controlId);
    this.runtime.metrics.messages.inc({ channel, outcome: received.duplicate ? 'duplicate' : 'received' });
    return { messageId: received.id, duplicate: received.duplicate };
  }

  /** A rejected request or a failed fetch, kept with its reason under a unique control id (so a corrected resend is new). */
  private async recordFailure(raw: string, controlId: string, messageType: string, err: WaslError): Promise<void> {
    const id = randomUUID();
    try {
      await this.runtime.store.receive({ id, channel: this.options.channel, correlationId: id, sender: SENDER, controlId, messageType, raw });
      await this.runtime.store.update(id, { status: 'ERROR', error: err.toJSON() });
    } catch (storeErr) {
      this.options.logger.error('could not store a rejected FHIR request', { correlationId: id, error: toWaslError(storeErr).code });
    }
  }

  /** What this endpoint accepts, as a CapabilityStatement (`GET [base]/metadata`). */
  capabilityStatement(baseUrl: string): CapabilityStatement {
    return capabilityStatement({ channel: this.options.channel, baseUrl, resourceTypes: this.accepted, notifications: !!this.options.upstream });
  }

  /** Stops background fetches (a pending one is recorded as ERROR) and closes the upstream client. Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.fetches) c.abort();
    await this.options.upstream?.close();
  }
}

function transactionOf(entry: BundleEntry[]): Bundle {
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
