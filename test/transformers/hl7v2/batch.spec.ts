import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { ackErrorFromValidation } from '../../../transformers/hl7v2/ack';
import { batchMessages, buildBatchAck, splitHl7Batch, type BatchAckEntry } from '../../../transformers/hl7v2/batch';
import { parseHl7, readHl7Header } from '../../../transformers/hl7v2/parse';
import { hl7Fixture } from '../fixtures';

const NOW = new Date(Date.UTC(2025, 0, 1, 12, 0, 1));

function msg(id: string, fs = '|', enc = '^~\\&'): string {
  return [`MSH${fs}${enc}${fs}SA${fs}SF${fs}RA${fs}RF${fs}20250101${fs}${fs}ADT^A01${fs}${id}${fs}P${fs}2.5.1`, `PID${fs}1${fs}${fs}${id}^^^H^MR`].join('\r');
}

/** Asserts `fn` throws an HL7 ValidationError with this 0357 code, segment and (optional) field. */
function assertBatchError(fn: () => unknown, expected: { hl7ErrorCode: number; segmentId: string; field?: number; line?: number; message?: RegExp }) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, `not a ValidationError: ${String(err)}`);
    assert.equal(err.code, 'VALIDATION_HL7_PARSE');
    const d = err.details as Record<string, unknown>;
    assert.equal(d.hl7ErrorCode, expected.hl7ErrorCode, err.message);
    assert.equal(d.segmentId, expected.segmentId, err.message);
    assert.equal(d.field, expected.field, err.message);
    if (expected.line !== undefined) assert.equal(d.segmentIndex, expected.line, err.message);
    if (expected.message) assert.match(err.message, expected.message);
    const path = expected.field === undefined ? expected.segmentId : `${expected.segmentId}-${expected.field}`;
    assert.equal(err.path, path);
    return true;
  });
}

