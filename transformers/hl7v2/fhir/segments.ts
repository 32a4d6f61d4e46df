import { uriPart } from '../fhir-identity';
import type {
  Account, AllergyIntolerance, AllergyIntoleranceReaction, CodeableConcept, Condition, Coverage, CoverageClass, Encounter,
  EncounterDiagnosis, Organization, Patient, Procedure, ProcedurePerformer, Reference, RelatedPerson,
} from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf, readName } from '../v2-datatypes';
import {
  collect, derivedIdentifier, organizationFrom, practitionerReference, readAddresses, readCodeableConcept, readCx,
  readDate, readDateLenient, readDateTime, readEi, readGender, readTelecoms, requiredMissing, v2TableSystem,
  type KeyedIdentifier, type MappedResource,
} from './readers';
import type { MappingContext } from './types';

/**
 * Builders for the segments ADT, BAR, DFT and PPR messages share. Field-by-field (v2-to-FHIR IG
 * segment maps NK1[RelatedPerson], IN1[Coverage], AL1/IAM[AllergyIntolerance], DG1[Condition],
 * PR1[Procedure], PRB[Condition], GT1 and PID-18 -> Account):
 *
 * NK1 -> RelatedPerson: NK1-2 name, NK1-3 relationship (0063) and NK1-7 contact role (0131) ->
 *   relationship, NK1-4 address, NK1-5/NK1-6 telecom home/work, NK1-8/NK1-9 period, NK1-15 gender,
 *   NK1-16 birthDate, NK1-20 communication, NK1-33 identifier. v2 gives a next of kin no stable id,
 *   so without NK1-33 the key is derived from the Patient's key + NK1-1 set id (a resend updates
 *   the same RelatedPerson; the IG's alternative, Patient.contact, would be lost by the next A08
 *   that omits NK1, since the Patient is replaced as a whole).
 * IN1 (+IN2) -> Coverage (+ payor Organization, + subscriber RelatedPerson): IN1-2 plan -> class
 *   plan, IN1-3/IN1-4/IN1-5/IN1-7 insurer id/name/address/phone -> payor Organization, IN1-8/IN1-9
 *   group number/name -> class group, IN1-12/IN1-13 -> period, IN1-15 plan type -> type,
 *   IN1-16/IN1-18/IN1-19 insured -> subscriber RelatedPerson (the Patient when IN1-17 is self),
 *   IN1-17 -> relationship (subscriber-relationship, plus the v2 coding), IN1-36 policy number ->
 *   identifier and key, IN1-49 insured's id -> subscriberId, IN1-22 -> order. Without IN1-36 the
 *   key is derived from the Patient + insurer id/name + plan. No insurer at all (self pay): the
 *   payor is the Patient, as FHIR requires one.
 * AL1 -> AllergyIntolerance: AL1-2 type (0127) -> category / type, AL1-3 -> code, AL1-4 severity
 *   (0128) -> reaction.severity (criticality when no AL1-5 reaction is given, because a reaction
 *   needs a manifestation), AL1-5 -> reaction.manifestation text, AL1-6 -> onsetDateTime;
 *   clinicalStatus active. Key: Patient + allergen code, so A60/A08 resends update one allergy.
 * IAM (ADT^A60) -> AllergyIntolerance: IAM-2..5 as AL1-2..5, IAM-6 action (0206: D delete ->
 *   verificationStatus entered-in-error), IAM-7 allergy unique id -> identifier and key, IAM-11
 *   onset date, IAM-13 reported date -> recordedDate, IAM-17 clinical status (0438).
 * DG1 -> Condition (category encounter-diagnosis) + Encounter.diagnosis: DG1-3 code (DG1-4 text when
 *   DG1-3 has none), DG1-5 -> onsetDateTime, DG1-6 type (0052) -> diagnosis.use, DG1-15 priority ->
 *   diagnosis.rank, DG1-16 clinician -> asserter, DG1-19 -> recordedDate, DG1-20 -> identifier and
 *   key (else Encounter or Patient key + code), DG1-21 action D -> entered-in-error.
 * PR1 -> Procedure: status completed, PR1-3 code (PR1-4 text), PR1-5 performedDateTime, PR1-6 ->
 *   category (0230), PR1-8 anesthesiologist / PR1-11 surgeon / PR1-12 practitioner -> performer,
 *   PR1-15 associated diagnosis -> reasonCode, PR1-19 -> identifier and key (else key + code +
 *   PR1-5), PR1-20 action D -> entered-in-error.
 * PRB -> Condition (category problem-list-item): PRB-3 code, PRB-4 instance id -> identifier and
 *   key, PRB-7 established -> recordedDate, PRB-9 actual resolution -> abatementDateTime, PRB-10 ->
 *   category (added), PRB-13 confirmation -> verificationStatus, PRB-14 life cycle -> clinicalStatus,
 *   PRB-16 onset -> onsetDateTime (PRB-17 onset text -> onsetString), PRB-1 DE or PPR^PC3 ->
 *   entered-in-error. PRB-2 (action time) is message metadata, not mapped.
 * Dates in NK1, IN1 and GT1 are read leniently (an invalid one is dropped, see readDateLenient);
 *   everywhere else an invalid date rejects the message with 102 at its field.
 * GT1 -> Account.guarantor: the Patient when GT1-11 says self, else a RelatedPerson (GT1-3 name,
 *   GT1-5 address, GT1-6/7 telecom, GT1-8 birthDate, GT1-9 gender, GT1-11 relationship), or the
 *   GT1-21 organization. PID-18 -> Account (identifier and key), subject Patient, coverage ->
 *   the Coverages of the message in IN1 order.
 */

