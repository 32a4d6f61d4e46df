import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { checkAccepted } from '../../../transformers/hl7v2/acceptance';
import { ackCodeForError, ackErrorFromValidation, buildAck, formatHl7Timestamp, hl7ErrorText } from '../../../transformers/hl7v2/ack';
import { parseHl7, readHl7Header } from '../../../transformers/hl7v2/parse';
import { hl7Fixture } from '../fixtures';

const NOW = new Date(Date.UTC(2025, 0, 1, 12, 0, 1));
const INBOUND = 'MSH|^~\\&|SA|SF|RA|RF|20250101120000||ADT^A01^ADT_A01|MSG0001|P|2.5.1\rPID|1||123^^^H^MR||DOE^JOHN||19741345\r';

function segments(ack: string): string[] {
  assert.ok(!ack.includes('\n'), 'ACK must use CR only');
  return ack.split('\r');
}

describe('transformers/hl7v2/ack', () => {
  it('builds the HL7V2.md §6 example exactly', () => {
    const ack = buildAck(readHl7Header(INBOUND), {
      code: 'AE',
      controlId: 'ACK0001',
      timestamp: NOW,
      errors: [{ code: 102, location: { segment: 'PID', sequence: 1, field: 7 }, diagnostic: 'PID-7 birth date is not a valid DT' }],
    });
    assert.deepEqual(segments(ack), [
      'MSH|^~\\&|RA|RF|SA|SF|20250101120001+0000||ACK^A01^ACK|ACK0001|P|2.5.1|||NE|NE',
      'MSA|AE|MSG0001',
      'ERR||PID^1^7|102^Data type error^HL70357|E|||PID-7 birth date is not a valid DT',
    ]);
  });

  it('mirrors inbound delimiters, HD fields in wire form and the processing id', () => {
    const h = parseHl7(hl7Fixture('hapi_msgs_02_bar_p01_brace_delims.hl7')).header;
    const [msh, msa] = segments(buildAck(h, { code: 'AA', controlId: 'A1', timestamp: NOW }));
    assert.equal(msh, 'MSH|^~\\}|RADIOLOGY|MIR1|ADMISSION|ADT1|20250101120001+0000||ACK^P01^ACK|A1|P|2.4|||NE|NE');
    assert.equal(msa, 'MSA|AA|589888ADT30502184808');
    const cdc = readHl7Header(hl7Fixture('cdc_covid19_elr_01.hl7'));
    const cdcMsh = parseHl7(buildAck(cdc, { code: 'CA', controlId: 'A2', timestamp: NOW }));
    assert.equal(cdcMsh.header.sendingApplication, cdc.receivingApplication);
    assert.equal(cdcMsh.header.receivingFacility, cdc.sendingFacility);
    assert.equal(cdcMsh.header.processingId, cdc.processingId);
    assert.equal(cdcMsh.get('MSA-2'), cdc.controlId);
  });

  it('keeps the 5th encoding character and escapes it in text', () => {
    const h = readHl7Header(hl7Fixture('cdc_mumps_vpd.hl7'));
    const ack = buildAck(h, { code: 'AE', controlId: 'A3', timestamp: NOW, errors: [{ code: 207, diagnostic: 'a|b^c~d\\e&f#g' }] });
    const err = segments(ack)[2];
    assert.equal(err, 'ERR|||207^Application internal error^HL70357|E|||a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f\\P\\g');
    assert.equal(parseHl7(ack).get('ERR-7'), 'a|b^c~d\\e&f#g');
  });

  it('answers v2.3 and older with ACK^<trigger> and ERR-1, diagnostic in MSA-3', () => {
    const h = readHl7Header(hl7Fixture('pyhl7_sample_adt_a01_v23_nulls.hl7'));
    const ack = buildAck(h, {
      code: 'AR', controlId: 'A4', timestamp: NOW,
      errors: [{ code: 201, location: { segment: 'MSH', field: 9 }, diagnostic: 'event not supported' }],
    });
    const [msh, msa, err] = segments(ack);
    assert.match(msh, /\|\|ACK\^A01\|A4\|P\|2\.3\|\|\|NE\|NE$/);
    assert.equal(msa, 'MSA|AR|Q150084616T145947960|event not supported');
    assert.equal(err, 'ERR|MSH^1^9^201&Unsupported event code&HL70357');
  });

  it('answers v2.4 with 3-part MSH-9 but the ERR-1 layout', () => {
    const h = readHl7Header(hl7Fixture('mscvt_ORU-R01-RMGEAD.hl7'));
    const [msh, , err] = segments(buildAck(h, { code: 'AE', controlId: 'A5', timestamp: NOW, errors: [{ code: 101, diagnostic: 'x' }] }));
    assert.match(msh, /\|ACK\^R01\^ACK\|A5\|/);
    assert.equal(err, 'ERR|^^^101&Required field missing&HL70357');
  });

  it('v2.1 has no MSH-15/16 and an empty trigger gives plain ACK', () => {
    const h = readHl7Header(hl7Fixture('hapi_msgs_03_ack_empty_trigger.hl7'));
    const [msh] = segments(buildAck(h, { code: 'AA', controlId: 'A6', timestamp: NOW }));
    assert.equal(msh, 'MSH|^~\\}|ADMISSION|ADT1|RADIOLOGY|MIR1|20250101120001+0000||ACK|A6|P|2.1');
  });

  it('builds a minimal 2.5.1 ACK when the inbound MSH is unreadable', () => {
    const ack = buildAck(undefined, {
      code: 'AR', controlId: 'A7', timestamp: NOW,
      errors: [{ code: 100, location: { segment: 'MSH' }, diagnostic: 'Message must start with an MSH segment' }],
    });
    assert.deepEqual(segments(ack), [
      'MSH|^~\\&|||||20250101120001+0000||ACK^^ACK|A7|P|2.5.1|||NE|NE',
      'MSA|AR',
      'ERR||MSH^1|100^Segment sequence error^HL70357|E|||Message must start with an MSH segment',
    ]);
    assert.equal(parseHl7(ack).header.version, '2.5.1');
  });

  it('writes one ERR per error with repetition and component when a component is given', () => {
    const ack = buildAck(readHl7Header(INBOUND), {
      code: 'AE', controlId: 'A8', timestamp: NOW, textMessage: 'see ERR',
      errors: [
        { code: 101, severity: 'W', location: { segment: 'PV1', sequence: 2, field: 19, component: 1 }, diagnostic: 'one' },
        { code: 103, location: { segment: 'PID', field: 8 }, diagnostic: 'two' },
      ],
    });
    const segs = segments(ack);
    assert.equal(segs[1], 'MSA|AE|MSG0001|see ERR');
    assert.equal(segs[2], 'ERR||PV1^2^19^1^1|101^Required field missing^HL70357|W|||one');
    assert.equal(segs[3], 'ERR||PID^1^8|103^Table value not found^HL70357|E|||two');
  });

  it('formats MSH-7 in UTC with an explicit +0000 zone', () => {
    assert.equal(formatHl7Timestamp(new Date('2024-02-29T23:59:58.999+03:00')), '20240229205958+0000');
  });

  describe('ackErrorFromValidation', () => {
    it('maps a parse error to ERR location and code', () => {
      let caught: unknown;
      try {
        parseHl7(INBOUND.replace('|2.5.1', '|3.1'));
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof ValidationError);
      assert.deepEqual(ackErrorFromValidation(caught), {
        code: 203, severity: 'E', location: { segment: 'MSH', sequence: 1, field: 12, component: undefined },
        diagnostic: 'MSH-12 version id is not a supported version (2.1 to 2.9)',
      });
    });

    it('falls back to 207 and to the path for other validation errors', () => {
      const e = ackErrorFromValidation(new ValidationError('X', 'bad birth date', { path: 'PID-7' }));
      assert.deepEqual(e, { code: 207, severity: 'E', location: { segment: 'PID', sequence: 1, field: 7, component: undefined }, diagnostic: 'bad birth date' });
      assert.equal(ackErrorFromValidation(new ValidationError('X', 'no path')).location, undefined);
    });
  });

  it('hl7ErrorText and ackCodeForError follow table 0357 and the §7 mapping', () => {
    assert.equal(hl7ErrorText(0), 'Message accepted');
    assert.equal(hl7ErrorText(203), 'Unsupported version id');
    assert.equal(hl7ErrorText(999), 'Error code 999');
    assert.equal(ackCodeForError(102), 'AE');
    assert.equal(ackCodeForError(201), 'AR');
    assert.equal(ackCodeForError(207), 'AR');
    assert.equal(ackCodeForError(101, true), 'CE');
    assert.equal(ackCodeForError(203, true), 'CR');
  });
});

