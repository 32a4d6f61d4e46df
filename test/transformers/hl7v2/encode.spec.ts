import assert from 'node:assert/strict';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { hl7Fixture, hl7FixtureNames } from '../fixtures';

/** The fixture as a sender should have sent it: no BOM or leading noise, CR terminators. */
function canonical(text: string): string {
  const body = text.replace(/^[\ufeff\s]+/, '').replace(/\r\n|\n/g, '\r');
  return body.split('\r').filter((l) => l.trim() !== '').join('\r') + '\r';
}

describe('transformers/hl7v2 encode', () => {
  it('parse -> encode gives back every valid single-message fixture', () => {
    let checked = 0;
    let exact = 0;
    for (const name of hl7FixtureNames()) {
      const text = hl7Fixture(name);
      let encoded: string;
      try {
        encoded = parseHl7(text).encode();
      } catch {
        continue; // invalid or a batch: covered by the parse and batch specs
      }
      assert.equal(encoded, canonical(text), name);
      if (encoded === text) exact++;
      checked++;
    }
    assert.ok(checked >= 55, `only ${checked} fixtures parsed`);
    assert.ok(exact >= 25, `only ${exact} fixtures were byte-identical (CR, no BOM)`);
  });

  it('writes a value escaped for the message delimiters and reads it back', () => {
    const m = parseHl7(hl7Fixture('rethink_adt-a01-full.hl7'));
    const before = m.segment('PID')!.raw;
    const changed = m.with('PID-5[2].1', 'Smith & Sons | A^B');
    assert.equal(changed.get('PID-5[2].1'), 'Smith & Sons | A^B');
    assert.match(changed.segment('PID')!.field(5), /Smith \\T\\ Sons \\F\\ A\\S\\B/);
    assert.equal(changed.get('PID-5[1].1'), m.get('PID-5[1].1'), 'other repetitions untouched');
    assert.equal(m.segment('PID')!.raw, before, 'the original message is unchanged');
    const reparsed = parseHl7(changed.encode());
    assert.equal(reparsed.get('PID-5[2].1'), 'Smith & Sons | A^B');
  });

  it('pads missing fields and components, writes the HL7 null, clears with undefined', () => {
    const m = parseHl7('MSH|^~\\&|A|B|C|D|20250101||ADT^A08|X1|P|2.5\rPID|1||123\r');
    const n = m.with('PID-11.3', 'Riyadh').with('PID-7', '""').with('PID-3', undefined);
    assert.equal(n.segment('PID')!.raw, 'PID|1||||||""||||^^Riyadh');
    assert.equal(n.get('PID-7'), '""');
    assert.equal(n.with('MSH-10', 'NEW1').get('MSH-10'), 'NEW1');
    assert.throws(() => m.with('MSH-2', 'x'), /cannot be set/);
    assert.throws(() => m.with('OBX-5', 'x'), /not in the message/);
  });
});