const SUBSCRIBER_RELATIONSHIP = 'http://terminology.hl7.org/CodeSystem/subscriber-relationship';
const COVERAGE_CLASS = 'http://terminology.hl7.org/CodeSystem/coverage-class';
const ALLERGY_CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
const ALLERGY_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';
const CONDITION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/condition-category';
const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CONDITION_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';

type Owner = { fullUrl: string; identifier: KeyedIdentifier };

/**
 * `system^code` of a concept's first coding, else its text: what makes a coded item unique.
 * Never `|` inside a derived key: Medplum 4.5.2 splits a search token on an escaped `|` too, so
 * such a key would never match and every resend would create a copy.
 */
function conceptKey(cc: CodeableConcept | undefined): string | undefined {
  const c = cc?.coding?.[0];
  if (c?.code) return c.system ? `${c.system}^${c.code}` : c.code;
  return cc?.text;
}

// ---------------------------------------------------------------------------------------------
// NK1 -> RelatedPerson

/** NK1 -> RelatedPerson upserted by NK1-33, else by Patient key + NK1-1 (else `position`). */
export function mapRelatedPerson(ctx: MappingContext, nk1: Hl7Segment, patient: Owner, position: number): MappedResource<RelatedPerson> | undefined {
  const names = collect(nk1, 2, (rep) => readName(nk1, 2, rep));
  const relationship = [readCodeableConcept(nk1, 3, 1, { table: '0063' }), readCodeableConcept(nk1, 7, 1, { table: '0131' })].filter(
    (c): c is CodeableConcept => c !== undefined,
  );
  const telecom = [...readTelecoms(nk1, 5, 'home'), ...readTelecoms(nk1, 6, 'work')];
  const address = readAddresses(nk1, 4);
  const ids = collect(nk1, 33, (rep) => readCx(ctx, nk1, 33, rep));
  if (!names.length && !relationship.length && !telecom.length && !address.length && !ids.length) return undefined;
  const key = ids[0] ?? derivedIdentifier('related-person', patient.identifier, leaf(nk1, 1) ?? String(position));
  const rp: RelatedPerson = { resourceType: 'RelatedPerson', identifier: ids.length ? ids : [key], patient: { reference: patient.fullUrl } };
  if (relationship.length) rp.relationship = relationship;
  if (names.length) rp.name = names;
  if (telecom.length) rp.telecom = telecom;
  if (address.length) rp.address = address;
  const gender = readGender(nk1, 15);
  if (gender) rp.gender = gender;
  const birthDate = readDateLenient(nk1, 16);
  if (birthDate) rp.birthDate = birthDate;
  const start = readDateLenient(nk1, 8);
  const end = readDateLenient(nk1, 9);
  if (start || end) rp.period = { ...(start ? { start } : {}), ...(end ? { end } : {}) };
  const language = readCodeableConcept(nk1, 20, 1, { table: '0296' });
  if (language) rp.communication = [{ language }];
  return { fullUrl: ctx.bundle.upsert(rp, key), identifier: key, resource: rp };
}

