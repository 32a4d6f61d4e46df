/**
 * NPHIES claim batches: an NDJSON file of claims (one claim-request per line) submitted with
 * bounded concurrency, progress (done / failed / remaining, rate, ETA), results as NDJSON, and a
 * resume after a crash that never resubmits what NPHIES already accepted.
 *
 * Resume works from the lifecycle, not from a checkpoint file: each line's claim is found by its
 * business identifier. Accepted (queued or later): skipped, its stored state reported. Submitted
 * but unanswered: the identical bundle is rebuilt (ids derived from the claim id, time from its
 * creation) so the idempotency key is the same; the client's ledger then knows it was sent, and
 * an answer already in the ledger is applied without sending. Draft: sent.
 *
 * A line is `{"claim": <claim-request input>, "parties": {...}}`, or the input alone with the
 * parties given to the run.
 */
import crypto from 'node:crypto';
import type { Bundle, Claim } from '@medplum/fhirtypes';
import { toWaslError, ValidationError } from '../../common/errors';
import { buildRequest, type ClaimInput } from '../../connectors/nphies/bundles';
import type { NphiesEndpointConfig, NphiesParties, NphiesResult } from '../../connectors/nphies/types';
import { ACCEPTED_STATES, idempotencyKey, type ClaimLifecycle, type StoredClaim } from './lifecycle';

/** Sends one request Bundle (NphiesClient.send, or a stub in tests). */
export type SendFn = (bundle: Bundle, opts: { idempotencyKey: string }) => Promise<NphiesResult>;

/** Builds the claim-request Bundle (buildRequest('claim-request', ...)); pure, ids and clock given. */
export type BuildClaimFn = (input: unknown, parties: NphiesParties, opts: { newId: () => string; now: () => Date }) => Bundle;

export interface BatchProgress {
  batchId: string;
  total: number;
  /** Lines whose claim NPHIES accepted (in this run or before it). */
  done: number;
  failed: number;
  /** Of `done`: accepted before this run (resume). */
  skipped: number;
  remaining: number;
  /** Lines per second processed in this run. */
  rate: number;
  /** Seconds until the end at the current rate; undefined before the first line. */
  etaSeconds?: number;
  elapsedMs: number;
  status: 'running' | 'finished' | 'aborted' | 'failed';
}

export interface BatchLineResult {
  line: number;
  claimId?: string;
  identifier?: string;
  state?: string;
  outcome?: string;
  requestId?: string;
  /** The claim was accepted before this run; nothing was sent. */
  resumed?: boolean;
  errors?: Array<{ code: string; message?: string }>;
  error?: { code: string; message: string };
}

export interface BatchOptions {
  lifecycle: ClaimLifecycle;
  send: SendFn;
  /** Default {@link buildClaimRequest}. */
  build?: BuildClaimFn;
  /** Parties for lines that do not carry their own. */
  parties?: NphiesParties;
  /** Parallel submissions (default 8). */
  concurrency?: number;
  batchId?: string;
  /** A name for the source (file path), stored with the batch. */
  source?: string;
  actor?: string;
  /** Stops taking new lines; those in flight finish and are recorded. */
  signal?: AbortSignal;
  onResult?: (result: BatchLineResult) => void | Promise<void>;
  onProgress?: (progress: BatchProgress) => void;
  /** Milliseconds between persisted progress updates (default 500). */
  persistEveryMs?: number;
  clock?: () => number;
}

/** buildRequest('claim-request', ...) with the batch's ids and clock. */
export const buildClaimRequest: BuildClaimFn = (input, parties, opts) => buildRequest('claim-request', input as ClaimInput, parties, opts);

/** Splits NDJSON text into lines, keeping line numbers (1-based) and skipping blank lines. */
export function ndjsonLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  text.split(/\r?\n/).forEach((t, i) => {
    if (t.trim()) out.push({ line: i + 1, text: t });
  });
  return out;
}

