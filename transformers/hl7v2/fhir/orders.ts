/**
 * Orders -> FHIR:
 * - ORM^O01, OML^O21: each ORC/OBR group -> ServiceRequest (upserted: the order message owns it),
 *   its SPM -> Specimen (ServiceRequest.specimen), its OBX (ask-at-order-entry answers) ->
 *   Observation (ServiceRequest.supportingInfo).
 * - RDE^O11: each ORC group -> MedicationRequest.
 * - REF^I12: RF1 -> ServiceRequest (a referral), PRD -> Practitioner, OBR/OBX -> DiagnosticReport
 *   and Observations as in results (ServiceRequest.supportingInfo).
 * - OMD^O03: ORC + ODS -> NutritionOrder.
 * Patient and Encounter come from PID/PV1 (datatypes.ts).
 *
 * ServiceRequest (IG segment-orc-to-servicerequest, segment-obr-to-servicerequest):
 * | ORC-2 / OBR-2 | identifier PLAC | ORC-3 / OBR-3 | identifier FILL (the upsert key; else placer, else MSH-10) |
 * | ORC-4 | requisition | ORC-5, else ORC-1 | status (tables 0038 / 0119) |
 * | TQ1-9, else OBR-5, else ORC-7.6 | priority | OBR-4 | code |
 * | TQ1-7/8, else OBR-6 | occurrence[x] | ORC-9 | authoredOn | ORC-12, else OBR-16 | requester |
 * | OBR-31, DG1-3 | reasonCode | NTE after ORC/OBR | note |
 * ORC-7 (TQ, deprecated) is not read except its priority: old senders fill its dates loosely.
 *
 * MedicationRequest (IG segment-rxe/rxo-to-medicationrequest):
 * | RXE-2, else RXO-1 | medicationCodeableConcept (101 when both empty) |
 * | ORC-1/ORC-5 | status | ORC-9 | authoredOn | ORC-12 | requester |
 * | RXE-3 + RXE-5 (else RXO-2 + RXO-4) | dosageInstruction.doseAndRate.doseQuantity |
 * | RXE-23 + RXE-24 | dosageInstruction.doseAndRate.rateQuantity |
 * | RXE-7 (else RXO-6) texts | dosageInstruction.text | RXR-1 / RXR-2 | dosageInstruction.route / site |
 * | TQ1-3 | dosageInstruction.timing.code.text | RXE-10 + RXE-11 | dispenseRequest.quantity |
 * | RXE-12 | dispenseRequest.numberOfRepeatsAllowed |
 *
 * Referral (REF^I12; the IG has no REF message map yet, so this follows RF1's meaning):
 * | RF1-6, else RF1-11 | identifier (the key; else MSH-10) | RF1-1 | status: A/P -> active, R/E -> revoked |
 * | RF1-2 | priority | RF1-3, RF1-5 | category | RF1-10 | reasonCode (+ DG1-3) |
 * | RF1-7 / RF1-8 | occurrencePeriod | RF1-9 | authoredOn | PRD RP / RT | requester / performer |
 * | code | SNOMED 3457005 "Patient referral" (RF1 carries no "what") |
 * Deviation: P (pending) is `active`, not `draft`: the referral has been sent and awaits the
 * receiver, which is what `active` means in the request pattern.
 *
 * NutritionOrder (OMD^O03, IG segment-ods-to-nutritionorder):
 * | ORC-2/ORC-3 | identifier | ORC-1/ORC-5 | status | ORC-9, else MSH-7 | dateTime (required in R4) |
 * | ORC-12 | orderer | ODS-1 D | oralDiet.type (ODS-3), instruction (ODS-4) |
 * | ODS-1 P | foodPreferenceModifier | ODS-1 S | supplement.type |
 */
import type { CodeableConcept, Dosage, MedicationRequest, NutritionOrder, Practitioner, Quantity, ServiceRequest } from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf, readName, repetitionCount } from '../v2-datatypes';
import {
  addObservations,
  addServiceRequest,
  addSpecimen,
  concept,
  concepts,
  contentError,
  controlIdKey,
  dateTimeAt,
  decimal,
  encounterRef,
  groupOrders,
  type OrderGroup,
  type OrderIds,
  type OrderRefs,
  orderIdentifierList,
  orderIds,
  orderStatus,
  patientRef,
  practitionerRef,
  readEi,
  type Ref,
  typed,
  uniqueKey,
} from './clinical';
import { mapResultGroup } from './results';
import type { MapperTable, MappingContext } from './types';

function refsOf(ctx: MappingContext): OrderRefs {
  const patient = patientRef(ctx);
  const encounter = encounterRef(ctx, patient);
  return encounter ? { patient, encounter } : { patient };
}

