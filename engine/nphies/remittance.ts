/**
 * Remittance: a PaymentReconciliation (from a poll) is matched to our claims detail by detail, by
 * the claim's business identifier and the amount. Matched claims become `paid`; everything else
 * is listed with its reason; the answer is a payment-notice (NPHIES.md §4) confirming what we
 * received.
 *
 * Which amount a detail must equal is not confirmed publicly: we compare with the approved
 * (benefit) amount of the claim's ClaimResponse, else the claimed amount, within `tolerance`.
 */
import type { PaymentReconciliation, PaymentReconciliationDetail } from '@medplum/fhirtypes';
import type { Bundle } from '@medplum/fhirtypes';
import { ValidationError } from '../../common/errors';
import { buildRequest, type BuildOptions, type InsurerInput, type PaymentNoticeInput as NoticeBuildInput, type ProviderInput } from '../../connectors/nphies/bundles';
import type { NphiesParties } from '../../connectors/nphies/types';
import type { ClaimLifecycle, StoredClaim } from './lifecycle';
import { round2 } from './lifecycle';

export type MismatchReason = 'no-identifier' | 'unknown-claim' | 'ambiguous-claim' | 'amount-differs' | 'already-paid' | 'not-payable';

export interface RemittanceMatch {
  detailIndex: number;
  claimId: string;
  identifier: { system?: string; value: string };
  amount: number;
}

export interface RemittanceMismatch {
  detailIndex: number;
  reason: MismatchReason;
  /** A sentence naming ids and amounts, no patient data. */
  message: string;
  claimId?: string;
  identifier?: { system?: string; value: string };
  amount?: number;
  expected?: number;
  state?: string;
}

/** What the payment-notice says (the input of buildRequest('payment-notice', ...)). */
export interface PaymentNoticeInput {
  /** The PaymentReconciliation being acknowledged. */
  paymentReconciliation: { id?: string; identifier?: { system?: string; value?: string } };
  paymentDate: string;
  amount: { value: number; currency: string };
  /** FHIR payment-status: we confirm receipt (`paid`); `cleared` is the bank's word, not ours. */
  paymentStatus: 'paid';
  matchedClaims: Array<{ system?: string; value: string; amount: number }>;
  created: string;
}

export interface RemittanceReport {
  paymentReconciliationId?: string;
  total: number;
  matched: RemittanceMatch[];
  mismatches: RemittanceMismatch[];
  paymentNotice: PaymentNoticeInput;
}

export interface ReconcileOptions {
  /** Accepted difference between detail amount and expected amount (default 0.005: halalas). */
  tolerance?: number;
  /** Actor stored with the `paid` transitions (default `remittance`). */
  actor?: string;
  /** Clock for the payment-notice's `created` (transformers take no hidden clock). */
  now?: () => Date;
}

/** The claim identifier a detail names: request.identifier, else the detail's own identifier. */
export function detailClaimIdentifier(d: PaymentReconciliationDetail): { system?: string; value: string } | undefined {
  const id = d.request?.identifier ?? d.identifier;
  if (id?.value) return { system: id.system, value: id.value };
  return undefined;
}

async function claimFor(lifecycle: ClaimLifecycle, id: { system?: string; value: string }): Promise<StoredClaim[]> {
  if (id.system) {
    const c = await lifecycle.findClaim({ system: id.system, value: id.value });
    return c ? [c] : [];
  }
  return lifecycle.findClaimsByValue(id.value);
}

/**
 * Matches every detail of `pr` to a claim and marks matched claims paid (cause = the
 * PaymentReconciliation id). Safe to run twice on the same message: the second run lists the
 * claims as `already-paid` and pays nothing.
 */
