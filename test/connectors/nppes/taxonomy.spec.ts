/**
 * NUCC taxonomy lookup from the shipped CSV: the copy is byte-identical to the shared fixture,
 * codes resolve to classification / specialization / display, every taxonomy in the NPPES
 * fixtures resolves, and the CSV reader copes with quoted commas, quotes and line breaks.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../../common/errors';
import { TAXONOMY_CODE, loadTaxonomyCsv, lookupTaxonomy, parseCsv, taxonomyCount, taxonomyCsvPath, taxonomyDisplay } from '../../../connectors/nppes/taxonomy';
import { fixtureRecords } from '../../simulators/nppes/server';
import { FIXTURES_DIR } from '../../transformers/fixtures';

describe('connectors/nppes taxonomy (NUCC)', () => {
  it('ships a byte-identical copy of shared/fixtures/reference-data/nucc_provider_taxonomy.csv', () => {
    const shipped = fs.readFileSync(taxonomyCsvPath());
    const shared = fs.readFileSync(path.join(FIXTURES_DIR, 'reference-data', 'nucc_provider_taxonomy.csv'));
    assert.ok(shipped.equals(shared));
  });

  it('loads every code of the list, each of the NUCC shape', () => {
    assert.equal(taxonomyCount(), 874);
    const codes = parseCsv(fs.readFileSync(taxonomyCsvPath(), 'utf8')).slice(1).map((r) => r[0]);
    assert.ok(codes.every((c) => TAXONOMY_CODE.test(c)));
  });

  it('resolves a classification and a specialization, preferring the Display Name', () => {
    assert.deepEqual(lookupTaxonomy('207R00000X'), {
      code: '207R00000X', grouping: 'Allopathic & Osteopathic Physicians', classification: 'Internal Medicine', display: 'Internal Medicine Physician', section: 'Individual',
    });
    const cardio = lookupTaxonomy('207rc0000x');
    assert.equal(cardio?.classification, 'Internal Medicine');
    assert.equal(cardio?.specialization, 'Cardiovascular Disease');
    assert.equal(lookupTaxonomy('193400000X')?.display, 'Single Specialty Group');
  });

  it('falls back to NPPES desc, then the code, for a code not in the list', () => {
    assert.equal(lookupTaxonomy('999999999X'), undefined);
    assert.equal(taxonomyDisplay('999999999X', 'Retired Thing'), 'Retired Thing');
    assert.equal(taxonomyDisplay('999999999X'), '999999999X');
    assert.equal(taxonomyDisplay('207Q00000X', 'Family Medicine'), 'Family Medicine Physician');
  });

  it('resolves every taxonomy code in the NPPES fixtures', () => {
    const codes = new Set(fixtureRecords().flatMap((r) => ((r.taxonomies ?? []) as { code: string }[]).map((t) => t.code)));
    assert.ok(codes.size > 20);
    for (const code of codes) assert.ok(lookupTaxonomy(code), code);
  });

  it('without Display Name: classification, specialization', () => {
    const t = loadTaxonomyCsv('Code,Grouping,Classification,Specialization\r\n111100000X,G,Class,Spec\r\n222200000X,G,Only,\r\n');
    assert.equal(t.get('111100000X')?.display, 'Class, Spec');
    assert.equal(t.get('222200000X')?.display, 'Only');
  });

  it('parses quoted fields with commas, doubled quotes and line breaks; CRLF and LF; BOM', () => {
    assert.deepEqual(parseCsv('\ufeffa,"b, c","say ""hi""","two\nlines"\r\nx,y,,z\n'), [
      ['a', 'b, c', 'say "hi"', 'two\nlines'],
      ['x', 'y', '', 'z'],
    ]);
    assert.deepEqual(parseCsv('a,b'), [['a', 'b']]);
  });

  it('a CSV without the Code column is a ValidationError', () => {
    assert.throws(() => loadTaxonomyCsv('Foo,Bar\n1,2\n'), (e: unknown) => e instanceof ValidationError && e.path === 'Code');
  });
});
