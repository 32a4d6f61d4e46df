import type { Encounter, Patient } from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf, readName } from '../v2-datatypes';
import { mapEncounter, type EncounterOptions } from './encounter';
import { mapPatient } from './patient';
import { collect, readCx, readCxList, requiredMissing, type KeyedIdentifier, type MappedResource } from './readers';
import { mapAccount, mapAllergies, mapCoverages, mapDiagnoses, mapProblem, mapProcedures, mapRelatedPersons } from './segments';
import type { MapperTable, MappingContext } from './types';

/**
 * ADT -> FHIR R4 transaction (v2-to-FHIR IG message maps ADT_A01, ADT_A02, ADT_A03, ADT_A05,
 * ADT_A09, ADT_A39/A40, ADT_A43/A45, ADT_A60). Segment maps live in patient.ts (PID, PD1),
 * encounter.ts (PV1, PV2) and segments.ts (NK1, IN1, AL1, IAM, DG1, PR1, PRB, GT1, PID-18).
 *
 * | event | resources | Encounter.status and notes |
 * |---|---|---|
 * | A01 admit, A04 register | Patient, Encounter, RelatedPerson (NK1), Coverage (IN1), Account (PID-18, GT1), AllergyIntolerance (AL1), Condition (DG1, PRB), Procedure (PR1), Practitioner, Organization, Location | in-progress; period.start = PV1-44, else EVN-2, else MSH-7 |
 * | A02 transfer | as A01 | in-progress; location history: PV1-6 prior (completed), PV1-3 new (active) |
 * | A03 discharge | as A01 | finished; PV1-45 period.end |
 * | A05 pre-admit | as A01 | planned |
 * | A08 update | as A01; PV1 optional | finished when PV1-45 is valued, else in-progress |
 * | A11 cancel admit | Patient, Encounter | entered-in-error (the admission never happened) |
 * | A13 cancel discharge | as A01 | in-progress; PV1-45 ignored so period.end is cleared |
 * | A28 add person, A31 update person | Patient, RelatedPerson, Coverage, Account, AllergyIntolerance | no Encounter: their PV1 is a required-but-empty placeholder by the standard |
 * | A40 merge patient | per PID/MRG pair: surviving Patient (link replaces) + merged Patient keyed by MRG-1 (active false, link replaced-by) | |
 * | A45 move visit | Patient, Encounter keyed by MRG-5 (prior visit number) with subject the PID Patient | moves the visit |
 * | A47 change identifier | Patient keyed by MRG-1 carrying the new PID-3 list | the stored Patient keeps its id and gets the new identifiers |
 * | A60 update allergy | Patient, Encounter (only when PV1-19 is valued), AllergyIntolerance per IAM | |
 *
 * Deviations from the IG: A11 uses entered-in-error rather than cancelled because the admit was
 * a mistake, not a cancelled plan; A28/A31 ignore PV1 (see above); the merged Patient of A40
 * is replaced by a stub (identifiers, active false, link) because a conditional PUT cannot
 * keep stored fields; OBX, ROL, DB1, PDA and ACC segments of ADT messages are not mapped yet.
 */

interface AdmitRules extends EncounterOptions {
  /** The event needs PV1 (101 when it is missing). */
  requirePv1?: boolean;
  /** Map PV1 to an Encounter at all (false for A28/A31). */
  encounter?: boolean;
  /** Only patient and encounter (cancel events carry no clinical segments to map). */
  minimal?: boolean;
}

/** Patient, its Encounter, and every segment group ADT messages share. */
function mapPatientEvent(ctx: MappingContext, rules: AdmitRules): { patient: MappedResource<Patient>; encounter?: MappedResource<Encounter> } {
  const patient = mapPatient(ctx);
  const event = ctx.msg.header.triggerEvent;
  const pv1 = ctx.msg.segment('PV1');
  if (!pv1 && rules.requirePv1) throw requiredMissing('PV1', undefined, `PV1 segment is required for ADT^${event}`);
  const encounter = pv1 && rules.encounter !== false ? mapEncounter(ctx, pv1, patient, rules) : undefined;
  if (rules.minimal) return { patient, encounter };
  mapRelatedPersons(ctx, patient);
  const coverages = mapCoverages(ctx, patient);
  const account = mapAccount(ctx, patient, { coverages });
  if (account && encounter) encounter.resource.account = [{ reference: account.fullUrl }];
  mapAllergies(ctx, patient);
  mapDiagnoses(ctx, patient, encounter);
  mapProcedures(ctx, patient, encounter);
  for (const prb of ctx.msg.segments('PRB')) mapProblem(ctx, prb, patient, encounter);
  return { patient, encounter };
}

/** A mapper for an event with the given Encounter rules. */
function event(rules: AdmitRules | ((ctx: MappingContext) => AdmitRules)) {
  return (ctx: MappingContext): void => {
    mapPatientEvent(ctx, typeof rules === 'function' ? rules(ctx) : rules);
  };
}

/** A08 and A45 have no status of their own: finished when PV1-45 is valued. */
function dischargedOrInProgress(ctx: MappingContext): AdmitRules {
  const pv1 = ctx.msg.segment('PV1');
  return { status: pv1 && leaf(pv1, 45) ? 'finished' : 'in-progress' };
}

