import assert from 'node:assert/strict';
import type { Bundle, MessageHeader } from '@medplum/fhirtypes';
import { WaslError } from '../../../common/errors';
import { hasErrorCode, parseNphiesResponse, parsePolledMessages } from '../../../connectors/nphies/parse-response';

const CS = 'http://nphies.sa/terminology/CodeSystem/';
const SD = 'http://nphies.sa/fhir/ksa/nphies-fs/StructureDefinition/';

function message(requestId: string | undefined, event: string, entries: Bundle['entry'], code: 'ok' | 'transient-error' | 'fatal-error' = 'ok', details?: string): Bundle {
  const header: MessageHeader = {
    resourceType: 'MessageHeader',
    id: `mh-${event}`,
    eventCoding: { system: `${CS}ksa-message-events`, code: event },
    source: { endpoint: 'http://nphies.sa' },
    ...(requestId ? { response: { identifier: requestId, code, ...(details ? { details: { reference: details } } : {}) } } : {}),
    focus: entries?.[0]?.fullUrl ? [{ reference: entries[0].fullUrl }] : undefined,
  };
  return { resourceType: 'Bundle', type: 'message', entry: [{ fullUrl: 'urn:uuid:mh', resource: header }, ...(entries ?? [])] };
}

describe('parseNphiesResponse', () => {
  it('reads a rejected ClaimResponse: adjudication outcome, totals, error codes with expressions', () => {
    const b = message('req-1', 'claim-response', [
      {
        fullUrl: 'http://payer/ClaimResponse/1',
        resource: {
          resourceType: 'ClaimResponse', status: 'active', use: 'claim', type: { text: 'x' }, patient: {}, created: '2025-05-01', insurer: {}, outcome: 'complete',
          extension: [{ url: `${SD}extension-adjudication-outcome`, valueCodeableConcept: { coding: [{ system: `${CS}adjudication-outcome`, code: 'rejected' }] } }],
          disposition: 'Rejected',
          total: [{ category: { coding: [{ code: 'benefit' }] }, amount: { value: 0, currency: 'SAR' } }],
          error: [{ code: { coding: [{ system: `${CS}adjudication-error`, code: 'BV-00731', display: 'text' }] }, extension: [{ url: `${SD}extension-error-expression`, valueString: 'Claim.item[0]' }] }],
        },
      },
    ]);
    const r = parseNphiesResponse(b, 'req-1');
    assert.equal(r.outcome, 'rejected');
    assert.equal(r.event, 'claim-response');
    assert.deepEqual(r.adjudication, { outcome: 'rejected', disposition: 'Rejected', total: [{ category: 'benefit', amount: 0, currency: 'SAR' }] });
    assert.deepEqual(r.errors, [{ code: 'BV-00731', message: 'text', expression: 'Claim.item[0]' }]);
    assert.ok(hasErrorCode(r, ['BV-00731']));
    assert.ok(!hasErrorCode(r, []));
  });

  it('refuses an answer to another request', () => {
    const b = message('someone-else', 'claim-response', []);
    assert.throws(() => parseNphiesResponse(b, 'req-1'), (e: unknown) => e instanceof WaslError && e.code === 'TRANSIENT_NPHIES_UNCORRELATED');
  });

  it('reads a bare OperationOutcome and a fatal-error header pointing at one', () => {
    const bare = parseNphiesResponse({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { coding: [{ code: 'RE-00169' }] }, expression: ['MessageHeader.focus'] }] }, 'r');
    assert.deepEqual([bare.outcome, bare.responseCode, bare.errors[0].code, bare.errors[0].expression], ['error', 'fatal-error', 'RE-00169', 'MessageHeader.focus']);
    const b = message('r', 'claim-response', [{ fullUrl: 'urn:uuid:oo', resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'structure', diagnostics: 'bad' }] } }], 'fatal-error', 'urn:uuid:oo');
    const r = parseNphiesResponse(b, 'r');
    assert.deepEqual([r.outcome, r.responseCode, r.errors[0].code, r.errors[0].message], ['error', 'fatal-error', 'structure', 'bad']);
    assert.equal(r.outcomeResource?.resourceType, 'OperationOutcome');
  });

  it('reads Task errors (cancel / status replies) and refuses what is not a message', () => {
    const b = message('r', 'cancel-response', [
      { fullUrl: 'http://x/Task/1', resource: { resourceType: 'Task', status: 'rejected', intent: 'order', output: [{ type: { coding: [{ code: 'error' }] }, valueCodeableConcept: { coding: [{ code: 'X-1' }] } }] } },
    ]);
    assert.deepEqual(parseNphiesResponse(b, 'r').errors.map((e) => e.code), ['X-1']);
    assert.throws(() => parseNphiesResponse({ resourceType: 'Bundle', type: 'collection' }, 'r'), (e: unknown) => e instanceof WaslError && e.code === 'INTEGRATION_NPHIES_BAD_RESPONSE');
  });

  it('parsePolledMessages: deferred answers keep their request id, unsolicited messages their own', () => {
    const deferred = message('req-9', 'claim-response', [
      { fullUrl: 'http://p/ClaimResponse/9', resource: { resourceType: 'ClaimResponse', status: 'active', use: 'claim', type: {}, patient: {}, created: '2025-05-01', insurer: {}, outcome: 'complete' } },
    ]);
    const unsolicited = message(undefined, 'payment-reconciliation', [
      { fullUrl: 'http://p/PaymentReconciliation/1', resource: { resourceType: 'PaymentReconciliation', status: 'active', created: '2025-05-01', paymentDate: '2025-05-01', paymentAmount: { value: 1, currency: 'SAR' } } },
    ]);
    const poll: Bundle = { resourceType: 'Bundle', type: 'message', entry: [{ resource: { resourceType: 'MessageHeader', eventCoding: {}, source: { endpoint: 'x' } } }, { resource: deferred }, { resource: unsolicited }] };
    const out = parsePolledMessages(poll);
    assert.deepEqual(out.map((m) => [m.requestId, m.event, m.outcome]), [['req-9', 'claim-response', 'complete'], ['mh-payment-reconciliation', 'payment-reconciliation', 'complete']]);
  });
});
