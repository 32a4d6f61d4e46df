/**
 * FHIR JSON masking on every FHIR and NPHIES fixture: no name, identifier value, birth date,
 * address, telecom value or narrative survives, and the resource keeps its shape.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hl7ToFhirTransaction } from '../../../transformers/hl7v2/fhir';
import { parseHl7 } from '../../../transformers/hl7v2/parse';
import { MASK, maskContent, maskFhir } from '../../../transformers/masking';
import { FIXTURES_DIR } from '../fixtures';

const JSON_FIXTURES = ['fhir-r4', 'nphies'].flatMap((dir) =>
  readdirSync(join(FIXTURES_DIR, dir))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f)),
);

/**
 * The PHI an unmasked view would show, collected by the test's own walk: strings under a
 * HumanName (family, given, text), birthDate, identifier and telecom values, address lines,
 * cities and postal codes, and the narrative's XHTML.
 */
function isPhi(key: string, parentKey: string, value: string): boolean {
  const phi =
    (['family', 'given'].includes(key) && parentKey === 'name') ||
    key === 'birthDate' ||
    (key === 'value' && ['identifier', 'telecom'].includes(parentKey)) ||
    (['line', 'city', 'postalCode'].includes(key) && parentKey === 'address') ||
    key === 'div';
  return phi && value.length >= 3;
}

function phiValues(value: unknown, key = '', parentKey = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => phiValues(v, key, parentKey));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => phiValues(v, k, key));
  return typeof value === 'string' && isPhi(key, parentKey, value) ? [value] : [];
}

/** The original with its PHI values emptied: where such a value may also appear legitimately (a resource id equal to an identifier). */
function withoutPhi(value: unknown, key = '', parentKey = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => withoutPhi(v, key, parentKey));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutPhi(v, k, key)]));
  return typeof value === 'string' && isPhi(key, parentKey, value) ? '' : value;
}

function leakedPhi(original: unknown, masked: string): string[] {
  const elsewhere = JSON.stringify(withoutPhi(original));
  const inJson = (text: string, v: string) => text.includes(v) || text.includes(JSON.stringify(v).slice(1, -1));
  return phiValues(original).filter((v) => inJson(masked, v) && !inJson(elsewhere, v));
}

/** Equal keys at every level and equal array lengths: the masked copy has the original's shape. */
function assertSameShape(a: unknown, b: unknown, at = '$'): void {
  if (Array.isArray(a)) {
    assert.ok(Array.isArray(b), at);
    assert.equal(b.length, a.length, at);
    a.forEach((v, i) => assertSameShape(v, b[i], `${at}[${i}]`));
  } else if (a !== null && typeof a === 'object') {
    assert.ok(b !== null && typeof b === 'object' && !Array.isArray(b), at);
    assert.deepEqual(Object.keys(b as object), Object.keys(a), at);
    for (const k of Object.keys(a)) assertSameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
  }
}

