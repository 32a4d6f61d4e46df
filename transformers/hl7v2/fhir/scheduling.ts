/**
 * SIU^S12-S26 (scheduling) -> Appointment, Patient, Encounter (PV1), and the Practitioner /
 * Location resources named by AIP / AIL (IG segment-sch-to-appointment, segment-ai*-to-appointment).
 *
 * | v2 | FHIR |
 * |---|---|
 * | SCH-1 placer appointment id (EI) | identifier PLAC |
 * | SCH-2 filler appointment id (EI) | identifier FILL; the upsert key (else SCH-1; 101 when both empty) |
 * | trigger + SCH-25 filler status (table 0278) | status, see below |
 * | SCH-6 event reason | reasonCode; SCH-7 appointment reason (CWE) also reasonCode |
 * | SCH-8 appointment type | appointmentType |
 * | SCH-9 + SCH-10 duration | minutesDuration (MIN/H/S units converted) |
 * | TQ1-7 / TQ1-8, else SCH-11.4 / SCH-11.5, else AIS-4 (+ AIS-7/8 duration) | start / end |
 * | AIS-3 | serviceType | NTE after SCH | comment |
 * | PID | participant Patient (accepted) |
 * | AIP-3 (XCN) + AIP-4 role | participant Practitioner, type = AIP-4 |
 * | AIL-3 (PL) | participant Location |
 * | AIG-3 (CWE resource id) + AIG-4 type | participant with a display-only actor |
 *
 * Status: S15 cancel / S16 discontinue -> cancelled, S17 delete -> entered-in-error, S26 no-show ->
 * noshow; otherwise SCH-25 when it maps (Pending pending, Waitlist waitlist, Booked/Overbook booked,
 * Started arrived, Complete fulfilled, Cancelled/Dc cancelled, Deleted entered-in-error, Noshow
 * noshow), else booked (S12 new, S13 reschedule, S14 modify, S18-S24 resource changes).
 *
 * Deviation: Appointment.start/end are FHIR instants, which need a time zone. A time sent without
 * an offset (and no defaultTimezoneOffset option) cannot be an instant, so it goes to
 * requestedPeriod (dateTime, date only) rather than being invented.
 */
import type { Appointment, CodeableConcept } from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf } from '../v2-datatypes';
import {
  asInstant,
  concept,
  concepts,
  contentError,
  dateTimeAt,
  decimal,
  encounterRef,
  locationRef,
  notesOf,
  patientRef,
  practitionerRef,
  readEi,
  type Ref,
  typed,
} from './clinical';
import type { MapperTable, MappingContext } from './types';

const BY_TRIGGER: Record<string, Appointment['status']> = { S15: 'cancelled', S16: 'cancelled', S17: 'entered-in-error', S26: 'noshow' };
const FILLER_STATUS: Record<string, Appointment['status']> = {
  PENDING: 'pending', WAITLIST: 'waitlist', BOOKED: 'booked', OVERBOOK: 'booked', STARTED: 'arrived', COMPLETE: 'fulfilled',
  CANCELLED: 'cancelled', DC: 'cancelled', DELETED: 'entered-in-error', NOSHOW: 'noshow', BLOCKED: 'booked',
};
type ParticipantStatus = NonNullable<Appointment['participant']>[number]['status'];
const PARTICIPANT_STATUS: Partial<Record<NonNullable<Appointment['status']>, ParticipantStatus>> = {
  cancelled: 'declined', 'entered-in-error': 'declined', pending: 'tentative', waitlist: 'needs-action', proposed: 'needs-action',
};

/** Appointment.status from the trigger event, else SCH-25, else booked. */
export function appointmentStatus(trigger: string, sch: Hl7Segment): Appointment['status'] {
  return BY_TRIGGER[trigger] ?? FILLER_STATUS[(leaf(sch, 25) ?? '').toUpperCase()] ?? 'booked';
}

const MINUTES_PER: Record<string, number> = { MIN: 1, M: 1, MINUTES: 1, H: 60, HR: 60, HOUR: 60, HOURS: 60, S: 1 / 60, SEC: 1 / 60, D: 1440, DAY: 1440 };

