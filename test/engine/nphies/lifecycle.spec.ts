/**
 * The claim lifecycle and its submission ledger on SQLite and PostgreSQL (a fresh file / schema
 * per test): legal and illegal transitions, applyResult for every outcome, duplicate answers,
 * eligibility and pre-authorisation links, the ledger's states.
 */
import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { ClaimLifecycle, canTransition, idempotencyKey, stateForResult } from '../../../engine/nphies/lifecycle';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { result } from './support';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';

const SYSTEM = 'http://provider.example/identifiers/claim';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`NPHIES claim lifecycle (${dialect})`, function () {
    let target: StoreTarget;
    let store: KnexMessageStore;
    let lc: ClaimLifecycle;

    before(async function () {
      await requireDialect(this, dialect);
    });

    beforeEach(async () => {
      target = targetFor(dialect);
      store = await target.open();
      await store.migrate();
      lc = new ClaimLifecycle(store.knex, store.dialect);
    });

    afterEach(async () => {
      await store?.close();
      await target?.cleanup();
    });

    const newClaim = (value: string, amount = 100) =>
      lc.createClaim({ identifier: { system: SYSTEM, value }, providerLicense: 'PR-1', payerLicense: 'INS-1', patientKey: 'pk', claimedAmount: amount }, { cause: 'm0', actor: 'test' });

    it('walks draft → submitted → queued → approved → paid and stores every transition', async () => {
      const { claim, created } = await newClaim('C1', 250.5);
      assert.equal(created, true);
      assert.equal(claim.state, 'draft');
      assert.equal(claim.claimedAmount, 250.5);
      await lc.markSubmitted(claim.id, { bundleId: 'b1', requestId: 'r1' }, { actor: 'test' });
      await lc.applyResult(claim.id, result('queued'), 'resp-1');
      const approved = await lc.applyResult(claim.id, result('complete', { adjudication: { outcome: 'approved', total: [{ category: 'benefit', amount: 200.25, currency: 'SAR' }] } }), 'resp-2');
      assert.equal(approved.state, 'approved');
      assert.equal(approved.approvedAmount, 200.25);
      const paid = await lc.markPaid(claim.id, { amount: 200.25, paymentRef: 'PR-9' }, { cause: 'PaymentReconciliation/PR-9', actor: 'remittance' });
      assert.deepEqual([paid.state, paid.paidAmount, paid.paymentRef, paid.bundleId, paid.requestId], ['paid', 200.25, 'PR-9', 'b1', 'r1']);
      const h = await lc.history(claim.id);
      assert.deepEqual(
        h.map((t) => [t.from, t.to, t.cause, t.actor]),
        [
          [null, 'draft', 'm0', 'test'],
          ['draft', 'submitted', 'r1', 'test'],
          ['submitted', 'queued', 'resp-1', 'nphies'],
          ['queued', 'approved', 'resp-2', 'nphies'],
          ['approved', 'paid', 'PaymentReconciliation/PR-9', 'remittance'],
        ],
      );
      assert.ok(h.every((t) => t.at instanceof Date && !Number.isNaN(t.at.getTime())));
    });

    it('refuses illegal transitions with a ValidationError naming from and to', async () => {
      const { claim } = await newClaim('C2');
      await assert.rejects(lc.markPaid(claim.id, { amount: 1 }), (err: unknown) => {
        assert.ok(err instanceof ValidationError);
        assert.equal(err.code, 'VALIDATION_NPHIES_ILLEGAL_TRANSITION');
        assert.match(err.message, /from draft to paid/);
        assert.deepEqual(err.details, { claimId: claim.id, from: 'draft', to: 'paid' });
        return true;
      });
      await lc.markSubmitted(claim.id, { bundleId: 'b', requestId: 'r' });
      await lc.applyResult(claim.id, result('complete', { adjudication: { outcome: 'rejected' } }));
      await assert.rejects(lc.cancel(claim.id), /from rejected to cancelled/);
      assert.equal((await lc.history(claim.id)).length, 3);
    });

    it('keeps the state on a duplicate answer and on a transient error', async () => {
      const { claim } = await newClaim('C3');
      await lc.markSubmitted(claim.id, { bundleId: 'b', requestId: 'r' });
      const t1 = await lc.applyResult(claim.id, result('error', { responseCode: 'transient-error' }));
      assert.equal(t1.state, 'submitted');
      await lc.applyResult(claim.id, result('queued'));
      await lc.applyResult(claim.id, result('queued'));
      assert.deepEqual((await lc.history(claim.id)).map((t) => t.to), ['draft', 'submitted', 'queued']);
    });

    it('maps every outcome', () => {
      assert.equal(stateForResult(result('queued')), 'queued');
      assert.equal(stateForResult(result('complete', { adjudication: { outcome: 'pended' } })), 'pended');
      assert.equal(stateForResult(result('complete', { adjudication: { outcome: 'approved' } })), 'approved');
      assert.equal(stateForResult(result('complete')), 'approved');
      assert.equal(stateForResult(result('complete', { adjudication: { outcome: 'partial' } })), 'partial');
      assert.equal(stateForResult(result('partial')), 'partial');
      assert.equal(stateForResult(result('rejected')), 'rejected');
      assert.equal(stateForResult(result('error', { responseCode: 'fatal-error', errors: [{ code: 'BV-00731' }] })), 'rejected');
      assert.equal(stateForResult(result('error', { responseCode: 'transient-error' })), undefined);
      assert.equal(canTransition('paid', 'cancelled'), false);
      assert.equal(canTransition('pended', 'approved'), true);
    });

    it('stores error codes, and one claim per business identifier', async () => {
      const { claim } = await newClaim('C4');
      const again = await newClaim('C4');
      assert.deepEqual([again.created, again.claim.id], [false, claim.id]);
      await lc.markSubmitted(claim.id, { bundleId: 'b', requestId: 'r' });
      const rejected = await lc.applyResult(claim.id, result('error', { responseCode: 'fatal-error', errors: [{ code: 'BV-00731', message: 'bad', expression: 'Claim.item[0]' }] }));
      assert.deepEqual([rejected.state, rejected.errors], ['rejected', [{ code: 'BV-00731', message: 'bad', expression: 'Claim.item[0]' }]]);
      assert.equal((await lc.findClaimByRequest('r'))?.id, claim.id);
      assert.deepEqual(await lc.countByState(), { rejected: 1 });
    });

    it('applies only one of two concurrent answers', async () => {
      const { claim } = await newClaim('C5');
      await lc.markSubmitted(claim.id, { bundleId: 'b', requestId: 'r' });
      const settled = await Promise.allSettled([
        lc.applyResult(claim.id, result('complete', { adjudication: { outcome: 'approved' } })),
        lc.applyResult(claim.id, result('complete', { adjudication: { outcome: 'rejected' } })),
      ]);
      const final = await lc.getClaim(claim.id);
      assert.ok(final && ['approved', 'rejected'].includes(final.state));
      assert.equal(settled.filter((s) => s.status === 'fulfilled').length, 1);
      assert.equal((await lc.history(claim.id)).length, 3);
    });

    it('links eligibility and pre-authorisation records', async () => {
      const elig = await lc.recordEligibility(
        { identifier: { system: 'http://provider.example/identifiers/coverageeligibilityrequest', value: 'E1' }, providerLicense: 'PR-1', payerLicense: 'INS-1' },
        result('complete', { event: 'eligibility-response', eligibility: { inforce: true, outcome: 'complete' } }),
      );
      assert.deepEqual([elig.inforce, elig.outcome], [true, 'complete']);
      const pa = await lc.recordPreauth(
        { identifier: { system: 'http://provider.example/identifiers/priorauth', value: 'P1' }, providerLicense: 'PR-1', payerLicense: 'INS-1' },
        result('complete', { adjudication: { outcome: 'approved', preAuthRef: 'PA-77', total: [{ category: 'benefit', amount: 90, currency: 'SAR' }] } }),
      );
      assert.deepEqual([pa.outcome, pa.preAuthRef, pa.approvedAmount], ['approved', 'PA-77', 90]);
      const { claim } = await newClaim('C6');
      const linked = await lc.linkClaim(claim.id, { preauthId: pa.id, eligibilityId: elig.id });
      assert.deepEqual([linked.preauthId, linked.eligibilityId, linked.preAuthRef], [pa.id, elig.id, 'PA-77']);
      await assert.rejects(lc.linkClaim(claim.id, { preauthId: 'nope' }), /no pre-authorisation nope/);
    });

    it('keeps the submission ledger: sending, then answered; begin never reopens', async () => {
      const key = idempotencyKey({ system: SYSTEM, value: 'C7' }, 'bundle-1');
      assert.equal(await lc.ledger.find(key), undefined);
      await lc.ledger.begin(key, 'mh-1');
      assert.deepEqual(await lc.ledger.find(key), { state: 'sending', requestId: 'mh-1' });
      const r = result('queued', { requestId: 'mh-1' });
      await lc.ledger.finish(key, r);
      await lc.ledger.begin(key, 'mh-2');
      const found = await lc.ledger.find(key);
      assert.deepEqual([found?.state, found?.requestId, found?.result], ['answered', 'mh-1', r]);
      assert.equal(await lc.ledger.count('answered'), 1);
    });
  });
}
