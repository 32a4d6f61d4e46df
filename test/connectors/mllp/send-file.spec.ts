import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { splitHl7Messages } from '../../../connectors/mllp/send-file';

describe('connectors/mllp/send-file splitHl7Messages', () => {
  const a = 'MSH|^~\\&|A|B|||20240101||ADT^A01|1|P|2.5\rPID|1||123\r';
  const b = 'MSH|^~\\&|A|B|||20240101||ADT^A08|2|P|2.5\rEVN|A08\rPID|1||456\r';

  it('splits concatenated messages at MSH', () => {
    assert.deepEqual(splitHl7Messages(a + b), [a, b]);
  });

  it('normalises LF and CRLF segment terminators to CR and ends each message with CR', () => {
    const lf = (a + b).replace(/\r/g, '\n');
    const crlf = (a + b).replace(/\r/g, '\r\n');
    assert.deepEqual(splitHl7Messages(lf), [a, b]);
    assert.deepEqual(splitHl7Messages(crlf), [a, b]);
    assert.deepEqual(splitHl7Messages(a.slice(0, -1)), [a], 'missing final terminator');
  });

  it('skips blank lines and the FHS/BHS/BTS/FTS envelope', () => {
    const file = ['', 'FHS|^~\\&|F', 'BHS|^~\\&|B', '', a.trimEnd(), '', '  ', b.trimEnd(), 'BTS|2', 'FTS|1', ''].join('\r\n');
    assert.deepEqual(splitHl7Messages(file), [a, b]);
  });

  it('removes a byte-order mark', () => {
    assert.deepEqual(splitHl7Messages('\ufeff' + a), [a]);
  });

  it('returns nothing for an empty file or an envelope with no messages', () => {
    assert.deepEqual(splitHl7Messages(''), []);
    assert.deepEqual(splitHl7Messages('FHS|^~\\&\nBHS|^~\\&\nBTS|0\nFTS|1\n'), []);
  });

  it('refuses a segment before any MSH, naming the line', () => {
    assert.throws(
      () => splitHl7Messages('\nPID|1\n' + a),
      (err: unknown) => err instanceof ValidationError && err.code === 'VALIDATION_HL7_NO_MSH' && /line 2/.test(err.message),
    );
  });
});