function minutes(amount: string | undefined, unit: string | undefined): number | undefined {
  const n = decimal(amount);
  if (n === undefined) return undefined;
  const factor = MINUTES_PER[(unit ?? 'MIN').toUpperCase()];
  if (factor === undefined) return undefined;
  const m = Math.round(n * factor);
  return m >= 1 ? m : undefined;
}

function mapSchedule(ctx: MappingContext): void {
  const { msg } = ctx;
  const sch = msg.segment('SCH');
  if (!sch) throw contentError(101, 'SCH', 1, 'SCH segment is required for SIU');
  const placer = readEi(ctx, sch, 1);
  const filler = readEi(ctx, sch, 2);
  const key = filler ?? placer;
  if (!key) throw contentError(101, 'SCH', 2, 'SCH-2 filler appointment id (or SCH-1 placer appointment id) is required');
  const patient = patientRef(ctx);
  encounterRef(ctx, patient);

  const status = appointmentStatus(msg.header.triggerEvent, sch);
  const participantStatus: ParticipantStatus = PARTICIPANT_STATUS[status!] ?? 'accepted';
  const identifier = [placer && typed(placer, 'PLAC', 'Placer Identifier'), filler && typed(filler, 'FILL', 'Filler Identifier')].filter((x) => x !== undefined);
  const appointment: Appointment = {
    resourceType: 'Appointment',
    identifier,
    status,
    participant: [{ actor: patient, status: participantStatus }],
  };
  const reasons = [...concepts(sch, 6), ...concepts(sch, 7)];
  if (reasons.length) appointment.reasonCode = reasons;
  const type = concept(sch, 8);
  if (type) appointment.appointmentType = type;
  const duration = minutes(leaf(sch, 9), leaf(sch, 10, 1, 1));
  if (duration) appointment.minutesDuration = duration;

  const tq1 = msg.segment('TQ1');
  const ais = msg.segment('AIS');
  const start = (tq1 && dateTimeAt(ctx, tq1, 7)) ?? dateTimeAt(ctx, sch, 11, 4) ?? (ais && dateTimeAt(ctx, ais, 4));
  const end = (tq1 && dateTimeAt(ctx, tq1, 8)) ?? dateTimeAt(ctx, sch, 11, 5);
  if (asInstant(start) && (!end || asInstant(end))) {
    appointment.start = start;
    if (end) appointment.end = end;
  } else if (start || end) {
    appointment.requestedPeriod = [{ ...(start && { start }), ...(end && { end }) }];
  }

  const services = msg.segments('AIS').map((s) => concept(s, 3)).filter((c): c is CodeableConcept => c !== undefined);
  if (services.length) appointment.serviceType = services;
  const notes = notesAfter(msg.segments(), 'SCH');
  const comment = notesOf(notes).map((n) => n.text).join('\n');
  if (comment) appointment.comment = comment;

  for (const aip of msg.segments('AIP')) {
    const actor = practitionerRef(ctx, aip, 3);
    if (!actor) continue;
    const role = concept(aip, 4);
    appointment.participant.push({ actor, status: participantStatus, ...(role && { type: [role] }) });
  }
  for (const ail of msg.segments('AIL')) {
    const actor = locationRef(ctx, ail, 3);
    if (actor) appointment.participant.push({ actor, status: participantStatus });
  }
  for (const aig of msg.segments('AIG')) {
    const display = leaf(aig, 3, 1, 2) ?? leaf(aig, 3, 1, 1);
    if (!display) continue;
    const actor: Ref = { display };
    const role = concept(aig, 4);
    appointment.participant.push({ actor, status: participantStatus, ...(role && { type: [role] }) });
  }
  ctx.bundle.upsert(appointment, key);
}

/** NTE segments directly after the first `id` segment. */
function notesAfter(segments: Hl7Segment[], id: string): Hl7Segment[] {
  const at = segments.findIndex((s) => s.id === id);
  const out: Hl7Segment[] = [];
  for (let i = at + 1; at >= 0 && i < segments.length; i++) {
    if (segments[i].id === 'NTE') out.push(segments[i]);
    else if (segments[i].id !== 'TQ1') break;
  }
  return out;
}

export const mappers: MapperTable = { 'SIU^*': mapSchedule };
