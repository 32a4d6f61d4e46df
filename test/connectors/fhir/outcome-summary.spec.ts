import assert from 'node:assert/strict';
import { scrubDiagnostics, summariseOutcome } from '../../../connectors/fhir/outcome-summary';

describe('connectors/fhir outcome summary', () => {
  it('masks quoted values and digit runs, keeps words and short numbers', () => {
    assert.equal(scrubDiagnostics(`Name 'Jane Roe' and MRN 00123456 rejected in 3 places`), 'Name "…" and MRN # rejected in 3 places');
  });

  it('truncates long diagnostics', () => {
    assert.equal(scrubDiagnostics('x'.repeat(500)).length, 160);
  });

  it('summarises the first error issue with its path', () => {
    assert.equal(summariseOutcome({
      resourceType: 'OperationOutcome',
      issue: [
        { severity: 'warning', code: 'informational', diagnostics: 'fyi' },
        { severity: 'error', code: 'required', diagnostics: 'Missing status', expression: ['Encounter.status'] },
      ],
    }), 'required at Encounter.status: Missing status');
    assert.equal(summariseOutcome(undefined), 'no OperationOutcome');
  });
});