/** Every NK1 of the message (or of `segments`) as a RelatedPerson of `patient`. */
export function mapRelatedPersons(ctx: MappingContext, patient: Owner, segments = ctx.msg.segments('NK1')): MappedResource<RelatedPerson>[] {
  return segments.map((nk1, i) => mapRelatedPerson(ctx, nk1, patient, i + 1)).filter((r): r is MappedResource<RelatedPerson> => !!r);
}

// ---------------------------------------------------------------------------------------------
// IN1 -> Coverage

const RELATIONSHIP: Record<string, [string, string]> = {
  SEL: ['self', 'Self'], SLF: ['self', 'Self'], SELF: ['self', 'Self'], '01': ['self', 'Self'], '1': ['self', 'Self'],
  SPO: ['spouse', 'Spouse'], DOM: ['common', 'Common Law Spouse'], CHD: ['child', 'Child'], PAR: ['parent', 'Parent'],
  EME: ['other', 'Other'], EMR: ['other', 'Other'],
};

/** IN1-17 (or GT1-11) relationship says the insured / guarantor is the patient. */
function isSelf(code: string | undefined): boolean {
  return RELATIONSHIP[(code ?? '').toUpperCase()]?.[0] === 'self';
}

/** IN1 (+ the IN2 after it) -> Coverage for `patient`; see the table above. */
export function mapCoverage(ctx: MappingContext, in1: Hl7Segment, patient: Owner, position: number): MappedResource<Coverage> {
  const insurerId = readCx(ctx, in1, 3);
  const insurerName = leaf(in1, 4);
  const payor =
    organizationFrom(ctx, insurerId, insurerName, {
      ...(readAddresses(in1, 5).length ? { address: readAddresses(in1, 5) } : {}),
      ...(readTelecoms(in1, 7, 'work').length ? { telecom: readTelecoms(in1, 7, 'work') } : {}),
    }) ?? { reference: patient.fullUrl };
  const plan = readCodeableConcept(in1, 2);
  const policy = leaf(in1, 36);
  const insurerKey = insurerId ? `${insurerId.system}^${insurerId.value}` : insurerName ?? '';
  const key: KeyedIdentifier = policy
    ? { system: `urn:wasl:insurance-policy:${uriPart(insurerKey || ctx.facilitySystem)}`, value: policy }
    : derivedIdentifier('coverage', patient.identifier, [insurerKey, conceptKey(plan) ?? '', insurerKey || plan ? '' : String(position)].join('^').replace(/\^+$/, ''));

  const coverage: Coverage = { resourceType: 'Coverage', identifier: [key], status: 'active', beneficiary: { reference: patient.fullUrl }, payor: [payor] };
  const type = readCodeableConcept(in1, 15, 1, { table: '0086' });
  if (type) coverage.type = type;
  const classes: CoverageClass[] = [];
  const planCode = plan?.coding?.[0]?.code ?? plan?.text;
  if (planCode) classes.push({ type: { coding: [{ system: COVERAGE_CLASS, code: 'plan' }] }, value: planCode, ...(plan?.coding?.[0]?.display ? { name: plan.coding[0].display } : {}) });
  const group = leaf(in1, 8);
  const groupName = leaf(in1, 9);
  if (group) classes.push({ type: { coding: [{ system: COVERAGE_CLASS, code: 'group' }] }, value: group, ...(groupName ? { name: groupName } : {}) });
  if (classes.length) coverage.class = classes;
  const start = readDateLenient(in1, 12);
  const end = readDateLenient(in1, 13);
  if (start || end) coverage.period = { ...(start ? { start } : {}), ...(end ? { end } : {}) };

  const relCode = leaf(in1, 17, 1, 1);
  if (relCode) {
    const rel = RELATIONSHIP[relCode.toUpperCase()];
    const v2 = readCodeableConcept(in1, 17, 1, { table: '0063' })!;
    coverage.relationship = rel ? { coding: [{ system: SUBSCRIBER_RELATIONSHIP, code: rel[0], display: rel[1] }, ...(v2.coding ?? [])], ...(v2.text ? { text: v2.text } : {}) } : v2;
  }
  if (isSelf(relCode)) coverage.subscriber = { reference: patient.fullUrl };
  else {
    const names = collect(in1, 16, (rep) => readName(in1, 16, rep));
    if (names.length) {
      const subKey = derivedIdentifier('subscriber', patient.identifier, key.value);
      const rp: RelatedPerson = { resourceType: 'RelatedPerson', identifier: [subKey], patient: { reference: patient.fullUrl }, name: names };
      const rel = readCodeableConcept(in1, 17, 1, { table: '0063' });
      if (rel) rp.relationship = [rel];
      const birthDate = readDateLenient(in1, 18);
      if (birthDate) rp.birthDate = birthDate;
      const address = readAddresses(in1, 19);
      if (address.length) rp.address = address;
      coverage.subscriber = { reference: ctx.bundle.upsert(rp, subKey) };
    }
  }
  const subscriberId = leaf(in1, 49, 1, 1);
  if (subscriberId) coverage.subscriberId = subscriberId;
  const order = leaf(in1, 22);
  if (order && /^[1-9]\d{0,3}$/.test(order)) coverage.order = Number(order);
  return { fullUrl: ctx.bundle.upsert(coverage, key), identifier: key, resource: coverage };
}