describe('transformers/masking FHIR JSON', () => {
  for (const file of JSON_FIXTURES) {
    it(`masks ${file}`, () => {
      const text = readFileSync(join(FIXTURES_DIR, file), 'utf8');
      const original: unknown = JSON.parse(text);
      const masked = maskContent(text);
      assert.equal(masked.format, 'fhir-json');
      assert.deepEqual(leakedPhi(original, masked.text), []);
      assert.ok(phiValues(original).length > 0 || !/"(name|identifier|birthDate|address|telecom|text)"/.test(text), 'the walk finds the PHI there is');
      assertSameShape(original, JSON.parse(masked.text));
    });
  }

  it('masks what the test walk does not look for either: displays of references, conditional URLs, notes, attachments', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: {
            resourceType: 'Observation',
            subject: { reference: 'Patient/p1', display: 'Peter James Chalmers' },
            code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }], text: 'Glucose' },
            valueQuantity: { value: 6.3, unit: 'mmol/l' },
            note: [{ text: 'Patient says Jim brought him in', time: '2025-01-01' }],
          },
          request: { method: 'PUT', url: 'Observation?identifier=http://acme.org|obs-1&patient.identifier=MRN77' },
        },
        {
          resource: {
            resourceType: 'Patient',
            extension: [
              { url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: 'Lorie Smith' },
              { url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace', valueAddress: { city: 'Boston', state: 'MA' } },
              { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'M' },
            ],
            photo: [{ contentType: 'image/jpeg', data: 'AAAA' }],
            gender: 'male',
          },
          request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=http://acme.org/mrn|MRN77' },
        },
      ],
    };
    const masked = maskFhir(bundle) as typeof bundle;
    const obs = masked.entry[0].resource as (typeof bundle.entry)[0]['resource'];
    assert.deepEqual(obs.subject, { reference: 'Patient/p1', display: MASK });
    assert.deepEqual(obs.code, bundle.entry[0].resource.code, 'codes and their displays stay');
    assert.deepEqual(obs.valueQuantity, { value: 6.3, unit: 'mmol/l' }, 'results stay');
    assert.deepEqual(obs.note, [{ text: MASK, time: MASK }]);
    assert.equal(masked.entry[0].request.url, 'Observation?identifier=***&patient.identifier=***');
    assert.equal(masked.entry[1].request.ifNoneExist, 'identifier=***');
    const patient = masked.entry[1].resource as unknown as { extension: Array<Record<string, unknown>>; photo: unknown; gender: string };
    assert.equal(patient.extension[0].valueString, MASK);
    assert.deepEqual(patient.extension[1].valueAddress, { city: MASK, state: MASK });
    assert.equal(patient.extension[2].valueCode, 'M');
    assert.deepEqual(patient.photo, [{ contentType: 'image/jpeg', data: MASK }]);
    assert.equal(patient.gender, 'male');
    assert.equal(JSON.stringify(bundle).includes('Chalmers'), true, 'the input is not changed');
  });

  it('masks each line of bulk NDJSON', () => {
    const text = readFileSync(join(FIXTURES_DIR, 'fhir-r4', 'synthea_Patient_first3.ndjson'), 'utf8');
    const masked = maskContent(text);
    assert.equal(masked.format, 'fhir-ndjson');
    const originals = text.trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(originals.flatMap((o) => leakedPhi(o, masked.text)), []);
    assert.equal(masked.text.split('\n').length, 3);
  });

  it('masks the base64 clinical note of a DocumentReference', () => {
    const text = readFileSync(join(FIXTURES_DIR, 'fhir-r4', 'synthea_DocumentReference_line928.json'), 'utf8');
    const doc = JSON.parse(text) as { content: Array<{ attachment: { data: string } }> };
    const masked = JSON.parse(maskContent(text).text) as typeof doc;
    assert.ok(doc.content[0].attachment.data.length > 100);
    assert.equal(masked.content[0].attachment.data, MASK);
  });

  it('masks whole what is not FHIR: other JSON, CSV, XML, text', () => {
    for (const text of [
      readFileSync(join(FIXTURES_DIR, 'nppes', 'nppes_api_npi1_search_10.json'), 'utf8'),
      readFileSync(join(FIXTURES_DIR, 'nppes', 'nppes_csv_sample_organizations.csv'), 'utf8'),
      '<Patient xmlns="http://hl7.org/fhir"><name><family value="Chalmers"/></name></Patient>',
      'Peter Chalmers, MRN 12345',
      '[]',
      '{"resourceType": 12}',
    ]) {
      assert.deepEqual(maskContent(text), { text: MASK, format: 'other' });
    }
  });
});

/**
 * What Wasl itself writes: every HL7 v2 fixture that maps to FHIR, mapped, then masked. No value
 * of PID-3 (the patient's identifiers) may be left anywhere in the masked Bundle, including inside
 * Wasl's own identifier systems that scope a key by its owner (`urn:wasl:subscriber:...%7CMRN`).
 */
describe('transformers/masking: FHIR that Wasl maps from HL7 v2', () => {
  const dir = join(FIXTURES_DIR, 'hl7v2');
  // Batches and invalid messages do not map to one Bundle; the mapping tests cover them.
  const mappable = readdirSync(dir)
    .filter((f) => f.endsWith('.hl7'))
    .flatMap((file) => {
      try {
        const msg = parseHl7(readFileSync(join(dir, file), 'latin1'));
        return [{ file, msg, bundle: hl7ToFhirTransaction(msg) }];
      } catch {
        return [];
      }
    });

  it('maps enough fixtures to mean something', () => assert.ok(mappable.length >= 40, `only ${mappable.length} fixtures mapped`));

  for (const { file, msg, bundle } of mappable) {
    it(`leaves no patient identifier of ${file}`, () => {
      const ids = msg
        .segments('PID')
        .flatMap((pid) => pid.getAll('3.1'))
        .filter((v) => v.length >= 3);
      const masked = JSON.stringify(maskFhir(bundle));
      for (const id of ids) {
        const encoded = encodeURIComponent(id);
        assert.ok(!masked.includes(`"${id}"`) && !masked.includes(`|${id}`) && !masked.includes(`%7C${encoded}`), `${file}: PID-3 value ${id} is left in the masked Bundle`);
      }
    });
  }
});
