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
 * | TQ1-7 / TQ1-8 (v2.5+), else SCH-11.4 / SCH-11.5 (TQ, older versions), else the first resource segment with a start: AIS-4 (+ AIS-7/8 duration), AIG-8 (+ AIG-11/12), AIL-6 (+ AIL-9/10), AIP-6 (+ AIP-9/10) | start / end; a missing end is start + that duration, else + SCH-9/10 |
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
 * Deviations:
 * - Appointment.start/end are FHIR instants, which need a time zone. A time sent without an offset
 *   (and no defaultTimezoneOffset option) cannot be an instant, so it goes to requestedPeriod
 *   (dateTime, date only) rather than being invented.
 * - R4 invariant app-3 allows an Appointment without start and end only when it is proposed,
 *   cancelled or waitlisted (a booked slot must say when it is). So when no start and end are
 *   known as instants (no timing in the message, a time without an offset, or a start with
 *   neither end nor duration), the status becomes `proposed` (the IG maps SCH-25 straight to
 *   status and leaves this case open): the appointment is known, its time is not settled, and
 *   whatever timing was sent stays in requestedPeriod. `cancelled` and `waitlist` are kept;
 *   `entered-in-error` (S17 delete) becomes `cancelled`, so a deleted appointment never looks
 *   live. Give the defaultTimezoneOffset option to keep the v2 status for local times.
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

/** Statuses R4 app-3 allows without start/end: others become proposed (see the header). */
export function untimedStatus(status: Appointment['status']): Appointment['status'] {
  if (status === 'proposed' || status === 'cancelled' || status === 'waitlist') return status;
  return status === 'entered-in-error' ? 'cancelled' : 'proposed';
}

/** Resource segments and where their start date/time, duration and duration units sit. */
const RESOURCE_TIMING: [id: string, start: number, duration: number, units: number][] = [
  ['AIS', 4, 7, 8],
  ['AIG', 8, 11, 12],
  ['AIL', 6, 9, 10],
  ['AIP', 6, 9, 10],
];

/** `instant` + `mins` minutes, in the instant's own offset; undefined unless it is an instant. */
export function addMinutes(instant: string | undefined, mins: number | undefined): string | undefined {
  const m = instant && /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(instant);
  if (!m || mins === undefined) return undefined;
  const t = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5] + mins, +m[6]));
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const date = `${p(t.getUTCFullYear(), 4)}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())}`;
  return `${date}T${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())}${m[7] ?? ''}${m[8]}`;
}

/**
 * Start and end of the appointment: TQ1-7/8 (v2.5+), else SCH-11.4/.5 (TQ, deprecated but what
 * older senders fill), else the first AIS/AIG/AIL/AIP with a start date/time. With a start and no
 * end, the end is start + that segment's duration, else + SCH-9/10 (only for instants).
 */
export function appointmentTiming(ctx: MappingContext, sch: Hl7Segment): { start?: string; end?: string } {
  const { msg } = ctx;
  const tq1 = msg.segment('TQ1');
  let start = (tq1 && dateTimeAt(ctx, tq1, 7)) ?? dateTimeAt(ctx, sch, 11, 4);
  let end = (tq1 && dateTimeAt(ctx, tq1, 8)) ?? dateTimeAt(ctx, sch, 11, 5);
  let duration: number | undefined;
  for (const [id, at, dur, units] of RESOURCE_TIMING) {
    const seg = msg.segments(id).find((s) => leaf(s, at));
    if (!seg) continue;
    const segStart = dateTimeAt(ctx, seg, at);
    if (!start) start = segStart;
    if (start === segStart) duration = minutes(leaf(seg, dur), leaf(seg, units, 1, 1));
    break;
  }
  if (start && !end) end = addMinutes(start, duration ?? minutes(leaf(sch, 9), leaf(sch, 10, 1, 1)));
  return { ...(start && { start }), ...(end && { end }) };
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

  const { start, end } = appointmentTiming(ctx, sch);
  const timed = !!(asInstant(start) && asInstant(end));
  const status = timed ? appointmentStatus(msg.header.triggerEvent, sch) : untimedStatus(appointmentStatus(msg.header.triggerEvent, sch));
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

  if (timed) {
    appointment.start = start;
    appointment.end = end;
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