export async function reconcilePayment(lifecycle: ClaimLifecycle, pr: PaymentReconciliation, opts: ReconcileOptions = {}): Promise<RemittanceReport> {
  if (pr?.resourceType !== 'PaymentReconciliation') throw new ValidationError('NPHIES_REMITTANCE', 'expected a PaymentReconciliation', { path: 'resourceType' });
  const tolerance = opts.tolerance ?? 0.005;
  const prId = pr.id ?? pr.identifier?.[0]?.value;
  const cause = `PaymentReconciliation/${prId ?? 'unknown'}`;
  const matched: RemittanceMatch[] = [];
  const mismatches: RemittanceMismatch[] = [];
  const details = pr.detail ?? [];
  for (let i = 0; i < details.length; i++) {
    const d = details[i];
    const identifier = detailClaimIdentifier(d);
    const amount = d.amount?.value;
    if (!identifier) {
      mismatches.push({ detailIndex: i, reason: 'no-identifier', message: `detail[${i}] names no claim identifier`, amount });
      continue;
    }
    const claims = await claimFor(lifecycle, identifier);
    if (claims.length === 0) {
      mismatches.push({ detailIndex: i, reason: 'unknown-claim', message: `detail[${i}]: no claim ${identifier.value}`, identifier, amount });
      continue;
    }
    if (claims.length > 1) {
      mismatches.push({ detailIndex: i, reason: 'ambiguous-claim', message: `detail[${i}]: ${claims.length} claims have identifier ${identifier.value} and the detail names no system`, identifier, amount });
      continue;
    }
    const claim = claims[0];
    const base = { detailIndex: i, claimId: claim.id, identifier, amount, state: claim.state };
    if (claim.state === 'paid') {
      mismatches.push({ ...base, reason: 'already-paid', message: `detail[${i}]: claim ${claim.id} is already paid (${claim.paymentRef ?? 'no reference'})`, expected: claim.paidAmount });
      continue;
    }
    if (claim.state !== 'approved' && claim.state !== 'partial') {
      mismatches.push({ ...base, reason: 'not-payable', message: `detail[${i}]: claim ${claim.id} is ${claim.state}, not approved or partial` });
      continue;
    }
    const expected = claim.approvedAmount ?? claim.claimedAmount;
    if (amount === undefined || expected === undefined || Math.abs(amount - expected) > tolerance) {
      mismatches.push({ ...base, reason: 'amount-differs', message: `detail[${i}]: claim ${claim.id} paid ${amount ?? 'nothing'}, expected ${expected ?? 'unknown'}`, expected });
      continue;
    }
    try {
      await lifecycle.markPaid(claim.id, { amount, paymentRef: prId }, { cause, actor: opts.actor ?? 'remittance' });
      matched.push({ detailIndex: i, claimId: claim.id, identifier: claim.identifier, amount: round2(amount) });
    } catch (err) {
      // Paid by a concurrent reconciliation of the same message between our read and update.
      const fresh = await lifecycle.getClaim(claim.id);
      if (fresh?.state !== 'paid') throw err;
      mismatches.push({ ...base, state: 'paid', reason: 'already-paid', message: `detail[${i}]: claim ${claim.id} is already paid`, expected: fresh.paidAmount });
    }
  }
  const total = round2(matched.reduce((s, m) => s + m.amount, 0));
  const currency = pr.paymentAmount?.currency ?? details.find((d) => d.amount?.currency)?.amount?.currency ?? 'SAR';
  const paymentNotice: PaymentNoticeInput = {
    paymentReconciliation: { id: pr.id, identifier: pr.identifier?.[0] ? { system: pr.identifier[0].system, value: pr.identifier[0].value } : undefined },
    paymentDate: pr.paymentDate ?? (opts.now ?? (() => new Date()))().toISOString().slice(0, 10),
    amount: { value: total, currency },
    paymentStatus: 'paid',
    matchedClaims: matched.map((m) => ({ ...m.identifier, amount: m.amount })),
    created: (opts.now ?? (() => new Date()))().toISOString(),
  };
  return { paymentReconciliationId: prId, total, matched, mismatches, paymentNotice };
}

/** The buildRequest('payment-notice', ...) input for a report: what we received, under our notice number. */
export function paymentNoticeInputFor(report: RemittanceReport, notice: { identifier: string; provider: ProviderInput; insurer: InsurerInput }): NoticeBuildInput {
  const pr = report.paymentNotice.paymentReconciliation;
  const payment = pr.identifier?.system && pr.identifier.value ? { system: pr.identifier.system, value: pr.identifier.value } : undefined;
  if (!payment) throw new ValidationError('NPHIES_REMITTANCE', 'the PaymentReconciliation has no identifier with a system: the payment-notice cannot name it', { path: 'PaymentReconciliation.identifier' });
  const n = report.paymentNotice;
  return { identifier: notice.identifier, payment, amount: n.amount.value, currency: n.amount.currency, paymentDate: n.paymentDate, paymentStatus: n.paymentStatus, created: n.created, provider: notice.provider, insurer: notice.insurer };
}

/** The payment-notice request Bundle answering a reconciled PaymentReconciliation. */
export function buildPaymentNoticeFor(
  report: RemittanceReport,
  notice: { identifier: string; provider: ProviderInput; insurer: InsurerInput },
  parties: NphiesParties,
  opts?: BuildOptions,
): Bundle {
  return buildRequest('payment-notice', paymentNoticeInputFor(report, notice), parties, opts);
}
