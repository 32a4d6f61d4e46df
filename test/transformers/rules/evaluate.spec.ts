import assert from 'node:assert/strict';
import { evaluateRules, type FieldRule } from '../../../transformers/rules/evaluate';

const fields: Record<string, string> = { 'MSH-9.1': 'ADT', 'PV1-2': 'I', 'PID-8': '' };
const read = (path: string) => fields[path];

describe('transformers/rules/evaluate', () => {
  it('holds for an empty rule list', () => assert.equal(evaluateRules([], read), true));
  it('evaluates each operator', () => {
    const cases: Array<[FieldRule, boolean]> = [
      [{ field: 'MSH-9.1', op: 'equals', value: 'ADT' }, true],
      [{ field: 'MSH-9.1', op: 'equals', value: 'ORU' }, false],
      [{ field: 'PV1-2', op: 'in', values: ['I', 'E'] }, true],
      [{ field: 'PV1-2', op: 'in', values: ['O'] }, false],
      [{ field: 'PID-8', op: 'exists' }, false],
      [{ field: 'PID-8', op: 'exists', exists: false }, true],
      [{ field: 'MSH-9.1', op: 'matches', value: '^AD' }, true],
      [{ field: 'MISSING-1', op: 'matches', value: '.*' }, false],
    ];
    for (const [rule, expected] of cases) assert.equal(evaluateRules([rule], read), expected, JSON.stringify(rule));
  });
  it('needs every rule to hold', () => {
    assert.equal(evaluateRules([{ field: 'MSH-9.1', op: 'equals', value: 'ADT' }, { field: 'PV1-2', op: 'equals', value: 'O' }], read), false);
  });
  it('rejects a bad pattern with the field path', () => {
    assert.throws(() => evaluateRules([{ field: 'MSH-4', op: 'matches', value: '(' }], () => 'x'), /MSH-4/);
  });
});
