import assert from 'node:assert/strict';
import { toWaslError, ValidationError, WaslError } from '../../common/errors';

describe('common/errors', () => {
  it('keeps a WaslError as it is', () => {
    const err = new ValidationError('HL7_PARSE', 'MSH missing', { path: 'MSH' });
    assert.equal(toWaslError(err), err);
    assert.equal(err.code, 'VALIDATION_HL7_PARSE');
    assert.equal(err.retryable, false);
  });
  it('classifies socket errors as transient', () => {
    const e = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const w = toWaslError(e);
    assert.ok(w instanceof WaslError);
    assert.equal(w.kind, 'transient');
    assert.equal(w.code, 'TRANSIENT_ECONNREFUSED');
  });
});
