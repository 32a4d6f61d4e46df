/**
 * Remittance: a PaymentReconciliation matched to claims by identifier and amount; matched claims
 * become paid; unknown claims, amount differences, already-paid and not-payable claims are
 * listed; the payment-notice input names what was matched. SQLite (the lifecycle spec covers
 * both dialects).
 */
import assert from 'node:assert/strict';
import type { PaymentReconciliation, PaymentReconciliationDetail } from '@medplum/fhirtypes';
import { ClaimLifecycle } from '../../../engine/nphies/lifecycle';
import { buildPaymentNoticeFor, reconcilePayment } from '../../../engine/nphies/remittance';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { sqliteTarget } from '../store/helpers';
import { NphiesClient } from '../../../connectors/nphies/client';
import { ndjsonLines, runBatch } from '../../../engine/nphies/batch';
import { startNphiesSimulator } from '../../simulators/nphies';
import { PARTIES, requests } from '../../simulators/nphies/requests';
import { claimsNdjson, result } from './support';

const SYSTEM = 'http://provider.example/identifiers/claim';

describe('NPHIES remittance', () => {
  const target = sqliteTarget();
  let store: KnexMessageStore;
  let lc: ClaimLifecycle;

  before(async () => {
    store = await target.open();
    await store.migrate();
    lc = new ClaimLifecycle(store.knex, store.dialect);
  });

  after(async () => {
    await store?.close();
    await target.cleanup();
  });

  async function approvedClaim(value: string, approved: number, outcome = 'approved'): Promise<string> {
    const { claim } = await lc.createClaim({ identifier: { system: SYSTEM, value }, providerLicense: 'PR-1', payerLicense: 'INS-1', claimedAmount: approved + 10 });
    await lc.markSubmitted(claim.id, { bundleId: `b-${value}`, requestId: `r-${value}` });
    await lc.applyResult(claim.id, result('complete', { adjudication: { outcome, total: [{ category: 'benefit', amount: approved, currency: 'SAR' }] } }));
    return claim.id;
  }

  const detail = (value: string, amount: number, system: string | undefined = SYSTEM): PaymentReconciliationDetail => ({
    type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/payment-type', code: 'payment' }] },
    request: { identifier: { system, value } },
    amount: { value: amount, currency: 'SAR' as PaymentReconciliationDetail['amount'] extends { currency?: infer C } ? C : never },
  });

  it('pays matched claims, lists mismatches with reasons, and builds the payment-notice input', async () => {
    const a = await approvedClaim('R1', 100);
    const b = await approvedClaim('R2', 55.5, 'partial');
    const c = await approvedClaim('R3', 80);
    const { claim: draft } = await lc.createClaim({ identifier: { system: SYSTEM, value: 'R4' }, providerLicense: 'PR-1', payerLicense: 'INS-1' });
    const pr: PaymentReconciliation = {
      resourceType: 'PaymentReconciliation',
      id: 'PAY-1',
      identifier: [{ system: 'http://payer.example/paymentreconciliation', value: 'PAY-1' }],
      status: 'active',
      created: '2026-11-20',
      paymentDate: '2026-11-20',
      paymentAmount: { value: 235.5, currency: 'SAR' },
      detail: [detail('R1', 100), detail('R2', 55.5, undefined), detail('R3', 79), detail('R9', 10), detail('R4', 5), { type: {} }],
    };
    const report = await reconcilePayment(lc, pr, { now: () => new Date('2026-11-21T08:00:00Z') });
    assert.deepEqual(report.matched.map((m) => [m.claimId, m.amount]), [[a, 100], [b, 55.5]]);
    assert.deepEqual(report.mismatches.map((m) => [m.detailIndex, m.reason, m.claimId]), [
      [2, 'amount-differs', c],
      [3, 'unknown-claim', undefined],
      [4, 'not-payable', draft.id],
      [5, 'no-identifier', undefined],
    ]);
    assert.equal(report.mismatches[0].expected, 80);
    assert.equal(report.total, 155.5);
    assert.deepEqual(report.paymentNotice, {
      paymentReconciliation: { id: 'PAY-1', identifier: { system: 'http://payer.example/paymentreconciliation', value: 'PAY-1' } },
      paymentDate: '2026-11-20',
      amount: { value: 155.5, currency: 'SAR' },
      paymentStatus: 'paid',
      matchedClaims: [{ system: SYSTEM, value: 'R1', amount: 100 }, { system: SYSTEM, value: 'R2', amount: 55.5 }],
      created: '2026-11-21T08:00:00.000Z',
    });
    assert.deepEqual([(await lc.getClaim(a))?.state, (await lc.getClaim(b))?.paymentRef, (await lc.getClaim(c))?.state], ['paid', 'PAY-1', 'approved']);
    const last = (await lc.history(a)).at(-1);
    assert.deepEqual([last?.to, last?.cause, last?.actor], ['paid', 'PaymentReconciliation/PAY-1', 'remittance']);

    const bundle = buildPaymentNoticeFor(report, { identifier: 'PN-1', provider: { name: 'Clinic' }, insurer: { name: 'Insurer' } }, {
      providerLicense: 'PR-1', payerLicense: 'INS-1', providerEndpoint: 'http://provider.example',
    });
    const notice = bundle.entry?.find((e) => e.resource?.resourceType === 'PaymentNotice')?.resource;
    assert.equal(notice?.resourceType, 'PaymentNotice');
    if (notice?.resourceType === 'PaymentNotice') {
      assert.deepEqual(notice.amount, { value: 155.5, currency: 'SAR' });
      assert.deepEqual(notice.payment.identifier, { system: 'http://payer.example/paymentreconciliation', value: 'PAY-1' });
    }

    // The same message again pays nothing twice.
    const again = await reconcilePayment(lc, pr);
    assert.deepEqual(again.matched, []);
    assert.deepEqual(again.mismatches.slice(0, 2).map((m) => m.reason), ['already-paid', 'already-paid']);
  });

  it('reconciles a PaymentReconciliation polled from the simulator and sends the payment-notice', async function () {
    this.timeout(30_000);
    const sim = await startNphiesSimulator();
    const client = new NphiesClient({ endpoint: { url: sim.processUrl }, ledger: lc.ledger });
    try {
      const p = await runBatch(ndjsonLines(claimsNdjson(5, 'PAY')), { lifecycle: lc, send: (b, o) => client.send(b, o) });
      assert.equal(p.done, 5);
      assert.equal(sim.pay(), 5);
      const polled = await client.poll(requests.poll(10));
      const pr = polled.messages
        .flatMap((m) => m.bundle?.entry ?? [])
        .map((e) => e.resource)
        .find((r): r is PaymentReconciliation => r?.resourceType === 'PaymentReconciliation');
      assert.ok(pr, 'a PaymentReconciliation was polled');
      const report = await reconcilePayment(lc, pr);
      assert.deepEqual([report.matched.length, report.mismatches], [5, []]);
      const notice = buildPaymentNoticeFor(report, { identifier: `PN-${pr.id}`, provider: { id: 'prov-1', name: 'Test Hospital' }, insurer: { id: 'ins-1', name: 'Test Insurer' } }, PARTIES);
      const ack = await client.send(notice, { idempotencyKey: `payment-notice|${pr.id}#${notice.id}` });
      assert.deepEqual([ack.responseCode, ack.event], ['ok', 'acknowledgement']);
      assert.equal(sim.stats.byEvent['payment-notice'], 1);
      const paid = await Promise.all(report.matched.map((m) => lc.getClaim(m.claimId)));
      assert.ok(paid.every((c) => c?.state === 'paid' && c.paymentRef === pr.id));
    } finally {
      await client.close();
      await sim.close();
    }
  });
});
