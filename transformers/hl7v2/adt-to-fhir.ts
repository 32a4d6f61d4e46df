import type { Bundle, BundleEntry, CodeableConcept, Coding, Encounter, Identifier, Patient, Period } from '@medplum/fhirtypes';
import { hl7ToFhirDate, hl7ToFhirDateTime } from './datetime';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';
import { deterministicUuid, identifierSearchUrl, identifierSystem, type IdentifierSystemResolver } from './fhir-identity';
import type { Hl7Message } from './message';
import type { Hl7Segment } from './segment';
import { leaf, readAddress, readName, readTelecom, repetitionCount } from './v2-datatypes';

export interface AdtToFhirOptions {
  /**
   * Maps a PID-3.4 / PV1-19.4 assigning authority (HD namespace id, else universal id) to a FHIR
   * identifier system. Return undefined to fall back to the built-in rule (`urn:oid:` for OIDs,
   * else `urn:wasl:assigning-authority:<name>`).
   */
  patientIdentifierSystem?: IdentifierSystemResolver;
  /**
   * Offset (`+03:00`) for HL7 timestamps that carry none. Without it such timestamps keep only
   * their date, because FHIR forbids a time without a zone.
   */
  defaultTimezoneOffset?: string;
}

const SUPPORTED_EVENTS = new Set(['A01', 'A03', 'A04', 'A08']);
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';

const GENDER: Record<string, Patient['gender']> = { M: 'male', F: 'female', O: 'other', U: 'unknown' };
// Table 0002 codes whose v3-MaritalStatus code is the same letter with the same meaning. Others
// collide (v2 A = separated, v3 A = annulled; v2 P/T differ too), so they are left out.
const MARITAL_DISPLAY: Record<string, string> = { M: 'Married', D: 'Divorced', W: 'Widowed', S: 'Never Married', I: 'Interlocutory' };
// PV1-2 patient class (table 0004) -> v3 ActCode; R (recurring) and B (obstetrics) are outpatient.
const ENCOUNTER_CLASS: Record<string, [string, string]> = {
  I: ['IMP', 'inpatient encounter'],
  O: ['AMB', 'ambulatory'],
  E: ['EMER', 'emergency'],
  P: ['PRENC', 'pre-admission'],
  R: ['AMB', 'ambulatory'],
  B: ['AMB', 'ambulatory'],
};

/**
 * Maps an ADT^A01/A03/A04/A08 message to a FHIR R4 transaction Bundle that upserts the Patient
 * (by its first PID-3 identifier) and the Encounter (by PV1-19 visit number), the Encounter's
 * subject pointing at the Patient entry. Pure and deterministic: the same message gives the same
 * bundle, and applying it twice leaves one Patient and one Encounter.
 *
 * Why conditional PUT (`PUT Patient?identifier=sys|val`) rather than POST + ifNoneExist: an ADT
 * feed is a stream of updates (A08 carries the new demographics), so the resource must be
 * replaced when it exists, not kept. Medplum 4.5.2 resolves the `urn:uuid` fullUrl of a
 * conditional-PUT entry to the id it matched or created and rewrites references to it (checked
 * by the tests). Consequence: fields the message leaves empty are removed from the stored
 * resource; merging with the stored Patient would need a read, which a pure mapper cannot do.
 *
 * @throws ValidationError `HL7_UNSUPPORTED` (details.hl7ErrorCode 200/201) for other types/events;
 *   `HL7_CONTENT` with 101 for missing PID / PID-3 / PV1 (PV1 needed for A01/A03/A04), 102 for a
 *   bad PID-7, PV1-44 or PV1-45.
 */
