import type { Coding, Encounter, Location, EncounterLocation, EncounterParticipant, Identifier, Period, Reference } from '@medplum/fhirtypes';
import { hl7ToFhirDateTime } from '../datetime';
import type { Hl7Segment } from '../segment';
import { leaf } from '../v2-datatypes';
import {
  collect, locationReference, messageIdentifier, practitionerReference, readCodeableConcept, readCodeableConcepts, readCx, readDateTime,
  V2_0203, type KeyedIdentifier, type MappedResource,
} from './readers';
import type { MappingContext } from './types';

/**
 * PV1 (+ PV2) -> Encounter, following the v2-to-FHIR IG segment maps PV1[Encounter], PV2[Encounter]:
 *
 * | v2 | FHIR | note |
 * |---|---|---|
 * | PV1-19 | identifier (type VN unless CX-5 says otherwise) | keys the conditional update; without it MSH-10 does (see below) |
 * | PV1-50 | identifier | alternate visit id |
 * | PV1-2 | class (v3-ActCode) | I->IMP, O/R/B->AMB, E->EMER, P->PRENC; unknown -> AMB with the code in display |
 * | PV1-4 | type | table 0007 admission type |
 * | PV1-3 / PV1-6 / PV1-42 | location (active or completed / completed / planned) | one Location per PL, see readers.ts |
 * | PV1-7 / -8 / -9 / -17 | participant ATND / REF / CON / ADM -> Practitioner | v3-ParticipationType |
 * | PV1-10 | serviceType | table 0069 |
 * | PV1-5 | hospitalization.preAdmissionIdentifier | |
 * | PV1-13 / -14 / -16 / -36 / -38 | hospitalization.reAdmission / admitSource / specialCourtesy / dischargeDisposition / dietPreference | |
 * | PV1-44 / PV1-45 | period.start / period.end | precision and offset kept |
 * | PV2-3 | reasonCode | admit reason |
 * | status | by event (the caller), else finished when PV1-45 is valued, planned for class P, else in-progress | the IG derives it from PV1-2/PV1-45 too |
 *
 * Without PV1-19 the message control id is the only key: a later update of the same visit then
 * creates a second Encounter; senders that update visits must send PV1-19.
 */

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
// PV1-2 patient class (table 0004) -> v3 ActCode; R (recurring) and B (obstetrics) are outpatient.
const ENCOUNTER_CLASS: Record<string, [string, string]> = {
  I: ['IMP', 'inpatient encounter'],
  O: ['AMB', 'ambulatory'],
  E: ['EMER', 'emergency'],
  P: ['PRENC', 'pre-admission'],
  R: ['AMB', 'ambulatory'],
  B: ['AMB', 'ambulatory'],
};
const PARTICIPANTS: [number, string, string][] = [
  [7, 'ATND', 'attender'],
  [8, 'REF', 'referrer'],
  [9, 'CON', 'consultant'],
  [17, 'ADM', 'admitter'],
];

export interface EncounterOptions {
  /** Encounter.status decided by the trigger event; default: see the table above. */
  status?: Encounter['status'];
  /** Drop PV1-45 (ADT^A13 cancel discharge: the discharge did not happen). */
  ignoreDischarge?: boolean;
  /** Use EVN-2 / MSH-7 as period.start when PV1-44 is empty (admit and register events only). */
  eventTimeIsStart?: boolean;
  /** Key the upsert by this identifier instead of PV1-19 (ADT^A45 moves the visit MRG-5 names). */
  upsertBy?: KeyedIdentifier;
  /** PV2 of the same visit; default: the message's first PV2. */
  pv2?: Hl7Segment;
}

/** PV1-2 -> Encounter.class. FHIR R4 makes class mandatory; AMB is the least specific real class. */
export function encounterClass(code: string | undefined): Coding {
  const known = code ? ENCOUNTER_CLASS[code] : undefined;
  if (known) return { system: ACT_CODE, code: known[0], display: known[1] };
  return { system: ACT_CODE, code: 'AMB', display: code ? `ambulatory (HL7 patient class ${code})` : 'ambulatory' };
}

/** PV1-19 (type VN by default), else the message control id scoped by the sender. */
export function visitIdentifier(ctx: MappingContext, pv1: Hl7Segment): KeyedIdentifier {
  const visit = readCx(ctx, pv1, 19);
  if (visit) {
    if (!visit.type) visit.type = { coding: [{ system: V2_0203, code: 'VN' }] };
    return visit;
  }
  return messageIdentifier(ctx);
}