// ---------------------------------------------------------------------------------------------
// ORM^O01 / OML^O21

function mapOrderGroup(ctx: MappingContext, group: OrderGroup, index: number, refs: OrderRefs): string {
  const ids = orderIds(ctx, group, index);
  ids.key = uniqueKey(ctx, 'ServiceRequest', ids.key, (group.obr && (leaf(group.obr, 4, 1, 1) ?? leaf(group.obr, 1))) ?? String(index));
  const specimens = group.specimens.map((s, i) => addSpecimen(ctx, s.spm, ids, refs.patient, i + 1));
  const specimenObs = group.specimens.flatMap((s, i) =>
    addObservations(ctx, s.observations, ids.key, { ...refs, specimen: { reference: specimens[i] } }, `SPM${leaf(s.spm, 1) ?? i + 1}/`),
  );
  const answers = [...addObservations(ctx, group.observations, ids.key, refs), ...specimenObs];
  const extra: Partial<ServiceRequest> = {};
  if (specimens.length) extra.specimen = specimens.map((reference) => ({ reference }));
  if (answers.length) extra.supportingInfo = answers.map((reference) => ({ reference }));
  return addServiceRequest(ctx, group, ids, refs, { write: 'upsert', defaultStatus: 'active', extra });
}

function mapGeneralOrder(ctx: MappingContext): void {
  const refs = refsOf(ctx);
  const { groups } = groupOrders(ctx.msg.segments());
  const orders = groups.filter((g) => g.orc || g.obr);
  if (orders.length === 0) throw contentError(101, 'ORC', 1, `${ctx.msg.header.messageType} has no ORC/OBR order`);
  orders.forEach((g, i) => mapOrderGroup(ctx, g, i + 1, refs));
}

// ---------------------------------------------------------------------------------------------
// RDE^O11

const MED_STATUS: Partial<Record<NonNullable<ServiceRequest['status']>, MedicationRequest['status']>> = {
  active: 'active', 'on-hold': 'on-hold', revoked: 'cancelled', completed: 'completed', 'entered-in-error': 'entered-in-error', draft: 'draft', unknown: 'unknown',
};

function quantity(value: string | undefined, seg: Hl7Segment, unitField: number): Quantity | undefined {
  const n = decimal(value);
  if (n === undefined) return undefined;
  const q: Quantity = { value: n };
  const code = leaf(seg, unitField, 1, 1);
  const text = leaf(seg, unitField, 1, 2);
  const system = leaf(seg, unitField, 1, 3);
  if (code && system && /^UCUM$/i.test(system)) Object.assign(q, { unit: text ?? code, system: 'http://unitsofmeasure.org', code });
  else if (text ?? code) q.unit = (text ?? code)!;
  return q;
}

/** CWE repetitions read as free text (RXE-7 senders put the instruction in component 1 or 2). */
function texts(seg: Hl7Segment, field: number): string[] {
  const out: string[] = [];
  for (let rep = 1; rep <= repetitionCount(seg, field); rep++) {
    const t = leaf(seg, field, rep, 2) ?? leaf(seg, field, rep, 1);
    if (t) out.push(t);
  }
  return out;
}

