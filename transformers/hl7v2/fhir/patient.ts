import { uriPart } from '../fhir-identity';
import type { CodeableConcept, Extension, Organization, Patient, Practitioner, Reference } from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf, readName } from '../v2-datatypes';
import {
  collect, derivedIdentifier, practitionerReference, organizationReference, readAddresses, readCodeableConcept, readCx, readCxList,
  readDate, readDateTime, readGender, readTelecoms, requiredMissing, V2_0203,
  type KeyedIdentifier, type MappedResource,
} from './readers';
import type { MappingContext } from './types';

/**
 * PID (+ PD1) -> Patient, following the v2-to-FHIR IG segment map PID[Patient]:
 *
 * | v2 | FHIR | note |
 * |---|---|---|
 * | PID-3 (all repetitions) | identifier | the FIRST one keys the conditional update |
 * | PID-2, PID-4 | identifier | older senders' external / alternate ids |
 * | PID-19 | identifier (type SS, system `http://hl7.org/fhir/sid/us-ssn`) | as the IG |
 * | PID-20 | identifier (type DL, system from DLN-2 issuing state) | |
 * | PID-5 | name | XPN-7 name type -> use |
 * | PID-6 | extension patient-mothersMaidenName | family of the first repetition |
 * | PID-7 | birthDate; time part -> extension patient-birthTime on `_birthDate` | keeps precision and offset |
 * | PID-8 | gender | table 0001 |
 * | PID-11 | address | |
 * | PID-13 / PID-14 | telecom (home / work) | |
 * | PID-15 | communication.language | CWE, table 0296 when no system |
 * | PID-16 | maritalStatus | v3-MaritalStatus coding when the letter means the same, plus the v2 coding and text |
 * | PID-17 | extension patient-religion | |
 * | PID-24 / PID-25 | multipleBirthBoolean / multipleBirthInteger | |
 * | PID-29 / PID-30 | deceasedDateTime / deceasedBoolean | |
 * | PD1-3 / PD1-4 | generalPractitioner (Organization / Practitioner) | |
 *
 * Not mapped: PID-10 race and PID-22 ethnic group (US Core extensions, not used by our NPHIES
 * receivers), PID-12/-21/-23/-26..28/-31..39. A conditional PUT replaces the stored Patient,
 * so fields the message leaves empty are removed (a pure mapper cannot merge with stored data).
 */

const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
// Table 0002 codes whose v3-MaritalStatus code is the same letter with the same meaning. Others
// collide (v2 A = separated, v3 A = annulled; v2 P/T differ too), so they only keep the v2 coding.
const MARITAL_DISPLAY: Record<string, string> = { M: 'Married', D: 'Divorced', W: 'Widowed', S: 'Never Married', I: 'Interlocutory' };
const SSN_SYSTEM = 'http://hl7.org/fhir/sid/us-ssn';
const EXT_BIRTH_TIME = 'http://hl7.org/fhir/StructureDefinition/patient-birthTime';
const EXT_MAIDEN = 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName';
const EXT_RELIGION = 'http://hl7.org/fhir/StructureDefinition/patient-religion';

/** PID-3 identifiers (the first is the key), then PID-2, PID-4, PID-19, PID-20. */
export function patientIdentifiers(ctx: MappingContext, pid: Hl7Segment): KeyedIdentifier[] {
  const ids = readCxList(ctx, pid, 3);
  if (ids.length === 0) throw requiredMissing('PID', 3, 'PID-3 patient identifier list has no identifier value');
  const more: (KeyedIdentifier | undefined)[] = [readCx(ctx, pid, 2), ...collect(pid, 4, (rep) => readCx(ctx, pid, 4, rep))];
  const ssn = leaf(pid, 19);
  if (ssn) more.push({ system: SSN_SYSTEM, value: ssn, type: { coding: [{ system: V2_0203, code: 'SS' }] } });
  const dl = leaf(pid, 20, 1, 1);
  if (dl) {
    const state = leaf(pid, 20, 1, 2);
    more.push({
      system: state ? `urn:wasl:drivers-license:${uriPart(state)}` : `${ctx.facilitySystem}#drivers-license`,
      value: dl,
      type: { coding: [{ system: V2_0203, code: 'DL' }] },
    });
  }
  const seen = new Set(ids.map((i) => `${i.system}|${i.value}`));
  for (const id of more) {
    if (!id || seen.has(`${id.system}|${id.value}`)) continue;
    seen.add(`${id.system}|${id.value}`);
    ids.push(id);
  }
  return ids;
}

/** PID-16 -> maritalStatus: v3 coding when unambiguous, the v2 coding, and the text. */
function maritalStatus(pid: Hl7Segment): CodeableConcept | undefined {
  const cc = readCodeableConcept(pid, 16, 1, { table: '0002' });
  const code = leaf(pid, 16, 1, 1);
  if (!cc || !code) return cc;
  if (MARITAL_DISPLAY[code]) cc.coding = [{ system: MARITAL, code, display: MARITAL_DISPLAY[code] }, ...(cc.coding ?? [])];
  return cc;
}

