import assert from 'node:assert/strict';
import { hl7ToFhirTransaction } from '../../../transformers/hl7v2/fhir';
import {
  asInstant,
  decimal,
  derivedObservationKeys,
  formattedText,
  groupOrders,
  interpretations,
  observationStatus,
  referenceRange,
  reportStatus,
  unitsOf,
} from '../../../transformers/hl7v2/fhir/clinical';
import { parseHl7 } from '../../../transformers/hl7v2/parse';

const msg = (body: string) => parseHl7(`MSH|^~\\&|A|F|R|RF|20250101120000||ORU^R01|C1|P|2.5.1\r${body}`);
const obx = (fields: string) => msg(`OBX|${fields}\r`).segment('OBX')!;

describe('transformers/hl7v2/fhir/clinical', () => {
  it('decodes FT text once: an escaped backslash sequence stays literal, \\.br\\ becomes a line break', () => {
    const oru = [
      'MSH|^~\\&|LAB|HOSP|EHR|HOSP|20250101120000+0300||ORU^R01^ORU_R01|M1|P|2.5.1',
      'PID|1||P1^^^HOSP^MR||DOE^JANE',
      'OBR|1|PL1|FI1^LAB|11502-2^Lab report^LN|||20250101110000+0300',
      'OBX|1|FT|11502-2^Lab report^LN||see C:\\E\\.br\\E\\x\\.br\\next line||||||F',
      'NTE|1||path \\E\\.br\\E\\ kept',
    ].join('\r');
    const bundle = hl7ToFhirTransaction(parseHl7(oru));
    const obs = bundle.entry!.map((e) => e.resource).find((r) => r?.resourceType === 'Observation') as { valueString?: string };
    assert.equal(obs.valueString, 'see C:\\.br\\x\nnext line');
    assert.ok(JSON.stringify(bundle).includes('path \\\\.br\\\\ kept'), 'the NTE keeps its literal backslashes');
  });

  it('formattedText turns FT commands into text', () => {
    assert.equal(formattedText('a\\.br\\b\\.sp2\\c\\.ce\\d\\X0D0A\\e\\H\\f\\N\\'), 'a\nb\n\nc' + 'd\r\ne' + 'f');
  });

  it('decimal accepts plain numbers only', () => {
    assert.equal(decimal(' 4.50 '), 4.5);
    assert.equal(decimal('-.5'), -0.5);
    assert.equal(decimal('1e3'), undefined);
    assert.equal(decimal('<5'), undefined);
  });

  it('asInstant keeps only values with a time and zone', () => {
    assert.equal(asInstant('2025-01-01'), undefined);
    assert.equal(asInstant('2025-01-01T10:00:00+03:00'), '2025-01-01T10:00:00+03:00');
  });

  it('reference ranges: a-b, a to b, <b, >=a, free text', () => {
    assert.deepEqual(referenceRange(obx('1|NM|X||1|mg^^UCUM|3.5 - 5.0'))?.low, { value: 3.5, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' });
    assert.deepEqual(referenceRange(obx('1|NM|X||1||13 to 18'))?.high, { value: 18 });
    assert.deepEqual(referenceRange(obx('1|NM|X||1||<7800')), { text: '<7800', high: { value: 7800 } });
    assert.deepEqual(referenceRange(obx('1|NM|X||1||>=60')), { text: '>=60', low: { value: 60 } });
    assert.deepEqual(referenceRange(obx('1|NM|X||1||negative')), { text: 'negative' });
    assert.equal(referenceRange(obx('1|NM|X||1')), undefined);
  });

  it('units: UCUM system only when OBX-6.3 says so', () => {
    assert.deepEqual(unitsOf(obx('1|NM|X||1|mg/dL^milligram per deciliter^UCUM')), { unit: 'milligram per deciliter', system: 'http://unitsofmeasure.org', code: 'mg/dL' });
    assert.deepEqual(unitsOf(obx('1|NM|X||1|beats/min^^ISO')), { unit: 'beats/min' });
  });

  it('status tables: OBX-11 (0085) and OBR-25 (0123)', () => {
    assert.deepEqual(['F', 'P', 'C', 'X', 'D', 'W', 'R', 'I', '', 'Q'].map((c) => observationStatus(c || undefined)), [
      'final', 'preliminary', 'corrected', 'cancelled', 'entered-in-error', 'entered-in-error', 'preliminary', 'registered', 'unknown', 'unknown',
    ]);
    assert.deepEqual(['F', 'P', 'C', 'X', 'A', 'R', 'O'].map(reportStatus), ['final', 'preliminary', 'corrected', 'cancelled', 'partial', 'preliminary', 'registered']);
  });

  it('interpretation: v3 codes keep the v3 system, others v2-0078', () => {
    const cc = interpretations(obx('1|NM|X||1|||HH~A^Abnormal~ZZ'));
    assert.deepEqual(cc.map((c) => [c.coding?.[0].system?.split('/').pop(), c.coding?.[0].code, c.coding?.[0].display]), [
      ['v3-ObservationInterpretation', 'HH', undefined],
      ['v3-ObservationInterpretation', 'A', 'Abnormal'],
      ['v2-0078', 'ZZ', undefined],
    ]);
  });

  it('groupOrders: OBX and NTE go to the right order and specimen; leading SPM go to the next order', () => {
    const m = msg('PID|1||1\rOBX|1|ST|P^Patient^L||x\rSPM|1|S1\rORC|RE|1\rOBR|1|1||A^A^L\rNTE|1||order note\rOBX|1|NM|B^B^L||1\rNTE|1||obx note\rSPM|2|S2\rOBX|1|NM|C^C^L||2\rOBR|2|2||D^D^L\rOBX|1|NM|E^E^L||3\r');
    const { leading, groups } = groupOrders(m.segments());
    assert.equal(leading.length, 1);
    assert.equal(groups.length, 2);
    assert.equal(groups[0].notes.length, 1);
    assert.equal(groups[0].observations.length, 1);
    assert.equal(groups[0].observations[0].notes[0].get('3'), 'obx note');
    assert.deepEqual(groups[0].specimens.map((s) => s.spm.get('2')), ['S1', 'S2']);
    assert.equal(groups[0].specimens[1].observations.length, 1);
    assert.equal(groups[1].obr?.get('4.1'), 'D');
    assert.equal(groups[1].observations.length, 1);
  });

  it('derived Observation keys count repeats of the same code and sub-id, not OBX-1', () => {
    const m = msg('OBX|1|TX|N^Note^L|1|a\rOBX|2|TX|N^Note^L|1|b\rOBX|7|NM|G^G^L|2|1\r');
    const keys = derivedObservationKeys({ system: 's', value: 'F1' }, m.segments('OBX').map((o) => ({ obx: o, notes: [] })));
    assert.deepEqual(keys.map((k) => k.value), ['F1/N/1/1', 'F1/N/1/2', 'F1/G/2/1']);
  });
});
