/**
 * The NPHIES claim lifecycle: a persisted state machine per claim (migration 0004, knex, SQLite
 * and PostgreSQL), with the eligibility and pre-authorisation records linked to claims, and the
 * submission ledger the client checks before sending (connectors/nphies/ledger.ts).
 *
 *   draft → submitted → queued → pended → approved | partial | rejected → paid
 *   (any state before paid/rejected → cancelled)
 *
 * Every transition is stored with time, cause (the message id that caused it) and actor. An
 * illegal transition is refused with a ValidationError naming from and to. A repeated answer that
 * names the state the claim is already in (NPHIES' duplicate answer) changes nothing.
 */
import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { ValidationError } from '../../common/errors';
import type { SubmissionLedger, SubmissionRecord } from '../../connectors/nphies/ledger';
import type { ClaimState, NphiesResult } from '../../connectors/nphies/types';
import { KnexMessageStore } from '../store/knex-store';
import { fromDbTime, toDbTime, type Dialect } from '../store/rows';
import type { MessageStore } from '../store/types';

/** Where each state may go. Same-state moves are no-ops, not transitions (see `transition`). */
export const CLAIM_TRANSITIONS: Readonly<Record<ClaimState, readonly ClaimState[]>> = {
  draft: ['submitted', 'cancelled'],
  submitted: ['queued', 'pended', 'approved', 'partial', 'rejected', 'cancelled'],
  queued: ['pended', 'approved', 'partial', 'rejected', 'cancelled'],
  pended: ['approved', 'partial', 'rejected', 'cancelled'],
  approved: ['paid', 'cancelled'],
  partial: ['paid', 'cancelled'],
  rejected: [],
  paid: [],
  cancelled: [],
};

/** States in which NPHIES has accepted the claim: a batch resume never sends these again. */
export const ACCEPTED_STATES: readonly ClaimState[] = ['queued', 'pended', 'approved', 'partial', 'rejected', 'paid', 'cancelled'];

export function canTransition(from: ClaimState, to: ClaimState): boolean {
  return CLAIM_TRANSITIONS[from].includes(to);
}

/** A business identifier: the provider-owned system and its value (NPHIES.md §6). */
export interface BusinessIdentifier {
  system: string;
  value: string;
}

export interface NewClaim {
  identifier: BusinessIdentifier;
  providerLicense: string;
  payerLicense: string;
  /** An opaque patient key (e.g. a hash or the MPI id), never the national id in clear. */
  patientKey?: string;
  claimedAmount?: number;
  currency?: string;
  preauthId?: string;
  preAuthRef?: string;
  eligibilityId?: string;
  /** Our id; default a random UUID. */
  id?: string;
}

export interface StoredClaim {
  id: string;
  identifier: BusinessIdentifier;
  providerLicense: string;
  payerLicense: string;
  patientKey?: string;
  state: ClaimState;
  currency: string;
  claimedAmount?: number;
  approvedAmount?: number;
  paidAmount?: number;
  paymentRef?: string;
  preAuthRef?: string;
  preauthId?: string;
  eligibilityId?: string;
  bundleId?: string;
  requestId?: string;
  errors: NphiesResult['errors'];
  createdAt: Date;
  updatedAt: Date;
}

export interface ClaimTransition {
  claimId: string;
  from: ClaimState | null;
  to: ClaimState;
  at: Date;
  cause?: string;
  actor: string;
}

/** Who and why, stored with every transition. */
export interface TransitionMeta {
  /** The message that caused it (MessageHeader id, PaymentReconciliation id, …). */
  cause?: string;
  /** User, node id, `nphies`, `batch:<id>`… Default `system`. */
  actor?: string;
}

export interface EligibilityRecord {
  id: string;
  identifier: BusinessIdentifier;
  providerLicense: string;
  payerLicense: string;
  patientKey?: string;
  requestId?: string;
  outcome?: string;
  inforce?: boolean;
  disposition?: string;
}

export interface PreauthRecord {
  id: string;
  identifier: BusinessIdentifier;
  providerLicense: string;
  payerLicense: string;
  patientKey?: string;
  requestId?: string;
  outcome?: string;
  preAuthRef?: string;
  approvedAmount?: number;
}

