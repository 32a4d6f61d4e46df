import assert from 'node:assert/strict';
import type { DocumentReference, ServiceRequest } from '@medplum/fhirtypes';
import { all, assertValid, bundleOf, rejection } from './helpers';

const MDM = (trigger: string, txa: string, obx = 'OBX|1|FT|11506-3^Progress note^LN||Première ligne\\.br\\Second \\T\\ line||||||F') =>
  `MSH|^~\\&|DOC|FAC|R|RF|20250101120000+0300||MDM^${trigger}^MDM_${trigger}|C1|P|2.5.1\rEVN|${trigger}|20250101120000+0300\rPID|1||P1^^^HOSP^MR||DOE^JANE\r${txa}\r${obx}\r`;

const text = (doc: DocumentReference, i = 0) => Buffer.from(doc.content[i].attachment.data!, 'base64').toString('utf8');

describe('transformers/hl7v2/fhir/documents', () => {
  describe('every MDM fixture gives a valid transaction Bundle', () => {
    for (const name of ['mscvt_MDM-T02-01.hl7', 'mscvt_MDM-T02-03.hl7', 'rethink_mdm-t02-document.hl7']) {
      it(name, () => {
        const b = bundleOf(name);
        assertValid(b);
        assert.equal(all<DocumentReference>(b, 'DocumentReference').length, 1);
      });
    }
  });

  it('rethink T02: type from table 0270, docStatus final, OBX text as base64 text/plain, MSH-10 key without TXA-12', () => {
    const b = bundleOf('rethink_mdm-t02-document.hl7');
    const [doc] = all<DocumentReference>(b, 'DocumentReference');
    assert.deepEqual(doc.type?.coding?.[0], { system: 'http://terminology.hl7.org/CodeSystem/v2-0270', code: 'HP', display: 'History and Physical' });
    assert.equal(doc.docStatus, 'final');
    assert.equal(doc.status, 'current');
    assert.equal(doc.content[0].attachment.contentType, 'text/plain; charset=utf-8');
    assert.equal(text(doc), 'Patient presents with complaints of persistent headaches for the past 2 weeks.');
    assert.deepEqual(doc.masterIdentifier, { system: 'urn:wasl:hl7-control-id:HOSP_A', value: 'DOC00001/document' });
    assert.equal(doc.context?.period?.start, '2026-03-22');
  });

  it('multi-OBX T02: 29 TX lines joined in order; TXA-12 keys the upsert; order related', () => {
    const b = bundleOf('mscvt_MDM-T02-03.hl7');
    const [doc] = all<DocumentReference>(b, 'DocumentReference');
    const lines = text(doc).split('\n');
    assert.equal(lines.length, 29);
    assert.equal(lines[0], 'Toilet cylinder crackers model step-mother visor opening communication');
    assert.equal(lines[28], 'Reminder shofar congo vibration mother-in-law bondsman suspect');
    assert.equal(doc.masterIdentifier?.value, '2RWRVAJ627408');
    assert.equal(doc.date, '2021-08-03T00:00:00+02:15'); // TXA-6 transcription time
    assert.equal(doc.type?.coding?.[0].code, 'DS');
    const entry = b.entry!.find((e) => e.resource === doc)!;
    assert.equal(entry.request?.url, 'DocumentReference?identifier=urn%3Awasl%3Asending-facility%3ASFAC|2RWRVAJ627408');
    assert.equal(all<ServiceRequest>(b, 'ServiceRequest').length, 1);
    assert.ok(doc.context?.related?.[0].reference?.startsWith('urn:uuid:'));
  });

  it('ED content keeps its MIME type; FT line breaks, escapes and non-ASCII text survive base64', () => {
    const [pdfDoc] = all<DocumentReference>(bundleOf('mscvt_MDM-T02-01.hl7'), 'DocumentReference');
    assert.ok(pdfDoc.content.some((c) => c.attachment.contentType === 'application/pdf'));
    assert.equal(pdfDoc.masterIdentifier?.value, '1.2.840.317.5947431.51.20080131160038');
    const txa = 'TXA|1|CN^Consult^HL70270|FT|202501011100+0300||202501011130+0300||||||DOC-9^EHR|||||LA||AV';
    const [doc] = all<DocumentReference>(bundleOf(MDM('T02', txa)), 'DocumentReference');
    assert.equal(text(doc), 'Première ligne\nSecond & line');
    assert.equal(doc.docStatus, 'final');
    assert.equal(doc.date, '2025-01-01T11:30:00+03:00');
    assert.equal(doc.masterIdentifier?.system, 'urn:wasl:assigning-authority:EHR');
    const ed = MDM('T02', txa, 'OBX|1|ED|PDF^Scan^L||EHR^application^pdf^Base64^JVBERi0xLjQK||||||F');
    assert.deepEqual(all<DocumentReference>(bundleOf(ed), 'DocumentReference')[0].content[0].attachment, {
      contentType: 'application/pdf', data: 'JVBERi0xLjQK', title: 'Scan', creation: '2025-01-01T11:30:00+03:00',
    });
  });

  it('replacement, cancel and obsolete events; other events need TXA-12', () => {
    const txa = (status: string) => `TXA|1|CN|TX|202501011100+0300||||||||DOC-10^EHR|DOC-9^EHR||||LA||${status}`;
    const replaced = all<DocumentReference>(bundleOf(MDM('T10', txa('AV'))), 'DocumentReference')[0];
    assert.deepEqual(replaced.relatesTo, [{ code: 'replaces', target: { identifier: { system: 'urn:wasl:assigning-authority:EHR', value: 'DOC-9' } } }]);
    assert.equal(all<DocumentReference>(bundleOf(MDM('T11', txa('AV'))), 'DocumentReference')[0].status, 'entered-in-error');
    assert.equal(all<DocumentReference>(bundleOf(MDM('T04', txa('OB'))), 'DocumentReference')[0].status, 'superseded');
    const err = rejection(() => bundleOf(MDM('T08', 'TXA|1|CN|TX')));
    assert.equal(err.path, 'TXA-12');
    assert.equal(err.details?.hl7ErrorCode, 101);
    assert.equal(rejection(() => bundleOf(MDM('T02', 'NTE|1||x'))).path, 'TXA-12');
  });
});