describe('transformers/hl7v2/acceptance', () => {
  const adtA01 = readHl7Header(INBOUND);
  const a03 = readHl7Header(hl7Fixture('hapi_adt_a03.hl7'));
  const oru = readHl7Header(hl7Fixture('rethink_oru-r01-lab.hl7'));

  it('accepts listed type^event pairs and type wildcards', () => {
    assert.equal(checkAccepted(adtA01, ['ADT^A01', 'ADT^A03']), undefined);
    assert.equal(checkAccepted(a03, ['ADT']), undefined);
    assert.equal(checkAccepted(oru, ['ADT^A01', 'ORU^*']), undefined);
  });

  it('answers 200 for an unknown type and 201 for an unknown event', () => {
    const t = checkAccepted(oru, ['ADT^A01']);
    assert.equal(t?.code, 200);
    assert.deepEqual(t?.location, { segment: 'MSH', sequence: 1, field: 9, component: 1 });
    const e = checkAccepted(a03, ['ADT^A01', 'ADT^A04']);
    assert.equal(e?.code, 201);
    assert.equal(e?.location?.component, 2);
    assert.equal(checkAccepted(adtA01, [])?.code, 200);
  });

  it('produces an ERR that buildAck can send', () => {
    const err = checkAccepted(a03, ['ADT^A01'])!;
    const ack = buildAck(a03, { code: ackCodeForError(err.code), controlId: 'Z1', timestamp: NOW, errors: [err] });
    const parsed = parseHl7(ack);
    assert.equal(parsed.get('MSA-1'), 'AR');
    assert.equal(parsed.get('ERR-3.1'), '201');
    assert.equal(parsed.get('ERR-2'), 'MSH^1^9^1^2');
  });
});
