/** Note text extraction: charsets, HTML/XHTML structure, PDF text layer or not-extracted. */
import assert from 'node:assert/strict';
import iconv from 'iconv-lite';
import { compositionNotes } from '../../../../connectors/fhir/sync/notes';
import { extractText, parseContentType } from '../../../../connectors/fhir/sync/extract-text';
import { minimalPdf } from './support';

describe('extractText', () => {
  it('decodes text/plain in the named charset, UTF-8 by default', async () => {
    assert.deepEqual(await extractText(iconv.encode('Température', 'latin1'), 'text/plain; charset=ISO-8859-1'), { extraction: 'extracted', text: 'Température' });
    assert.equal((await extractText(iconv.encode('“quoted” €5', 'windows-1252'), 'text/plain;charset="windows-1252"')).text, '“quoted” €5');
    assert.equal((await extractText(Buffer.from('\ufeffمرحبا', 'utf8'), 'text/plain')).text, 'مرحبا');
    assert.deepEqual(await extractText(Buffer.from('x'), 'text/plain; charset=x-unknown'), { extraction: 'not-extracted', reason: 'unsupported-charset' });
  });

  it('turns HTML and XHTML into text with paragraphs and list items', async () => {
    const html = '<html><head><style>p{}</style></head><body><p>First</p><p>Second <a href="http://x/secret">link</a></p><ol><li>one</li><li>two</li></ol></body></html>';
    assert.equal((await extractText(Buffer.from(html), 'text/html; charset=utf-8')).text, 'First\n\nSecond link\n\n 1. one\n 2. two');
    const xhtml = '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><p>A</p><ul><li>b</li></ul></body></html>';
    assert.equal((await extractText(Buffer.from(xhtml), 'application/xhtml+xml')).text, 'A\n\n * b');
  });

  it('reads a PDF text layer; a PDF without one, or a broken one, is not extracted', async () => {
    assert.deepEqual(await extractText(minimalPdf('Discharge (stable)'), 'application/pdf'), { extraction: 'extracted', text: 'Discharge (stable)' });
    const blank = Buffer.from(minimalPdf('').toString('latin1').replace('BT /F1 12 Tf 72 720 Td () Tj ET', '0 0 m 10 10 l S            '), 'latin1');
    assert.deepEqual(await extractText(blank, 'application/pdf'), { extraction: 'not-extracted', reason: 'no-text-layer' });
    assert.deepEqual(await extractText(Buffer.from('%PDF-1.4 garbage'), 'application/pdf'), { extraction: 'not-extracted', reason: 'pdf-unreadable' });
  });

  it('does not extract other types', async () => {
    assert.deepEqual(await extractText(Buffer.from([1, 2]), 'image/png'), { extraction: 'not-extracted', reason: 'unsupported-type' });
    assert.deepEqual(parseContentType(undefined), { type: 'application/octet-stream' });
  });
});

describe('compositionNotes', () => {
  it('gives one note per section narrative (nested too), else the Composition narrative', () => {
    const div = (t: string) => ({ status: 'generated' as const, div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${t}</p></div>` });
    const notes = compositionNotes({
      resourceType: 'Composition', id: 'c1', status: 'final', type: {}, date: '2026-01-01', author: [], title: 'T',
      section: [{ title: 'A', text: div('a'), section: [{ title: 'B', text: div('b') }] }, { title: 'empty' }],
    });
    assert.deepEqual(notes.map((n) => [n.source, n.title, n.text]), [['Composition/c1#section[0]', 'A', 'a'], ['Composition/c1#section[0].section[0]', 'B', 'b']]);
    const only = compositionNotes({ resourceType: 'Composition', id: 'c2', status: 'final', type: {}, date: '2026-01-01', author: [], title: 'T', text: div('whole') });
    assert.deepEqual(only.map((n) => [n.source, n.text]), [['Composition/c2#text', 'whole']]);
  });
});