describe('transformers/hl7v2/batch', () => {
  describe('splitHl7Batch on the fixtures', () => {
    it('reads a BHS-only batch: header fields, one message, BTS-1', () => {
      const file = splitHl7Batch(hl7Fixture('pyhl7_sample_batch_bhs_only.hl7'));
      assert.equal(file.header, undefined);
      assert.equal(file.batchCount, undefined);
      assert.equal(file.batches.length, 1);
      const [b] = file.batches;
      assert.equal(b.header?.segmentId, 'BHS');
      assert.equal(b.header?.fieldSeparator, '|');
      assert.equal(b.header?.encodingCharacters, '^~\\&');
      assert.equal(b.header?.sendingFacility, 'ABCHS');
      assert.equal(b.header?.receivingFacility, 'AUSDHSV');
      assert.equal(b.header?.dateTime, '20070101123401');
      assert.equal(b.header?.controlId, 'abchs20070101123401-1');
      assert.equal(b.messageCount, 1);
      assert.equal(b.messages.length, 1);
      assert.deepEqual(b.lines, [2]);
      const m = parseHl7(b.messages[0]);
      assert.equal(m.header.controlId, '12334456778890');
      assert.deepEqual(m.segments().map((s) => s.id), ['MSH', 'EVN', 'PID', 'PD1', 'NK1', 'PV1']);
      assert.deepEqual(file.warnings, []);
    });

    it('reads an FHS file with two batches (2 + 1 messages) and checks BTS-1 and FTS-1', () => {
      const file = splitHl7Batch(hl7Fixture('pyhl7_sample_file_fhs_bhs_2batches.hl7'));
      assert.equal(file.header?.segmentId, 'FHS');
      assert.equal(file.header?.sendingFacility, 'ABCHS');
      assert.equal(file.header?.comment, 'abchs20070101123401.hl7'); // this sender puts the file name in FHS-10
      assert.equal(file.batchCount, 2);
      assert.deepEqual(file.batches.map((b) => [b.header?.controlId, b.messages.length, b.messageCount]), [
        ['abchs20070101123401-1', 2, 2],
        ['abchs20070101123401-2', 1, 1],
      ]);
      const ids = batchMessages(file).map((t) => parseHl7(t).header.controlId);
      assert.deepEqual(ids, ['12334456778890', '12334456778891', '12334456778890']);
      for (const t of batchMessages(file)) {
        assert.ok(t.endsWith('\r') && !t.includes('\n'));
        assert.ok(!/(^|\r)(FHS|BHS|BTS|FTS)/.test(t), 'no envelope segment inside a message');
      }
    });

    it('reads a bare run of MSH messages (no envelope) as one batch without header or counts', () => {
      const file = splitHl7Batch(hl7Fixture('cdc_genv1_batch_no_headers_two_msh.hl7'));
      assert.equal(file.header, undefined);
      assert.equal(file.batches.length, 1);
      const [b] = file.batches;
      assert.equal(b.header, undefined);
      assert.equal(b.messageCount, undefined);
      assert.equal(b.messages.length, 2);
      assert.deepEqual(b.lines, [1, 39]);
      const segs = b.messages.map((t) => parseHl7(t).segments().length);
      assert.equal(segs[0] + segs[1], 72);
    });

    it('skips leading junk lines with a warning and keeps the message intact', () => {
      const file = splitHl7Batch(hl7Fixture('cdc_genv1_case_testmessage1.hl7'));
      assert.deepEqual(file.warnings, ['skipped 3 line(s) before the first segment']);
      assert.equal(batchMessages(file).length, 1);
      const m = parseHl7(batchMessages(file)[0]);
      assert.equal(m.segments().length, 39); // INDEX.md counts 42 lines, 3 of them junk
      assert.deepEqual(file.batches[0].lines, [4]);
    });

    it('accepts LF and CRLF terminators, a BOM, blank lines and indented segments', () => {
      const text = '\ufeffBHS|^~\\&|S|F\r\n\r\n' + msg('A').replace(/\r/g, '\n') + '\n  ' + msg('B').replace(/\r/g, '\r\n') + '\r\nBTS|2\r\n';
      const file = splitHl7Batch(text);
      assert.deepEqual(batchMessages(file).map((t) => parseHl7(t).header.controlId), ['A', 'B']);
      assert.equal(file.batches[0].messageCount, 2);
    });

    it('passes every other fixture through as one bare message (or a run of them)', () => {
      for (const name of ['mscvt_ADT-A01-01.hl7', 'lfh_sample_unix_lf.hl7', 'mscvt_ADT01-23.hl7', 'hapi_msgs_02_bar_p01_brace_delims.hl7']) {
        const file = splitHl7Batch(hl7Fixture(name));
        assert.equal(batchMessages(file).length, 1, name);
      }
    });

    it('reads FHS/BHS/BTS/FTS with non-default delimiters from FHS-1/2 and BHS-1/2', () => {
      const text = ['FHS#^~\\&#S#F####file1#', 'BHS#^~\\&#S#F#######B1', msg('X1', '#'), msg('X2', '#'), 'BTS#2', 'FTS#1'].join('\r');
      const file = splitHl7Batch(text);
      assert.equal(file.header?.fieldSeparator, '#');
      assert.equal(file.header?.security, 'file1');
      assert.equal(file.batches[0].header?.controlId, 'B1');
      assert.equal(file.batchCount, 1);
      assert.deepEqual(batchMessages(file).map((t) => parseHl7(t).header.controlId), ['X1', 'X2']);
    });

    it('accepts an empty batch (BTS-1 = 0) and warns when BTS-1/FTS-1 are empty', () => {
      const file = splitHl7Batch(['FHS|^~\\&', 'BHS|^~\\&', 'BTS|0', 'BHS|^~\\&', msg('E1'), 'BTS', 'FTS|'].join('\r'));
      assert.deepEqual(file.batches.map((b) => b.messages.length), [0, 1]);
      assert.equal(file.batches[1].messageCount, undefined);
      assert.equal(file.batchCount, undefined);
      assert.equal(file.warnings.length, 2);
      assert.match(file.warnings[0], /BTS-1 of batch 2 .* empty/);
      assert.match(file.warnings[1], /FTS-1 .* empty/);
    });
  });

  describe('splitHl7Batch on broken batches', () => {
    it('refuses a BTS-1 that disagrees with the messages received (code 100 at BTS-1)', () => {
      const text = ['BHS|^~\\&', msg('A'), msg('B'), 'BTS|3'].join('\r');
      assertBatchError(() => splitHl7Batch(text), { hl7ErrorCode: 100, segmentId: 'BTS', field: 1, line: 6, message: /declares 3 .* holds 2/ });
    });

    it('refuses an FTS-1 that disagrees with the batches received (code 100 at FTS-1)', () => {
      const text = hl7Fixture('pyhl7_sample_file_fhs_bhs_2batches.hl7').replace('FTS|2', 'FTS|3');
      assertBatchError(() => splitHl7Batch(text), { hl7ErrorCode: 100, segmentId: 'FTS', field: 1, line: 24 });
    });

    it('refuses a batch whose BTS is missing, at the end or before the next BHS or FTS', () => {
      assertBatchError(() => splitHl7Batch(['BHS|^~\\&', msg('A')].join('\r')), { hl7ErrorCode: 100, segmentId: 'BTS', message: /no BTS/ });
      assertBatchError(() => splitHl7Batch(['BHS|^~\\&', msg('A'), 'BHS|^~\\&', msg('B'), 'BTS|1'].join('\r')), {
        hl7ErrorCode: 100,
        segmentId: 'BTS',
        line: 4,
        message: /BHS at line 1 has no BTS/,
      });
      const cut = hl7Fixture('pyhl7_sample_file_fhs_bhs_2batches.hl7').replace('BTS|1\r', '');
      assertBatchError(() => splitHl7Batch(cut), { hl7ErrorCode: 100, segmentId: 'BTS', message: /before the FTS/ });
    });

    it('refuses a file whose FTS is missing (cut short)', () => {
      const cut = hl7Fixture('pyhl7_sample_file_fhs_bhs_2batches.hl7').replace('FTS|2', '');
      assertBatchError(() => splitHl7Batch(cut), { hl7ErrorCode: 100, segmentId: 'FTS', message: /no FTS/ });
    });

    it('refuses a nested FHS and an FHS that is not first', () => {
      const nested = ['FHS|^~\\&', 'BHS|^~\\&', 'FHS|^~\\&', msg('A'), 'BTS|1', 'FTS|1', 'FTS|1'].join('\r');
      assertBatchError(() => splitHl7Batch(nested), { hl7ErrorCode: 100, segmentId: 'FHS', line: 3, message: /second FHS.*nested/ });
      assertBatchError(() => splitHl7Batch([msg('A'), 'FHS|^~\\&', 'FTS|0'].join('\r')), { hl7ErrorCode: 100, segmentId: 'FHS', line: 3 });
    });

    it('refuses trailers without headers, messages after a BTS, bare messages mixed with batches, content after FTS', () => {
      assertBatchError(() => splitHl7Batch([msg('A'), 'BTS|1'].join('\r')), { hl7ErrorCode: 100, segmentId: 'BTS', line: 3 });
      assertBatchError(() => splitHl7Batch([msg('A'), 'FTS|1'].join('\r')), { hl7ErrorCode: 100, segmentId: 'FTS', line: 3 });
      assertBatchError(() => splitHl7Batch(['BHS|^~\\&', msg('A'), 'BTS|1', msg('B')].join('\r')), { hl7ErrorCode: 100, segmentId: 'MSH', line: 5 });
      assertBatchError(() => splitHl7Batch([msg('A'), 'BHS|^~\\&', msg('B'), 'BTS|1'].join('\r')), { hl7ErrorCode: 100, segmentId: 'BHS', line: 3 });
      assertBatchError(() => splitHl7Batch(['FHS|^~\\&', 'FTS|0', msg('A')].join('\r')), { hl7ErrorCode: 100, segmentId: 'FTS', line: 3 });
    });

    it('refuses a segment before any MSH (a cut file) but not a junk line', () => {
      assertBatchError(() => splitHl7Batch(['PID|1||X', msg('A')].join('\r')), { hl7ErrorCode: 100, segmentId: 'PID', line: 1 });
      assertBatchError(() => splitHl7Batch(['BHS|^~\\&', 'PID|1||X', msg('A'), 'BTS|1'].join('\r')), { hl7ErrorCode: 100, segmentId: 'PID', line: 2 });
    });

    it('refuses input with no MSH, BHS or FHS at all', () => {
      for (const text of ['', 'hello world\n', '\r\n\r\n', 'junk\rjunk\r']) {
        assertBatchError(() => splitHl7Batch(text), { hl7ErrorCode: 100, segmentId: 'MSH', message: /No MSH, BHS or FHS/ });
      }
    });

    it('refuses bad BHS-2 delimiters and non-numeric counts with code 102', () => {
      assertBatchError(() => splitHl7Batch(['BHS|^^\\&', msg('A'), 'BTS|1'].join('\r')), { hl7ErrorCode: 102, segmentId: 'BHS', field: 2 });
      assertBatchError(() => splitHl7Batch(['FHS|', 'FTS|0'].join('\r')), { hl7ErrorCode: 102, segmentId: 'FHS', field: 2 });
      assertBatchError(() => splitHl7Batch(['BHS|^~\\&', msg('A'), 'BTS|one'].join('\r')), { hl7ErrorCode: 102, segmentId: 'BTS', field: 1 });
    });

    it('names ids and lines, never content, in errors and warnings', () => {
      try {
        splitHl7Batch(['BHS|^~\\&', msg('SECRET'), 'BTS|7'].join('\r'));
        assert.fail('should throw');
      } catch (err) {
        assert.doesNotMatch((err as Error).message, /SECRET/);
      }
    });
  });

  describe('buildBatchAck', () => {
    const inboundText = ['BHS|^~\\&|SA|SF|RA|RF|20250101||||B42', msg('M1'), msg('M2'), msg('M3'), 'BTS|3'].join('\r');

    function entriesFor(codes: Array<'AA' | 'AE' | 'AR'>): BatchAckEntry[] {
      const file = splitHl7Batch(inboundText);
      return file.batches[0].messages.map((t, i) => ({
        inbound: readHl7Header(t),
        ack: {
          code: codes[i],
          controlId: `ACK${i + 1}`,
          timestamp: NOW,
          errors:
            codes[i] === 'AA'
              ? undefined
              : [ackErrorFromValidation(new ValidationError('X', 'PID-7 is not a date', { path: 'PID-7', details: { hl7ErrorCode: 102, segmentId: 'PID', field: 7 } }))],
        },
      }));
    }

    it('answers with BHS (swapped, BHS-12 = inbound BHS-11), ACKs for the failed messages only, and BTS-1', () => {
      const file = splitHl7Batch(inboundText);
      const ack = buildBatchAck(file.batches[0].header, entriesFor(['AA', 'AE', 'AR']), { controlId: 'AB1', timestamp: NOW });
      const segs = ack.split('\r');
      assert.equal(segs.pop(), '', 'ends with CR');
      assert.equal(segs[0], 'BHS|^~\\&|RA|RF|SA|SF|20250101120001+0000||||AB1|B42');
      assert.equal(segs[segs.length - 1], 'BTS|2');
      // Round trip through our own splitter: counts agree, each ACK parses and correlates.
      const back = splitHl7Batch(ack);
      assert.equal(back.batches[0].header?.referenceControlId, 'B42');
      const acks = batchMessages(back).map((t) => parseHl7(t));
      assert.deepEqual(acks.map((a) => [a.get('MSA-1'), a.get('MSA-2'), a.header.controlId]), [
        ['AE', 'M2', 'ACK2'],
        ['AR', 'M3', 'ACK3'],
      ]);
      assert.equal(acks[0].get('ERR-2'), 'PID^1^7');
      assert.equal(acks[0].get('ERR-3.1'), '102');
      assert.equal(acks[0].header.messageType, 'ACK');
    });

    it('answers all-accepted with an empty ack batch, or one ACK per message with include: all', () => {
      const file = splitHl7Batch(inboundText);
      const empty = buildBatchAck(file.batches[0].header, entriesFor(['AA', 'AA', 'AA']), { controlId: 'AB2', timestamp: NOW });
      assert.equal(empty, 'BHS|^~\\&|RA|RF|SA|SF|20250101120001+0000||||AB2|B42\rBTS|0\r');
      const all = buildBatchAck(file.batches[0].header, entriesFor(['AA', 'AE', 'AA']), { controlId: 'AB3', timestamp: NOW, include: 'all' });
      const back = splitHl7Batch(all);
      assert.equal(back.batches[0].messageCount, 3);
      assert.deepEqual(batchMessages(back).map((t) => parseHl7(t).get('MSA-1')), ['AA', 'AE', 'AA']);
    });

    it('takes sender and receiver from the first MSH for a batch without BHS, and handles an unreadable MSH', () => {
      const [m] = splitHl7Batch(msg('Q1')).batches[0].messages;
      const ack = buildBatchAck(
        undefined,
        [
          { inbound: readHl7Header(m), ack: { code: 'AA', controlId: 'K1', timestamp: NOW } },
          { inbound: undefined, ack: { code: 'AR', controlId: 'K2', timestamp: NOW, errors: [{ code: 100, diagnostic: 'no MSH' }] } },
        ],
        { controlId: 'AB4', timestamp: NOW, include: 'all' },
      );
      const segs = ack.split('\r');
      assert.equal(segs[0], 'BHS|^~\\&|RA|RF|SA|SF|20250101120001+0000||||AB4');
      const acks = batchMessages(splitHl7Batch(ack)).map((t) => parseHl7(t));
      assert.deepEqual(acks.map((a) => [a.get('MSA-1'), a.get('MSA-2')]), [
        ['AA', 'Q1'],
        ['AR', undefined],
      ]);
    });
  });
});