/** Claim business identifier + request Bundle id (issue 6, "safe retries"). */
export function idempotencyKey(identifier: BusinessIdentifier, bundleId: string): string {
  return `${identifier.system}|${identifier.value}#${bundleId}`;
}

/**
 * The claim's state after a parsed response, or undefined when the response changes nothing
 * (a transient error: the same bundle is sent again).
 */
export function stateForResult(result: NphiesResult): ClaimState | undefined {
  if (result.responseCode === 'transient-error') return undefined;
  const adjudication = result.adjudication?.outcome;
  if (adjudication === 'pended') return 'pended';
  switch (result.outcome) {
    case 'queued':
      return 'queued';
    case 'partial':
      return 'partial';
    case 'rejected':
    case 'error':
      return 'rejected';
    case 'complete':
      if (adjudication === 'rejected') return 'rejected';
      if (adjudication === 'partial') return 'partial';
      return 'approved';
  }
  return undefined;
}

/** The approved (benefit) total of a ClaimResponse, when it carries one. */
export function approvedAmountOf(result: NphiesResult): number | undefined {
  const totals = result.adjudication?.total?.filter((t) => t.category === 'benefit');
  if (!totals?.length) return undefined;
  return round2(totals.reduce((s, t) => s + t.amount, 0));
}

export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

const opt = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);
const num = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));

function claimFromRow(r: Record<string, unknown>): StoredClaim {
  return {
    id: r.id as string,
    identifier: { system: r.identifier_system as string, value: r.identifier_value as string },
    providerLicense: r.provider_license as string,
    payerLicense: r.payer_license as string,
    patientKey: opt(r.patient_key as string | null),
    state: r.state as ClaimState,
    currency: r.currency as string,
    claimedAmount: num(r.claimed_amount),
    approvedAmount: num(r.approved_amount),
    paidAmount: num(r.paid_amount),
    paymentRef: opt(r.payment_ref as string | null),
    preAuthRef: opt(r.pre_auth_ref as string | null),
    preauthId: opt(r.preauth_id as string | null),
    eligibilityId: opt(r.eligibility_id as string | null),
    bundleId: opt(r.bundle_id as string | null),
    requestId: opt(r.request_id as string | null),
    errors: r.errors ? (JSON.parse(r.errors as string) as NphiesResult['errors']) : [],
    createdAt: fromDbTime(r.created_at as Date | number | string),
    updatedAt: fromDbTime(r.updated_at as Date | number | string),
  };
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || /UNIQUE constraint failed/.test(e.message ?? '');
}

/**
 * The durable {@link SubmissionLedger} on `nphies_submissions`: the client calls `find` before
 * sending, `begin` just before the request leaves and `finish` with the parsed answer. An entry
 * left in `sending` after a crash means "sent, answer unknown": the client asks NPHIES
 * (status-check) or resends the identical bundle, never a new one.
 */
