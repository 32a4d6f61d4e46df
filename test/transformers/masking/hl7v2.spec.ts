/**
 * HL7 v2 masking on every HL7 fixture: no person's name, identifier, birth date, address, phone
 * or SSN survives, and the structure (segments, fields, delimiters, terminators) does.
 */
import assert from 'node:assert/strict';
import { MASK, maskContent, maskHl7v2 } from '../../../transformers/masking';
import { hl7Fixture, hl7FixtureNames } from '../fixtures';

/**
 * Where the test looks for PHI, written independently of the masker's own table: the fields
 * whose values the browser must never show unmasked.
 */
const PHI_UNDER_TEST: Record<string, number[]> = {
  PID: [2, 3, 4, 5, 6, 7, 11, 13, 14, 18, 19, 20],
  NK1: [2, 4, 5, 6],
  GT1: [2, 3, 5, 6, 8, 12],
  IN1: [16, 18, 19, 36, 49],
  IN2: [2],
  MRG: [1, 4, 7],
};

interface Line {
  text: string;
  fields: string[];
}

/** Segment lines, split on the field separator declared by the nearest MSH/FHS/BHS before them. */
function segments(text: string): Line[] {
  const out: Line[] = [];
  let sep = '|';
  for (const line of text.replace(/^\ufeff/, '').split(/\r\n|\r|\n/)) {
    if (/^(MSH|FHS|BHS)/.test(line)) sep = line.charAt(3);
    if (/^[A-Z0-9]{3}/.test(line)) out.push({ text: line, fields: line.split(sep) });
  }
  return out;
}

function encodingOf(text: string): string {
  const msh = text.slice(text.indexOf('MSH'));
  const sep = msh.charAt(3);
  const enc = msh.slice(4, msh.indexOf(sep, 4));
  return [enc.charAt(0), enc.charAt(1), enc.charAt(3)].join('');
}

/** The PHI values (leaves of at least 3 characters) in the fields under test. */
function phiValues(text: string): string[] {
  const inner = encodingOf(text);
  const split = new RegExp(`[${inner.replace(/[\]\\^-]/g, '\\$&')}]`);
  const values: string[] = [];
  for (const { fields } of segments(text)) {
    for (const n of PHI_UNDER_TEST[fields[0]] ?? []) {
      for (const leaf of (fields[n] ?? '').split(split)) if (leaf.trim().length >= 3 && leaf !== '""') values.push(leaf.trim());
    }
  }
  return values;
}

/** The original with every field under test emptied: where a PHI value may also appear legitimately. */
function withoutPhiFields(text: string): string {
  return segments(text)
    .map(({ fields }) => fields.map((f, n) => ((PHI_UNDER_TEST[fields[0]] ?? []).includes(n) ? '' : f)).join('|'))
    .join('\n');
}

function count(text: string, chars: string): number {
  let n = 0;
  for (const c of text) if (chars.includes(c)) n++;
  return n;
}

describe('transformers/masking HL7 v2', () => {
  for (const name of hl7FixtureNames()) {
    it(`masks ${name}`, () => {
      const original = hl7Fixture(name);
      const masked = maskContent(original);
      if (masked.format === 'other') {
        // Not HL7 from its first byte (garbage before MSH): masked whole.
        assert.equal(masked.text, MASK);
        return;
      }
      assert.equal(masked.format, 'hl7v2');

      const elsewhere = withoutPhiFields(original);
      const leaked = phiValues(original).filter((v) => masked.text.includes(v) && !elsewhere.includes(v));
      assert.deepEqual(leaked, [], 'PHI values left in the masked text');

      // Same lines and terminators; same segment ids, field counts and delimiter counts per segment.
      assert.deepEqual(masked.text.match(/\r\n|\r|\n/g), original.match(/\r\n|\r|\n/g));
      const before = segments(original);
      const after = segments(masked.text);
      assert.equal(after.length, before.length);
      const inner = encodingOf(original);
      for (const [i, seg] of before.entries()) {
        assert.equal(after[i].fields[0], seg.fields[0]);
        assert.equal(after[i].fields.length, seg.fields.length, `${seg.fields[0]} field count`);
        assert.equal(count(after[i].text, inner), count(seg.text, inner), `${seg.fields[0]} delimiters`);
        if (/^(MSH|FHS|BHS|EVN|BTS|FTS)$/.test(seg.fields[0])) assert.equal(after[i].text, seg.text, 'headers untouched');
      }
    });
  }

  it('masks each leaf and keeps every delimiter, empty leaf and HL7 null', () => {
    const msg = [
      'MSH|^~\\&|HIS|HOSP|WASL|WASL|20250101120000||ADT^A01^ADT_A01|C1|P|2.5',
      'PID|1||MRN123^^^HOSP^MR~SSN999^^^SSA^SS||DOE^JANE^Q^^^^L|""|19800101|F|||1 MAIN ST^^SPRINGFIELD^IL^62701||^PRN^PH^^^217^5551212',
      `PV1|1|I|W^389^1${'|'.repeat(16)}VN777`, // PV1-19 visit number
      'OBX|1|NM|2345-7^GLUCOSE^LN||182|mg/dL',
      'OBX|2|TX|NOTE^Note^L||Seen by Jane Doe at home',
      'NTE|1||Called Mrs Doe',
      'ZPI|1|secret^value',
    ].join('\r');
    const lines = maskHl7v2(msg)!.split('\r');
    assert.equal(lines[0], msg.split('\r')[0]);
    assert.equal(lines[1], 'PID|1||***^^^***^***~***^^^***^***||***^***^***^^^^***|""|***|F|||***^^***^***^***||^***^***^^^***^***');
    assert.equal(lines[2], `PV1|1|I|W^389^1${'|'.repeat(16)}***`);
    assert.equal(lines[3], 'OBX|1|NM|2345-7^GLUCOSE^LN||182|mg/dL', 'a numeric result stays');
    assert.equal(lines[4], 'OBX|2|TX|NOTE^Note^L||***', 'free text goes');
    assert.equal(lines[5], 'NTE|1||***');
    assert.equal(lines[6], 'ZPI|***|***^***', 'site-defined segments are masked whole');
  });

  it('follows the delimiters each header declares, and keeps LF or CRLF terminators', () => {
    // '*' is the component separator here, so the mask cannot be '***' without changing the structure.
    const msg = 'MSH#*~\\&#A#B#C#D#20250101##ADT*A01#1#P#2.5\r\nPID#1##M1*x~M2##DOE*JOHN\nPV1#1';
    assert.equal(maskHl7v2(msg), 'MSH#*~\\&#A#B#C#D#20250101##ADT*A01#1#P#2.5\r\nPID#1##XXX*XXX~XXX##XXX*XXX\nPV1#1');
  });

  it('masks a line that is not a segment, and says text that does not start with MSH is not HL7', () => {
    assert.equal(maskHl7v2('MSH|^~\\&|A|B\rPID|1||M1\rJane Doe wrote this\rPV1|1'), 'MSH|^~\\&|A|B\rPID|1||***\r***\rPV1|1');
    assert.equal(maskHl7v2('{"resourceType":"Patient"}'), undefined);
    assert.equal(maskHl7v2('hello MSH|^~\\&|'), undefined);
  });
});
