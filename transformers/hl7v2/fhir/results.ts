/**
 * ORU^R01 and OUL^R22 (results) -> Patient, Encounter, ServiceRequest, Specimen, Observation,
 * DiagnosticReport, and the Practitioner / Organization they name.
 *
 * | v2                      | FHIR                                                                          |
 * |-------------------------|-------------------------------------------------------------------------------|
 * | PID / PV1               | Patient / Encounter (datatypes.ts, shared with ADT)                            |
 * | ORC-2/OBR-2, ORC-3/OBR-3| identifier PLAC / FILL of ServiceRequest and DiagnosticReport (EI namespace -> system) |
 * | ORC-4                   | ServiceRequest.requisition                                                     |
 * | ORC + OBR               | ServiceRequest (conditional create: a result names the order, it does not own it) |
 * | OBR-4                   | DiagnosticReport.code, ServiceRequest.code (101 when absent)                   |
 * | OBR-7 / OBR-8           | DiagnosticReport.effective[x]; Observation.effective when OBX-14 is empty       |
 * | OBR-22                  | DiagnosticReport.issued, Observation.issued (only when it has a time and zone)  |
 * | OBR-24                  | DiagnosticReport.category (v2-0074)                                            |
 * | OBR-25                  | DiagnosticReport.status (table 0123)                                           |
 * | OBR-32                  | DiagnosticReport.resultsInterpreter (display only: NDL carries no authority)   |
 * | OBX                     | Observation (see clinical.ts buildObservation for the field list)              |
 * | OBX-2 ED / RP in an order | DiagnosticReport.presentedForm (R4 Observation.value cannot be an Attachment)|
 * | OBX-4                   | part of the derived identifier; same sub-id -> hasMember from the first        |
 * | SPM (+ its OBX)         | Specimen; DiagnosticReport.specimen, Observation.specimen                      |
 * | NTE after OBX / OBR     | Observation.note / ServiceRequest.note (R4 DiagnosticReport has no note)       |
 *
 * Deviations from the v2-to-FHIR IG, and why:
 * - The ServiceRequest is a conditional create, not an update: the placer's order is the source of
 *   truth and a result must not wipe what only the order message carried.
 * - An Observation without OBX-21 gets an identifier derived from the order key (filler, else
 *   placer, else MSH-10) + OBX-3 code + OBX-4 sub-id + occurrence, so a resend or a corrected
 *   result (OBX-11 C) updates it instead of adding a copy. OBX-1 is left out on purpose: set ids
 *   are renumbered when a correction adds or drops a line.
 * - An OBX with neither OBX-3 nor a value is skipped (empty report lines); one with a value but no
 *   OBX-3 takes OBR-4 as its code (narrative report lines sent without an observation id).
 * - Missing OBX-11 / OBR-25 give status `unknown` rather than a guess.
 */
import type { Attachment } from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf } from '../v2-datatypes';
import {
  addObservations,
  addServiceRequest,
  addSpecimen,
  asInstant,
  buildDiagnosticReport,
  concept,
  controlIdKey,
  dateTimeAt,
  edAttachment,
  encounterRef,
  groupOrders,
  type ObxItem,
  type OrderGroup,
  type OrderRefs,
  orderIds,
  patientRef,
  type Ref,
  rpAttachment,
  uniqueKey,
} from './clinical';
import type { MapperTable, MappingContext } from './types';

/** An OBX worth mapping: it has an observation id or a value. */
function meaningful({ obx }: ObxItem): boolean {
  return !!(leaf(obx, 3, 1, 1) || leaf(obx, 3, 1, 2) || leaf(obx, 3, 1, 4) || obx.field(5).replace(/[\^~&]/g, '') !== '');
}

function isAttachment(obx: Hl7Segment): boolean {
  const type = (leaf(obx, 2) ?? '').toUpperCase();
  return type === 'ED' || type === 'RP';
}

/**
 * Maps one order group of a results message (ORC/OBR + OBX + SPM) and returns the fullUrl of
 * its DiagnosticReport (undefined for an ORC without OBR). Shared with REF^I12, whose OBR/OBX
 * carry the clinical information behind a referral.
 */
export function mapResultGroup(ctx: MappingContext, group: OrderGroup, index: number, refs: OrderRefs): string | undefined {
  const ids = orderIds(ctx, group, index);
  const discriminator = (group.obr && (leaf(group.obr, 4, 1, 1) ?? leaf(group.obr, 1))) ?? String(index);
  ids.key = uniqueKey(ctx, 'DiagnosticReport', uniqueKey(ctx, 'ServiceRequest', ids.key, discriminator), discriminator);

  const serviceRequest = addServiceRequest(ctx, group, ids, refs, { write: 'createIfNoneExist', defaultStatus: 'completed' });
  const basedOn: Ref = { reference: serviceRequest };
  const effectiveFallback = group.obr && dateTimeAt(ctx, group.obr, 7);
  const issued = group.obr && asInstant(dateTimeAt(ctx, group.obr, 22));
  const codeFallback = group.obr && concept(group.obr, 4);
  const obsRefs = { ...refs, basedOn: [basedOn], effectiveFallback, issued, codeFallback };

  const presentedForm: Attachment[] = [];
  const observations: ObxItem[] = [];
  for (const item of group.observations.filter(meaningful)) {
    if (group.obr && isAttachment(item.obx)) {
      const att = leaf(item.obx, 2)?.toUpperCase() === 'ED' ? edAttachment(item.obx) : rpAttachment(item.obx);
      if (att) presentedForm.push(att);
    } else {
      observations.push(item);
    }
  }
  const results = addObservations(ctx, observations, ids.key, obsRefs);
  const specimens: string[] = [];
  group.specimens.forEach((s, i) => {
    const url = addSpecimen(ctx, s.spm, ids, refs.patient, i + 1);
    specimens.push(url);
    const items = s.observations.filter(meaningful);
    results.push(...addObservations(ctx, items, ids.key, { ...obsRefs, specimen: { reference: url } }, `SPM${leaf(s.spm, 1) ?? i + 1}/`));
  });
  if (!group.obr) return undefined;
  const report = buildDiagnosticReport(ctx, group.obr, ids, { ...refs, basedOn, results, specimens, presentedForm });
  return ctx.bundle.upsert(report, ids.key);
}

/** ORU^R01 / OUL^R22: Patient, Encounter, then each order group; OBX before any order stand alone. */
function mapResults(ctx: MappingContext): void {
  const patient = patientRef(ctx);
  const encounter = encounterRef(ctx, patient);
  const refs: OrderRefs = encounter ? { patient, encounter } : { patient };
  const { leading, groups } = groupOrders(ctx.msg.segments());
  const loose = leading.filter((item) => meaningful(item) && !isAttachment(item.obx));
  if (loose.length) addObservations(ctx, loose, controlIdKey(ctx, 'patient-obx'), refs);
  groups.forEach((group, i) => mapResultGroup(ctx, group, i + 1, refs));
}

export const mappers: MapperTable = {
  'ORU^R01': mapResults,
  'OUL^R22': mapResults,
};