/** Deterministic GUIDs from a seed: the same claim rebuilds the same Bundle, MessageHeader and resource ids. */
export function seededIds(seed: string): () => string {
  let n = 0;
  return () => {
    const h = crypto.createHash('sha256').update(`${seed}:${n++}`).digest();
    h[6] = (h[6] & 0x0f) | 0x40;
    h[8] = (h[8] & 0x3f) | 0x80;
    const x = h.subarray(0, 16).toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  };
}

interface Described {
  identifier: { system: string; value: string };
  patientKey?: string;
  claimedAmount?: number;
  currency?: string;
  bundleId: string;
  requestId: string;
}

/** Reads what the lifecycle stores from the built bundle: the focal Claim's identifier, total and patient. */
export function describeClaimBundle(bundle: Bundle): Described {
  const header = bundle.entry?.[0]?.resource;
  if (header?.resourceType !== 'MessageHeader' || !header.id || !bundle.id) throw new ValidationError('NPHIES_BATCH_BUNDLE', 'built bundle has no MessageHeader first', { path: 'entry[0]' });
  const focus = header.focus?.[0]?.reference;
  const claim = bundle.entry?.find((e) => e.fullUrl === focus)?.resource ?? bundle.entry?.find((e) => e.resource?.resourceType === 'Claim')?.resource;
  if (claim?.resourceType !== 'Claim') throw new ValidationError('NPHIES_BATCH_BUNDLE', 'built bundle has no focal Claim', { path: 'entry' });
  const c = claim as Claim;
  const id = c.identifier?.[0];
  if (!id?.system || !id.value) throw new ValidationError('NPHIES_BATCH_IDENTIFIER', 'claim has no business identifier', { path: 'Claim.identifier' });
  const patientRef = c.patient?.reference;
  const patient = bundle.entry?.find((e) => e.resource?.resourceType === 'Patient' && patientRef && (e.fullUrl?.endsWith(patientRef) || `Patient/${e.resource.id}` === patientRef))?.resource;
  const pid = patient?.resourceType === 'Patient' ? patient.identifier?.[0] : undefined;
  // An opaque key: the patient's identifier never lands in the lifecycle tables in clear.
  const patientKey = pid?.value ? crypto.createHash('sha256').update(`${pid.system ?? ''}|${pid.value}`).digest('hex').slice(0, 32) : undefined;
  return { identifier: { system: id.system, value: id.value }, patientKey, claimedAmount: c.total?.value, currency: c.total?.currency, bundleId: bundle.id, requestId: header.id };
}

function parseLine(text: string, fallback: NphiesParties | undefined): { input: unknown; parties: NphiesParties } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError('NPHIES_BATCH_JSON', 'line is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError('NPHIES_BATCH_JSON', 'line is not a JSON object');
  const v = value as Record<string, unknown>;
  if (v.claim && v.parties) return { input: v.claim, parties: v.parties as NphiesParties };
  if (!fallback) throw new ValidationError('NPHIES_BATCH_PARTIES', 'line has no parties and none were given to the batch', { path: 'parties' });
  return { input: value, parties: fallback };
}