/** The PID/MRG pairs of a merge message (ADT^A40 may repeat them). */
function mergePairs(ctx: MappingContext): { pid: Hl7Segment; mrg: Hl7Segment; pd1?: Hl7Segment }[] {
  const pairs: { pid: Hl7Segment; mrg: Hl7Segment; pd1?: Hl7Segment }[] = [];
  let pid: Hl7Segment | undefined;
  let pd1: Hl7Segment | undefined;
  for (const seg of ctx.msg.segments()) {
    if (seg.id === 'PID') {
      pid = seg;
      pd1 = undefined;
    } else if (seg.id === 'PD1') pd1 = seg;
    else if (seg.id === 'MRG' && pid) {
      pairs.push({ pid, mrg: seg, pd1 });
      pid = undefined;
    }
  }
  if (!ctx.msg.has('PID')) throw requiredMissing('PID', 3, 'PID segment is missing (PID-3 patient identifier required)');
  if (pairs.length === 0) throw requiredMissing('MRG', 1, 'MRG segment with the prior patient identifier is missing');
  return pairs;
}

/** MRG-1 prior patient identifier list (the first keys the prior Patient). */
function priorIdentifiers(ctx: MappingContext, mrg: Hl7Segment): KeyedIdentifier[] {
  const ids = readCxList(ctx, mrg, 1);
  if (ids.length === 0) throw requiredMissing('MRG', 1, 'MRG-1 prior patient identifier list has no identifier value');
  return ids;
}

/**
 * A40: for each PID/MRG pair the surviving Patient links `replaces` to the merged one, and the
 * merged Patient (keyed by MRG-1, named by MRG-7) is inactive and links `replaced-by`.
 */
function mapMerge(ctx: MappingContext): void {
  for (const { pid, mrg, pd1 } of mergePairs(ctx)) {
    const survivor = mapPatient(ctx, { pid, pd1 });
    const prior = priorIdentifiers(ctx, mrg);
    const key = prior[0];
    if (key.system === survivor.identifier.system && key.value === survivor.identifier.value) continue;
    const merged: Patient = { resourceType: 'Patient', identifier: prior, active: false, link: [{ other: { reference: survivor.fullUrl }, type: 'replaced-by' }] };
    const names = collect(mrg, 7, (rep) => readName(mrg, 7, rep));
    if (names.length) merged.name = names;
    const mergedUrl = ctx.bundle.upsert(merged, key);
    (survivor.resource.link ??= []).push({ other: { reference: mergedUrl }, type: 'replaces' });
  }
}

/** A47: the Patient found by the old identifier (MRG-1) gets the PID-3 list. */
function mapChangeIdentifier(ctx: MappingContext): void {
  for (const { pid, pd1, mrg } of mergePairs(ctx)) {
    mapPatient(ctx, { pid, pd1, upsertBy: priorIdentifiers(ctx, mrg)[0] });
  }
}

/** A45: the visit MRG-5 names (else PV1-19) moves to the PID Patient. */
function mapMoveVisit(ctx: MappingContext): void {
  const [{ pid, pd1, mrg }] = mergePairs(ctx);
  const patient = mapPatient(ctx, { pid, pd1 });
  const pv1 = ctx.msg.segment('PV1');
  if (!pv1) throw requiredMissing('PV1', undefined, 'PV1 segment is required for ADT^A45');
  const prior = readCx(ctx, mrg, 5) ?? readCx(ctx, mrg, 6) ?? readCx(ctx, pv1, 19);
  if (!prior) throw requiredMissing('MRG', 5, 'MRG-5 prior visit number is missing');
  const discharged = leaf(pv1, 45) !== undefined;
  mapEncounter(ctx, pv1, patient, { upsertBy: prior, status: discharged ? 'finished' : 'in-progress' });
}

/** A60: allergies (IAM); the visit only when PV1-19 names one. */
function mapAllergyUpdate(ctx: MappingContext): void {
  const patient = mapPatient(ctx);
  const pv1 = ctx.msg.segment('PV1');
  if (pv1 && readCx(ctx, pv1, 19)) mapEncounter(ctx, pv1, patient, dischargedOrInProgress(ctx));
  if (!ctx.msg.has('IAM') && !ctx.msg.has('AL1')) throw requiredMissing('IAM', 3, 'ADT^A60 carries no IAM segment');
  mapAllergies(ctx, patient);
}

export const mappers: MapperTable = {
  'ADT^A01': event({ status: 'in-progress', requirePv1: true, eventTimeIsStart: true }),
  'ADT^A02': event({ status: 'in-progress', requirePv1: true }),
  'ADT^A03': event({ status: 'finished', requirePv1: true }),
  'ADT^A04': event({ status: 'in-progress', requirePv1: true, eventTimeIsStart: true }),
  'ADT^A05': event({ status: 'planned', requirePv1: true }),
  'ADT^A08': event(dischargedOrInProgress),
  'ADT^A11': event({ status: 'entered-in-error', requirePv1: true, minimal: true }),
  'ADT^A13': event({ status: 'in-progress', requirePv1: true, ignoreDischarge: true }),
  'ADT^A28': event({ encounter: false }),
  'ADT^A31': event({ encounter: false }),
  'ADT^A40': mapMerge,
  'ADT^A45': mapMoveVisit,
  'ADT^A47': mapChangeIdentifier,
  'ADT^A60': mapAllergyUpdate,
};
