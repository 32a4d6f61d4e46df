/**
 * The clinical notes of one Encounter: each Composition section with a narrative, and each
 * DocumentReference attachment (inline base64 `data`, a `url` absolute or relative to the FHIR
 * base, or a `Binary/<id>` reference read as a Binary). A resource with nothing but a narrative
 * (`text.div`) gives that narrative.
 *
 * An attachment that cannot be fetched (404, server down) throws: the Encounter then fails and is
 * retried by the next run, instead of being stored without the note.
 */
import type { Attachment, Binary, Composition, CompositionSection, DocumentReference, Narrative } from '@medplum/fhirtypes';
import { IntegrationError } from '../../../common/errors';
import { extractText, htmlToText } from './extract-text';
import type { ExtractedNote, FhirReader } from './types';

const NARRATIVE_TYPE = 'application/xhtml+xml';

function narrativeText(text: Narrative | undefined): string | undefined {
  if (!text?.div) return undefined;
  const out = htmlToText(text.div);
  return out || undefined;
}

/** `Binary/abc`, `Binary/abc/_history/2`, or `<base>/Binary/abc`: the id; else undefined. */
export function binaryIdOf(url: string, baseUrl?: string): string | undefined {
  let rest = url;
  if (baseUrl && url.startsWith(`${baseUrl.replace(/\/+$/, '')}/`)) rest = url.slice(baseUrl.replace(/\/+$/, '').length + 1);
  const m = /^Binary\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(rest);
  return m?.[1];
}

function isBinary(value: unknown): value is Binary {
  return typeof value === 'object' && value !== null && (value as { resourceType?: unknown }).resourceType === 'Binary';
}

/** Bytes and content type of an attachment; undefined when it has neither data nor url. */
async function attachmentBytes(
  reader: FhirReader,
  attachment: Attachment,
  where: string,
  baseUrl?: string,
): Promise<{ bytes: Uint8Array; contentType?: string } | undefined> {
  if (attachment.data !== undefined) return { bytes: Buffer.from(attachment.data, 'base64'), contentType: attachment.contentType };
  if (!attachment.url) return undefined;
  const binaryId = binaryIdOf(attachment.url, baseUrl);
  let fetched: { bytes: Uint8Array; contentType?: string; charset?: string };
  try {
    if (binaryId) {
      const binary = await reader.read('Binary', binaryId);
      if (!isBinary(binary)) throw new IntegrationError('FHIR_SYNC_NOT_BINARY', `${where}: Binary/${binaryId} is not a Binary`);
      return { bytes: Buffer.from(binary.data ?? '', 'base64'), contentType: attachment.contentType ?? binary.contentType };
    }
    fetched = await reader.fetchUrl(attachment.url);
  } catch (err) {
    const e = err as { code?: string };
    // Keep the classified code; the message names the note, not the URL (it may carry identifiers).
    throw new IntegrationError('FHIR_SYNC_ATTACHMENT', `${where}: attachment could not be fetched (${e.code ?? 'error'})`, { cause: err });
  }
  // A FHIR server may answer a Binary URL with the Binary resource as JSON.
  const type = fetched.contentType?.split(';')[0].trim().toLowerCase();
  if (type === 'application/fhir+json' || type === 'application/json') {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(fetched.bytes).toString('utf8'));
      if (isBinary(parsed)) return { bytes: Buffer.from(parsed.data ?? '', 'base64'), contentType: attachment.contentType ?? parsed.contentType };
    } catch {
      // Not JSON after all: treat as the attachment's own bytes.
    }
  }
  const served = fetched.charset && fetched.contentType && !/;\s*charset=/i.test(fetched.contentType)
    ? `${fetched.contentType}; charset=${fetched.charset}`
    : fetched.contentType;
  return { bytes: fetched.bytes, contentType: attachment.contentType ?? served };
}

/** Notes of a DocumentReference: one per attachment, or its narrative when it has none. */
export async function documentReferenceNotes(reader: FhirReader, doc: DocumentReference, baseUrl?: string): Promise<ExtractedNote[]> {
  const notes: ExtractedNote[] = [];
  const id = doc.id ?? 'unknown';
  for (const [i, content] of (doc.content ?? []).entries()) {
    const source = `DocumentReference/${id}#content[${i}]`;
    const got = await attachmentBytes(reader, content.attachment ?? {}, source, baseUrl);
    if (!got) continue;
    const contentType = got.contentType ?? 'application/octet-stream';
    const result = await extractText(got.bytes, contentType);
    notes.push({
      source,
      resourceType: 'DocumentReference',
      resourceId: id,
      title: content.attachment?.title ?? doc.description,
      contentType: contentType.split(';')[0].trim().toLowerCase(),
      text: result.text,
      extraction: result.extraction,
      reason: result.reason,
      bytes: result.extraction === 'not-extracted' ? got.bytes : undefined,
    });
  }
  if (notes.length === 0) {
    const text = narrativeText(doc.text);
    if (text) {
      notes.push({ source: `DocumentReference/${id}#text`, resourceType: 'DocumentReference', resourceId: id, title: doc.description, contentType: NARRATIVE_TYPE, text, extraction: 'extracted' });
    }
  }
  return notes;
}

function walkSections(sections: CompositionSection[] | undefined, prefix: string, out: { path: string; section: CompositionSection }[]): void {
  for (const [i, section] of (sections ?? []).entries()) {
    const path = `${prefix}section[${i}]`;
    out.push({ path, section });
    walkSections(section.section, `${path}.`, out);
  }
}

/** Notes of a Composition: one per section with a narrative (nested sections too), or its own narrative. */
export function compositionNotes(composition: Composition): ExtractedNote[] {
  const id = composition.id ?? 'unknown';
  const sections: { path: string; section: CompositionSection }[] = [];
  walkSections(composition.section, '', sections);
  const notes: ExtractedNote[] = [];
  for (const { path, section } of sections) {
    const text = narrativeText(section.text);
    if (!text) continue;
    notes.push({ source: `Composition/${id}#${path}`, resourceType: 'Composition', resourceId: id, title: section.title ?? composition.title, contentType: NARRATIVE_TYPE, text, extraction: 'extracted' });
  }
  if (notes.length === 0) {
    const text = narrativeText(composition.text);
    if (text) notes.push({ source: `Composition/${id}#text`, resourceType: 'Composition', resourceId: id, title: composition.title, contentType: NARRATIVE_TYPE, text, extraction: 'extracted' });
  }
  return notes;
}
