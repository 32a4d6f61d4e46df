import assert from 'node:assert/strict';
import { validateResource } from '@medplum/core';
import type { Appointment, Resource } from '@medplum/fhirtypes';
import { InProcessFhir } from '../medplum';
import { all, assertValid, bundleOf, rejection } from './helpers';

const SIU = (trigger: string, sch25 = 'Booked', tq1 = 'TQ1|||||||20250301093000+0300|20250301100000+0300') =>
  `MSH|^~\\&|SCH|FAC|R|RF|20250101120000+0300||SIU^${trigger}^SIU_${trigger}|C1|P|2.5.1\rSCH|P1^EHR|F1^SCHED||||FU^Follow-up^L|||30|MIN|||||||||||||||${sch25}\r${tq1}\rPID|1||P1^^^HOSP^MR||AL-ḤARBĪ^Nūr||19800101|F\rRGS|1\rAIP|1||D1^AHMAD^SARA^^^^^^HOSP|ATND^Attending^L\r`;

/** R4 app-3 as Medplum checks it: start and end both, unless proposed / cancelled / waitlist. */
function assertApp3(appt: Appointment): void {
  assert.doesNotThrow(() => validateResource(appt), 'Medplum rejects the Appointment');
  const untimed = appt.status === 'proposed' || appt.status === 'cancelled' || appt.status === 'waitlist';
  assert.ok((!!appt.start && !!appt.end) || untimed, `app-3: ${appt.status} ${appt.start} ${appt.end}`);
}

