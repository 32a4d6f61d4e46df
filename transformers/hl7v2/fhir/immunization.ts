/**
 * VXU^V04 -> Patient, Encounter, and one Immunization per ORC/RXA group (IG message
 * vxu-v04-to-bundle, segment-rxa-to-immunization, CDC IIS guide for the OBX codes).
 *
 * | v2 | Immunization |
 * |---|---|
 * | ORC-3 filler order number, else ORC-2 | identifier FILL / PLAC; the upsert key |
 * | (no ORC-2/3) | identifier derived from the Patient + RXA-3 + RXA-5 code (see below) |
 * | RXA-3 | occurrenceDateTime (101 when empty) |
 * | RXA-5 (CVX `http://hl7.org/fhir/sid/cvx`, NDC, ...) | vaccineCode (101 when empty) |
 * | RXA-6 + RXA-7 (999 = unknown amount: not mapped) | doseQuantity |
 * | RXA-9 (NIP001) | primarySource (00 new record -> true, else false) and reportOrigin |
 * | RXA-10 | performer, function AP (administering provider); ORC-12 -> function OP |
 * | RXA-15 / RXA-16 | lotNumber / expirationDate |
 * | RXA-17 (MVX) | manufacturer -> Organization keyed by `http://terminology.hl7.org/CodeSystem/MVX` + code |
 * | RXA-18 | statusReason (refusal reason) |
 * | RXA-20 completion status | status: CP/PA -> completed (PA also isSubpotent), RE/NA -> not-done |
 * | RXA-21 action code | D (delete) -> status entered-in-error |
 * | RXR-1 / RXR-2 | route / site |
 * | OBX 64994-7 | programEligibility | OBX 30963-3 | fundingSource |
 * | OBX 30956-7 / 69764-9 + 29768-9 + 29769-7 (same OBX-4) | education: documentType, publicationDate, presentationDate |
 * | other OBX in the group | Observation with partOf -> the Immunization |
 * | OBX before any ORC/RXA | Observation of the patient (keyed by MSH-10) |
 *
 * Deviation: the IG keys Immunization only on ORC-2/ORC-3; historical records (RXA-9 01) often
 * come without them, so Wasl derives the key from the Patient's identifier + administration date
 * + vaccine code, which a resend repeats and a second dose on another day does not.
 */
import { uriPart } from '../fhir-identity';
import type { CodeableConcept, Immunization, Organization } from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf } from '../v2-datatypes';
import {
  addObservations,
  concept,
  contentError,
  controlIdKey,
  dateTimeAt,
  decimal,
  encounterRef,
  groupOrders,
  type ObxItem,
  type OrderGroup,
  type OrderRefs,
  practitionerRef,
  readEi,
  type Ref,
  typed,
} from './clinical';
import { mapPatient } from './datatypes';
import type { MapperTable, MappingContext } from './types';

const NIP001 = 'urn:oid:2.16.840.1.114222.4.5.274';
const PERFORMER_FUNCTION = 'http://terminology.hl7.org/CodeSystem/v2-0443';
const MVX = 'http://terminology.hl7.org/CodeSystem/MVX';
const UCUM = 'http://unitsofmeasure.org';

/** Immunization.status from RXA-20 completion status and RXA-21 action code. */
export function immunizationStatus(rxa: Hl7Segment): Immunization['status'] {
  if ((leaf(rxa, 21) ?? '').toUpperCase() === 'D') return 'entered-in-error';
  const completion = (leaf(rxa, 20) ?? 'CP').toUpperCase();
  return completion === 'RE' || completion === 'NA' ? 'not-done' : 'completed';
}

