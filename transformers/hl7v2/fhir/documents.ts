/**
 * MDM^T01-T11 (medical documents) -> DocumentReference, Patient, Encounter, and the order the
 * document answers (ORC/OBR -> ServiceRequest, conditional create) (IG segment-txa-to-documentreference,
 * segment-obx-to-documentreference).
 *
 * | v2 | DocumentReference |
 * |---|---|
 * | TXA-12 unique document number (EI) | masterIdentifier and identifier; the upsert key |
 * | TXA-16 unique document file name | identifier |
 * | TXA-14 / TXA-15 placer / filler order number | identifier PLAC / FILL |
 * | TXA-2 document type (table 0270) | type |
 * | TXA-17 completion status (table 0271) | docStatus: AU/LA -> final, DI/DO/IP/IN/PA -> preliminary |
 * | TXA-19 availability (table 0275), trigger | status: OB -> superseded, CA or T11 (cancel) -> entered-in-error, else current |
 * | TXA-18 confidentiality (table 0272) | securityLabel (v3-Confidentiality V/R/N) |
 * | TXA-4 activity date | context.period.start |
 * | TXA-6 transcription date, else TXA-4 | date (an instant: only when it has a time and zone) |
 * | TXA-5 / TXA-9 (XCN) | author (Practitioner) |
 * | TXA-22 (PPN) | authenticator |
 * | TXA-13 parent document number | relatesTo (T03/T05/T06 appends, T09/T10 replaces, T07 transforms) as a logical reference |
 * | OBX-5 TX/FT/ST lines | one content.attachment, text/plain UTF-8, base64 (FT `\.br\` -> line break) |
 * | OBX-5 ED | content.attachment with ED-2/ED-3 as MIME type and ED-5 data |
 * | OBX-5 RP | content.attachment.url |
 *
 * Deviation: TXA-12 is required by v2, but some senders leave it empty on an original document
 * (T01/T02). Then the key is MSH-10, which a resend repeats; for other events (which must name an
 * existing document) a missing TXA-12 is a 101.
 */
import type { Attachment, DocumentReference } from '@medplum/fhirtypes';
import { leaf } from '../v2-datatypes';
import {
  addServiceRequest,
  asInstant,
  concept,
  contentError,
  controlIdKey,
  dateTimeAt,
  edAttachment,
  encounterRef,
  groupOrders,
  observationValue,
  type OrderRefs,
  orderIds,
  patientRef,
  practitionerRef,
  readEi,
  type Ref,
  rpAttachment,
  typed,
} from './clinical';
import type { MapperTable, MappingContext } from './types';

const DOC_STATUS: Record<string, DocumentReference['docStatus']> = { AU: 'final', LA: 'final', DI: 'preliminary', DO: 'preliminary', IP: 'preliminary', IN: 'preliminary', PA: 'preliminary' };
const CONFIDENTIALITY: Record<string, [string, string]> = { V: ['V', 'very restricted'], R: ['R', 'restricted'], U: ['N', 'normal'] };
const RELATION: Record<string, 'replaces' | 'transforms' | 'appends'> = { T03: 'appends', T05: 'appends', T06: 'appends', T07: 'transforms', T09: 'replaces', T10: 'replaces' };
const ORIGINAL = new Set(['T01', 'T02']);