function mapPharmacyGroup(ctx: MappingContext, group: OrderGroup, index: number, refs: OrderRefs): string {
  const rxe = group.details.find((s) => s.id === 'RXE');
  const rxo = group.details.find((s) => s.id === 'RXO');
  const rxr = group.details.find((s) => s.id === 'RXR');
  const medication = (rxe && concept(rxe, 2)) ?? (rxo && concept(rxo, 1));
  if (!medication) throw contentError(101, rxe ? 'RXE' : 'RXO', rxe ? 2 : 1, 'RXE-2 give code (or RXO-1 requested give code) is required');
  const ids = orderIds(ctx, group, index);
  const status = orderStatus(group.orc, 'active');
  const mr: MedicationRequest = {
    resourceType: 'MedicationRequest',
    identifier: orderIdentifierList(ids),
    status: group.orc && leaf(group.orc, 1) === 'DC' ? 'stopped' : (MED_STATUS[status!] ?? 'unknown'),
    intent: 'order',
    medicationCodeableConcept: medication,
    subject: refs.patient,
  };
  if (ids.group) mr.groupIdentifier = typed(ids.group, 'PGN', 'Placer Group Number');
  if (refs.encounter) mr.encounter = refs.encounter;
  const authored = group.orc && dateTimeAt(ctx, group.orc, 9);
  if (authored) mr.authoredOn = authored;
  const requester = group.orc && practitionerRef(ctx, group.orc, 12);
  if (requester) mr.requester = requester;

  const dosage: Dosage = {};
  const instructions = rxe ? texts(rxe, 7) : rxo ? texts(rxo, 6) : [];
  if (instructions.length) dosage.text = instructions.join('\n');
  const route = rxr && concept(rxr, 1);
  if (route) dosage.route = route;
  const site = rxr && concept(rxr, 2);
  if (site) dosage.site = site;
  const timing = group.tq1 && (leaf(group.tq1, 3, 1, 1) ?? leaf(group.tq1, 3, 1, 2));
  if (timing) dosage.timing = { code: { text: timing } };
  const dose = rxe ? quantity(leaf(rxe, 3), rxe, 5) : rxo && quantity(leaf(rxo, 2), rxo, 4);
  const rate = rxe && quantity(leaf(rxe, 23), rxe, 24);
  if (dose || rate) {
    const dr: NonNullable<Dosage['doseAndRate']>[number] = {};
    if (dose) dr.doseQuantity = dose;
    if (rate) dr.rateQuantity = rate;
    dosage.doseAndRate = [dr];
  }
  if (Object.keys(dosage).length) mr.dosageInstruction = [dosage];
  const dispense: NonNullable<MedicationRequest['dispenseRequest']> = {};
  const amount = rxe && quantity(leaf(rxe, 10), rxe, 11);
  if (amount) dispense.quantity = amount;
  const refills = rxe && decimal(leaf(rxe, 12));
  if (refills !== undefined && Number.isInteger(refills) && refills >= 0) dispense.numberOfRepeatsAllowed = refills;
  if (Object.keys(dispense).length) mr.dispenseRequest = dispense;
  const obs = addObservations(ctx, group.observations, ids.key, refs);
  if (obs.length) mr.supportingInformation = obs.map((reference) => ({ reference }));
  return ctx.bundle.upsert(mr, ids.key);
}

function mapPharmacyOrder(ctx: MappingContext): void {
  const refs = refsOf(ctx);
  const { groups } = groupOrders(ctx.msg.segments(), ['RXO', 'RXE', 'RXR', 'RXC', 'CDO']);
  const orders = groups.filter((g) => g.orc || g.details.some((s) => s.id === 'RXE' || s.id === 'RXO'));
  if (orders.length === 0) throw contentError(101, 'ORC', 1, 'RDE^O11 has no ORC/RXE order');
  orders.forEach((g, i) => mapPharmacyGroup(ctx, g, i + 1, refs));
}

// ---------------------------------------------------------------------------------------------
// REF^I12

const REFERRAL_STATUS: Record<string, ServiceRequest['status']> = { A: 'active', P: 'active', R: 'revoked', E: 'revoked' };
const REFERRAL_PRIORITY: Record<string, ServiceRequest['priority']> = { S: 'stat', A: 'asap', R: 'routine' };

/** PRD (provider data): PRD-2 name (XPN), PRD-7 identifier (PI: 1 id, 2 type). */
function providerRef(ctx: MappingContext, prd: Hl7Segment): Ref | undefined {
  const name = readName(prd, 2, 1);
  const display = name ? [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean).join(' ') : undefined;
  const id = leaf(prd, 7, 1, 1);
  if (!id) return display ? { display } : undefined;
  const identifier = { system: ctx.facilitySystem, value: id };
  const practitioner: Practitioner = { resourceType: 'Practitioner', identifier: [identifier] };
  if (name) practitioner.name = [name];
  const ref: Ref = { reference: ctx.bundle.createIfNoneExist(practitioner, identifier) };
  if (display) ref.display = display;
  return ref;
}