function manufacturer(ctx: MappingContext, rxa: Hl7Segment): Ref | undefined {
  const code = leaf(rxa, 17, 1, 1);
  const name = leaf(rxa, 17, 1, 2);
  if (!code) return name ? { display: name } : undefined;
  const system = (leaf(rxa, 17, 1, 3) ?? '').toUpperCase() === 'MVX' ? MVX : ctx.facilitySystem;
  const identifier = { system, value: code };
  const org: Organization = { resourceType: 'Organization', identifier: [identifier] };
  if (name) org.name = name;
  const ref: Ref = { reference: ctx.bundle.createIfNoneExist(org, identifier) };
  if (name) ref.display = name;
  return ref;
}

function applyObservations(ctx: MappingContext, imm: Immunization, items: ObxItem[]): ObxItem[] {
  const rest: ObxItem[] = [];
  const education = new Map<string, NonNullable<Immunization['education']>[number]>();
  const edu = (obx: Hl7Segment) => {
    const k = leaf(obx, 4) ?? '';
    if (!education.has(k)) education.set(k, {});
    return education.get(k)!;
  };
  for (const item of items) {
    const { obx } = item;
    const code = leaf(obx, 3, 1, 1);
    const value = concept(obx, 5);
    if (code === '64994-7' && value) imm.programEligibility = [...(imm.programEligibility ?? []), value];
    else if (code === '30963-3' && value) imm.fundingSource = value;
    else if ((code === '30956-7' || code === '69764-9') && value) edu(obx).documentType = value.text ?? value.coding?.[0]?.code;
    else if (code === '29768-9' && leaf(obx, 5)) edu(obx).publicationDate = dateTimeAt(ctx, obx, 5);
    else if (code === '29769-7' && leaf(obx, 5)) edu(obx).presentationDate = dateTimeAt(ctx, obx, 5);
    else rest.push(item);
  }
  const entries = [...education.values()].filter((e) => Object.keys(e).length);
  if (entries.length) imm.education = entries;
  return rest;
}

function mapImmunizationGroup(ctx: MappingContext, group: OrderGroup, rxa: Hl7Segment, patientKey: { system: string; value: string }, refs: OrderRefs): void {
  const occurrence = dateTimeAt(ctx, rxa, 3);
  if (!occurrence) throw contentError(101, 'RXA', 3, 'RXA-3 date/time start of administration is required');
  const vaccineCode = concept(rxa, 5);
  if (!vaccineCode) throw contentError(101, 'RXA', 5, 'RXA-5 administered code is required');
  const filler = group.orc && readEi(ctx, group.orc, 3);
  const placer = group.orc && readEi(ctx, group.orc, 2);
  const derived = {
    system: `urn:wasl:immunization:${uriPart(`${patientKey.system}|${patientKey.value}`)}`,
    value: `${leaf(rxa, 3)}/${leaf(rxa, 5, 1, 1) ?? leaf(rxa, 5, 1, 2)}`,
  };
  const key = filler ?? placer ?? derived;
  const identifier = [placer && typed(placer, 'PLAC', 'Placer Identifier'), filler && typed(filler, 'FILL', 'Filler Identifier')].filter((x) => x !== undefined);
  const imm: Immunization = {
    resourceType: 'Immunization',
    identifier: identifier.length ? identifier : [derived],
    status: immunizationStatus(rxa),
    vaccineCode,
    patient: refs.patient,
    occurrenceDateTime: occurrence,
  };
  if (refs.encounter) imm.encounter = refs.encounter;
  if ((leaf(rxa, 20) ?? '').toUpperCase() === 'PA') imm.isSubpotent = true;
  if (imm.status === 'not-done') {
    const reason = concept(rxa, 18);
    if (reason) imm.statusReason = reason;
  }
  const source = leaf(rxa, 9, 1, 1);
  if (source) {
    imm.primarySource = source === '00';
    if (source !== '00') {
      const origin = concept(rxa, 9);
      if (origin) imm.reportOrigin = withDefaultSystem(origin, NIP001);
    }
  }
  const amount = decimal(leaf(rxa, 6));
  if (amount !== undefined && amount !== 999) {
    const unitCode = leaf(rxa, 7, 1, 1);
    const unitText = leaf(rxa, 7, 1, 2);
    imm.doseQuantity = { value: amount };
    if (unitCode && /^UCUM$/i.test(leaf(rxa, 7, 1, 3) ?? '')) Object.assign(imm.doseQuantity, { unit: unitText ?? unitCode, system: UCUM, code: unitCode });
    else if (unitText ?? unitCode) imm.doseQuantity.unit = (unitText ?? unitCode)!;
  }
  const lot = leaf(rxa, 15);
  if (lot) imm.lotNumber = lot;
  const expiration = dateTimeAt(ctx, rxa, 16);
  if (expiration) imm.expirationDate = expiration.slice(0, 10);
  const mfr = manufacturer(ctx, rxa);
  if (mfr) imm.manufacturer = mfr;
  const performer: NonNullable<Immunization['performer']> = [];
  const administering = practitionerRef(ctx, rxa, 10);
  if (administering) performer.push({ function: { coding: [{ system: PERFORMER_FUNCTION, code: 'AP', display: 'Administering Provider' }] }, actor: administering });
  const ordering = group.orc && practitionerRef(ctx, group.orc, 12);
  if (ordering) performer.push({ function: { coding: [{ system: PERFORMER_FUNCTION, code: 'OP', display: 'Ordering Provider' }] }, actor: ordering });
  if (performer.length) imm.performer = performer;
  const rxr = group.details.find((s) => s.id === 'RXR');
  const route = rxr && concept(rxr, 1);
  if (route) imm.route = route;
  const site = rxr && concept(rxr, 2);
  if (site) imm.site = site;
  const rest = applyObservations(ctx, imm, group.observations);
  const url = ctx.bundle.upsert(imm, key);
  if (rest.length) addObservations(ctx, rest, key, { ...refs, partOf: [{ reference: url }] });
}

