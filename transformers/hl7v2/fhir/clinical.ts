import type {
  Annotation,
  Attachment,
  CodeableConcept,
  Coding,
  DiagnosticReport,
  Identifier,
  Observation,
  ObservationReferenceRange,
  Quantity,
  Reference,
  ServiceRequest,
  Specimen,
} from '@medplum/fhirtypes';
import { hl7ToFhirDateTime } from '../datetime';
import { DEFAULT_DELIMITERS, type Hl7Delimiters } from '../delimiters';
import { HL7_ERROR_CODES, hl7ValidationError } from '../errors';
import { identifierSystem } from '../fhir-identity';
import { decodeHl7Text } from '../escape';
import type { Hl7Segment } from '../segment';
import { leaf, repetitionCount } from '../v2-datatypes';
import * as rd from './datatypes';
import type { MappingContext } from './types';

/**
 * Readers and builders shared by the results, orders, scheduling, immunization and documents
 * mappers: EI -> Identifier, OBX -> Observation, OBR/ORC -> ServiceRequest / DiagnosticReport,
 * SPM -> Specimen, and the grouping of ORC/OBR/OBX/SPM/NTE segments into order groups.
 * Patient, Encounter, practitioners, organizations, locations and coded values come from
 * `datatypes.ts` (shared with the ADT mappers) so every mapper names them the same way.
 *
 * Identifier policy (resends never duplicate): every resource is upserted on a business
 * identifier. Orders use the filler order number (ORC-3/OBR-3), else the placer number
 * (ORC-2/OBR-2). An Observation with no OBX-21 instance identifier gets one derived from the
 * order's key + OBX-3 code + OBX-4 sub-id + the occurrence of that code/sub-id in the order
 * (`<filler>/<code>/<subId>/<n>`), not from OBX-1: set ids are renumbered when a corrected
 * result adds or drops a line, code and sub-id are not. Messages with no order number at all
 * fall back to the message control id (MSH-10), which is stable across resends of the same
 * message but not across new messages about the same order.
 */

/**
 * A Reference to an entry of this Bundle. Medplum types `Reference<T>` by its target, so a plain
 * `Reference` does not fit `Observation.subject`; `Reference<never>` fits every typed field.
 */
export type Ref = Reference<never>;

export const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const V2_0078 = 'http://terminology.hl7.org/CodeSystem/v2-0078';
const V3_INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const V2_0074 = 'http://terminology.hl7.org/CodeSystem/v2-0074';
const UCUM = 'http://unitsofmeasure.org';

// ---------------------------------------------------------------------------------------------
// Errors and primitive readers
// ---------------------------------------------------------------------------------------------

/** 101/102 ValidationError naming the segment and field. */
export function contentError(code: 101 | 102, segmentId: string, field: number | undefined, message: string, component?: number) {
  return hl7ValidationError(HL7_ERROR_CODES.CONTENT, code, message, { segmentId, field, component });
}

/** A leaf value that must be there: 101 naming segment and field when absent. */
export function required(seg: Hl7Segment | undefined, segmentId: string, field: number, what: string, comp = 1): string {
  const v = seg && leaf(seg, field, 1, comp);
  if (!v) throw contentError(101, segmentId, field, `${segmentId}-${field} ${what} is required`);
  return v;
}

/**
 * FHIR dateTime from a TS/DTM/DT at field/component (precision and offset kept; see datetime.ts
 * for the no-offset rule). A present but unreadable value is a 102 naming the field.
 */
export function dateTimeAt(ctx: MappingContext, seg: Hl7Segment, field: number, comp = 1, rep = 1): string | undefined {
  const raw = leaf(seg, field, rep, comp);
  if (!raw) return undefined;
  const v = hl7ToFhirDateTime(raw, ctx.options.defaultTimezoneOffset);
  if (!v) throw contentError(102, seg.id, field, `${seg.id}-${field} is not a valid HL7 date/time`, comp === 1 ? undefined : comp);
  return v;
}

/** A FHIR `instant` (needs seconds-level time and a zone) or undefined when the value is less precise. */
export function asInstant(dateTime: string | undefined): string | undefined {
  return dateTime && /T\d{2}:\d{2}:\d{2}/.test(dateTime) ? dateTime : undefined;
}

/** A decimal the way FHIR JSON wants it, or undefined when the text is not a plain number. */
export function decimal(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return undefined;
  return Number(t);
}

/**
 * Decoded text of one repetition with its components joined back by the component separator:
 * TX/FT senders often leave `^` unescaped in free text, and cutting at it would lose the rest.
 */
function wholeRepetition(seg: Hl7Segment, field: number, rep: number, d: Hl7Delimiters): string {
  const raw = seg.repetitionText(field, rep);
  if (raw === '""') return '';
  return (d.component === '' ? [raw] : raw.split(d.component)).map((c) => decodeHl7Text(c, d)).join(d.component);
}

/**
 * FT/TX wire text as plain text, with the parser's decoder (escapes, `\.br\` and the other
 * formatting commands, highlighting). For wire text only: values read through `get` or
 * {@link wholeRepetition} are already decoded, and decoding them again would turn an escaped
 * `\E\.br\E\` (a literal backslash sequence) into a line break.
 */
export function formattedText(text: string, d: Hl7Delimiters = DEFAULT_DELIMITERS): string {
  return decodeHl7Text(text, d);
}

// ---------------------------------------------------------------------------------------------
// EI -> Identifier
// ---------------------------------------------------------------------------------------------