/** Every IN1 of the message as a Coverage of `patient`, in order. */
export function mapCoverages(ctx: MappingContext, patient: Owner): MappedResource<Coverage>[] {
  return ctx.msg.segments('IN1').map((in1, i) => mapCoverage(ctx, in1, patient, i + 1));
}

// ---------------------------------------------------------------------------------------------
// AL1 / IAM -> AllergyIntolerance

const ALLERGY_CATEGORY: Record<string, AllergyIntolerance['category']> = {
  DA: ['medication'], FA: ['food'], EA: ['environment'], AA: ['environment'], PA: ['environment'], LA: ['environment'],
};
const SEVERITY: Record<string, AllergyIntoleranceReaction['severity']> = { SV: 'severe', MO: 'moderate', MI: 'mild' };
const CRITICALITY: Record<string, AllergyIntolerance['criticality']> = { SV: 'high', MO: 'low', MI: 'low', U: 'unable-to-assess' };
// Table 0438 allergy clinical status -> [clinical, verification]
const IAM_STATUS: Record<string, [string | undefined, string]> = {
  U: [undefined, 'unconfirmed'], P: [undefined, 'unconfirmed'], S: [undefined, 'unconfirmed'], C: ['active', 'confirmed'],
  I: ['inactive', 'confirmed'], E: [undefined, 'entered-in-error'],
};

