import assert from 'node:assert/strict';
import type { Bundle, DocumentReference } from '@medplum/fhirtypes';
import { ValidationError } from '../../../common/errors';
import { identifierSearch, planWriteBack, type ResourceValidator } from '../../../connectors/fhir/write-back';

const valid: ResourceValidator = () => ({ valid: true, outcome: { resourceType: 'OperationOutcome', issue: [] } });
const doc = (extra: Partial<DocumentReference> = {}): DocumentReference => ({ resourceType: 'DocumentReference', status: 'current', content: [], ...extra });

describe('connectors/fhir write-back planning', () => {
  it('creates a resource without id conditionally on its business identifier, escaping FHIR token characters', () => {
    const plan = planWriteBack(doc({ identifier: [{ system: 'urn:a|b', value: 'x,1' }] }), valid);
    assert.equal(plan.kind, 'create');
    assert.equal(plan.kind === 'create' && new URLSearchParams(plan.ifNoneExist).get('identifier'), 'urn:a\\|b|x\\,1');
  });

  it('falls back to masterIdentifier, and to a value without system', () => {
    assert.equal(new URLSearchParams(identifierSearch(doc({ masterIdentifier: { system: 'urn:m', value: 'M1' } }), 'x')).get('identifier'), 'urn:m|M1');
    assert.equal(new URLSearchParams(identifierSearch(doc({ identifier: [{ value: 'V1' }] }), 'x')).get('identifier'), 'V1');
  });

  it('updates a resource with an id', () => {
    assert.equal(planWriteBack(doc({ id: 'd1' }), valid).kind, 'update');
  });

  it('keeps an entry\'s own ifNoneExist and adds one where missing', () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: doc({ identifier: [{ system: 's', value: '1' }] }), request: { method: 'POST', url: 'DocumentReference', ifNoneExist: 'identifier=own' } },
        { resource: doc({ identifier: [{ system: 's', value: '2' }] }), request: { method: 'POST', url: 'DocumentReference' } },
        { resource: doc({ id: 'd3' }), request: { method: 'PUT', url: 'DocumentReference/d3' } },
      ],
    };
    const plan = planWriteBack(bundle, valid);
    assert.equal(plan.kind, 'transaction');
    const entries = plan.kind === 'transaction' ? plan.bundle.entry ?? [] : [];
    assert.deepEqual(entries.map((e) => e.request?.ifNoneExist), ['identifier=own', 'identifier=s%7C2', undefined]);
    assert.equal(bundle.entry?.[1].request?.ifNoneExist, undefined, 'the input is not changed');
  });

  it('refuses batches, invalid resources (outcome in details) and creates without an identifier', () => {
    assert.throws(() => planWriteBack({ resourceType: 'Bundle', type: 'batch' }, valid), (e: ValidationError) => e.code === 'VALIDATION_FHIR_NOT_TRANSACTION');
    const outcome = { resourceType: 'OperationOutcome' as const, issue: [{ severity: 'error' as const, code: 'required' as const, expression: ['DocumentReference.content'] }] };
    assert.throws(() => planWriteBack(doc(), () => ({ valid: false, outcome })), (e: ValidationError) => {
      assert.equal(e.code, 'VALIDATION_FHIR_WRITE_BACK_INVALID');
      assert.equal(e.path, 'DocumentReference.content');
      assert.deepEqual(e.details?.outcome, outcome);
      return true;
    });
    assert.throws(() => planWriteBack(doc(), valid), (e: ValidationError) => e.code === 'VALIDATION_FHIR_NO_BUSINESS_IDENTIFIER');
  });
});