/**
 * EI at field/rep (1 entity id, 2 namespace id, 3 universal id, 4 universal id type): value EI-1,
 * system from the assigning authority (resolver, OID, name), else the sending facility.
 * `comp` addresses an EI nested as subcomponents (EIP-1/EIP-2 in SPM-2).
 */
export function readEi(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1, comp?: number): Identifier | undefined {
  if (comp === undefined) return rd.readEi(ctx, seg, field, rep);
  const at = (i: number) => leaf(seg, field, rep, comp, i);
  const value = at(1);
  if (!value) return undefined;
  const system = identifierSystem(at(2), at(3), ctx.facilitySystem, ctx.options.identifierSystem);
  return { system, value };
}

/** An identifier with a v2-0203 type (PLAC, FILL, ...). */
export function typed(id: Identifier, code: string, display: string): Identifier {
  return { ...id, type: { coding: [{ system: V2_0203, code, display }] } };
}

/** The key used when a message carries no business identifier: sender + MSH-10 (+ suffix). */
export function controlIdKey(ctx: MappingContext, suffix: string): Identifier {
  const sender = ctx.facilitySystem.replace(/^urn:wasl:sending-facility:/, '');
  const control = ctx.msg.get('MSH-10.1') ?? ctx.msg.header.controlId;
  return { system: `urn:wasl:hl7-control-id:${sender}`, value: `${control}/${suffix}` };
}

// ---------------------------------------------------------------------------------------------
// Coded values, people, places (thin wrappers over datatypes.ts)
// ---------------------------------------------------------------------------------------------

/** CWE/CE at field/rep as a CodeableConcept (code systems named as URIs, original text kept). */
export function concept(seg: Hl7Segment, field: number, rep = 1): CodeableConcept | undefined {
  return rd.readCodeableConcept(seg, field, rep);
}

/** Every repetition of a CWE field. */
export function concepts(seg: Hl7Segment, field: number): CodeableConcept[] {
  const out: CodeableConcept[] = [];
  for (let rep = 1; rep <= repetitionCount(seg, field); rep++) {
    const c = concept(seg, field, rep);
    if (c) out.push(c);
  }
  return out;
}

/** XCN at field/rep -> reference to a Practitioner entry (or a display-only reference). */
export function practitionerRef(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): Ref | undefined {
  return rd.practitionerReference(ctx, seg, field, rep) as Ref | undefined;
}

/** XON at field/rep -> reference to an Organization entry. */
export function organizationRef(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): Ref | undefined {
  return rd.organizationReference(ctx, seg, field, rep) as Ref | undefined;
}

/** PL at field/rep -> reference to a Location entry. */
export function locationRef(ctx: MappingContext, seg: Hl7Segment, field: number, rep = 1): Ref | undefined {
  return rd.locationReference(ctx, seg, field, rep) as Ref | undefined;
}

/** The message's Patient (PID), upserted; 101 when PID or PID-3 is missing. */
export function patientRef(ctx: MappingContext): Ref {
  return { reference: rd.mapPatient(ctx).fullUrl };
}

/** The message's Encounter (PV1) when there is one. */
export function encounterRef(ctx: MappingContext, patient: Ref): Ref | undefined {
  const pv1 = ctx.msg.segment('PV1');
  if (!pv1) return undefined;
  return { reference: rd.mapEncounter(ctx, pv1, { fullUrl: patient.reference! }).fullUrl };
}

// ---------------------------------------------------------------------------------------------
// Segment grouping
// ---------------------------------------------------------------------------------------------

export interface ObxItem {
  obx: Hl7Segment;
  notes: Hl7Segment[];
}

export interface SpecimenItem {
  spm: Hl7Segment;
  observations: ObxItem[];
}

/** One ORC and/or OBR (or other order detail segment) with what follows it. */
export interface OrderGroup {
  orc?: Hl7Segment;
  obr?: Hl7Segment;
  tq1?: Hl7Segment;
  /** NTE right after ORC/OBR (order comments). */
  notes: Hl7Segment[];
  observations: ObxItem[];
  specimens: SpecimenItem[];
  /** Every other segment inside the group (RXO, RXE, RXR, ODS, TXA, DG1, ...), in order. */
  details: Hl7Segment[];
}

export interface GroupedMessage {
  /** OBX (and their NTE) before the first order: patient- or message-level observations. */
  leading: ObxItem[];
  groups: OrderGroup[];
}

// Segments that belong to the patient/visit part and close nothing.
const PATIENT_LEVEL = new Set(['MSH', 'SFT', 'UAC', 'EVN', 'PID', 'PD1', 'PV1', 'PV2', 'NK1', 'ARV', 'PRT', 'AL1', 'GT1', 'IN1', 'IN2', 'IN3', 'ROL', 'CTD', 'CON', 'DB1', 'ACC', 'MSA', 'ERR', 'QAK', 'QRD']);

/**
 * Splits the message into order groups. A group starts at ORC, or at OBR when the current group
 * already has an OBR (ORU may repeat OBR without ORC). OBX go to the SPM before them when an SPM
 * came after the OBR (specimen observations), else to the order; NTE go to what precedes them.
 * SPM that come before any order (OUL^R22 puts SPM first) are given to the next group.
 */