/** AL1 (or IAM when `seg.id === 'IAM'`) -> AllergyIntolerance upserted for `patient`. */
export function mapAllergy(ctx: MappingContext, seg: Hl7Segment, patient: Owner, position: number): MappedResource<AllergyIntolerance> | undefined {
  const code = readCodeableConcept(seg, 3);
  const iam = seg.id === 'IAM';
  const uid = iam ? readEi(ctx, seg, 7) : undefined;
  if (!code && !uid) return undefined;
  const key = uid ?? derivedIdentifier('allergy', patient.identifier, conceptKey(code) ?? String(position));
  const allergy: AllergyIntolerance = {
    resourceType: 'AllergyIntolerance',
    identifier: [key],
    clinicalStatus: { coding: [{ system: ALLERGY_CLINICAL, code: 'active' }] },
    patient: { reference: patient.fullUrl },
  };
  if (code) allergy.code = code;
  const typeCode = (leaf(seg, 2, 1, 1) ?? '').toUpperCase();
  const category = ALLERGY_CATEGORY[typeCode];
  if (category) allergy.category = category;
  if (typeCode === 'MC') allergy.type = 'intolerance';
  else if (category) allergy.type = 'allergy';
  const severity = (leaf(seg, 4, 1, 1) ?? '').toUpperCase();
  const manifestation = collect(seg, 5, (rep) => leaf(seg, 5, rep, 1)).map((text) => ({ text }));
  if (manifestation.length) {
    const reaction: AllergyIntoleranceReaction = { manifestation };
    if (SEVERITY[severity]) reaction.severity = SEVERITY[severity];
    allergy.reaction = [reaction];
  } else if (CRITICALITY[severity]) allergy.criticality = CRITICALITY[severity];
  if (iam) {
    const onset = readDate(seg, 11);
    if (onset) allergy.onsetDateTime = onset;
    const recorded = readDateTime(ctx, seg, 13);
    if (recorded) allergy.recordedDate = recorded;
    const status = IAM_STATUS[(leaf(seg, 17, 1, 1) ?? '').toUpperCase()];
    if (status) setAllergyStatus(allergy, status[0], status[1]);
    if ((leaf(seg, 6) ?? '').toUpperCase() === 'D') setAllergyStatus(allergy, undefined, 'entered-in-error');
  } else {
    const onset = readDate(seg, 6);
    if (onset) allergy.onsetDateTime = onset;
  }
  return { fullUrl: ctx.bundle.upsert(allergy, key), identifier: key, resource: allergy };
}

function setAllergyStatus(allergy: AllergyIntolerance, clinical: string | undefined, verification: string): void {
  // ait-1/ait-2: an entered-in-error allergy carries no clinical status.
  if (clinical) allergy.clinicalStatus = { coding: [{ system: ALLERGY_CLINICAL, code: clinical }] };
  else delete allergy.clinicalStatus;
  allergy.verificationStatus = { coding: [{ system: ALLERGY_VERIFICATION, code: verification }] };
}

/** Every AL1 (and IAM) of the message as an AllergyIntolerance of `patient`. */
export function mapAllergies(ctx: MappingContext, patient: Owner): MappedResource<AllergyIntolerance>[] {
  return ctx.msg
    .segments()
    .filter((s) => s.id === 'AL1' || s.id === 'IAM')
    .map((s, i) => mapAllergy(ctx, s, patient, i + 1))
    .filter((r): r is MappedResource<AllergyIntolerance> => !!r);
}

// ---------------------------------------------------------------------------------------------
// DG1 -> Condition (+ Encounter.diagnosis)

