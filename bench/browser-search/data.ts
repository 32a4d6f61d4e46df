/**
 * The seeded message set of bench:browser-search. Every field of row `i` is a pure function of
 * (seed, i), so the fill writes rows in any order and the queries can name rows that exist
 * without keeping a million of them in memory.
 */

export const CHANNELS = ['adt-main', 'adt-er', 'lab-results', 'orders', 'radiology', 'pharmacy', 'billing', 'referrals'];
/** Roughly five messages per patient, as an ADT feed gives. */
export const PATIENTS_PER_MESSAGE = 0.2;
/** Messages spread over this many days before BASE_TIME. */
const DAYS = 30;
const BASE_TIME = Date.UTC(2025, 5, 1);

export interface BenchRow {
  id: string;
  channel: string;
  correlation_id: string;
  sender: string;
  control_id: string;
  message_type: string;
  patient_key: string;
  status: string;
  accepted: boolean;
  raw: string;
  error: string | null;
  attempts: number;
  received_at: number;
  updated_at: number;
}

/** A 32-bit hash of (seed, i, salt) as a number in [0, 1) (a splitmix-style finaliser). */
export function unit(seed: number, i: number, salt: number): number {
  let h = (seed ^ Math.imul(i, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

function hex(seed: number, i: number, salt: number): string {
  return Math.floor(unit(seed, i, salt) * 2 ** 32).toString(16).padStart(8, '0');
}

/** A UUID-shaped id for row i. */
export function idOf(seed: number, i: number): string {
  const h = hex(seed, i, 1) + hex(seed, i, 2) + hex(seed, i, 3) + hex(seed, i, 4);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function controlIdOf(i: number): string {
  return `MSG${String(i).padStart(10, '0')}`;
}

export function patientKeyOf(seed: number, i: number, total: number): string {
  const patients = Math.max(1, Math.floor(total * PATIENTS_PER_MESSAGE));
  return `MRN${String(Math.floor(unit(seed, i, 5) * patients)).padStart(8, '0')}`;
}

export function channelOf(seed: number, i: number): string {
  // Skewed like real feeds: the ADT feed carries most of the volume.
  const u = unit(seed, i, 6);
  return CHANNELS[Math.min(CHANNELS.length - 1, Math.floor(u * u * CHANNELS.length))];
}

export function statusOf(seed: number, i: number): string {
  const u = unit(seed, i, 7);
  return u < 0.85 ? 'SENT' : u < 0.9 ? 'ERROR' : u < 0.95 ? 'FILTERED' : u < 0.98 ? 'QUEUED' : 'RECEIVED';
}

/** Rows arrive in order of i, a few at the same millisecond (the id breaks those ties). */
export function receivedAtOf(i: number, total: number): number {
  return BASE_TIME - DAYS * 86_400_000 + Math.floor((i * DAYS * 86_400_000) / total);
}

export function rowOf(seed: number, i: number, total: number): BenchRow {
  const id = idOf(seed, i);
  const controlId = controlIdOf(i);
  const mrn = patientKeyOf(seed, i, total);
  const status = statusOf(seed, i);
  const at = receivedAtOf(i, total);
  return {
    id,
    channel: channelOf(seed, i),
    correlation_id: id,
    sender: 'HIS^HOSP',
    control_id: controlId,
    message_type: 'ADT^A01',
    patient_key: mrn,
    status,
    accepted: true,
    // Synthetic: no real person's data, shaped like an ADT^A01 of ~300 bytes.
    raw: `MSH|^~\\&|HIS|HOSP|WASL|WASL|20250601120000||ADT^A01^ADT_A01|${controlId}|P|2.5.1\rEVN|A01|20250601120000\rPID|1||${mrn}^^^HOSP^MR||Family${i % 997}^Given${i % 613}||19${50 + (i % 50)}0101|F|||${i % 900} Bench Street^^Benchville^^12345\rPV1|1|I|W^1^1||||||||||||||||V${i}`,
    error: status === 'ERROR' ? JSON.stringify({ kind: 'integration', code: 'INTEGRATION_FHIR_REJECTED', message: 'FHIR server answered 422' }) : null,
    attempts: status === 'ERROR' ? 1 : 0,
    received_at: at,
    updated_at: at + 50,
  };
}