export function adtToFhirTransaction(msg: Hl7Message, options: AdtToFhirOptions = {}): Bundle {
  checkSupported(msg);
  const facilitySystem = `urn:wasl:sending-facility:${encodeURIComponent(senderKey(msg))}`;

  const pid = msg.segment('PID');
  if (!pid) throw missing('PID', 3, 'PID segment is missing (PID-3 patient identifier required)');
  const patient = buildPatient(pid, facilitySystem, options);
  const primary = patient.identifier![0] as Required<Pick<Identifier, 'system' | 'value'>>;
  const patientUrl = `urn:uuid:${deterministicUuid(`Patient|${primary.system}|${primary.value}`)}`;
  const entry: BundleEntry[] = [
    { fullUrl: patientUrl, resource: patient, request: { method: 'PUT', url: identifierSearchUrl('Patient', primary.system, primary.value) } },
  ];

  const event = msg.header.triggerEvent;
  const pv1 = msg.segment('PV1');
  if (!pv1 && event !== 'A08') throw missing('PV1', undefined, `PV1 segment is required for ADT^${event}`);
  if (pv1) {
    const encounter = buildEncounter(msg, pv1, patientUrl, facilitySystem, options);
    const id = encounter.identifier![0] as Required<Pick<Identifier, 'system' | 'value'>>;
    entry.push({
      fullUrl: `urn:uuid:${deterministicUuid(`Encounter|${id.system}|${id.value}`)}`,
      resource: encounter,
      request: { method: 'PUT', url: identifierSearchUrl('Encounter', id.system, id.value) },
    });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

function checkSupported(msg: Hl7Message): void {
  const { messageType, triggerEvent } = msg.header;
  if (messageType !== 'ADT') {
    throw hl7ValidationError(HL7_ERROR_CODES.UNSUPPORTED, 200, `MSH-9 message type ${messageType} is not ADT`, {
      segmentId: 'MSH', field: 9, component: 1,
    });
  }
  if (!SUPPORTED_EVENTS.has(triggerEvent)) {
    throw hl7ValidationError(HL7_ERROR_CODES.UNSUPPORTED, 201, `MSH-9 trigger event ADT^${triggerEvent} is not mapped to FHIR (A01, A03, A04, A08 are)`, {
      segmentId: 'MSH', field: 9, component: 2,
    });
  }
}

function buildPatient(pid: Hl7Segment, facilitySystem: string, options: AdtToFhirOptions): Patient {
  const identifier: Identifier[] = [];
  for (let rep = 1; rep <= repetitionCount(pid, 3); rep++) {
    const id = readIdentifier(pid, 3, rep, facilitySystem, options);
    if (id) identifier.push(id);
  }
  if (identifier.length === 0) throw missing('PID', 3, 'PID-3 patient identifier list has no identifier value');

  const patient: Patient = { resourceType: 'Patient', identifier };
  const names = collect(pid, 5, (rep) => readName(pid, 5, rep));
  if (names.length) patient.name = names;
  const telecom = [
    ...collect(pid, 13, (rep) => readTelecom(pid, 13, rep, 'home')),
    ...collect(pid, 14, (rep) => readTelecom(pid, 14, rep, 'work')),
  ];
  if (telecom.length) patient.telecom = telecom;
  const gender = GENDER[leaf(pid, 8) ?? ''];
  if (gender) patient.gender = gender;
  const birth = leaf(pid, 7);
  if (birth) {
    const birthDate = hl7ToFhirDate(birth);
    if (!birthDate) throw content(102, 'PID', 7, 'PID-7 date of birth is not a valid HL7 date');
    patient.birthDate = birthDate;
  }
  const addresses = collect(pid, 11, (rep) => readAddress(pid, 11, rep));
  if (addresses.length) patient.address = addresses;
  const marital = leaf(pid, 16, 1, 1);
  if (marital && MARITAL_DISPLAY[marital]) {
    patient.maritalStatus = { coding: [{ system: MARITAL, code: marital, display: MARITAL_DISPLAY[marital] }] };
  }
  return patient;
}

function buildEncounter(msg: Hl7Message, pv1: Hl7Segment, patientUrl: string, facilitySystem: string, options: AdtToFhirOptions): Encounter {
  const visit = readIdentifier(pv1, 19, 1, facilitySystem, options);
  // Without a visit number the message itself is the only key: an A08 for the same visit will
  // then create a second Encounter. Senders that update visits must send PV1-19.
  const identifier: Identifier = visit ?? {
    system: `urn:wasl:hl7-control-id:${encodeURIComponent(senderKey(msg))}`,
    value: msg.get('MSH-10.1') ?? msg.header.controlId,
  };
  const tz = options.defaultTimezoneOffset;
  const event = msg.header.triggerEvent;
  // EVN-2/MSH-7 say when the event was recorded. That is the admission time only for A01/A04;
  // for A03/A08 it is the discharge or update time and would put start after end.
  const start = timestamp(pv1, 44, tz) ?? (event === 'A01' || event === 'A04' ? fallbackStart(msg, tz) : undefined);
  const end = timestamp(pv1, 45, tz);
  const period: Period = {};
  if (start) period.start = start;
  if (end) period.end = end;

  const status: Encounter['status'] = event === 'A03' || (event === 'A08' && end) ? 'finished' : 'in-progress';
  const encounter: Encounter = {
    resourceType: 'Encounter',
    identifier: [identifier],
    status,
    class: encounterClass(leaf(pv1, 2, 1, 1)),
    subject: { reference: patientUrl },
  };
  if (period.start || period.end) encounter.period = period;
  return encounter;
}

function encounterClass(code: string | undefined): Coding {
  const known = code ? ENCOUNTER_CLASS[code] : undefined;
  if (known) return { system: ACT_CODE, code: known[0], display: known[1] };
  // FHIR R4 makes Encounter.class mandatory; AMB is the least specific real class. The raw
  // PV1-2 code stays visible in the display so the guess can be found and corrected.
  return { system: ACT_CODE, code: 'AMB', display: code ? `ambulatory (HL7 patient class ${code})` : 'ambulatory' };
}

/** CX at `field`/`rep`: value CX-1, system from CX-4 (HD), type from CX-5 (table 0203). */
function readIdentifier(seg: Hl7Segment, field: number, rep: number, facilitySystem: string, options: AdtToFhirOptions): Identifier | undefined {
  const value = leaf(seg, field, rep, 1, 1);
  if (!value) return undefined;
  const system = identifierSystem(leaf(seg, field, rep, 4, 1), leaf(seg, field, rep, 4, 2), facilitySystem, options.patientIdentifierSystem);
  const id: Identifier = { system, value };
  const type = leaf(seg, field, rep, 5, 1);
  if (type) id.type = { coding: [{ system: V2_0203, code: type }] } satisfies CodeableConcept;
  return id;
}

/** PV1-44/45 as FHIR dateTime; a present but invalid value is a 102 at that field. */
function timestamp(seg: Hl7Segment, field: number, tz?: string): string | undefined {
  const raw = leaf(seg, field, 1, 1);
  if (!raw) return undefined;
  const value = hl7ToFhirDateTime(raw, tz);
  if (!value) throw content(102, seg.id, field, `${seg.id}-${field} is not a valid HL7 timestamp`);
  return value;
}

/** EVN-2 then MSH-7. Only a fallback, so an unreadable one is skipped rather than rejected. */
function fallbackStart(msg: Hl7Message, tz?: string): string | undefined {
  for (const path of ['EVN-2.1', 'MSH-7.1']) {
    const raw = msg.get(path);
    const value = raw && hl7ToFhirDateTime(raw, tz);
    if (value) return value;
  }
  return undefined;
}

/** MSH-4 (namespace, else universal id), else MSH-3: whoever scopes the sender's ids. */
function senderKey(msg: Hl7Message): string {
  return msg.get('MSH-4.1') || msg.get('MSH-4.2') || msg.get('MSH-3.1') || msg.get('MSH-3.2') || 'unknown';
}

function collect<T>(seg: Hl7Segment, field: number, read: (rep: number) => T | undefined): T[] {
  const out: T[] = [];
  for (let rep = 1; rep <= repetitionCount(seg, field); rep++) {
    const v = read(rep);
    if (v !== undefined) out.push(v);
  }
  return out;
}

function missing(segmentId: string, field: number | undefined, message: string) {
  return content(101, segmentId, field, message);
}

function content(code: number, segmentId: string, field: number | undefined, message: string) {
  return hl7ValidationError(HL7_ERROR_CODES.CONTENT, code, message, { segmentId, field });
}