/** DG1 -> Condition (encounter-diagnosis) of `patient`, linked to `encounter` when given. */
export function mapDiagnosis(
  ctx: MappingContext,
  dg1: Hl7Segment,
  patient: Owner,
  encounter: MappedResource<Encounter> | undefined,
  position: number,
): MappedResource<Condition> | undefined {
  const description = leaf(dg1, 4);
  let code = readCodeableConcept(dg1, 3);
  if (code && !code.text && description) code = { ...code, text: description };
  if (!code && description) code = { text: description };
  if (!code) return undefined;
  const owner = encounter ?? patient;
  const key = readEi(ctx, dg1, 20) ?? derivedIdentifier('diagnosis', owner.identifier, conceptKey(code) ?? String(position));
  const condition: Condition = {
    resourceType: 'Condition',
    identifier: [key],
    category: [{ coding: [{ system: CONDITION_CATEGORY, code: 'encounter-diagnosis', display: 'Encounter Diagnosis' }] }],
    code,
    subject: { reference: patient.fullUrl },
  };
  if (encounter) condition.encounter = { reference: encounter.fullUrl };
  const onset = readDateTime(ctx, dg1, 5);
  if (onset) condition.onsetDateTime = onset;
  const asserter = practitionerReference(ctx, dg1, 16);
  if (asserter) condition.asserter = asserter;
  const recorded = readDateTime(ctx, dg1, 19);
  if (recorded) condition.recordedDate = recorded;
  if ((leaf(dg1, 21) ?? '').toUpperCase() === 'D') {
    condition.verificationStatus = { coding: [{ system: CONDITION_VERIFICATION, code: 'entered-in-error' }] };
  }
  const fullUrl = ctx.bundle.upsert(condition, key);
  if (encounter) {
    const diagnosis: EncounterDiagnosis = { condition: { reference: fullUrl } };
    const use = readCodeableConcept(dg1, 6, 1, { table: '0052' });
    if (use) diagnosis.use = use;
    const rank = leaf(dg1, 15);
    if (rank && /^[1-9]\d{0,3}$/.test(rank)) diagnosis.rank = Number(rank);
    (encounter.resource.diagnosis ??= []).push(diagnosis);
  }
  return { fullUrl, identifier: key, resource: condition };
}

/** Every DG1 of the message as a Condition. */
export function mapDiagnoses(ctx: MappingContext, patient: Owner, encounter?: MappedResource<Encounter>): MappedResource<Condition>[] {
  return ctx.msg
    .segments('DG1')
    .map((dg1, i) => mapDiagnosis(ctx, dg1, patient, encounter, i + 1))
    .filter((r): r is MappedResource<Condition> => !!r);
}

// ---------------------------------------------------------------------------------------------
// PR1 -> Procedure

const PERFORMER_FIELDS: [number, string][] = [
  [8, 'anesthesiologist'],
  [11, 'surgeon'],
  [12, 'procedure practitioner'],
];

/** PR1 -> Procedure of `patient` (status completed), linked to `encounter` when given. */
export function mapProcedure(
  ctx: MappingContext,
  pr1: Hl7Segment,
  patient: Owner,
  encounter: MappedResource<Encounter> | undefined,
  position: number,
): MappedResource<Procedure> | undefined {
  const description = leaf(pr1, 4);
  let code = readCodeableConcept(pr1, 3);
  if (code && !code.text && description) code = { ...code, text: description };
  if (!code && description) code = { text: description };
  if (!code) return undefined;
  const performed = readDateTime(ctx, pr1, 5);
  const owner = encounter ?? patient;
  const key =
    readEi(ctx, pr1, 19) ?? derivedIdentifier('procedure', owner.identifier, [conceptKey(code) ?? String(position), leaf(pr1, 5) ?? ''].join('^').replace(/\^$/, ''));
  const deleted = (leaf(pr1, 20) ?? '').toUpperCase() === 'D';
  const procedure: Procedure = {
    resourceType: 'Procedure',
    identifier: [key],
    status: deleted ? 'entered-in-error' : 'completed',
    code,
    subject: { reference: patient.fullUrl },
  };
  if (encounter) procedure.encounter = { reference: encounter.fullUrl };
  if (performed) procedure.performedDateTime = performed;
  const category = readCodeableConcept(pr1, 6, 1, { table: '0230' });
  if (category) procedure.category = category;
  const performer: ProcedurePerformer[] = [];
  for (const [field, role] of PERFORMER_FIELDS) {
    for (const actor of collect(pr1, field, (rep) => practitionerReference(ctx, pr1, field, rep))) {
      performer.push({ function: { text: role }, actor });
    }
  }
  if (performer.length) procedure.performer = performer;
  const reason = readCodeableConcept(pr1, 15);
  if (reason) procedure.reasonCode = [reason];
  return { fullUrl: ctx.bundle.upsert(procedure, key), identifier: key, resource: procedure };
}