export function groupOrders(segments: Hl7Segment[], orderDetailIds: readonly string[] = []): GroupedMessage {
  const leading: ObxItem[] = [];
  const groups: OrderGroup[] = [];
  let pendingSpecimens: SpecimenItem[] = [];
  let group: OrderGroup | undefined;
  let lastObx: ObxItem | undefined;
  let lastSpm: SpecimenItem | undefined;
  let noteTarget: 'order' | 'obx' | 'none' = 'none';
  const detailIds = new Set(orderDetailIds);

  const open = (): OrderGroup => {
    const g: OrderGroup = { notes: [], observations: [], specimens: pendingSpecimens, details: [] };
    pendingSpecimens = [];
    groups.push(g);
    lastSpm = g.specimens[g.specimens.length - 1];
    return g;
  };

  for (const seg of segments) {
    switch (seg.id) {
      case 'ORC':
        group = open();
        group.orc = seg;
        lastObx = undefined;
        lastSpm = undefined;
        noteTarget = 'order';
        break;
      case 'OBR':
        if (!group || group.obr || (group.observations.length > 0 && !group.orc)) group = open();
        group.obr = seg;
        lastObx = undefined;
        lastSpm = undefined;
        noteTarget = 'order';
        break;
      case 'TQ1':
        if (group && !group.tq1) group.tq1 = seg;
        break;
      case 'OBX': {
        const item = { obx: seg, notes: [] };
        if (lastSpm) lastSpm.observations.push(item);
        else if (group) group.observations.push(item);
        else leading.push(item);
        lastObx = item;
        noteTarget = 'obx';
        break;
      }
      case 'NTE':
        if (noteTarget === 'obx' && lastObx) lastObx.notes.push(seg);
        else if (noteTarget === 'order' && group) group.notes.push(seg);
        break;
      case 'SPM': {
        const item = { spm: seg, observations: [] };
        if (group) group.specimens.push(item);
        else pendingSpecimens.push(item);
        lastSpm = item;
        lastObx = undefined;
        noteTarget = 'none';
        break;
      }
      default:
        if (PATIENT_LEVEL.has(seg.id)) {
          noteTarget = 'none';
          break;
        }
        if (detailIds.has(seg.id) && (!group || group.details.some((d) => d.id === seg.id && detailIds.has(seg.id) && isGroupOpener(seg.id)))) {
          group = open();
        }
        if (group) group.details.push(seg);
        noteTarget = 'none';
    }
  }
  return { leading, groups };
}

// A second RXO/ODS/... in a group without ORC starts a new order; RXR/RXC never do.
function isGroupOpener(id: string): boolean {
  return id === 'RXO' || id === 'RXE' || id === 'TXA';
}