function mapReferral(ctx: MappingContext): void {
  const rf1 = ctx.msg.segment('RF1');
  if (!rf1) throw contentError(101, 'RF1', 1, 'RF1 segment is required for REF^I12');
  const refs = refsOf(ctx);
  const originating = readEi(ctx, rf1, 6);
  const external = readEi(ctx, rf1, 11);
  const key = originating ?? external ?? controlIdKey(ctx, 'referral');
  const identifier = [originating && typed(originating, 'PLAC', 'Placer Identifier'), external].filter((x) => x !== undefined);
  const sr: ServiceRequest = {
    resourceType: 'ServiceRequest',
    identifier: identifier.length ? identifier : [key],
    status: REFERRAL_STATUS[leaf(rf1, 1) ?? ''] ?? 'unknown',
    intent: 'order',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '3457005', display: 'Patient referral' }] },
    subject: refs.patient,
  };
  const category = [concept(rf1, 3), concept(rf1, 5)].filter((c): c is CodeableConcept => c !== undefined);
  if (category.length) sr.category = category;
  const priority = REFERRAL_PRIORITY[leaf(rf1, 2) ?? ''];
  if (priority) sr.priority = priority;
  if (refs.encounter) sr.encounter = refs.encounter;
  const start = dateTimeAt(ctx, rf1, 7);
  const end = dateTimeAt(ctx, rf1, 8);
  if (start || end) sr.occurrencePeriod = { ...(start && { start }), ...(end && { end }) };
  const authored = dateTimeAt(ctx, rf1, 9);
  if (authored) sr.authoredOn = authored;
  const reasons = [...concepts(rf1, 10), ...ctx.msg.segments('DG1').flatMap((dg1) => concepts(dg1, 3))];
  if (reasons.length) sr.reasonCode = reasons;
  for (const prd of ctx.msg.segments('PRD')) {
    const role = leaf(prd, 1);
    const ref = providerRef(ctx, prd);
    if (!ref) continue;
    if (role === 'RP' && !sr.requester) sr.requester = ref;
    else if (role === 'RT') sr.performer = [...(sr.performer ?? []), ref];
  }
  const { groups } = groupOrders(ctx.msg.segments());
  const reports = groups
    .filter((g) => g.obr)
    .map((g, i) => mapResultGroup(ctx, g, i + 1, refs))
    .filter((u): u is string => u !== undefined);
  if (reports.length) sr.supportingInfo = reports.map((reference) => ({ reference }));
  ctx.bundle.upsert(sr, key);
}

// ---------------------------------------------------------------------------------------------
// OMD^O03

const NUTRITION_STATUS: Partial<Record<NonNullable<ServiceRequest['status']>, NutritionOrder['status']>> = {
  active: 'active', 'on-hold': 'on-hold', revoked: 'revoked', completed: 'completed', 'entered-in-error': 'entered-in-error', draft: 'draft', unknown: 'unknown',
};

function mapDietGroup(ctx: MappingContext, group: OrderGroup, index: number, refs: OrderRefs): string {
  const ids: OrderIds = orderIds(ctx, group, index);
  const dateTime = (group.orc && dateTimeAt(ctx, group.orc, 9)) ?? (group.tq1 && dateTimeAt(ctx, group.tq1, 7)) ?? dateTimeAt(ctx, ctx.msg.segment('MSH')!, 7);
  if (!dateTime) throw contentError(101, 'ORC', 9, 'ORC-9 (or MSH-7) date/time of transaction is required for a diet order');
  const order: NutritionOrder = {
    resourceType: 'NutritionOrder',
    identifier: orderIdentifierList(ids),
    status: NUTRITION_STATUS[orderStatus(group.orc, 'active')!] ?? 'unknown',
    intent: 'order',
    patient: refs.patient,
    dateTime,
  };
  if (refs.encounter) order.encounter = refs.encounter;
  const orderer = group.orc && practitionerRef(ctx, group.orc, 12);
  if (orderer) order.orderer = orderer;
  const dietTypes: CodeableConcept[] = [];
  const instructions: string[] = [];
  const preferences: CodeableConcept[] = [];
  const supplements: NonNullable<NutritionOrder['supplement']> = [];
  for (const ods of group.details.filter((s) => s.id === 'ODS')) {
    const kind = leaf(ods, 1);
    const codes = concepts(ods, 3);
    const text = leaf(ods, 4);
    if (kind === 'S') supplements.push(...codes.map((type) => ({ type })));
    else if (kind === 'P') preferences.push(...codes);
    else dietTypes.push(...codes);
    if (text) instructions.push(text);
  }
  if (dietTypes.length || instructions.length) {
    order.oralDiet = {};
    if (dietTypes.length) order.oralDiet.type = dietTypes;
    if (instructions.length) order.oralDiet.instruction = instructions.join('\n');
  }
  if (preferences.length) order.foodPreferenceModifier = preferences;
  if (supplements.length) order.supplement = supplements;
  if (!order.oralDiet && !order.supplement) throw contentError(101, 'ODS', 3, 'ODS-3 diet, supplement or preference is required');
  return ctx.bundle.upsert(order, ids.key);
}

function mapDietOrder(ctx: MappingContext): void {
  const refs = refsOf(ctx);
  const { groups } = groupOrders(ctx.msg.segments(), ['ODS', 'ODT']);
  const orders = groups.filter((g) => g.details.some((s) => s.id === 'ODS'));
  if (orders.length === 0) throw contentError(101, 'ODS', 1, 'OMD^O03 has no ORC/ODS diet order');
  orders.forEach((g, i) => mapDietGroup(ctx, g, i + 1, refs));
}

export const mappers: MapperTable = {
  'ORM^O01': mapGeneralOrder,
  'OML^O21': mapGeneralOrder,
  'RDE^O11': mapPharmacyOrder,
  'REF^I12': mapReferral,
  'OMD^O03': mapDietOrder,
};