/** Runs a batch to its end (or abort); resolves with the final progress. */
export async function runBatch(lines: Array<{ line: number; text: string }>, opts: BatchOptions): Promise<BatchProgress> {
  const { lifecycle } = opts;
  const build = opts.build ?? buildClaimRequest;
  const clock = opts.clock ?? Date.now;
  const batchId = opts.batchId ?? crypto.randomUUID();
  const actor = opts.actor ?? `batch:${batchId}`;
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 8));
  const started = clock();
  const total = lines.length;
  let done = 0;
  let failed = 0;
  let skipped = 0;
  let status: BatchProgress['status'] = 'running';

  const progress = (): BatchProgress => {
    const elapsedMs = Math.max(clock() - started, 1);
    const processed = done + failed - skipped;
    const rate = processed / (elapsedMs / 1000);
    const remaining = total - done - failed;
    return { batchId, total, done, failed, skipped, remaining, rate: Math.round(rate * 10) / 10, etaSeconds: rate > 0 ? Math.ceil(remaining / rate) : undefined, elapsedMs, status };
  };

  await lifecycle.saveBatch({ id: batchId, source: opts.source ?? '-', total, done, failed, skipped, status });
  let lastPersist = 0;
  const persist = async (force: boolean): Promise<void> => {
    const now = clock();
    if (!force && now - lastPersist < (opts.persistEveryMs ?? 500)) return;
    lastPersist = now;
    await lifecycle.saveBatch({ id: batchId, source: opts.source ?? '-', total, done, failed, skipped, status, finished: status !== 'running' });
  };

  const sendOnce = async (bundle: Bundle, key: string): Promise<NphiesResult> => {
    try {
      return await opts.send(bundle, { idempotencyKey: key });
    } catch (err) {
      // NPHIES said no (fatal-error): the client carries its parsed answer; the claim is rejected.
      const answered = toWaslError(err).details?.result as NphiesResult | undefined;
      if (!answered) throw err;
      return answered;
    }
  };

  const one = async (entry: { line: number; text: string }): Promise<BatchLineResult> => {
    const { input, parties } = parseLine(entry.text, opts.parties);
    // A probe build reads the identifier and amount; the real build below uses the claim's own
    // id and creation time, so every rebuild of this claim is byte-identical (NPHIES.md §7).
    const probe = describeClaimBundle(build(input, parties, { newId: seededIds(`probe:${entry.text}`), now: () => new Date(0) }));
    const cause = `${actor}:line:${entry.line}`;
    const { claim: found } = await lifecycle.createClaim(
      { identifier: probe.identifier, providerLicense: parties.providerLicense, payerLicense: parties.payerLicense, patientKey: probe.patientKey, claimedAmount: probe.claimedAmount, currency: probe.currency },
      { cause, actor },
    );
    let claim: StoredClaim = found;
    const base = { line: entry.line, claimId: claim.id, identifier: claim.identifier.value };
    if (ACCEPTED_STATES.includes(claim.state)) return { ...base, state: claim.state, requestId: claim.requestId, resumed: true };
    const bundle = build(input, parties, { newId: seededIds(claim.id), now: () => claim.createdAt });
    const ids = describeClaimBundle(bundle);
    if (ids.identifier.system !== claim.identifier.system || ids.identifier.value !== claim.identifier.value) {
      throw new ValidationError('NPHIES_BATCH_IDENTIFIER', `line ${entry.line}: the claim identifier must come from the input, not be generated`, { path: 'Claim.identifier' });
    }
    if (claim.state === 'draft') claim = await lifecycle.markSubmitted(claim.id, { bundleId: ids.bundleId, requestId: ids.requestId }, { actor, cause });
    const key = idempotencyKey(claim.identifier, ids.bundleId);
    // Crashed between the ledger's record and the lifecycle's: the answer is known, apply it.
    const recorded = await lifecycle.ledger.find(key);
    let result: NphiesResult;
    if (recorded?.state === 'answered' && recorded.result) result = recorded.result;
    else {
      result = await sendOnce(bundle, key);
      // Sent before a crash, answer never recorded: the client asked (status-check) instead of
      // resending. An error without adjudication means NPHIES does not know it (a client that
      // does not resend itself); the identical bundle is safe to send (NPHIES.md §7).
      if ((result as { via?: string }).via === 'status-check' && result.outcome === 'error' && !result.adjudication) {
        await lifecycle.ledger.forget(key);
        result = await sendOnce(bundle, key);
      }
    }
    claim = await lifecycle.applyResult(claim.id, result, result.requestId, actor);
    const out: BatchLineResult = { ...base, state: claim.state, outcome: result.outcome, requestId: result.requestId };
    if (result.errors.length) out.errors = result.errors.map(({ code, message }) => ({ code, message }));
    if (result.responseCode === 'fatal-error') out.error = { code: 'INTEGRATION_NPHIES_REJECTED', message: `claim ${claim.id} rejected by NPHIES (${result.errors.map((e) => e.code).join(', ') || 'no code'})` };
    if (claim.state === 'submitted') out.error = { code: 'TRANSIENT_NPHIES_NOT_ACCEPTED', message: `claim ${claim.id} not accepted yet (${result.responseCode ?? result.outcome}); run the batch again` };
    return out;
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < lines.length && !opts.signal?.aborted) {
      const entry = lines[next++];
      let result: BatchLineResult;
      try {
        result = await one(entry);
      } catch (err) {
        const e = toWaslError(err);
        result = { line: entry.line, error: { code: e.code, message: e.message } };
      }
      if (result.error) failed++;
      else {
        done++;
        if (result.resumed) skipped++;
      }
      await opts.onResult?.(result);
      opts.onProgress?.(progress());
      await persist(false).catch(() => undefined);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(lines.length, 1)) }, worker));
    status = opts.signal?.aborted && done + failed < total ? 'aborted' : 'finished';
  } catch (err) {
    status = 'failed';
    throw err;
  } finally {
    await persist(true);
    opts.onProgress?.(progress());
  }
  return progress();
}