/**
 * Builds the Patient of a PID (and optional PD1) without adding it to the Bundle (PD1 doctors
 * are added, as Practitioner/Organization conditional creates).
 * @throws ValidationError 101 at PID-3 when no identifier has a value; 102 for a bad PID-7/PID-29.
 */
export function buildPatient(ctx: MappingContext, pid: Hl7Segment, pd1?: Hl7Segment): Patient {
  const patient: Patient = { resourceType: 'Patient', identifier: patientIdentifiers(ctx, pid) };
  const names = collect(pid, 5, (rep) => readName(pid, 5, rep));
  if (names.length) patient.name = names;
  const telecom = [...readTelecoms(pid, 13, 'home'), ...readTelecoms(pid, 14, 'work')];
  if (telecom.length) patient.telecom = telecom;
  const gender = readGender(pid, 8);
  if (gender) patient.gender = gender;
  const birthDate = readDate(pid, 7);
  if (birthDate) {
    patient.birthDate = birthDate;
    const birthTime = readDateTime(ctx, pid, 7);
    // FHIR primitive extension (`_birthDate`); @medplum/fhirtypes does not model those.
    if (birthTime && birthTime.includes('T')) {
      (patient as Patient & { _birthDate?: { extension: Extension[] } })._birthDate = { extension: [{ url: EXT_BIRTH_TIME, valueDateTime: birthTime }] };
    }
  }
  const addresses = readAddresses(pid, 11);
  if (addresses.length) patient.address = addresses;
  const languages = collect(pid, 15, (rep) => readCodeableConcept(pid, 15, rep, { table: '0296' }));
  if (languages.length) patient.communication = languages.map((language, i) => (i === 0 ? { language, preferred: true } : { language }));
  const marital = maritalStatus(pid);
  if (marital) patient.maritalStatus = marital;

  const extension: Extension[] = [];
  const maiden = leaf(pid, 6, 1, 1);
  if (maiden) extension.push({ url: EXT_MAIDEN, valueString: maiden });
  const religion = readCodeableConcept(pid, 17, 1, { table: '0006' });
  if (religion) extension.push({ url: EXT_RELIGION, valueCodeableConcept: religion });
  if (extension.length) patient.extension = extension;

  const birthOrder = leaf(pid, 25);
  const multiple = leaf(pid, 24);
  if (birthOrder && /^[1-9]\d{0,2}$/.test(birthOrder)) patient.multipleBirthInteger = Number(birthOrder);
  else if (multiple === 'Y' || multiple === 'N') patient.multipleBirthBoolean = multiple === 'Y';
  const deathTime = readDateTime(ctx, pid, 29);
  const deceased = leaf(pid, 30);
  if (deathTime) patient.deceasedDateTime = deathTime;
  else if (deceased === 'Y' || deceased === 'N') patient.deceasedBoolean = deceased === 'Y';

  if (pd1) {
    const gp: Reference<Practitioner | Organization>[] = [
      ...collect(pd1, 4, (rep) => practitionerReference(ctx, pd1, 4, rep)),
      ...collect(pd1, 3, (rep) => organizationReference(ctx, pd1, 3, rep)),
    ];
    if (gp.length) patient.generalPractitioner = gp;
  }
  return patient;
}

/**
 * Maps the message's PID (and PD1) to a Patient upserted by its first PID-3 identifier
 * (`PUT Patient?identifier=system|value`) and returns the entry's fullUrl, key and resource.
 * `pid` defaults to the message's first PID; `upsertBy` overrides the key (ADT^A47 upserts by the
 * old MRG-1 identifier so the stored Patient gets the new identifier list).
 * @throws ValidationError 101 (PID or PID-3 missing), 102 (bad dates).
 */
export function mapPatient(
  ctx: MappingContext,
  opts: { pid?: Hl7Segment; pd1?: Hl7Segment; upsertBy?: KeyedIdentifier } = {},
): MappedResource<Patient> {
  const pid = opts.pid ?? ctx.msg.segment('PID');
  if (!pid) throw requiredMissing('PID', 3, 'PID segment is missing (PID-3 patient identifier required)');
  const resource = buildPatient(ctx, pid, opts.pd1 ?? (opts.pid ? undefined : ctx.msg.segment('PD1')));
  const identifier = opts.upsertBy ?? (resource.identifier![0] as KeyedIdentifier);
  return { fullUrl: ctx.bundle.upsert(resource, identifier), identifier, resource };
}

/** A Patient reference for resources of this message: `{ reference: fullUrl }`. */
export function patientReference(patient: MappedResource<Patient>): Reference {
  return { reference: patient.fullUrl };
}

/** Identifier for a resource owned by the Patient (see derivedIdentifier). */
export function patientScopedIdentifier(kind: string, patient: MappedResource<Patient>, key: string): KeyedIdentifier {
  return derivedIdentifier(kind, patient.identifier, key);
}
