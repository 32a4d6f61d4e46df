import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { HL7_NULL, parseHl7, readHl7Header } from '../../../transformers/hl7v2/parse';
import { hl7Fixture } from '../fixtures';

/** Runs fn, asserts it throws an HL7 ValidationError, returns it for further checks. */
function parseError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, `expected ValidationError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ValidationError');
}

const MINIMAL = 'MSH|^~\\&|SA|SF|RA|RF|20250101120000||ADT^A01^ADT_A01|MSG0001|P|2.5.1\rPID|1||123^^^HOSP^MR||DOE^JOHN\r';

describe('transformers/hl7v2/parse', () => {
  describe('header', () => {
    it('reads every MSH field the engine routes and ACKs on', () => {
      const m = parseHl7(hl7Fixture('rethink_adt-a01-full.hl7'));
      assert.deepEqual(m.header, {
        fieldSeparator: '|',
        encodingCharacters: '^~\\&',
        sendingApplication: 'ADT_APP',
        sendingFacility: 'HOSP_A',
        receivingApplication: 'RECV_SYS',
        receivingFacility: 'HOSP_B',
        dateTime: '20260401083000',
        messageType: 'ADT',
        triggerEvent: 'A01',
        messageStructure: 'ADT_A01',
        controlId: 'CTRL0042',
        processingId: 'P',
        version: '2.5.1',
        acceptAckType: 'AL',
        applicationAckType: 'NE',
        characterSet: '',
      });
    });

    it('keeps HD fields whole, in wire form, so an ACK can copy them back', () => {
      const h = parseHl7(hl7Fixture('cdc_mumps_vpd.hl7')).header;
      assert.equal(h.sendingApplication, 'CA StarLIMS Stage^2.16.840.1.114222.4.3.3.2.3.2^ISO');
      assert.equal(h.encodingCharacters, '^~\\&#');
    });

    it('readHl7Header reads only the MSH and agrees with parseHl7', () => {
      for (const f of ['mscvt_ADT-A01-01.hl7', 'mscvt_VXU.hl7', 'hapi_msgs_02_bar_p01_brace_delims.hl7', 'cdc_covid19_elr_01.hl7']) {
        assert.deepEqual(readHl7Header(hl7Fixture(f)), parseHl7(hl7Fixture(f)).header, f);
      }
      // a broken segment after MSH does not matter to the header reader
      assert.equal(readHl7Header(MINIMAL + 'pid|bad\r').controlId, 'MSG0001');
    });

    it('accepts an empty trigger event (ACK^) and v2.1', () => {
      const h = parseHl7(hl7Fixture('hapi_msgs_03_ack_empty_trigger.hl7')).header;
      assert.equal(h.messageType, 'ACK');
      assert.equal(h.triggerEvent, '');
      assert.equal(h.version, '2.1');
    });
  });

  describe('paths', () => {
    const m = parseHl7(hl7Fixture('elixir_wikipedia_adt_a01_v25.hl7'));

    it('addresses fields, components, repetitions and subcomponents', () => {
      assert.equal(m.get('PID-3.1'), '56782445');
      assert.equal(m.get('PID-3.4'), 'UAReg');
      assert.equal(m.get('PID-5.1'), 'KLEINSAMPLE');
      assert.equal(m.get('PID-5.4'), 'JR');
      assert.equal(m.get('PID-11[2].1'), 'NICKELL\u2019S PICKLES');
      assert.equal(m.get('PID-11[2].2'), '10000 W 100TH AVE');
      assert.equal(m.get('PID-11.1'), '260 GOODWIN CREST DRIVE');
      assert.equal(m.get('MSH-9.2'), 'A01');
      assert.equal(m.get('PV1-44'), '200605290900');
      assert.equal(m.get('OBX-2.2.2'), 'M');
    });

    it('returns composites in wire form and leaves decoded', () => {
      assert.equal(m.get('OBX-2'), 'N^K&M');
      assert.equal(m.get('OBX-2.2'), 'K&M');
      assert.equal(m.get('PID-5'), 'KLEINSAMPLE^BARRY^Q^JR');
    });

    it('selects segment occurrences with SEG[n]', () => {
      assert.equal(m.get('OBX-5'), '1.80');
      assert.equal(m.get('OBX[1]-5'), '1.80');
      assert.equal(m.get('OBX[2]-5'), '79');
      assert.equal(m.get('OBX[3]-5'), undefined);
      assert.equal(m.segments('OBX').length, 2);
    });

    it('getAll gives one entry per repetition, keeping empty ones in place', () => {
      assert.deepEqual(m.getAll('PID-11.1'), ['260 GOODWIN CREST DRIVE', 'NICKELL\u2019S PICKLES']);
      const bar = parseHl7(hl7Fixture('hapi_msgs_02_bar_p01_brace_delims.hl7'));
      assert.deepEqual(bar.getAll('PID-13'), ['(314)389-8628', '', '']);
      assert.deepEqual(bar.getAll('PID-99'), []);
      assert.deepEqual(m.getAll('PID-11[2].3'), ['BIRMINGHAM']);
    });

    it('MSH-1 and MSH-2 are literals, MSH-3 is the first field after them', () => {
      assert.equal(m.get('MSH-1'), '|');
      assert.equal(m.get('MSH-2'), '^~\\&');
      assert.equal(m.get('MSH-3'), 'MegaReg');
      assert.equal(m.get('MSH-10'), '01052901');
    });

    it('absent and empty are undefined; HL7 null is kept as ""', () => {
      assert.equal(m.get('PID-2'), undefined);
      assert.equal(m.get('PID-99'), undefined);
      assert.equal(m.get('ZZZ-1'), undefined);
      const nulls = parseHl7(hl7Fixture('hapi_msgs_05_bar_p01_all_nulls.hl7'));
      assert.equal(nulls.get('PID-7'), HL7_NULL);
      assert.equal(nulls.get('PID-11.1'), HL7_NULL);
    });

    it('rejects malformed paths with a ValidationError', () => {
      for (const bad of ['PID', 'pid-3', 'PID-0', 'PID-3[0]', 'PID-3.1.2.3', 'PID-x', 'OBX[0]-5']) {
        const err = parseError(() => m.get(bad));
        assert.equal(err.code, 'VALIDATION_HL7_PATH', bad);
      }
    });

    it('segments expose fields and segment-relative paths', () => {
      const pid = m.segment('PID')!;
      assert.equal(pid.id, 'PID');
      assert.equal(pid.field(3), '56782445^^^UAReg^PI');
      assert.equal(pid.get('5[1].2'), 'BARRY');
      assert.equal(m.segment('MSH')!.field(2), '^~\\&');
      assert.equal(m.segment('MSH')!.fieldCount, 12);
    });
  });

  describe('delimiters and escapes', () => {
    it('decodes \\T\\ and the other delimiter escapes on read', () => {
      const m = parseHl7(hl7Fixture('mscvt_ADT-A08-02.hl7'));
      assert.equal(m.get('PV1-14'), 'NHS Provider-General (inc.A&E-this Hosp)');
      const custom = parseHl7('MSH|^~\\&|A|B|C|D|20250101||ADT^A01|X1|P|2.5\rNTE|1||a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\X0D\\g\\H\\\r');
      assert.equal(custom.get('NTE-3'), 'a|b^c&d~e\\f\rg');
    });

    it('uses whatever delimiters MSH-1/MSH-2 declare', () => {
      const text = 'MSH#*@!%#A#B#C#D#20250101##ADT*A04#ID1#P#2.5\rPID#1##77*x*y*AUTH%OID#@#DOE*JANE@ROE*JILL#!F!\r';
      const m = parseHl7(text);
      assert.equal(m.header.messageType, 'ADT');
      assert.equal(m.header.triggerEvent, 'A04');
      assert.equal(m.get('PID-3.4.1'), 'AUTH');
      assert.equal(m.get('PID-3.4.2'), 'OID');
      assert.equal(m.get('PID-5[2].1'), 'ROE');
      assert.equal(m.get('PID-6'), '#');
      assert.equal(m.encode(), text);
    });

    it('handles } as subcomponent separator (hapi brace delimiters) and 3 encoding characters', () => {
      const brace = parseHl7(hl7Fixture('hapi_msgs_02_bar_p01_brace_delims.hl7'));
      assert.equal(brace.delimiters.subcomponent, '}');
      assert.equal(brace.get('PID-5.1'), 'WASHINGTON-HARPER');
      const three = parseHl7(hl7Fixture('hapi_msgs_04_bar_p01_three_enc_chars.hl7'));
      assert.equal(three.delimiters.escape, '}');
      assert.equal(three.delimiters.subcomponent, '');
      assert.equal(three.get('PID-3.1'), '479305169');
    });

    it('accepts the v2.7 truncation character without splitting on it', () => {
      const m = parseHl7(hl7Fixture('cdc_vpd_measles.hl7'));
      assert.equal(m.delimiters.truncation, '#');
      assert.equal(m.header.encodingCharacters, '^~\\&#');
      assert.equal(m.header.messageType, 'ORU');
    });
  });

  describe('tolerance', () => {
    it('normalises LF and CRLF terminators and skips blank lines', () => {
      const lf = MINIMAL.replace(/\r/g, '\n');
      const crlf = MINIMAL.replace(/\r/g, '\r\n') + '\r\n\r\n';
      for (const text of [lf, crlf]) {
        const m = parseHl7(text);
        assert.equal(m.segments().length, 2);
        assert.equal(m.get('PID-5.2'), 'JOHN');
        assert.equal(m.encode(), MINIMAL);
      }
    });

    it('tolerates a UTF-8 BOM and leading whitespace', () => {
      assert.equal(hl7Fixture('mscvt_VXU.hl7').charCodeAt(0), 0xfeff);
      assert.equal(parseHl7(hl7Fixture('mscvt_VXU.hl7')).header.messageType, 'VXU');
      assert.equal(parseHl7('\n  \r\n' + MINIMAL).header.controlId, 'MSG0001');
    });

    it('keeps Z-segments, truncated segments and trailing empty fields as sent', () => {
      const text = MINIMAL + 'PV1\rZPI|1|custom^value||\r';
      const m = parseHl7(text);
      assert.deepEqual(m.segments().map((s) => s.id), ['MSH', 'PID', 'PV1', 'ZPI']);
      assert.equal(m.get('ZPI-2.2'), 'value');
      assert.equal(m.get('PV1-2'), undefined);
      assert.equal(m.encode(), text);
      const erp = parseHl7(hl7Fixture('hapi_cv04_001_chem_erp_z99.hl7'));
      assert.equal(erp.segments('ZNT').length, 1);
    });
  });

  describe('rejections', () => {
    const cases: [string, string, number, string | undefined, Record<string, unknown>][] = [
      ['empty text', '', 100, undefined, { segmentIndex: 1 }],
      ['garbage before MSH', hl7Fixture('cdc_genv1_case_testmessage1.hl7'), 100, undefined, { segmentIndex: 1 }],
      ['a batch header', hl7Fixture('pyhl7_sample_batch_bhs_only.hl7'), 100, 'BHS', { segmentId: 'BHS' }],
      ['a lower-case segment id', MINIMAL + 'pv1|1\r', 100, undefined, { segmentIndex: 3, segmentId: 'pv1' }],
      ['a 4-letter segment id', MINIMAL + 'PV1X|1\r', 100, undefined, { segmentIndex: 3 }],
      ['two messages in one text', hl7Fixture('cdc_genv1_batch_no_headers_two_msh.hl7'), 100, 'MSH', { segmentId: 'MSH' }],
      ['ambiguous MSH-2', hl7Fixture('lfh_sample_unix_lf.hl7'), 102, 'MSH-2', { field: 2 }],
      ['MSH-9 missing', MINIMAL.replace('ADT^A01^ADT_A01', ''), 101, 'MSH-9', { segmentId: 'MSH', field: 9 }],
      ['MSH-10 missing', MINIMAL.replace('MSG0001', ''), 101, 'MSH-10', { field: 10 }],
      ['MSH-12 missing', MINIMAL.replace('|2.5.1', '|'), 203, 'MSH-12', { field: 12 }],
      ['MSH-12 = 3.0', MINIMAL.replace('|2.5.1', '|3.0'), 203, 'MSH-12', { field: 12 }],
      ['MSH-12 = 2.10', MINIMAL.replace('|2.5.1', '|2.10'), 203, 'MSH-12', { field: 12 }],
      ['MSH cut after MSH-1', 'MSH|', 102, 'MSH-2', { field: 2 }],
    ];
    for (const [name, text, code, path, details] of cases) {
      it(`rejects ${name} with 0357 code ${code}`, () => {
        const err = parseError(() => parseHl7(text));
        assert.equal(err.code, 'VALIDATION_HL7_PARSE');
        assert.equal(err.details?.hl7ErrorCode, code);
        if (path !== undefined) assert.equal(err.path, path);
        for (const [k, v] of Object.entries(details)) assert.equal(err.details?.[k], v, k);
      });
    }

    it('readHl7Header throws the same errors', () => {
      const err = parseError(() => readHl7Header(MINIMAL.replace('|2.5.1', '|9.9')));
      assert.equal(err.details?.hl7ErrorCode, 203);
      assert.equal(err.path, 'MSH-12');
    });

    it('never puts message content in the error message', () => {
      const err = parseError(() => parseHl7(MINIMAL + 'Secret patient note\r'));
      assert.doesNotMatch(err.message, /Secret|patient/);
    });
  });
});