/** `12.3/s`, ETA as `1m05s`, and a bar of `width` cells for a terminal. */
export function formatProgress(p: BatchProgress, opts: { bar?: boolean; width?: number } = {}): string {
  const finished = p.done + p.failed;
  const pct = p.total ? Math.floor((finished / p.total) * 100) : 100;
  const eta = p.etaSeconds === undefined ? '?' : p.etaSeconds >= 60 ? `${Math.floor(p.etaSeconds / 60)}m${String(p.etaSeconds % 60).padStart(2, '0')}s` : `${p.etaSeconds}s`;
  const width = opts.width ?? 30;
  const filled = p.total ? Math.round((finished / p.total) * width) : width;
  const bar = opts.bar ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
  return `${bar}${pct}% ${finished}/${p.total} done ${p.done} (resumed ${p.skipped}) failed ${p.failed} remaining ${p.remaining} ${p.rate}/s ETA ${eta}`;
}

/**
 * The NPHIES endpoint and our parties from the environment (CLI and API). Secrets stay in the
 * environment; files are named, not inlined. Unset NPHIES_URL: no endpoint.
 */
export function nphiesFromEnv(env: NodeJS.ProcessEnv): { endpoint?: NphiesEndpointConfig; parties?: NphiesParties } {
  const endpoint: NphiesEndpointConfig | undefined = env.NPHIES_URL
    ? {
        url: env.NPHIES_URL,
        oauth: env.NPHIES_TOKEN_URL && env.NPHIES_CLIENT_ID && env.NPHIES_CLIENT_SECRET
          ? { tokenUrl: env.NPHIES_TOKEN_URL, clientId: env.NPHIES_CLIENT_ID, clientSecret: env.NPHIES_CLIENT_SECRET, scope: env.NPHIES_SCOPE || undefined }
          : undefined,
        tls: env.NPHIES_CERT_FILE || env.NPHIES_CA_FILE
          ? { certFile: env.NPHIES_CERT_FILE || undefined, keyFile: env.NPHIES_KEY_FILE || undefined, caFile: env.NPHIES_CA_FILE || undefined }
          : undefined,
        timeoutMs: Number(env.NPHIES_TIMEOUT_MS) || undefined,
      }
    : undefined;
  const parties: NphiesParties | undefined = env.NPHIES_PROVIDER_LICENSE && env.NPHIES_PAYER_LICENSE
    ? { providerLicense: env.NPHIES_PROVIDER_LICENSE, payerLicense: env.NPHIES_PAYER_LICENSE, providerEndpoint: env.NPHIES_PROVIDER_ENDPOINT || undefined }
    : undefined;
  return { endpoint, parties };
}