/** NTE-3 comments as Annotations (repetitions are lines of one comment). */
export function notesOf(ntes: Hl7Segment[]): Annotation[] {
  const out: Annotation[] = [];
  for (const nte of ntes) {
    const lines: string[] = [];
    for (let rep = 1; rep <= repetitionCount(nte, 3); rep++) {
      const raw = nte.repetitionText(3, rep);
      if (raw !== '' && raw !== '""') lines.push(wholeRepetition(nte, 3, rep, nte.delimiters));
    }
    const text = lines.join('\n').trim();
    if (text) out.push({ text });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Order identifiers and ServiceRequest (ORC + OBR)
// ---------------------------------------------------------------------------------------------

export interface OrderIds {
  placer?: Identifier;
  filler?: Identifier;
  /** ORC-4 placer group number. */
  group?: Identifier;
  /** The identifier the order's resources are upserted on (filler, else placer, else MSH-10). */
  key: Identifier;
}

/**
 * `key` unless the Bundle already has a `resourceType` with it (two OBR of one message sharing
 * an order number, as some ELR senders do): then the key is narrowed by `discriminator` (OBR-4
 * code, else the set id), which is as stable across resends as the key itself. The narrowed
 * resource then carries the narrowed key, and the shared placer/filler stays on the first resource
 * only (TransactionBuilder.build), so each conditional URL matches one stored resource.
 */
export function uniqueKey(ctx: MappingContext, resourceType: string, key: Identifier, discriminator: string): Identifier {
  if (!ctx.bundle.find(resourceType, key.system!, key.value!)) return key;
  return { system: key.system, value: `${key.value}/${discriminator}` };
}

/** Placer ORC-2 (else OBR-2), filler ORC-3 (else OBR-3), group ORC-4; `index` keys order-less messages. */
export function orderIds(ctx: MappingContext, group: Pick<OrderGroup, 'orc' | 'obr'>, index: number): OrderIds {
  const { orc, obr } = group;
  const placer = (orc && readEi(ctx, orc, 2)) ?? (obr && readEi(ctx, obr, 2));
  const filler = (orc && readEi(ctx, orc, 3)) ?? (obr && readEi(ctx, obr, 3));
  const groupId = orc && readEi(ctx, orc, 4);
  const key = filler ?? placer ?? controlIdKey(ctx, `order${index}`);
  const ids: OrderIds = { key };
  if (placer) ids.placer = placer;
  if (filler) ids.filler = filler;
  if (groupId) ids.group = groupId;
  return ids;
}

/** The Identifier[] for a resource of this order: placer (PLAC) and filler (FILL), or the fallback key. */
export function orderIdentifierList(ids: OrderIds): Identifier[] {
  const out: Identifier[] = [];
  if (ids.placer) out.push(typed(ids.placer, 'PLAC', 'Placer Identifier'));
  if (ids.filler) out.push(typed(ids.filler, 'FILL', 'Filler Identifier'));
  if (out.length === 0) out.push(ids.key);
  return out;
}

// ORC-5 order status (table 0038) -> ServiceRequest.status.
const ORDER_STATUS: Record<string, ServiceRequest['status']> = {
  A: 'active', CA: 'revoked', CM: 'completed', DC: 'revoked', ER: 'entered-in-error', HD: 'on-hold', IP: 'active', RP: 'revoked', SC: 'active',
};
// ORC-1 order control (table 0119) -> ServiceRequest.status when ORC-5 is empty.
const ORDER_CONTROL: Record<string, ServiceRequest['status']> = {
  NW: 'active', XO: 'active', XR: 'active', SC: 'active', SN: 'active', OK: 'active', RO: 'active', RP: 'active', RE: 'completed',
  CA: 'revoked', OC: 'revoked', CR: 'revoked', DC: 'revoked', OD: 'revoked', DR: 'revoked', HD: 'on-hold', OH: 'on-hold', HR: 'on-hold',
  RL: 'active', OR: 'active', CH: 'active',
};

/** ServiceRequest.status from ORC-5, else ORC-1, else `fallback`. */
export function orderStatus(orc: Hl7Segment | undefined, fallback: ServiceRequest['status']): ServiceRequest['status'] {
  const s = orc && leaf(orc, 5);
  if (s && ORDER_STATUS[s]) return ORDER_STATUS[s];
  const c = orc && leaf(orc, 1);
  if (c && ORDER_CONTROL[c]) return ORDER_CONTROL[c];
  return fallback;
}

// TQ1-9 / OBR-5 / ORC-7.6 priority (table 0485) -> request-priority.
const PRIORITY: Record<string, ServiceRequest['priority']> = { S: 'stat', A: 'asap', R: 'routine', P: 'urgent', C: 'urgent', PRN: 'routine', T: 'routine' };

export function orderPriority(group: Pick<OrderGroup, 'orc' | 'obr' | 'tq1'>): ServiceRequest['priority'] | undefined {
  const code = (group.tq1 && leaf(group.tq1, 9)) ?? (group.obr && leaf(group.obr, 5)) ?? (group.orc && leaf(group.orc, 7, 1, 6));
  return code ? PRIORITY[code.toUpperCase()] : undefined;
}

export interface OrderRefs {
  patient: Ref;
  encounter?: Ref;
}

/**
 * ORC + OBR (+ TQ1, NTE, DG1 in the group) -> ServiceRequest. `write` is `upsert` for order
 * messages (they are the source of truth) and `createIfNoneExist` for results and documents
 * (the result only names the order; the placer's copy must not be overwritten).
 */
export function addServiceRequest(
  ctx: MappingContext,
  group: OrderGroup,
  ids: OrderIds,
  refs: OrderRefs,
  opts: { write: 'upsert' | 'createIfNoneExist'; defaultStatus: ServiceRequest['status']; code?: CodeableConcept; extra?: Partial<ServiceRequest> },
): string {
  const { orc, obr, tq1 } = group;
  const sr: ServiceRequest = {
    resourceType: 'ServiceRequest',
    identifier: orderIdentifierList(ids),
    status: orderStatus(orc, opts.defaultStatus),
    intent: 'order',
    subject: refs.patient,
  };
  if (ids.group) sr.requisition = typed(ids.group, 'PGN', 'Placer Group Number');
  const priority = orderPriority(group);
  if (priority) sr.priority = priority;
  const code = opts.code ?? (obr && concept(obr, 4));
  if (code) sr.code = code;
  if (refs.encounter) sr.encounter = refs.encounter;
  // ORC-7 / OBR-27 (TQ) are deprecated since v2.5 and old senders fill them loosely; only TQ1 and
  // OBR-6 give the requested time (the IG does the same).
  const occurrenceStart = (tq1 && dateTimeAt(ctx, tq1, 7)) ?? (obr && dateTimeAt(ctx, obr, 6));
  const occurrenceEnd = tq1 && dateTimeAt(ctx, tq1, 8);
  if (occurrenceStart && occurrenceEnd) sr.occurrencePeriod = { start: occurrenceStart, end: occurrenceEnd };
  else if (occurrenceStart) sr.occurrenceDateTime = occurrenceStart;
  const authored = orc && dateTimeAt(ctx, orc, 9);
  if (authored) sr.authoredOn = authored;
  const requester = (orc && practitionerRef(ctx, orc, 12)) ?? (obr && practitionerRef(ctx, obr, 16));
  if (requester) sr.requester = requester;
  const reasons = [...(obr ? concepts(obr, 31) : []), ...group.details.filter((s) => s.id === 'DG1').flatMap((dg1) => concepts(dg1, 3))];
  if (reasons.length) sr.reasonCode = reasons;
  const notes = notesOf(group.notes);
  if (notes.length) sr.note = notes;
  Object.assign(sr, opts.extra);
  return opts.write === 'upsert' ? ctx.bundle.upsert(sr, ids.key) : ctx.bundle.createIfNoneExist(sr, ids.key);
}

// ---------------------------------------------------------------------------------------------
// SPM -> Specimen
// ---------------------------------------------------------------------------------------------

/**
 * SPM -> Specimen: identifier SPM-2 (EIP: filler-assigned EI, else placer-assigned EI, as
 * subcomponents), type SPM-4, collection time SPM-17 (DR), body site SPM-8, receivedTime SPM-18,
 * status from SPM-20 availability (Y available, N unavailable) or SPM-21 reject reason
 * (unsatisfactory), condition SPM-24, SPM-14 description as a note. Without SPM-2 the key is the
 * order key + SPM-1 set id.
 */
export function addSpecimen(ctx: MappingContext, spm: Hl7Segment, order: OrderIds | undefined, patient: Ref, index: number): string {
  let filler = readEi(ctx, spm, 2, 1, 2);
  let placer = readEi(ctx, spm, 2, 1, 1);
  if (eiWrittenAsComponents(ctx, spm)) {
    placer = readEi(ctx, spm, 2, 1);
    filler = undefined;
  }
  const identifier: Identifier[] = [];
  if (placer) identifier.push(typed(placer, 'PLAC', 'Placer Identifier'));
  if (filler) identifier.push(typed(filler, 'FILL', 'Filler Identifier'));
  const base = order?.key ?? controlIdKey(ctx, 'specimen');
  const key = filler ?? placer ?? { system: base.system, value: `${base.value}/SPM/${leaf(spm, 1) ?? index}` };
  if (identifier.length === 0) identifier.push(key);

  const specimen: Specimen = { resourceType: 'Specimen', identifier, subject: patient };
  const type = concept(spm, 4);
  if (type) specimen.type = type;
  const collection: NonNullable<Specimen['collection']> = {};
  const start = dateTimeAt(ctx, spm, 17, 1);
  const end = dateTimeAt(ctx, spm, 17, 2);
  if (start && end) collection.collectedPeriod = { start, end };
  else if (start ?? end) collection.collectedDateTime = (start ?? end)!;
  const site = concept(spm, 8);
  if (site) collection.bodySite = site;
  const method = concept(spm, 7);
  if (method) collection.method = method;
  if (Object.keys(collection).length) specimen.collection = collection;
  const received = dateTimeAt(ctx, spm, 18);
  if (received) specimen.receivedTime = received;
  if (leaf(spm, 21)) specimen.status = 'unsatisfactory';
  else if (leaf(spm, 20) === 'Y') specimen.status = 'available';
  else if (leaf(spm, 20) === 'N') specimen.status = 'unavailable';
  const condition = concepts(spm, 24);
  if (condition.length) specimen.condition = condition;
  const notes: Annotation[] = [];
  const description = leaf(spm, 14);
  if (description) notes.push({ text: description });
  const reject = concepts(spm, 21);
  for (const r of reject) notes.push({ text: `Rejected: ${r.text ?? r.coding?.[0]?.display ?? r.coding?.[0]?.code ?? ''}`.trim() });
  if (notes.length) specimen.note = notes;
  return ctx.bundle.upsert(specimen, key);
}

/**
 * Some senders write SPM-2 as a plain EI (`123456781^gastric`: id ^ namespace) where v2.5 wants an
 * EIP (placer EI ^ filler EI, each as subcomponents). Read as an EIP, every specimen of such a
 * message would get the filler id `gastric` and collapse into one. The tell: no subcomponents, and
 * the second component is the namespace of an order number of the same message.
 */
function eiWrittenAsComponents(ctx: MappingContext, spm: Hl7Segment): boolean {
  const raw = spm.field(2);
  const second = leaf(spm, 2, 1, 2);
  if (!second || raw.includes(ctx.msg.delimiters.subcomponent || '&')) return false;
  const namespaces = new Set<string>();
  for (const seg of [...ctx.msg.segments('ORC'), ...ctx.msg.segments('OBR')]) {
    for (const f of [2, 3]) {
      const ns = leaf(seg, f, 1, 2);
      if (ns) namespaces.add(ns);
    }
  }
  return namespaces.has(second);
}

// ---------------------------------------------------------------------------------------------
// OBX -> Observation
// ---------------------------------------------------------------------------------------------

// OBX-11 (table 0085) -> Observation.status, after the IG's ConceptMap; N (not asked) -> cancelled.
const RESULT_STATUS: Record<string, Observation['status']> = {
  C: 'corrected', D: 'entered-in-error', F: 'final', I: 'registered', N: 'cancelled', O: 'registered', P: 'preliminary',
  R: 'preliminary', S: 'preliminary', U: 'final', W: 'entered-in-error', X: 'cancelled', A: 'amended',
};

export function observationStatus(code: string | undefined): Observation['status'] {
  return (code && RESULT_STATUS[code.toUpperCase()]) || 'unknown';
}

// v2-0078 codes that exist with the same meaning in v3-ObservationInterpretation (the IG's map is
// identity for these); others keep the v2-0078 system.
const V3_INTERP = new Set([
  '<', '>', 'A', 'AA', 'AC', 'B', 'CAR', 'D', 'DET', 'E', 'EX', 'EXP', 'H', 'H>', 'HH', 'HM', 'HU', 'HX', 'I', 'IE', 'IND', 'L', 'L<', 'LL',
  'LU', 'LX', 'MS', 'N', 'NCL', 'ND', 'NEG', 'NR', 'NS', 'POS', 'QCF', 'R', 'RR', 'S', 'SDD', 'SYN-R', 'SYN-S', 'TOX', 'U', 'VS', 'W', 'WR',
]);

/** OBX-8 repetitions -> interpretation (v2-0078 code -> v3-ObservationInterpretation). */
export function interpretations(obx: Hl7Segment): CodeableConcept[] {
  const out: CodeableConcept[] = [];
  for (let rep = 1; rep <= repetitionCount(obx, 8); rep++) {
    const code = leaf(obx, 8, rep, 1);
    const text = leaf(obx, 8, rep, 2);
    if (!code) continue;
    const coding: Coding = V3_INTERP.has(code) ? { system: V3_INTERPRETATION, code } : { system: V2_0078, code };
    if (text && text !== code) coding.display = text;
    const cc: CodeableConcept = { coding: [coding] };
    out.push(cc);
  }
  return out;
}

/** OBX-6 units: UCUM system and code only when OBX-6.3 says UCUM (a code needs a system). */
export function unitsOf(obx: Hl7Segment): Omit<Quantity, 'value'> {
  const code = leaf(obx, 6, 1, 1);
  const text = leaf(obx, 6, 1, 2);
  const system = leaf(obx, 6, 1, 3);
  if (!code && !text) return {};
  if (system && /^(UCUM|UCUM:.*|http:\/\/unitsofmeasure\.org)$/i.test(system) && code) {
    return { unit: text ?? code, system: UCUM, code };
  }
  return { unit: text ?? code };
}

/**
 * OBX-7 reference range: always the text; low/high when it reads as `a-b`, `a - b`, `a to b`,
 * `<b`, `<=b`, `>a`, `>=a` (units from OBX-6).
 */
export function referenceRange(obx: Hl7Segment): ObservationReferenceRange | undefined {
  const text = leaf(obx, 7);
  if (!text) return undefined;
  const range: ObservationReferenceRange = { text };
  const units = unitsOf(obx);
  const q = (n: number): Quantity => ({ value: n, ...units });
  const num = '([+-]?\\d+(?:\\.\\d+)?)';
  const between = new RegExp(`^\\s*${num}\\s*(?:-|–|to|_)\\s*${num}\\s*$`, 'i').exec(text);
  const upper = new RegExp(`^\\s*<=?\\s*${num}\\s*$`).exec(text);
  const lower = new RegExp(`^\\s*>=?\\s*${num}\\s*$`).exec(text);
  if (between) {
    range.low = q(Number(between[1]));
    range.high = q(Number(between[2]));
  } else if (upper) {
    range.high = q(Number(upper[1]));
  } else if (lower) {
    range.low = q(Number(lower[1]));
  }
  return range;
}

type ObservationValue = Pick<
  Observation,
  'valueQuantity' | 'valueString' | 'valueCodeableConcept' | 'valueDateTime' | 'valueTime' | 'valueRange' | 'valueRatio' | 'valueInteger'
>;

/**
 * One repetition of OBX-5 by OBX-2 value type (the IG's OBX-5 rows): NM -> valueQuantity (units
 * OBX-6), SN -> valueQuantity with comparator / valueRange / valueRatio (else the text), CWE/CE/
 * CNE/CF -> valueCodeableConcept, DT/TS/DTM -> valueDateTime, TM -> valueTime, ST/TX/FT -> valueString
 * (FT formatting decoded). Anything else (RP, HD, CX, XCN, ...) keeps its first component as
 * valueString. ED is not an Observation value in R4: callers send it to an Attachment.
 */
export function observationValue(ctx: MappingContext, obx: Hl7Segment, rep = 1): ObservationValue | undefined {
  const type = (leaf(obx, 2) ?? '').toUpperCase();
  const first = leaf(obx, 5, rep, 1);
  switch (type) {
    case 'NM': {
      if (!first) return undefined;
      const n = decimal(first);
      if (n === undefined) throw contentError(102, 'OBX', 5, 'OBX-5 is not a number although OBX-2 is NM');
      return { valueQuantity: { value: n, ...unitsOf(obx) } };
    }
    case 'SN':
      return structuredNumeric(obx, rep);
    case 'CWE':
    case 'CE':
    case 'CNE':
    case 'CF': {
      const cc = concept(obx, 5, rep);
      return cc ? { valueCodeableConcept: cc } : undefined;
    }
    case 'DT':
    case 'TS':
    case 'DTM': {
      const v = dateTimeAt(ctx, obx, 5, 1, rep);
      return v ? { valueDateTime: v } : undefined;
    }
    case 'TM': {
      const m = first && /^(\d{2})(\d{2})?(\d{2})?/.exec(first);
      return m ? { valueTime: `${m[1]}:${m[2] ?? '00'}:${m[3] ?? '00'}` } : undefined;
    }
    case 'ST':
    case 'TX':
    case 'FT': {
      const text = wholeRepetition(obx, 5, rep, ctx.msg.delimiters);
      return text.trim() ? { valueString: text } : undefined;
    }
    default:
      return first ? { valueString: first } : undefined;
  }
}

/** SN: comparator ^ num1 ^ separator/suffix ^ num2. */
function structuredNumeric(obx: Hl7Segment, rep: number): ObservationValue | undefined {
  const comparator = leaf(obx, 5, rep, 1);
  const n1 = decimal(leaf(obx, 5, rep, 2));
  const sep = leaf(obx, 5, rep, 3);
  const n2 = decimal(leaf(obx, 5, rep, 4));
  const units = unitsOf(obx);
  if (n1 === undefined && n2 === undefined) return undefined;
  if (sep === ':' || sep === '/') {
    if (n1 !== undefined && n2 !== undefined) return { valueRatio: { numerator: { value: n1 }, denominator: { value: n2 } } };
  }
  if (sep === '-' && n1 !== undefined && n2 !== undefined && !comparator) {
    return { valueRange: { low: { value: n1, ...units }, high: { value: n2, ...units } } };
  }
  if (!sep && n2 === undefined && n1 !== undefined) {
    const q: Quantity = { value: n1, ...units };
    if (comparator && comparator !== '=') {
      if (!['<', '<=', '>=', '>'].includes(comparator)) return { valueString: `${comparator}${leaf(obx, 5, rep, 2)}` };
      q.comparator = comparator as Quantity['comparator'];
    }
    return { valueQuantity: q };
  }
  // `^2^+` and other categorical forms: keep as sent.
  const text = [comparator, leaf(obx, 5, rep, 2), sep, leaf(obx, 5, rep, 4)].filter((x) => x).join('');
  return { valueString: text };
}

export interface ObservationRefs extends OrderRefs {
  basedOn?: Ref[];
  specimen?: Ref;
  partOf?: Ref[];
  /** OBR-7, used when OBX-14 is empty. */
  effectiveFallback?: string;
  /** OBR-22 (results reported), Observation.issued. */
  issued?: string;
  /** OBR-4, used when OBX-3 is empty. */
  codeFallback?: CodeableConcept;
}

/**
 * OBX -> Observation (IG segment-obx-to-observation): code OBX-3, value OBX-5 by OBX-2 (further
 * repetitions become components with the same code, as R4 value[x] holds one value), units OBX-6,
 * referenceRange OBX-7, interpretation OBX-8, status OBX-11, effective OBX-14 (else OBR-7),
 * performer OBX-16 (XCN) and OBX-23 (XON), method OBX-17, bodySite OBX-20, identifier OBX-21,
 * note NTE. Upserted on OBX-21 or on the derived key described at the top of this file.
 */
export function buildObservation(ctx: MappingContext, item: ObxItem, key: Identifier, refs: ObservationRefs): { observation: Observation; key: Identifier } {
  const { obx } = item;
  const code = concept(obx, 3) ?? refs.codeFallback;
  if (!code) throw contentError(101, 'OBX', 3, 'OBX-3 observation identifier is required');
  const instance = readEi(ctx, obx, 21);
  const identifier: Identifier[] = instance ? [instance] : [key];
  const obs: Observation = {
    resourceType: 'Observation',
    identifier,
    status: observationStatus(leaf(obx, 11)),
    code,
    subject: refs.patient,
  };
  if (refs.basedOn?.length) obs.basedOn = refs.basedOn;
  if (refs.partOf?.length) obs.partOf = refs.partOf;
  if (refs.encounter) obs.encounter = refs.encounter;
  const effective = dateTimeAt(ctx, obx, 14) ?? refs.effectiveFallback;
  if (effective) obs.effectiveDateTime = effective;
  if (refs.issued) obs.issued = refs.issued;
  const value = observationValue(ctx, obx, 1);
  if (value) Object.assign(obs, value);
  const reps = repetitionCount(obx, 5);
  const components: NonNullable<Observation['component']> = [];
  for (let rep = 2; rep <= reps; rep++) {
    const v = observationValue(ctx, obx, rep);
    if (v && !(leaf(obx, 2) ?? '').match(/^(ST|TX|FT)$/i)) components.push({ code, ...v });
  }
  if ((leaf(obx, 2) ?? '').match(/^(TX|FT|ST)$/i) && reps > 1) {
    // TX/FT repetitions are lines of one text.
    const lines: string[] = [];
    for (let rep = 1; rep <= reps; rep++) lines.push(observationValue(ctx, obx, rep)?.valueString ?? '');
    obs.valueString = lines.join('\n');
  }
  if (components.length) obs.component = components;
  const interp = interpretations(obx);
  if (interp.length) obs.interpretation = interp;
  const range = referenceRange(obx);
  if (range) obs.referenceRange = [range];
  const performers: Ref[] = [];
  for (let rep = 1; rep <= repetitionCount(obx, 16); rep++) {
    const p = practitionerRef(ctx, obx, 16, rep);
    if (p) performers.push(p);
  }
  const org = organizationRef(ctx, obx, 23);
  if (org) performers.push(org);
  if (performers.length) obs.performer = performers;
  const method = concept(obx, 17);
  if (method) obs.method = method;
  const site = concept(obx, 20);
  if (site) obs.bodySite = site;
  if (refs.specimen) obs.specimen = refs.specimen;
  const notes = notesOf(item.notes);
  if (notes.length) obs.note = notes;
  return { observation: obs, key: instance ?? key };
}

/** The OBX-3 code that keys a derived Observation identifier (code, else text, else value type). */
export function obxKeyCode(obx: Hl7Segment): string {
  return leaf(obx, 3, 1, 1) ?? leaf(obx, 3, 1, 4) ?? leaf(obx, 3, 1, 2) ?? `OBX-${leaf(obx, 2) ?? 'NA'}`;
}

/**
 * Derived Observation keys for a list of OBX under one order: `<order>/<code>/<subId>/<n>`,
 * n counting repeats of the same code and sub-id (MDM text lines repeat both).
 */
export function derivedObservationKeys(base: Identifier, items: ObxItem[], prefix = ''): Identifier[] {
  const seen = new Map<string, number>();
  return items.map(({ obx }) => {
    const k = `${obxKeyCode(obx)}/${leaf(obx, 4) ?? ''}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    return { system: base.system, value: `${base.value}/${prefix}${k}/${n}` };
  });
}

/**
 * Adds the Observations of one list of OBX and links OBX-4 groups: when several OBX of the list
 * share a non-empty sub-id, the first of them gets `hasMember` pointing at the others (the IG
 * leaves sub-id handling to the implementer; this keeps organism + susceptibility style groups
 * navigable without inventing a parent observation). Returns the fullUrls in OBX order.
 */
export function addObservations(ctx: MappingContext, items: ObxItem[], base: Identifier, refs: ObservationRefs, prefix = ''): string[] {
  const keys = derivedObservationKeys(base, items, prefix);
  const built = items.map((item, i) => buildObservation(ctx, item, keys[i], refs));
  const bySub = new Map<string, number[]>();
  items.forEach(({ obx }, i) => {
    const sub = leaf(obx, 4);
    if (sub) bySub.set(sub, [...(bySub.get(sub) ?? []), i]);
  });
  const urls = built.map((b) => ctx.bundle.upsert(b.observation, b.key));
  for (const members of bySub.values()) {
    if (members.length < 2) continue;
    const [head, ...rest] = members;
    built[head].observation.hasMember = rest.map((i) => ({ reference: urls[i] }));
  }
  return urls;
}

// ---------------------------------------------------------------------------------------------
// OBR -> DiagnosticReport
// ---------------------------------------------------------------------------------------------

// OBR-25 result status (table 0123) -> DiagnosticReport.status.
const REPORT_STATUS: Record<string, DiagnosticReport['status']> = {
  O: 'registered', I: 'registered', S: 'registered', A: 'partial', P: 'preliminary', C: 'corrected', R: 'preliminary', F: 'final',
  X: 'cancelled', Y: 'unknown', Z: 'unknown', D: 'entered-in-error', M: 'partial', N: 'unknown',
};

export function reportStatus(code: string | undefined): DiagnosticReport['status'] {
  return (code && REPORT_STATUS[code.toUpperCase()]) || 'unknown';
}

/** ED (OBX-5: 1 source app, 2 type, 3 subtype, 4 encoding, 5 data) -> Attachment. */
export function edAttachment(obx: Hl7Segment, rep = 1): Attachment | undefined {
  const type = leaf(obx, 5, rep, 2);
  const subtype = leaf(obx, 5, rep, 3);
  const encoding = (leaf(obx, 5, rep, 4) ?? '').toUpperCase();
  const data = obx.get({ segment: '', occurrence: 1, field: 5, repetition: rep, component: 5 });
  const att: Attachment = {};
  const mime = mimeType(type, subtype);
  if (mime) att.contentType = mime;
  if (data && data !== '""') {
    if (encoding === 'BASE64') att.data = data.replace(/\s+/g, '');
    else if (encoding === 'HEX') att.data = Buffer.from(data.replace(/[^0-9A-Fa-f]/g, ''), 'hex').toString('base64');
    else att.data = Buffer.from(data, 'utf8').toString('base64');
  }
  const title = leaf(obx, 3, 1, 2);
  if (title) att.title = title;
  return Object.keys(att).length ? att : undefined;
}

/** RP (1 pointer, 2 application id, 3 type, 4 subtype) -> Attachment with url. */
export function rpAttachment(obx: Hl7Segment, rep = 1): Attachment | undefined {
  const url = leaf(obx, 5, rep, 1);
  if (!url) return undefined;
  const att: Attachment = { url };
  const mime = mimeType(leaf(obx, 5, rep, 3), leaf(obx, 5, rep, 4));
  if (mime) att.contentType = mime;
  return att;
}

// ED-2 is a v2 type of data (table 0191: TEXT, IMAGE, AP, ...), ED-3 a subtype (table 0291) or a
// MIME subtype. A real MIME type needs both halves: `application` + `pdf`.
function mimeType(type: string | undefined, subtype: string | undefined): string | undefined {
  const t = type?.toLowerCase();
  const s = subtype?.toLowerCase();
  if (t && s && /^(application|audio|image|text|video|multipart|message|model)$/.test(t) && /^[a-z0-9.+-]+$/.test(s)) return `${t}/${s}`;
  if (t === 'text' || t === 'tx') return 'text/plain';
  if (s === 'pdf') return 'application/pdf';
  if (s && /^(jpeg|png|gif|tiff)$/.test(s)) return `image/${s}`;
  if (s === 'rtf') return 'application/rtf';
  if (s === 'html') return 'text/html';
  if (s === 'xml') return 'application/xml';
  return undefined;
}

/**
 * OBR -> DiagnosticReport (IG segment-obr-to-diagnosticreport): identifier placer/filler,
 * basedOn the ServiceRequest, status OBR-25, category OBR-24 (v2-0074), code OBR-4,
 * effective OBR-7 (to OBR-8 as a period), issued OBR-22, resultsInterpreter OBR-32, specimen,
 * result, presentedForm from ED/RP OBX. R4 DiagnosticReport has no note: OBR NTE stay on the
 * ServiceRequest.
 */
export function buildDiagnosticReport(
  ctx: MappingContext,
  obr: Hl7Segment,
  ids: OrderIds,
  refs: OrderRefs & { basedOn?: Ref; results: string[]; specimens: string[]; presentedForm: Attachment[] },
): DiagnosticReport {
  const code = concept(obr, 4);
  if (!code) throw contentError(101, 'OBR', 4, 'OBR-4 universal service identifier is required');
  const report: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    identifier: orderIdentifierList(ids),
    status: reportStatus(leaf(obr, 25)),
    code,
    subject: refs.patient,
  };
  if (refs.basedOn) report.basedOn = [refs.basedOn];
  const section = leaf(obr, 24);
  if (section) report.category = [{ coding: [{ system: V2_0074, code: section }] }];
  if (refs.encounter) report.encounter = refs.encounter;
  const start = dateTimeAt(ctx, obr, 7);
  const end = dateTimeAt(ctx, obr, 8);
  if (start && end) report.effectivePeriod = { start, end };
  else if (start) report.effectiveDateTime = start;
  const issued = asInstant(dateTimeAt(ctx, obr, 22));
  if (issued) report.issued = issued;
  const interpreter = interpreterRef(obr);
  if (interpreter) report.resultsInterpreter = [interpreter];
  if (refs.specimens.length) report.specimen = refs.specimens.map((reference) => ({ reference }));
  if (refs.results.length) report.result = refs.results.map((reference) => ({ reference }));
  if (refs.presentedForm.length) report.presentedForm = refs.presentedForm;
  return report;
}

// OBR-32 is NDL whose first component is a CNN spread over subcomponents (id & family & given ...):
// a display-only reference, because there is no assigning authority to key a Practitioner on.
function interpreterRef(obr: Hl7Segment): Ref | undefined {
  const sub = (i: number) => leaf(obr, 32, 1, 1, i);
  const name = [sub(3), sub(2)].filter((x) => x).join(' ');
  const display = name || sub(1);
  return display ? { display } : undefined;
}