/** EVN-2 then MSH-7. Only a fallback, so an unreadable one is skipped rather than rejected. */
function eventTime(ctx: MappingContext): string | undefined {
  for (const path of ['EVN-2.1', 'MSH-7.1']) {
    const raw = ctx.msg.get(path);
    const value = raw && hl7ToFhirDateTime(raw, ctx.options.defaultTimezoneOffset);
    if (value) return value;
  }
  return undefined;
}

/**
 * Builds the Encounter of a PV1 for `patient` and upserts it by PV1-19.
 * @throws ValidationError 102 for a bad PV1-44 / PV1-45.
 */
export function mapEncounter(
  ctx: MappingContext,
  pv1: Hl7Segment,
  patient: { fullUrl: string },
  opts: EncounterOptions = {},
): MappedResource<Encounter> {
  const key = visitIdentifier(ctx, pv1);
  const identifier: Identifier[] = [key];
  const alt = readCx(ctx, pv1, 50);
  if (alt && !(alt.system === key.system && alt.value === key.value)) identifier.push(alt);

  const start = readDateTime(ctx, pv1, 44) ?? (opts.eventTimeIsStart ? eventTime(ctx) : undefined);
  const end = opts.ignoreDischarge ? undefined : readDateTime(ctx, pv1, 45);
  const patientClass = leaf(pv1, 2, 1, 1);
  const status: Encounter['status'] = opts.status ?? (end ? 'finished' : patientClass === 'P' ? 'planned' : 'in-progress');

  const encounter: Encounter = {
    resourceType: 'Encounter',
    identifier,
    status,
    class: encounterClass(patientClass),
    subject: { reference: patient.fullUrl },
  };
  const type = readCodeableConcept(pv1, 4, 1, { table: '0007' });
  if (type) encounter.type = [type];
  const serviceType = readCodeableConcept(pv1, 10, 1, { table: '0069' });
  if (serviceType) encounter.serviceType = serviceType;

  const participant: EncounterParticipant[] = [];
  for (const [field, code, display] of PARTICIPANTS) {
    for (const individual of collect(pv1, field, (rep) => practitionerReference(ctx, pv1, field, rep))) {
      participant.push({ type: [{ coding: [{ system: PARTICIPATION, code, display }] }], individual });
    }
  }
  if (participant.length) encounter.participant = participant;

  const period: Period = {};
  if (start) period.start = start;
  if (end) period.end = end;
  if (period.start || period.end) encounter.period = period;

  const pv2 = opts.pv2 ?? ctx.msg.segment('PV2');
  if (pv2) {
    const reason = readCodeableConcept(pv2, 3);
    if (reason) encounter.reasonCode = [reason];
  }

  const current: EncounterLocation['status'] = status === 'finished' ? 'completed' : status === 'planned' ? 'planned' : 'active';
  const location: EncounterLocation[] = [];
  const addLocation = (field: number, locStatus: EncounterLocation['status']) => {
    const ref: Reference<Location> | undefined = locationReference(ctx, pv1, field);
    if (ref) location.push({ location: ref, status: locStatus });
  };
  addLocation(6, 'completed');
  addLocation(3, current);
  addLocation(42, 'planned');
  if (location.length) encounter.location = location;

  const hospitalization: NonNullable<Encounter['hospitalization']> = {};
  const preAdmit = readCx(ctx, pv1, 5);
  if (preAdmit) hospitalization.preAdmissionIdentifier = preAdmit;
  const readmission = readCodeableConcept(pv1, 13, 1, { table: '0092' });
  if (readmission) hospitalization.reAdmission = readmission;
  const admitSource = readCodeableConcept(pv1, 14, 1, { table: '0023' });
  if (admitSource) hospitalization.admitSource = admitSource;
  const courtesy = readCodeableConcepts(pv1, 16, { table: '0099' });
  if (courtesy.length) hospitalization.specialCourtesy = courtesy;
  const disposition = readCodeableConcept(pv1, 36, 1, { table: '0112' });
  if (disposition) hospitalization.dischargeDisposition = disposition;
  const diet = readCodeableConcepts(pv1, 38, { table: '0114' });
  if (diet.length) hospitalization.dietPreference = diet;
  if (Object.keys(hospitalization).length) encounter.hospitalization = hospitalization;

  const upsertKey = opts.upsertBy ?? key;
  return { fullUrl: ctx.bundle.upsert(encounter, upsertKey), identifier: upsertKey, resource: encounter };
}