/** Every PR1 of the message as a Procedure. */
export function mapProcedures(ctx: MappingContext, patient: Owner, encounter?: MappedResource<Encounter>): MappedResource<Procedure>[] {
  return ctx.msg
    .segments('PR1')
    .map((pr1, i) => mapProcedure(ctx, pr1, patient, encounter, i + 1))
    .filter((r): r is MappedResource<Procedure> => !!r);
}

// ---------------------------------------------------------------------------------------------
// PRB -> Condition (problem list)

const PROBLEM_CLINICAL: Record<string, string> = {
  A: 'active', ACTIVE: 'active', I: 'inactive', INACTIVE: 'inactive', R: 'resolved', RESOLVED: 'resolved',
  RE: 'recurrence', RECURRENCE: 'recurrence', REMISSION: 'remission',
};
const PROBLEM_VERIFICATION: Record<string, string> = {
  C: 'confirmed', CONFIRMED: 'confirmed', P: 'provisional', PROVISIONAL: 'provisional', U: 'unconfirmed', UNCONFIRMED: 'unconfirmed',
  D: 'differential', R: 'refuted', REFUTED: 'refuted',
};

/**
 * PRB -> Condition (problem-list-item) of `patient`; `deleted` marks it entered-in-error
 * (PPR^PC3). PRB-3 is required (101).
 */
export function mapProblem(
  ctx: MappingContext,
  prb: Hl7Segment,
  patient: Owner,
  encounter: MappedResource<Encounter> | undefined,
  deleted = false,
): MappedResource<Condition> {
  const code = readCodeableConcept(prb, 3);
  if (!code) throw requiredMissing('PRB', 3, 'PRB-3 problem id is missing');
  const key = readEi(ctx, prb, 4) ?? derivedIdentifier('problem', patient.identifier, conceptKey(code)!);
  const category: CodeableConcept[] = [{ coding: [{ system: CONDITION_CATEGORY, code: 'problem-list-item', display: 'Problem List Item' }] }];
  const classification = readCodeableConcept(prb, 10);
  if (classification) category.push(classification);
  const condition: Condition = { resourceType: 'Condition', identifier: [key], category, code, subject: { reference: patient.fullUrl } };
  if (encounter) condition.encounter = { reference: encounter.fullUrl };
  const lifeCycle = (leaf(prb, 14, 1, 1) ?? '').toUpperCase();
  const confirmation = (leaf(prb, 13, 1, 1) ?? '').toUpperCase();
  const action = (leaf(prb, 1) ?? '').toUpperCase();
  if (deleted || action === 'DE') {
    // con-5: an entered-in-error Condition has no clinical status.
    condition.verificationStatus = { coding: [{ system: CONDITION_VERIFICATION, code: 'entered-in-error' }] };
  } else {
    if (PROBLEM_CLINICAL[lifeCycle]) {
      condition.clinicalStatus = { coding: [{ system: CONDITION_CLINICAL, code: PROBLEM_CLINICAL[lifeCycle] }], text: leaf(prb, 14, 1, 2) ?? leaf(prb, 14) };
    }
    if (PROBLEM_VERIFICATION[confirmation]) {
      condition.verificationStatus = { coding: [{ system: CONDITION_VERIFICATION, code: PROBLEM_VERIFICATION[confirmation] }] };
    }
  }
  const recorded = readDateTime(ctx, prb, 7);
  if (recorded) condition.recordedDate = recorded;
  const abatement = readDateTime(ctx, prb, 9);
  if (abatement) condition.abatementDateTime = abatement;
  const onset = readDateTime(ctx, prb, 16);
  const onsetText = leaf(prb, 17);
  if (onset) condition.onsetDateTime = onset;
  else if (onsetText) condition.onsetString = onsetText;
  return { fullUrl: ctx.bundle.upsert(condition, key), identifier: key, resource: condition };
}