function mapDocument(ctx: MappingContext): void {
  const { msg } = ctx;
  const trigger = msg.header.triggerEvent;
  const txa = msg.segment('TXA');
  if (!txa) throw contentError(101, 'TXA', 12, 'TXA segment is required for MDM');
  const unique = readEi(ctx, txa, 12);
  if (!unique && !ORIGINAL.has(trigger)) throw contentError(101, 'TXA', 12, `TXA-12 unique document number is required for MDM^${trigger}`);
  const key = unique ?? controlIdKey(ctx, 'document');

  const patient = patientRef(ctx);
  const encounter = encounterRef(ctx, patient);
  const refs: OrderRefs = encounter ? { patient, encounter } : { patient };

  const identifier = [unique ?? key];
  const fileName = leaf(txa, 16);
  if (fileName) identifier.push({ system: key.system, value: fileName });
  const placer = readEi(ctx, txa, 14);
  const filler = readEi(ctx, txa, 15);
  if (placer) identifier.push(typed(placer, 'PLAC', 'Placer Identifier'));
  if (filler) identifier.push(typed(filler, 'FILL', 'Filler Identifier'));

  const availability = (leaf(txa, 19) ?? '').toUpperCase();
  const status: DocumentReference['status'] = trigger === 'T11' || availability === 'CA' ? 'entered-in-error' : availability === 'OB' ? 'superseded' : 'current';
  const doc: DocumentReference = {
    resourceType: 'DocumentReference',
    masterIdentifier: unique ?? key,
    identifier,
    status,
    subject: patient,
    content: [],
  };
  const docStatus = DOC_STATUS[(leaf(txa, 17) ?? '').toUpperCase()];
  if (docStatus) doc.docStatus = docStatus;
  const type = concept(txa, 2);
  if (type) doc.type = type;
  const activity = dateTimeAt(ctx, txa, 4);
  const date = asInstant(dateTimeAt(ctx, txa, 6)) ?? asInstant(activity);
  if (date) doc.date = date;
  const authors = [practitionerRef(ctx, txa, 5), practitionerRef(ctx, txa, 9)].filter((r): r is Ref => r !== undefined);
  if (authors.length) doc.author = authors;
  const authenticator = practitionerRef(ctx, txa, 22);
  if (authenticator) doc.authenticator = authenticator;
  const confidentiality = CONFIDENTIALITY[(leaf(txa, 18) ?? '').toUpperCase()];
  if (confidentiality) {
    doc.securityLabel = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: confidentiality[0], display: confidentiality[1] }] }];
  }
  const parent = readEi(ctx, txa, 13);
  const relation = RELATION[trigger];
  if (parent && relation) doc.relatesTo = [{ code: relation, target: { identifier: parent } }];

  const context: NonNullable<DocumentReference['context']> = {};
  if (encounter) context.encounter = [encounter];
  if (activity) context.period = { start: activity };
  const { groups } = groupOrders(msg.segments(), ['TXA']);
  const order = groups.find((g) => g.orc || g.obr);
  if (order) {
    const ids = orderIds(ctx, order, 1);
    context.related = [{ reference: addServiceRequest(ctx, order, ids, refs, { write: 'createIfNoneExist', defaultStatus: 'active' }) }];
  }
  if (Object.keys(context).length) doc.context = context;

  // Text lines make one plain-text attachment; ED and RP values are attachments of their own.
  const lines: string[] = [];
  const attachments: Attachment[] = [];
  for (const obx of msg.segments('OBX')) {
    const valueType = (leaf(obx, 2) ?? '').toUpperCase();
    if (valueType === 'ED') {
      const att = edAttachment(obx);
      if (att) attachments.push(att);
    } else if (valueType === 'RP') {
      const att = rpAttachment(obx);
      if (att) attachments.push(att);
    } else if (valueType === 'TX' || valueType === 'FT' || valueType === 'ST' || valueType === 'CE' || valueType === 'CWE' || valueType === '') {
      const v = observationValue(ctx, obx);
      const text = v?.valueString ?? v?.valueCodeableConcept?.text;
      if (text !== undefined) lines.push(text);
    }
  }
  if (lines.length) {
    attachments.unshift({ contentType: 'text/plain; charset=utf-8', data: Buffer.from(lines.join('\n'), 'utf8').toString('base64') });
  }
  if (attachments.length === 0) {
    // T01/T03 and friends announce a document without its content: keep a titled placeholder.
    attachments.push({ title: type?.text ?? fileName ?? 'document' });
  }
  for (const att of attachments) {
    if (!att.title && type?.text) att.title = type.text;
    if (date && !att.creation) att.creation = date;
    doc.content.push({ attachment: att });
  }
  ctx.bundle.upsert(doc, key);
}

export const mappers: MapperTable = { 'MDM^*': mapDocument };