function withDefaultSystem(cc: CodeableConcept, system: string): CodeableConcept {
  return { ...cc, coding: cc.coding?.map((c) => (c.system?.startsWith('urn:wasl:code-system:') || !c.system ? { ...c, system } : c)) };
}

function mapVaccination(ctx: MappingContext): void {
  // mapPatient rather than patientRef: the derived Immunization key needs the Patient's identifier.
  const patient = mapPatient(ctx);
  const patientRefValue: Ref = { reference: patient.fullUrl };
  const encounter = encounterRef(ctx, patientRefValue);
  const refs: OrderRefs = encounter ? { patient: patientRefValue, encounter } : { patient: patientRefValue };
  const { leading, groups } = groupOrders(ctx.msg.segments(), ['RXA', 'RXR']);
  if (leading.length) addObservations(ctx, leading, controlIdKey(ctx, 'patient-obx'), refs);
  // An RXA without ORC (allowed before v2.5) starts its own group: split groups at each RXA.
  const withRxa = groups.flatMap(splitAtRxa);
  if (withRxa.length === 0) throw contentError(101, 'RXA', 3, 'VXU^V04 has no RXA segment');
  for (const { group, rxa } of withRxa) mapImmunizationGroup(ctx, group, rxa, patient.identifier, refs);
}

function splitAtRxa(group: OrderGroup): { group: OrderGroup; rxa: Hl7Segment }[] {
  const rxas = group.details.filter((s) => s.id === 'RXA');
  if (rxas.length <= 1) return rxas.map((rxa) => ({ group, rxa }));
  // Several RXA under one ORC: each takes the RXR after it; OBX stay with the first.
  return rxas.map((rxa, i) => {
    const from = group.details.indexOf(rxa);
    const to = i + 1 < rxas.length ? group.details.indexOf(rxas[i + 1]) : group.details.length;
    return { group: { ...group, details: group.details.slice(from, to), observations: i === 0 ? group.observations : [] }, rxa };
  });
}

export const mappers: MapperTable = { 'VXU^V04': mapVaccination };