// ---------------------------------------------------------------------------------------------
// GT1 + PID-18 -> Account

/** GT1 -> the guarantor party: Patient (self), RelatedPerson, or the GT1-21 organization. */
export function guarantorReference(ctx: MappingContext, gt1: Hl7Segment, patient: Owner, position: number): Reference<Patient | RelatedPerson | Organization> | undefined {
  const relationship = leaf(gt1, 11, 1, 1);
  if (isSelf(relationship)) return { reference: patient.fullUrl };
  const names = collect(gt1, 3, (rep) => readName(gt1, 3, rep));
  if (!names.length) {
    const org = leaf(gt1, 21);
    return org ? { display: org } : undefined;
  }
  const key = derivedIdentifier('guarantor', patient.identifier, leaf(gt1, 1) ?? String(position));
  const rp: RelatedPerson = { resourceType: 'RelatedPerson', identifier: [key], patient: { reference: patient.fullUrl }, name: names };
  const rel = readCodeableConcept(gt1, 11, 1, { table: '0063' });
  if (rel) rp.relationship = [rel];
  const address = readAddresses(gt1, 5);
  if (address.length) rp.address = address;
  const telecom = [...readTelecoms(gt1, 6, 'home'), ...readTelecoms(gt1, 7, 'work')];
  if (telecom.length) rp.telecom = telecom;
  const birthDate = readDateLenient(gt1, 8);
  if (birthDate) rp.birthDate = birthDate;
  const gender = readGender(gt1, 9);
  if (gender) rp.gender = gender;
  return { reference: ctx.bundle.upsert(rp, key) };
}

export interface AccountOptions {
  status?: Account['status'];
  coverages?: MappedResource<Coverage>[];
  /** Identifier keying the Account when PID-18 is empty (e.g. the visit number). */
  fallbackKey?: KeyedIdentifier;
}

/**
 * PID-18 patient account number -> Account (status active unless given), subject the Patient,
 * coverage in IN1 order, guarantor from every GT1. Undefined when there is no account number and
 * no fallback key.
 */
export function mapAccount(
  ctx: MappingContext,
  patient: MappedResource<Patient> | Owner,
  opts: AccountOptions = {},
): MappedResource<Account> | undefined {
  const pid = ctx.msg.segment('PID');
  const key = (pid && readCx(ctx, pid, 18)) ?? opts.fallbackKey;
  if (!key) return undefined;
  if (!key.type) key.type = { coding: [{ system: v2TableSystem('0203'), code: 'AN' }] };
  const account: Account = { resourceType: 'Account', identifier: [key], status: opts.status ?? 'active', subject: [{ reference: patient.fullUrl }] };
  const coverages = opts.coverages ?? [];
  if (coverages.length) account.coverage = coverages.map((c, i) => ({ coverage: { reference: c.fullUrl }, priority: i + 1 }));
  const guarantor = ctx.msg
    .segments('GT1')
    .map((gt1, i) => guarantorReference(ctx, gt1, patient, i + 1))
    .filter((r): r is Reference<Patient | RelatedPerson | Organization> => !!r)
    .map((party) => ({ party }));
  if (guarantor.length) account.guarantor = guarantor;
  return { fullUrl: ctx.bundle.upsert(account, key), identifier: key, resource: account };
}