describe('transformers/hl7v2/fhir/scheduling', () => {
  // validateResource needs the R4 definitions, which InProcessFhir indexes (once) when built.
  before(() => void new InProcessFhir());

  describe('every SIU fixture gives a valid transaction Bundle', () => {
    for (const name of ['mscvt_SIU-S12-01.hl7', 'mscvt_SIU-S14-01.hl7', 'rethink_siu-s12-schedule.hl7']) {
      it(name, () => {
        const b = bundleOf(name);
        assertValid(b);
        assert.equal(all<Appointment>(b, 'Appointment').length, 1);
      });
    }
  });

  it('S12 fixture: identifiers, booked, instants with offset, patient/practitioner/location participants', () => {
    const b = bundleOf('mscvt_SIU-S12-01.hl7');
    const [appt] = all<Appointment>(b, 'Appointment');
    assert.deepEqual(appt.identifier?.map((i) => [i.value, i.type?.coding?.[0].code]), [['12345', 'PLAC'], ['36996', 'FILL']]);
    assert.equal(appt.status, 'booked');
    assert.equal(appt.start, '2021-09-24T09:30:00+02:15');
    assert.equal(appt.end, '2021-09-24T10:20:00+02:15');
    assert.equal(appt.serviceType?.[0].coding?.[0].system, 'http://snomed.info/sct');
    assert.equal(appt.comment, 'Appointment booked for emergency procedure');
    const patient = b.entry!.find((e) => e.resource!.resourceType === 'Patient')!;
    assert.equal(appt.participant[0].actor?.reference, patient.fullUrl);
    assert.ok(appt.participant.some((p) => p.actor?.display === 'Robert C GE'));
    assert.ok(appt.participant.some((p) => p.actor?.display === '055 Room01'));
    const entry = b.entry!.find((e) => e.resource === appt)!;
    assert.equal(entry.request?.url, 'Appointment?identifier=urn%3Awasl%3Asending-facility%3AGHHSFacility|36996');
  });

  it('a time without offset goes to requestedPeriod (status proposed, app-3), or to start/end with defaultTimezoneOffset', () => {
    const [plain] = all<Appointment>(bundleOf('rethink_siu-s12-schedule.hl7'), 'Appointment');
    assert.equal(plain.start, undefined);
    assert.deepEqual(plain.requestedPeriod, [{ start: '2026-03-25', end: '2026-03-25' }]);
    assert.equal(plain.minutesDuration, 30);
    assert.equal(plain.status, 'proposed');
    assert.ok(plain.participant.every((p) => p.status === 'needs-action'));
    assertApp3(plain);
    const [zoned] = all<Appointment>(bundleOf('rethink_siu-s12-schedule.hl7', { defaultTimezoneOffset: '+03:00' }), 'Appointment');
    assert.equal(zoned.start, '2026-03-25T14:00:00+03:00');
    assert.equal(zoned.end, '2026-03-25T14:30:00+03:00');
    assert.equal(zoned.status, 'booked');
    assertApp3(zoned);
  });

  describe('start/end: TQ1-7/8, else SCH-11.4/.5, else AIS/AIG/AIL/AIP start + duration; none known -> proposed', () => {
    const when = (sch11: string, tq1: string, resources: string, trigger = 'S12', sch25 = 'Booked') => {
      const text = SIU(trigger, sch25, tq1).replace('|||30|MIN|||', `|||30|MIN|${sch11}||`) + resources;
      const b = bundleOf(text);
      assertValid(b);
      const [appt] = all<Appointment>(b, 'Appointment');
      assertApp3(appt);
      return appt;
    };
    const span = (a: Appointment) => [a.status, a.start, a.end];

    it('TQ1-7 / TQ1-8 (v2.5+)', () => {
      assert.deepEqual(span(when('', 'TQ1|||||||20250301093000+0300|20250301100000+0300', '')), ['booked', '2025-03-01T09:30:00+03:00', '2025-03-01T10:00:00+03:00']);
    });
    it('SCH-11 TQ start / end (older versions)', () => {
      assert.deepEqual(span(when('^^^20250301093000+0300^20250301094500+0300', 'NTE|1||x', '')), ['booked', '2025-03-01T09:30:00+03:00', '2025-03-01T09:45:00+03:00']);
    });
    it('SCH-11 start only: end = start + SCH-9/10', () => {
      assert.deepEqual(span(when('^^^20250301235000+0300', 'NTE|1||x', '')), ['booked', '2025-03-01T23:50:00+03:00', '2025-03-02T00:20:00+03:00']);
    });
    it('AIS-4 + AIS-7/8, AIG-8 + AIG-11/12, AIL-6 + AIL-9/10, AIP-6 + AIP-9/10', () => {
      const none = 'NTE|1||x';
      assert.deepEqual(span(when('', none, 'AIS|1||CONSULT^Consult|20250301090000-0500|||45|MIN\r')), ['booked', '2025-03-01T09:00:00-05:00', '2025-03-01T09:45:00-05:00']);
      assert.deepEqual(span(when('', none, 'AIG|1||R1^Room|ROOM||||20250301090000-0500|||1|H\r')), ['booked', '2025-03-01T09:00:00-05:00', '2025-03-01T10:00:00-05:00']);
      assert.deepEqual(span(when('', none, 'AIL|1||CLINIC^101|||20250301090000-0500|||20|MIN\r')), ['booked', '2025-03-01T09:00:00-05:00', '2025-03-01T09:20:00-05:00']);
      const aip = when('', none, 'AIP|2||D2^BAKR^ALI^^^^^^HOSP|ATND||20250301090000-0500|||15|MIN\r');
      assert.deepEqual(span(aip), ['booked', '2025-03-01T09:00:00-05:00', '2025-03-01T09:15:00-05:00']);
    });
    it('no start at all: proposed (cancelled / waitlist kept, entered-in-error -> cancelled)', () => {
      const none = 'NTE|1||x';
      assert.deepEqual(span(when('', none, '')), ['proposed', undefined, undefined]);
      assert.deepEqual(span(when('', none, '', 'S15')), ['cancelled', undefined, undefined]);
      assert.deepEqual(span(when('', none, '', 'S17')), ['cancelled', undefined, undefined]);
      assert.deepEqual(span(when('', none, '', 'S14', 'Waitlist')), ['waitlist', undefined, undefined]);
      assert.deepEqual(span(when('', none, '', 'S26')), ['proposed', undefined, undefined]);
    });
  });

  it('status follows the trigger, then SCH-25', () => {
    const status = (trigger: string, sch25?: string) => all<Appointment>(bundleOf(SIU(trigger, sch25)), 'Appointment')[0].status;
    assert.equal(status('S12'), 'booked');
    assert.equal(status('S13'), 'booked');
    assert.equal(status('S14', 'Started'), 'arrived');
    assert.equal(status('S14', 'Complete'), 'fulfilled');
    assert.equal(status('S15'), 'cancelled');
    assert.equal(status('S17'), 'entered-in-error');
    assert.equal(status('S26'), 'noshow');
    assert.equal(status('S12', 'Pending'), 'pending');
    const cancelled = all<Appointment>(bundleOf(SIU('S15')), 'Appointment')[0];
    assert.ok(cancelled.participant.every((p) => p.status === 'declined'));
  });

  it('keeps non-ASCII names and validates the synthetic message', () => {
    const b = bundleOf(SIU('S12'));
    assertValid(b);
    const patient = all<Resource & { name?: { family?: string }[] }>(b, 'Patient')[0];
    assert.equal(patient.name?.[0].family, 'AL-ḤARBĪ');
    const [appt] = all<Appointment>(b, 'Appointment');
    assert.equal(appt.appointmentType, undefined);
    assert.equal(appt.reasonCode?.[0].coding?.[0].code, 'FU');
    assert.equal(appt.minutesDuration, 30);
  });

  it('101 when SCH-1 and SCH-2 are both empty', () => {
    const err = rejection(() => bundleOf(SIU('S12').replace('SCH|P1^EHR|F1^SCHED|', 'SCH|||')));
    assert.equal(err.details?.hl7ErrorCode, 101);
    assert.equal(err.path, 'SCH-2');
  });
});
