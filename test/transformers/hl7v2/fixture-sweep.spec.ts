import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { parseHl7, readHl7Header } from '../../../transformers/hl7v2/parse';
import { hl7Fixture, hl7FixtureNames } from '../fixtures';

/**
 * Fixtures the parser must reject, and why (see shared/fixtures/INDEX.md). Listing them makes a
 * change in behaviour visible: a newly failing or newly passing fixture fails this suite.
 */
const EXPECTED_REJECTIONS: Record<string, { hl7ErrorCode: number; why: string }> = {
  'cdc_genv1_batch_no_headers_two_msh.hl7': { hl7ErrorCode: 100, why: 'two MSH in one text: split before parsing' },
  'cdc_genv1_case_testmessage1.hl7': { hl7ErrorCode: 100, why: '"junk" lines before MSH' },
  'lfh_sample_unix_lf.hl7': { hl7ErrorCode: 102, why: 'MSH-2 "^~\\\\&" repeats the escape character' },
  'pyhl7_sample_batch_bhs_only.hl7': { hl7ErrorCode: 100, why: 'BHS batch envelope' },
  'pyhl7_sample_file_fhs_bhs_2batches.hl7': { hl7ErrorCode: 100, why: 'FHS/BHS file envelope' },
};

/** What encode() must give back: the input minus BOM/leading blanks/blank lines, CR-terminated. */
function canonical(text: string): string {
  const lines = text.replace(/^[\uFEFF\s]+/, '').replace(/\r?\n/g, '\r').split('\r');
  return lines.filter((l) => l.trim() !== '').join('\r') + '\r';
}

describe('transformers/hl7v2 fixture sweep', () => {
  const names = hl7FixtureNames();

  it('finds the shared HL7 fixtures', () => {
    assert.ok(names.length >= 60, `only ${names.length} fixtures`);
    for (const name of Object.keys(EXPECTED_REJECTIONS)) assert.ok(names.includes(name), name);
  });

  for (const name of names) {
    const expected = EXPECTED_REJECTIONS[name];
    if (expected) {
      it(`${name}: rejected with ${expected.hl7ErrorCode} (${expected.why})`, () => {
        const text = hl7Fixture(name);
        assert.throws(() => parseHl7(text), (err: unknown) => {
          assert.ok(err instanceof ValidationError, `not a ValidationError: ${String(err)}`);
          assert.equal(err.details?.hl7ErrorCode, expected.hl7ErrorCode);
          return true;
        });
      });
    } else {
      it(`${name}: parses and round-trips`, () => {
        const text = hl7Fixture(name);
        const m = parseHl7(text);
        assert.equal(m.encode(), canonical(text));
        assert.equal(m.segments()[0].id, 'MSH');
        assert.deepEqual(readHl7Header(text), m.header);
        // a round-tripped message parses to the same thing
        assert.equal(parseHl7(m.encode()).encode(), m.encode());
      });
    }
  }

  it('throws only ValidationError on truncated and mangled fixture text', () => {
    // Every prefix of a few fixtures, plus a version with every CR turned into a field separator:
    // a parser that crashes with a TypeError on odd input would take the MLLP listener down.
    const samples = ['mscvt_ADT-A01-01.hl7', 'hapi_msgs_02_bar_p01_brace_delims.hl7', 'cdc_mumps_vpd.hl7'].map(hl7Fixture);
    for (const text of samples) {
      const variants = [text.replace(/\r/g, '|')];
      for (let i = 0; i <= 400 && i <= text.length; i++) variants.push(text.slice(0, i));
      for (const v of variants) {
        try {
          const m = parseHl7(v);
          m.get('PID-3.1');
        } catch (err) {
          assert.ok(err instanceof ValidationError, `non-ValidationError ${String(err)} for prefix length ${v.length}`);
        }
      }
    }
  });
});