export class KnexSubmissionLedger implements SubmissionLedger {
  constructor(
    private readonly knex: Knex,
    private readonly dialect: Dialect,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async find(key: string): Promise<SubmissionRecord | undefined> {
    const r = await this.knex('nphies_submissions').where({ idempotency_key: key }).first();
    if (!r) return undefined;
    return { state: r.status, requestId: r.request_id, ...(r.result ? { result: JSON.parse(r.result) as NphiesResult } : {}) };
  }

  /** Records that `key` is about to be sent as `requestId`; an answered entry is never reopened. */
  async begin(key: string, requestId: string): Promise<void> {
    const now = toDbTime(this.dialect, this.clock());
    await this.knex('nphies_submissions')
      .insert({ idempotency_key: key, request_id: requestId, status: 'sending', created_at: now, updated_at: now })
      .onConflict('idempotency_key')
      .ignore();
  }

  /** Stores NPHIES's answer (state `answered`). */
  async finish(key: string, result: NphiesResult): Promise<void> {
    const now = toDbTime(this.dialect, this.clock());
    const values = { status: 'answered', outcome: result.outcome, response_code: result.responseCode ?? null, result: JSON.stringify(result), updated_at: now };
    await this.knex('nphies_submissions')
      .insert({ idempotency_key: key, request_id: result.requestId, created_at: now, ...values })
      .onConflict('idempotency_key')
      .merge(Object.keys(values));
  }

  /**
   * Drops an entry: only for a status-check that found nothing (NPHIES never got the request),
   * before resending the identical bundle, which NPHIES would answer from its store anyway.
   */
  async forget(key: string): Promise<void> {
    await this.knex('nphies_submissions').where({ idempotency_key: key }).delete();
  }

  /** Entries, optionally by state (resume reports, tests). */
  async count(state?: SubmissionRecord['state']): Promise<number> {
    const q = this.knex('nphies_submissions');
    if (state) q.where({ status: state });
    const row = await q.count<{ n: number | string }>({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }
}

export interface LifecycleOptions {
  clock?: () => Date;
  newId?: () => string;
}

/** The claim lifecycle on the message store's database. */
export class ClaimLifecycle {
  readonly ledger: KnexSubmissionLedger;
  private readonly clock: () => Date;
  private readonly newId: () => string;

  constructor(
    readonly knex: Knex,
    readonly dialect: Dialect,
    opts: LifecycleOptions = {},
  ) {
    this.clock = opts.clock ?? (() => new Date());
    this.newId = opts.newId ?? (() => crypto.randomUUID());
    this.ledger = new KnexSubmissionLedger(knex, dialect, this.clock);
  }

  private now(): Date | number {
    return toDbTime(this.dialect, this.clock());
  }

  /** Creates a claim in `draft`, or returns the existing one with the same business identifier. */
  async createClaim(claim: NewClaim, meta: TransitionMeta = {}): Promise<{ claim: StoredClaim; created: boolean }> {
    requireIdentifier(claim.identifier, 'identifier');
    for (const field of ['providerLicense', 'payerLicense'] as const) {
      if (!claim[field]) throw new ValidationError('NPHIES_CLAIM_FIELD', `claim ${claim.identifier.value}: ${field} is required`, { path: field });
    }
    const existing = await this.findClaim(claim.identifier);
    if (existing) return { claim: existing, created: false };
    const id = claim.id ?? this.newId();
    const now = this.now();
    try {
      await this.knex.transaction(async (trx) => {
        await trx('nphies_claims').insert({
          id,
          identifier_system: claim.identifier.system,
          identifier_value: claim.identifier.value,
          provider_license: claim.providerLicense,
          payer_license: claim.payerLicense,
          patient_key: claim.patientKey ?? null,
          state: 'draft',
          currency: claim.currency ?? 'SAR',
          claimed_amount: claim.claimedAmount ?? null,
          pre_auth_ref: claim.preAuthRef ?? null,
          preauth_id: claim.preauthId ?? null,
          eligibility_id: claim.eligibilityId ?? null,
          created_at: now,
          updated_at: now,
        });
        await trx('nphies_claim_transitions').insert({ claim_id: id, from_state: null, to_state: 'draft', at: now, cause: meta.cause ?? null, actor: meta.actor ?? 'system' });
      });
    } catch (err) {
      // Another process created it between our read and insert.
      if (isUniqueViolation(err)) {
        const raced = await this.findClaim(claim.identifier);
        if (raced) return { claim: raced, created: false };
      }
      throw err;
    }
    return { claim: (await this.getClaim(id)) as StoredClaim, created: true };
  }

  async getClaim(id: string): Promise<StoredClaim | undefined> {
    const r = await this.knex('nphies_claims').where({ id }).first();
    return r ? claimFromRow(r) : undefined;
  }

  async findClaim(identifier: BusinessIdentifier): Promise<StoredClaim | undefined> {
    const r = await this.knex('nphies_claims').where({ identifier_system: identifier.system, identifier_value: identifier.value }).first();
    return r ? claimFromRow(r) : undefined;
  }

  /** Claims by business identifier value (remittance matching when the system is not sent). */
  async findClaimsByValue(value: string): Promise<StoredClaim[]> {
    const rows = await this.knex('nphies_claims').where({ identifier_value: value });
    return rows.map(claimFromRow);
  }

  /** The claim that a request (MessageHeader id) submitted. */
  async findClaimByRequest(requestId: string): Promise<StoredClaim | undefined> {
    const r = await this.knex('nphies_claims').where({ request_id: requestId }).first();
    return r ? claimFromRow(r) : undefined;
  }

  async listClaims(filter: { state?: ClaimState; limit?: number } = {}): Promise<StoredClaim[]> {
    const q = this.knex('nphies_claims');
    if (filter.state) q.where({ state: filter.state });
    const rows = await q.orderBy([{ column: 'created_at' }, { column: 'id' }]).limit(Math.min(Math.max(filter.limit ?? 100, 1), 10_000));
    return rows.map(claimFromRow);
  }

  /** Claims per state (ops, tests). */
  async countByState(): Promise<Partial<Record<ClaimState, number>>> {
    const rows = await this.knex('nphies_claims').select('state').count<{ state: ClaimState; n: number | string }[]>({ n: '*' }).groupBy('state');
    return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
  }

  /** Transitions of a claim, oldest first. */
  async history(claimId: string): Promise<ClaimTransition[]> {
    const rows = await this.knex('nphies_claim_transitions').where({ claim_id: claimId }).orderBy('id');
    return rows.map((r: Record<string, unknown>) => ({
      claimId: r.claim_id as string,
      from: (r.from_state as ClaimState | null) ?? null,
      to: r.to_state as ClaimState,
      at: fromDbTime(r.at as Date | number | string),
      cause: opt(r.cause as string | null),
      actor: r.actor as string,
    }));
  }

  /**
   * Moves a claim to `to`, storing the transition, with optional column changes in the same
   * transaction. Same state: no transition, only the changes. Refused (ValidationError
   * `NPHIES_ILLEGAL_TRANSITION`, naming from and to) when the state machine does not allow it.
   */
  async transition(claimId: string, to: ClaimState, meta: TransitionMeta = {}, changes: Record<string, unknown> = {}): Promise<StoredClaim> {
    if (!(to in CLAIM_TRANSITIONS)) throw new ValidationError('NPHIES_CLAIM_STATE', `unknown claim state ${to}`, { path: 'state' });
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.getClaim(claimId);
      if (!current) throw new ValidationError('NPHIES_CLAIM_NOT_FOUND', `no claim ${claimId}`);
      const from = current.state;
      if (from !== to && !canTransition(from, to)) {
        throw new ValidationError('NPHIES_ILLEGAL_TRANSITION', `claim ${claimId}: illegal transition from ${from} to ${to}`, {
          path: 'state',
          details: { claimId, from, to },
        });
      }
      const now = this.now();
      // Conditional on the state we read: a concurrent transition makes this update miss, and
      // we decide again on the new state (no lost transitions, no locks held across awaits).
      const moved = await this.knex.transaction(async (trx) => {
        const n = await trx('nphies_claims').where({ id: claimId, state: from }).update({ ...changes, state: to, updated_at: now });
        if (n === 0) return false;
        if (from !== to) await trx('nphies_claim_transitions').insert({ claim_id: claimId, from_state: from, to_state: to, at: now, cause: meta.cause ?? null, actor: meta.actor ?? 'system' });
        return true;
      });
      if (moved) return (await this.getClaim(claimId)) as StoredClaim;
    }
    throw new ValidationError('NPHIES_CLAIM_CONTENDED', `claim ${claimId}: state kept changing, transition to ${to} not applied`);
  }

  /** draft → submitted, recording the Bundle and MessageHeader ids every resend must reuse. */
  async markSubmitted(claimId: string, ids: { bundleId: string; requestId: string }, meta: TransitionMeta = {}): Promise<StoredClaim> {
    return this.transition(claimId, 'submitted', { cause: meta.cause ?? ids.requestId, actor: meta.actor }, { bundle_id: ids.bundleId, request_id: ids.requestId });
  }

  /**
   * Applies a parsed NPHIES answer: queued, pended, approved, partial or rejected (an `error`
   * outcome that is not transient is a rejection). A transient error changes nothing. Stores the
   * approved amount, preAuthRef and error codes.
   */
  async applyResult(claimId: string, result: NphiesResult, cause?: string, actor = 'nphies'): Promise<StoredClaim> {
    const to = stateForResult(result);
    const changes: Record<string, unknown> = { errors: result.errors.length ? JSON.stringify(result.errors.map(({ code, message, expression }) => ({ code, message, expression }))) : null };
    const approved = approvedAmountOf(result);
    if (approved !== undefined) changes.approved_amount = approved;
    if (result.adjudication?.preAuthRef) changes.pre_auth_ref = result.adjudication.preAuthRef;
    const meta = { cause: cause ?? result.requestId, actor };
    if (to === undefined) {
      const claim = await this.getClaim(claimId);
      if (!claim) throw new ValidationError('NPHIES_CLAIM_NOT_FOUND', `no claim ${claimId}`);
      return claim;
    }
    return this.transition(claimId, to, meta, changes);
  }

  /** approved | partial → paid, with the amount and the payment reference. */
  async markPaid(claimId: string, payment: { amount: number; paymentRef?: string }, meta: TransitionMeta = {}): Promise<StoredClaim> {
    return this.transition(claimId, 'paid', meta, { paid_amount: round2(payment.amount), payment_ref: payment.paymentRef ?? null });
  }

  async cancel(claimId: string, meta: TransitionMeta = {}): Promise<StoredClaim> {
    return this.transition(claimId, 'cancelled', meta);
  }

  /** Links a claim to its pre-authorisation and/or eligibility record. */
  async linkClaim(claimId: string, links: { preauthId?: string; eligibilityId?: string }): Promise<StoredClaim> {
    const changes: Record<string, unknown> = { updated_at: this.now() };
    if (links.preauthId) {
      const p = await this.getPreauth(links.preauthId);
      if (!p) throw new ValidationError('NPHIES_PREAUTH_NOT_FOUND', `no pre-authorisation ${links.preauthId}`);
      changes.preauth_id = p.id;
      if (p.preAuthRef) changes.pre_auth_ref = p.preAuthRef;
    }
    if (links.eligibilityId) {
      if (!(await this.getEligibility(links.eligibilityId))) throw new ValidationError('NPHIES_ELIGIBILITY_NOT_FOUND', `no eligibility record ${links.eligibilityId}`);
      changes.eligibility_id = links.eligibilityId;
    }
    const n = await this.knex('nphies_claims').where({ id: claimId }).update(changes);
    if (n === 0) throw new ValidationError('NPHIES_CLAIM_NOT_FOUND', `no claim ${claimId}`);
    return (await this.getClaim(claimId)) as StoredClaim;
  }

  /** Records an eligibility request (and its answer, when given); same identifier → same record. */
  async recordEligibility(e: Omit<EligibilityRecord, 'id' | 'outcome' | 'inforce' | 'disposition'> & { id?: string }, result?: NphiesResult): Promise<EligibilityRecord> {
    requireIdentifier(e.identifier, 'identifier');
    const now = this.now();
    const id = e.id ?? this.newId();
    await this.knex('nphies_eligibility')
      .insert({
        id, identifier_system: e.identifier.system, identifier_value: e.identifier.value, provider_license: e.providerLicense,
        payer_license: e.payerLicense, patient_key: e.patientKey ?? null, request_id: e.requestId ?? null, created_at: now, updated_at: now,
      })
      .onConflict(['identifier_system', 'identifier_value'])
      .ignore();
    const row = await this.knex('nphies_eligibility').where({ identifier_system: e.identifier.system, identifier_value: e.identifier.value }).first();
    if (result) {
      await this.knex('nphies_eligibility').where({ id: row.id }).update({
        request_id: result.requestId,
        outcome: result.eligibility?.outcome ?? result.outcome,
        inforce: result.eligibility?.inforce ?? null,
        disposition: result.eligibility?.disposition?.slice(0, 500) ?? null,
        updated_at: now,
      });
    }
    return (await this.getEligibility(row.id)) as EligibilityRecord;
  }

  async getEligibility(id: string): Promise<EligibilityRecord | undefined> {
    const r = await this.knex('nphies_eligibility').where({ id }).first();
    if (!r) return undefined;
    return {
      id: r.id, identifier: { system: r.identifier_system, value: r.identifier_value }, providerLicense: r.provider_license, payerLicense: r.payer_license,
      patientKey: opt(r.patient_key), requestId: opt(r.request_id), outcome: opt(r.outcome), inforce: r.inforce === null ? undefined : Boolean(r.inforce), disposition: opt(r.disposition),
    };
  }

  /** Records a pre-authorisation request (and its answer, when given); same identifier → same record. */
  async recordPreauth(p: Omit<PreauthRecord, 'id' | 'outcome' | 'preAuthRef' | 'approvedAmount'> & { id?: string }, result?: NphiesResult): Promise<PreauthRecord> {
    requireIdentifier(p.identifier, 'identifier');
    const now = this.now();
    const id = p.id ?? this.newId();
    await this.knex('nphies_preauths')
      .insert({
        id, identifier_system: p.identifier.system, identifier_value: p.identifier.value, provider_license: p.providerLicense,
        payer_license: p.payerLicense, patient_key: p.patientKey ?? null, request_id: p.requestId ?? null, created_at: now, updated_at: now,
      })
      .onConflict(['identifier_system', 'identifier_value'])
      .ignore();
    const row = await this.knex('nphies_preauths').where({ identifier_system: p.identifier.system, identifier_value: p.identifier.value }).first();
    if (result) {
      await this.knex('nphies_preauths').where({ id: row.id }).update({
        request_id: result.requestId,
        outcome: stateForResult(result) ?? result.outcome,
        pre_auth_ref: result.adjudication?.preAuthRef ?? null,
        approved_amount: approvedAmountOf(result) ?? null,
        updated_at: now,
      });
    }
    return (await this.getPreauth(row.id)) as PreauthRecord;
  }

  async getPreauth(id: string): Promise<PreauthRecord | undefined> {
    const r = await this.knex('nphies_preauths').where({ id }).first();
    if (!r) return undefined;
    return {
      id: r.id, identifier: { system: r.identifier_system, value: r.identifier_value }, providerLicense: r.provider_license, payerLicense: r.payer_license,
      patientKey: opt(r.patient_key), requestId: opt(r.request_id), outcome: opt(r.outcome), preAuthRef: opt(r.pre_auth_ref), approvedAmount: num(r.approved_amount),
    };
  }

  /** Creates or updates a batch's progress row (engine/nphies/batch.ts). */
  async saveBatch(b: Omit<BatchRecord, 'startedAt' | 'finishedAt'> & { finished?: boolean }): Promise<void> {
    const now = this.now();
    const values = { total: b.total, done: b.done, failed: b.failed, skipped: b.skipped, status: b.status, finished_at: b.finished ? now : null };
    await this.knex('nphies_batches')
      .insert({ id: b.id, source: b.source.slice(0, 500), started_at: now, ...values })
      .onConflict('id')
      .merge(Object.keys(values));
  }

  async getBatch(id: string): Promise<BatchRecord | undefined> {
    const r = await this.knex('nphies_batches').where({ id }).first();
    if (!r) return undefined;
    return {
      id: r.id, source: r.source, total: Number(r.total), done: Number(r.done), failed: Number(r.failed), skipped: Number(r.skipped), status: r.status,
      startedAt: fromDbTime(r.started_at), finishedAt: r.finished_at === null ? undefined : fromDbTime(r.finished_at),
    };
  }
}

export interface BatchRecord {
  id: string;
  source: string;
  total: number;
  done: number;
  failed: number;
  skipped: number;
  status: string;
  startedAt?: Date;
  finishedAt?: Date;
}

function requireIdentifier(id: BusinessIdentifier | undefined, path: string): void {
  if (!id || typeof id.system !== 'string' || !id.system || typeof id.value !== 'string' || !id.value) {
    throw new ValidationError('NPHIES_IDENTIFIER', `${path} needs a system and a value`, { path });
  }
}

/** The lifecycle sharing the message store's database (CLI, API, nodes). */
export function claimLifecycleFor(store: MessageStore, opts?: LifecycleOptions): ClaimLifecycle {
  if (!(store instanceof KnexMessageStore)) throw new ValidationError('NPHIES_STORE', 'The NPHIES claim lifecycle needs the knex message store');
  return new ClaimLifecycle(store.knex, store.dialect, opts);
}
