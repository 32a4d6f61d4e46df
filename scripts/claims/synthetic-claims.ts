/**
 * Seeded synthetic US professional claims (CMS-1500 / 837P, ../shared/domain/CLAIMS.md) for the claims
 * pipeline's bench and tests, and for training the denial model.
 *
 * Deterministic: one seeded PRNG (mulberry32), no Math.random, no clock unless `today` is left out
 * (then the current UTC date is used: pass `today` for output that is identical on every day).
 *
 * What a claim looks like:
 * - 20 facilities (billing organisations): each has a kind (primary care, hospitalist group, ER group,
 *   radiology, GI, cardiology, behavioural health, ortho/PT, multispecialty), a billing NPI, 3–8
 *   rendering NPIs, one Medicare locality (MAC + locality number, rows of cms_gpci_2022.csv) and a
 *   chargemaster (price per code: RVUs × the 2022 CF × the facility's markup, rounded to dollars).
 * - Encounters follow the facility's kind (office E/M with a minor procedure and -25, inpatient stay
 *   with admit / subsequent / discharge days, ER visit with -26 reads, telehealth with -95 …), so
 *   codes, modifiers, POS and diagnoses hang together. Every (code, modifier) pair billed is a row of
 *   cms_pprrvu_2022_jan_subset.csv with status A and non-zero total RVUs.
 * - NPIs are 10 digits with the Luhn check digit computed over the 80840 prefix (CLAIMS.md §7).
 * - Money is integer cents; totalChargeCents is the sum of the lines; service dates fall within the
 *   90 days up to `today`.
 *
 * `invalidRate` breaks exactly one rule in round(n × rate) claims (see CLAIM_DEFECTS);
 * `duplicateRate` makes round(n × rate) claims replays of an earlier claim: same (claimId, facilityId)
 * and content, a new stagingId. `generateClaimSet` says which claims are which.
 *
 * Pure TypeScript, no Node-RED or engine import: the bench, the tests and the training script use it.
 */
import type { Claim, ClaimLine } from '../../transformers/claims/types';

export interface SyntheticClaimOptions {
  seed: number;
  /** stagingId of the first claim (default 1); the rest count up from it. */
  startStagingId?: number;
  /** Fraction of claims that break exactly one validation rule (default 0). */
  invalidRate?: number;
  /** Fraction of claims that replay an earlier claim's (claimId, facilityId) and content (default 0). */
  duplicateRate?: number;
  /** Reference date `YYYY-MM-DD` (default: the current UTC date). Service dates fall in the 90 days up to it. */
  today?: string;
  /** Defects to draw from (default: all of CLAIM_DEFECTS). */
  defects?: readonly ClaimDefect[];
}

/**
 * How an invalid claim is broken (each breaks exactly one rule of CLAIMS.md §7):
 * - BAD_NPI_CHECK_DIGIT: billing NPI with a wrong Luhn check digit (a keying error)
 * - FUTURE_SERVICE_DATE: every line's date of service 1–30 days after `today`
 * - ICD10_FORMAT: one diagnosis is not ICD-10-CM shaped (ICD-9 `250.00`, `E11-9`, `J06.9.` …)
 * - POINTER_OUT_OF_RANGE: a line points to a diagnosis position the claim does not have
 * - ZERO_UNITS: a line with 0 units
 * - ZERO_CHARGE: a line with a 0 charge (the total still equals the sum)
 * - TOTAL_MISMATCH: box 28 differs from the sum of the lines
 * - MISSING_MEMBER_ID: empty member id
 * - BAD_PROCEDURE_FORMAT: a procedure code that is neither CPT nor HCPCS shaped (`9921`, `992133`)
 * - BAD_MODIFIER: a modifier that is not two alphanumeric characters (`5`, `255`)
 * - FUTURE_BIRTH_DATE: birth date after `today`
 */
export const CLAIM_DEFECTS = [
  'BAD_NPI_CHECK_DIGIT',
  'FUTURE_SERVICE_DATE',
  'ICD10_FORMAT',
  'POINTER_OUT_OF_RANGE',
  'ZERO_UNITS',
  'ZERO_CHARGE',
  'TOTAL_MISMATCH',
  'MISSING_MEMBER_ID',
  'BAD_PROCEDURE_FORMAT',
  'BAD_MODIFIER',
  'FUTURE_BIRTH_DATE',
] as const;
export type ClaimDefect = (typeof CLAIM_DEFECTS)[number];

export interface GeneratedClaimSet {
  claims: Claim[];
  /** Claims that break a rule: index in `claims` and how. A replay of an invalid claim is listed too. */
  invalid: Array<{ index: number; defect: ClaimDefect }>;
  /** Replays: index in `claims` and the index of the earlier claim whose key and content it repeats. */
  duplicates: Array<{ index: number; of: number }>;
}

/** `n` claims; see the file comment. */
export function generateClaims(n: number, opts: SyntheticClaimOptions): Claim[] {
  return generateClaimSet(n, opts).claims;
}

// ---------------------------------------------------------------- PRNG

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

/** mulberry32: small, fast, good enough for synthetic data; same seed, same sequence on every platform. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    range: (lo, hi) => lo + int(hi - lo + 1),
    pick: (items) => items[int(items.length)],
    chance: (p) => next() < p,
  };
}

/** Picks by weight; weights are fixed at build time, so the cumulative table is built once. */
function weighted<T>(entries: ReadonlyArray<readonly [T, number]>): (rng: Rng) => T {
  const values = entries.map((e) => e[0]);
  const cumulative: number[] = [];
  let sum = 0;
  for (const [, w] of entries) cumulative.push((sum += w));
  return (rng) => {
    const r = rng.next() * sum;
    for (let i = 0; i < cumulative.length; i++) if (r < cumulative[i]) return values[i];
    return values[values.length - 1];
  };
}

// ---------------------------------------------------------------- NPIs, dates

/** NPI check digit (CLAIMS.md §7): Luhn over 80840 + the first 9 digits; the prefix contributes 24. */
export function npiCheckDigit(first9: string): number {
  let sum = 24;
  for (let i = 8; i >= 0; i--) {
    let d = first9.charCodeAt(i) - 48;
    if ((8 - i) % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

function makeNpi(rng: Rng, first: string): string {
  let s = first;
  for (let i = 0; i < 8; i++) s += String(rng.int(10));
  return s + String(npiCheckDigit(s));
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** `YYYY-MM-DD` of a day number (inverse of daysFromCivil). */
export function isoFromDays(z: number): string {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${y}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

function parseIsoDay(iso: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) throw new Error(`today must be YYYY-MM-DD, got '${iso}'`);
  return daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3]));
}

// ---------------------------------------------------------------- reference data

/**
 * Total RVUs [non-facility, facility] per billed code or `code-modifier`, copied from
 * ../shared/fixtures/reference-data/cms_pprrvu_2022_jan_subset.csv (status A rows only; the
 * synthetic-claims test checks every entry against the file). Embedded so that the generator runs
 * from dist/ and on machines without shared/.
 */
const RVU: Readonly<Record<string, readonly [number, number]>> = {
  G0438: [4.9, 4.9], G0439: [3.83, 3.83], G0444: [0.54, 0.27],
  '10060': [3.69, 3.08], '11042': [3.87, 1.76], '12001': [2.8, 1.33], '17000': [1.99, 1.61],
  '20610': [1.92, 1.33], '27447': [37.98, 37.98], '29881': [16.12, 16.12], '43239': [11.63, 4.04],
  '45378': [10.32, 5.4], '45380': [13.3, 5.86], '45385': [13.83, 7.45], '47562': [19.76, 19.76],
  '49505': [15.66, 15.66], '64483': [7.44, 3.26], '66984': [15.74, 15.74], '69210': [1.4, 0.97],
  '70450': [3.27, 3.27], '70450-26': [1.19, 1.19], '70450-TC': [2.08, 2.08],
  '70551': [6.13, 6.13], '70551-26': [2.09, 2.09], '70551-TC': [4.04, 4.04],
  '70553': [10.01, 10.01], '70553-26': [3.22, 3.22], '70553-TC': [6.79, 6.79],
  '71045': [0.77, 0.77], '71045-26': [0.26, 0.26], '71045-TC': [0.51, 0.51],
  '71046': [1.0, 1.0], '71046-26': [0.31, 0.31], '71046-TC': [0.69, 0.69],
  '71250': [4.11, 4.11], '71250-26': [1.52, 1.52], '71250-TC': [2.59, 2.59],
  '71260': [5.17, 5.17], '71260-26': [1.63, 1.63], '71260-TC': [3.54, 3.54],
  '72148': [6.0, 6.0], '72148-26': [2.1, 2.1], '72148-TC': [3.9, 3.9],
  '73721': [6.33, 6.33], '73721-26': [1.93, 1.93], '73721-TC': [4.4, 4.4],
  '74177': [9.63, 9.63], '74177-26': [2.57, 2.57], '74177-TC': [7.06, 7.06],
  '76700': [3.53, 3.53], '76700-26': [1.14, 1.14], '76700-TC': [2.39, 2.39],
  '77067': [3.83, 3.83], '77067-26': [1.07, 1.07], '77067-TC': [2.76, 2.76],
  '93306': [5.92, 5.92], '93306-26': [2.03, 2.03], '93306-TC': [3.89, 3.89],
  '93880': [5.76, 5.76], '93880-26': [1.14, 1.14], '93880-TC': [4.62, 4.62],
  '90471': [0.49, 0.49], '90791': [5.17, 4.45], '90832': [2.25, 1.99], '90834': [2.97, 2.62],
  '90837': [4.36, 3.84], '93000': [0.42, 0.42], '93010': [0.24, 0.24], '93015': [2.09, 2.09],
  '96372': [0.42, 0.42], '97110': [0.87, 0.87], '97140': [0.8, 0.8], '97530': [1.1, 1.1],
  '98940': [0.81, 0.64],
  '99202': [2.14, 1.43], '99203': [3.29, 2.44], '99204': [4.9, 3.95], '99205': [6.48, 5.36],
  '99211': [0.68, 0.26], '99212': [1.66, 1.06], '99213': [2.66, 1.95], '99214': [3.75, 2.86],
  '99215': [5.29, 4.25], '99221': [2.91, 2.91], '99222': [3.91, 3.91], '99223': [5.73, 5.73],
  '99231': [1.12, 1.12], '99232': [2.06, 2.06], '99233': [2.96, 2.96], '99238': [2.08, 2.08],
  '99239': [3.04, 3.04], '99281': [0.64, 0.64], '99282': [1.24, 1.24], '99283': [2.11, 2.11],
  '99284': [3.56, 3.56], '99285': [5.17, 5.17], '99291': [8.16, 6.33], '99292': [3.56, 3.18],
  '99342': [2.22, 2.22], '99343': [3.61, 3.61], '99344': [5.2, 5.2], '99347': [1.58, 1.58],
  '99348': [2.4, 2.4], '99349': [3.7, 3.7], '99350': [5.13, 5.13], '99406': [0.45, 0.35],
  '99441': [1.64, 1.04], '99442': [2.65, 1.94], '99443': [3.75, 2.86],
};

/** The embedded RVU table (for tests and tools): total RVUs [non-facility, facility] by `code` / `code-modifier`. */
export const SYNTHETIC_RVU = RVU;

/** 2022 PFS conversion factor (the RVU file's year): the base of the synthetic chargemasters. */
const CF_2022 = 34.6062;

/**
 * Medicare localities [MAC, locality number] exactly as written in
 * ../shared/fixtures/reference-data/cms_gpci_2022.csv (leading zeros of the MAC dropped, as there).
 */
export const SYNTHETIC_LOCALITIES: ReadonlyArray<readonly [string, string]> = [
  ['10112', '0'], ['3102', '0'], ['1112', '54'], ['1182', '18'], ['1112', '5'], ['1182', '72'],
  ['4112', '1'], ['13102', '0'], ['12202', '1'], ['9102', '4'], ['9102', '99'], ['10212', '1'],
  ['6102', '16'], ['6102', '99'], ['8102', '0'], ['15102', '0'], ['7202', '1'], ['4412', '18'],
  ['4412', '99'], ['11302', '0'], ['2402', '2'], ['6302', '0'], ['3502', '9'], ['5102', '0'],
];

/** ICD-10-CM codes the generator uses, dotted (storage form). */
export const SYNTHETIC_DIAGNOSES = [
  'E11.9', 'I10', 'J06.9', 'M54.50', 'Z00.00', 'E78.5', 'K21.9', 'F41.1', 'R51.9', 'J45.909', 'N39.0',
  'M25.561', 'R10.9', 'Z23', 'E66.9',
] as const;
type Dx = (typeof SYNTHETIC_DIAGNOSES)[number];
const UNDOTTED = Object.fromEntries(SYNTHETIC_DIAGNOSES.map((x) => [x, x.replace('.', '')])) as Record<Dx, string>;

/** Places of service the generator uses. */
export const SYNTHETIC_POS = ['11', '22', '21', '23', '02', '10', '19', '12'] as const;

// ---------------------------------------------------------------- payers, people

interface Payer {
  /** '' = Medicare: the payer id is the MAC of the facility's locality. */
  id: string;
  medicare: boolean;
  /** Members' age range. */
  minAge: number;
  maxAge: number;
  memberId: (rng: Rng) => string;
}

const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
/** MBI letters exclude S, L, O, I, B, Z. */
const MBI_LETTERS = 'ACDEFGHJKMNPQRTUVWXY';
const MBI_ALNUM = DIGITS + MBI_LETTERS;

/** `n` (≤ 9) random digits, zero-padded: one draw, one string. */
function digitString(rng: Rng, n: number): string {
  return String(rng.int(10 ** n)).padStart(n, '0');
}

function chars(rng: Rng, alphabet: string, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)];
  return s;
}

/** Medicare Beneficiary Identifier shape: C A AN N A AN N A A N N (11 characters). */
function mbi(rng: Rng): string {
  return (
    String(rng.range(1, 9)) + chars(rng, MBI_LETTERS, 1) + chars(rng, MBI_ALNUM, 1) + chars(rng, DIGITS, 1) +
    chars(rng, MBI_LETTERS, 1) + chars(rng, MBI_ALNUM, 1) + chars(rng, DIGITS, 1) + chars(rng, MBI_LETTERS, 2) +
    chars(rng, DIGITS, 2)
  );
}

/**
 * Payer pool. Commercial ids are the clearinghouse payer ids of well-known national payers (Aetna
 * 60054, UnitedHealthcare 87726, Cigna 62308, Humana 61101); the Blue plan and Medicaid MCO ids are
 * invented. Medicare claims go to the MAC of the facility's locality.
 */
const PAYERS: ReadonlyArray<readonly [Payer, number]> = [
  [{ id: '', medicare: true, minAge: 65, maxAge: 94, memberId: mbi }, 30],
  [{ id: '60054', medicare: false, minAge: 0, maxAge: 64, memberId: (r) => 'W' + digitString(r, 9) }, 14],
  [{ id: '87726', medicare: false, minAge: 0, maxAge: 64, memberId: (r) => digitString(r, 9) }, 16],
  [{ id: '62308', medicare: false, minAge: 0, maxAge: 64, memberId: (r) => 'U' + digitString(r, 8) }, 10],
  [{ id: '61101', medicare: false, minAge: 65, maxAge: 90, memberId: (r) => 'H' + digitString(r, 8) }, 6],
  [{ id: 'BCX01', medicare: false, minAge: 0, maxAge: 64, memberId: (r) => chars(r, LETTERS, 3) + digitString(r, 9) }, 12],
  [{ id: 'MCD77', medicare: false, minAge: 0, maxAge: 64, memberId: (r) => digitString(r, 5) + digitString(r, 5) }, 10],
];
const pickPayer = weighted(PAYERS);

const FAMILY = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  "O'Brien", 'Kim', 'Patel', 'Haddad', 'Okafor', 'Kowalski', 'Murphy', 'Rivera',
];
const GIVEN_F = [
  'Mary', 'Patricia', 'Jennifer', 'Linda', 'Elizabeth', 'Barbara', 'Susan', 'Jessica', 'Sarah', 'Karen',
  'Lisa', 'Nancy', 'Betty', 'Sandra', 'Ashley', 'Emily', 'Donna', 'Michelle', 'Carol', 'Amanda',
  'Maria', 'Fatima', 'Mei', 'Ana-Lucia',
];
const GIVEN_M = [
  'James', 'Robert', 'John', 'Michael', 'David', 'William', 'Richard', 'Joseph', 'Thomas', 'Charles',
  'Christopher', 'Daniel', 'Matthew', 'Anthony', 'Mark', 'Donald', 'Steven', 'Paul', 'Andrew', 'Joshua',
  'Jose', 'Omar', 'Wei', 'Jean-Pierre',
];

// ---------------------------------------------------------------- encounters

interface Draft {
  pos: string;
  dx: Dx[];
  /** The claim's lines as they will be shipped; serviceFrom and chargeCents are filled in by buildClaim. */
  lines: ClaimLine[];
  /** Per line: days after the first date of service. */
  days: number[];
  /** Bit per line (1 << index): read by another group's provider (the radiologist), who renders it. */
  readByOther: number;
}

/** Pointer (1-based position) to `code` in the draft's diagnoses, adding it when absent (max 4). */
function dxIndex(d: Draft, code: Dx): number {
  const i = d.dx.indexOf(code);
  if (i >= 0) return i + 1;
  if (d.dx.length >= 4) return 1;
  d.dx.push(code);
  return d.dx.length;
}

function line(d: Draft, code: string, modifiers: string[], units: number, dx: Dx | number, day = 0): ClaimLine {
  const pointer = typeof dx === 'number' ? dx : dxIndex(d, dx);
  const l: ClaimLine = { line: d.lines.length + 1, serviceFrom: '', procedureCode: code, modifiers, units, chargeCents: 0, diagnosisPointers: [pointer] };
  d.lines.push(l);
  d.days.push(day);
  return l;
}

/** Marks a line as rendered by another group's reader (a -26 read in the ER). */
function readByOther(d: Draft, l: ClaimLine): void {
  d.readByOther |= 1 << (l.line - 1);
}

/** Adds a diagnosis pointer to a line unless it is there already. */
function point(l: ClaimLine, pointer: number): void {
  if (!l.diagnosisPointers.includes(pointer) && l.diagnosisPointers.length < 4) l.diagnosisPointers.push(pointer);
}

const side = (rng: Rng): string => (rng.chance(0.5) ? 'RT' : 'LT');

const CHRONIC: readonly Dx[] = ['I10', 'E11.9', 'E78.5', 'E66.9', 'K21.9', 'J45.909', 'F41.1'];
const ACUTE: readonly Dx[] = ['J06.9', 'N39.0', 'R51.9', 'M54.50', 'M25.561', 'R10.9'];

const pickEstablished = weighted<string>([['99211', 3], ['99212', 15], ['99213', 45], ['99214', 30], ['99215', 7]]);
const pickNew = weighted<string>([['99202', 10], ['99203', 40], ['99204', 35], ['99205', 15]]);

/** Office problem visit, optionally with a minor procedure (E/M gets -25), ECG, vaccine, injection. */
function officeVisit(rng: Rng, d: Draft, isNew: boolean): void {
  d.pos = '11';
  const problem = rng.chance(0.5) ? rng.pick(CHRONIC) : rng.pick(ACUTE);
  const em = line(d, isNew ? pickNew(rng) : pickEstablished(rng), [], 1, problem);
  if (rng.chance(0.35)) point(em, dxIndex(d, rng.pick(CHRONIC)));
  if (rng.chance(0.12)) {
    // A separately identifiable E/M on the day of a minor procedure carries -25.
    em.modifiers.push('25');
    const proc = rng.int(6);
    if (proc === 0) line(d, '20610', [rng.chance(0.1) ? '50' : side(rng)], 1, 'M25.561');
    else if (proc === 1) line(d, '17000', [], 1, d.dx[0]);
    else if (proc === 2) line(d, '10060', [], 1, d.dx[0]);
    else if (proc === 3) line(d, '12001', [], 1, d.dx[0]);
    else if (proc === 4) line(d, '69210', [rng.chance(0.3) ? '50' : side(rng)], 1, d.dx[0]);
    else line(d, '11042', [], 1, d.dx[0]);
    if (rng.chance(0.15)) line(d, rng.chance(0.5) ? '17000' : '12001', ['51'], 1, d.dx[0]);
  } else if (rng.chance(0.02)) {
    em.modifiers.push('25'); // -25 without a procedure: a coding error payers deny
  }
  if (rng.chance(0.12)) line(d, '93000', [], 1, 'I10');
  if (rng.chance(0.1)) line(d, '90471', [], 1, 'Z23');
  if (rng.chance(0.06)) line(d, '96372', [], 1, d.dx[0]);
  if (rng.chance(0.05)) line(d, '71046', rng.chance(0.1) ? ['TC'] : [], 1, rng.chance(0.5) ? 'J06.9' : 'J45.909');
  if (rng.chance(0.04)) line(d, '99406', [], 1, d.dx[0]);
}

/** Medicare annual wellness visit, maybe with a depression screen and a problem E/M (-25). */
function wellness(rng: Rng, d: Draft): void {
  d.pos = '11';
  line(d, rng.chance(0.3) ? 'G0438' : 'G0439', [], 1, 'Z00.00');
  if (rng.chance(0.4)) line(d, 'G0444', [], 1, 'Z00.00');
  if (rng.chance(0.2)) line(d, '99213', ['25'], 1, rng.pick(CHRONIC));
  if (rng.chance(0.3)) line(d, '90471', [], 1, 'Z23');
}

function physicalTherapy(rng: Rng, d: Draft): void {
  d.pos = '11';
  const dx: Dx = rng.chance(0.6) ? 'M54.50' : 'M25.561';
  line(d, '97110', [], rng.range(1, 3), dx);
  if (rng.chance(0.7)) line(d, '97140', ['59'], rng.range(1, 2), dx); // NCCI pair with 97530: -59
  if (rng.chance(0.6)) line(d, '97530', [], rng.range(1, 2), dx);
}

function chiropractic(rng: Rng, d: Draft): void {
  d.pos = '11';
  line(d, '98940', [], 1, 'M54.50');
  if (rng.chance(0.3)) line(d, '97140', ['59'], 1, 'M54.50');
}

function psychotherapy(rng: Rng, d: Draft, tele: boolean): void {
  d.pos = tele ? (rng.chance(0.7) ? '10' : '02') : '11';
  const mods = tele && !rng.chance(0.08) ? ['95'] : [];
  const code = rng.chance(0.15) ? '90791' : rng.pick(['90832', '90834', '90834', '90837']);
  line(d, code, mods, 1, 'F41.1');
}

function cardiology(rng: Rng, d: Draft): void {
  d.pos = '11';
  const em = line(d, rng.chance(0.3) ? pickNew(rng) : pickEstablished(rng), [], 1, rng.chance(0.6) ? 'I10' : 'E78.5');
  const test = rng.int(4);
  if (test === 0) line(d, '93306', [], 1, 'I10');
  else if (test === 1) line(d, '93880', [], 1, 'E78.5');
  else if (test === 2) line(d, '93015', [], 1, 'I10');
  if (rng.chance(0.5)) line(d, '93000', [], 1, 'I10');
  point(em, dxIndex(d, rng.pick(CHRONIC)));
}

const IMAGING: ReadonlyArray<readonly [string, Dx]> = [
  ['70450', 'R51.9'], ['70551', 'R51.9'], ['70553', 'R51.9'], ['71045', 'J06.9'], ['71046', 'J45.909'],
  ['71250', 'J45.909'], ['71260', 'R10.9'], ['72148', 'M54.50'], ['73721', 'M25.561'], ['74177', 'R10.9'],
  ['76700', 'R10.9'], ['77067', 'Z00.00'], ['93306', 'I10'],
];

/** Imaging in the office: global (no modifier) or technical component only; -RT on a knee MRI. */
function officeImaging(rng: Rng, d: Draft): void {
  d.pos = '11';
  const [code, dx] = rng.pick(IMAGING);
  const mods = rng.chance(0.1) ? ['TC'] : [];
  if (code === '73721') mods.push('RT');
  line(d, code, mods, 1, dx);
}

/** A radiologist's or cardiologist's read in a facility: -26 (the facility bills the technical part). */
function facilityRead(rng: Rng, d: Draft, pos: string): void {
  d.pos = pos;
  const count = rng.chance(0.25) ? 2 : 1;
  for (let i = 0; i < count; i++) {
    const [code, dx] = rng.pick(IMAGING);
    if (d.lines.some((l) => l.procedureCode === code)) continue;
    const mods = ['26'];
    if (code === '73721') mods.push('RT');
    line(d, code, mods, 1, dx);
  }
}

function endoscopy(rng: Rng, d: Draft): void {
  d.pos = rng.chance(0.8) ? '22' : '19';
  const colon = rng.pick(['45378', '45380', '45385', '45380']);
  if (rng.chance(0.7)) line(d, colon, [], 1, 'R10.9');
  if (d.lines.length === 0 || rng.chance(0.25)) line(d, '43239', d.lines.length ? ['51'] : [], 1, 'K21.9');
}

function outpatientProcedure(rng: Rng, d: Draft): void {
  d.pos = rng.chance(0.85) ? '22' : '19';
  const k = rng.int(4);
  if (k === 0) line(d, '64483', [rng.chance(0.15) ? '50' : side(rng)], 1, 'M54.50');
  else if (k === 1) line(d, '29881', ['RT'], 1, 'M25.561');
  else if (k === 2) line(d, '66984', [side(rng)], 1, d.dx.length ? d.dx[0] : 'E11.9');
  else line(d, '49505', [], 1, 'R10.9');
}

/** Hospitalist stay: admission day, subsequent days, discharge day (one line per day). */
function inpatientStay(rng: Rng, d: Draft): void {
  d.pos = '21';
  const principal = rng.pick<Dx>(['N39.0', 'J45.909', 'E11.9', 'R10.9', 'J06.9']);
  const days = rng.range(1, 5);
  line(d, rng.pick(['99221', '99222', '99223', '99223']), [], 1, principal, 0);
  for (let day = 1; day < days; day++) line(d, rng.pick(['99231', '99232', '99232', '99233']), [], 1, principal, day);
  line(d, rng.chance(0.6) ? '99238' : '99239', [], 1, principal, days);
  if (rng.chance(0.3)) point(d.lines[0], dxIndex(d, rng.pick(CHRONIC)));
}

function inpatientSurgery(rng: Rng, d: Draft): void {
  d.pos = '21';
  const k = rng.int(3);
  if (k === 0) line(d, '27447', [rng.chance(0.7) ? 'RT' : 'LT'], 1, 'M25.561');
  else if (k === 1) line(d, '47562', [], 1, 'R10.9');
  else line(d, '49505', [], 1, 'R10.9');
  if (rng.chance(0.3)) line(d, '99291', [], 1, 1);
}

function emergency(rng: Rng, d: Draft): void {
  d.pos = '23';
  const critical = rng.chance(0.05);
  const principal = rng.pick<Dx>(['R10.9', 'R51.9', 'J06.9', 'N39.0', 'J45.909', 'M54.50']);
  const em = line(d, critical ? '99291' : rng.pick(['99282', '99283', '99283', '99284', '99284', '99285']), [], 1, principal);
  if (critical && rng.chance(0.4)) line(d, '99292', [], 1, principal);
  if (rng.chance(0.08)) {
    em.modifiers.push('25');
    line(d, '12001', [], 1, principal);
  }
  if (principal === 'R51.9' && rng.chance(0.5)) readByOther(d, line(d, '70450', ['26'], 1, 'R51.9'));
  if (principal === 'R10.9' && rng.chance(0.5)) readByOther(d, line(d, '74177', ['26'], 1, 'R10.9'));
  if ((principal === 'J06.9' || principal === 'J45.909') && rng.chance(0.5)) readByOther(d, line(d, '71046', ['26'], 1, principal));
  if (rng.chance(0.2)) line(d, '93010', [], 1, principal);
}

/** Telehealth video visit (-95; ~8% forget it), or an audio-only phone E/M (-93). */
function telehealth(rng: Rng, d: Draft): void {
  if (rng.chance(0.15)) {
    d.pos = '10';
    line(d, rng.pick(['99441', '99442', '99443']), rng.chance(0.9) ? ['93'] : [], 1, rng.pick(CHRONIC));
    return;
  }
  d.pos = rng.chance(0.6) ? '10' : '02';
  line(d, rng.pick(['99212', '99213', '99213', '99214', '99215']), rng.chance(0.92) ? ['95'] : [], 1, rng.chance(0.5) ? rng.pick(CHRONIC) : 'J06.9');
}

function homeVisit(rng: Rng, d: Draft): void {
  d.pos = '12';
  const newPatient = rng.chance(0.2);
  line(d, newPatient ? rng.pick(['99342', '99343', '99344']) : rng.pick(['99347', '99348', '99349', '99350']), [], 1, rng.pick(CHRONIC));
  if (rng.chance(0.15)) line(d, '93000', [], 1, 'I10');
}

type Encounter = (rng: Rng, d: Draft) => void;
const E = {
  established: (r: Rng, d: Draft) => officeVisit(r, d, false),
  newPatient: (r: Rng, d: Draft) => officeVisit(r, d, true),
  wellness,
  pt: physicalTherapy,
  chiro: chiropractic,
  psych: (r: Rng, d: Draft) => psychotherapy(r, d, false),
  telePsych: (r: Rng, d: Draft) => psychotherapy(r, d, true),
  cardio: cardiology,
  officeImaging,
  readOutpatient: (r: Rng, d: Draft) => facilityRead(r, d, r.chance(0.8) ? '22' : '19'),
  readInpatient: (r: Rng, d: Draft) => facilityRead(r, d, '21'),
  readEmergency: (r: Rng, d: Draft) => facilityRead(r, d, '23'),
  endoscopy,
  outpatientProcedure,
  inpatientStay,
  inpatientSurgery,
  emergency,
  telehealth,
  homeVisit,
} satisfies Record<string, Encounter>;

/** What each kind of facility sees, by weight. */
const FACILITY_KINDS: Record<string, ReadonlyArray<readonly [Encounter, number]>> = {
  primaryCare: [[E.established, 50], [E.newPatient, 10], [E.wellness, 12], [E.telehealth, 15], [E.homeVisit, 5], [E.officeImaging, 3], [E.psych, 2], [E.chiro, 3]],
  hospitalist: [[E.inpatientStay, 50], [E.emergency, 20], [E.readInpatient, 5], [E.inpatientSurgery, 10], [E.endoscopy, 10], [E.outpatientProcedure, 5]],
  emergency: [[E.emergency, 85], [E.readEmergency, 15]],
  radiology: [[E.readOutpatient, 50], [E.readInpatient, 15], [E.readEmergency, 15], [E.officeImaging, 20]],
  gastro: [[E.endoscopy, 60], [E.established, 25], [E.newPatient, 5], [E.telehealth, 10]],
  cardiology: [[E.cardio, 65], [E.telehealth, 10], [E.readOutpatient, 10], [E.established, 15]],
  behavioral: [[E.psych, 45], [E.telePsych, 50], [E.telehealth, 5]],
  orthoPt: [[E.pt, 40], [E.established, 15], [E.officeImaging, 15], [E.outpatientProcedure, 15], [E.chiro, 10], [E.inpatientSurgery, 5]],
  multispecialty: [[E.established, 30], [E.newPatient, 10], [E.cardio, 10], [E.pt, 10], [E.telehealth, 10], [E.officeImaging, 10], [E.endoscopy, 10], [E.wellness, 10]],
};
const FACILITY_PLAN: readonly string[] = [
  'primaryCare', 'primaryCare', 'primaryCare', 'primaryCare', 'primaryCare', 'primaryCare',
  'hospitalist', 'hospitalist', 'hospitalist', 'emergency', 'emergency', 'radiology', 'gastro',
  'cardiology', 'cardiology', 'behavioral', 'behavioral', 'orthoPt', 'orthoPt', 'multispecialty',
];
const FACILITY_POS = new Set(['21', '22', '23', '19', '02']);

interface Facility {
  id: string;
  /** Patient account number prefix (claim ids are `<prefix><staging number>`). */
  accountPrefix: string;
  billingNpi: string;
  renderers: string[];
  /** Another group's reader for -26 lines (radiologist). */
  reader: string;
  locality: { mac: string; locality: string };
  pickEncounter: (rng: Rng) => Encounter;
  markup: number;
  /** Chargemaster in cents per `code` / `code-mod` key, non-facility and facility, filled lazily. */
  prices: Map<string, number>;
  facilityPrices: Map<string, number>;
  undotted: number;
}

function buildFacilities(rng: Rng): Facility[] {
  return FACILITY_PLAN.map((kind, i) => {
    const renderers: string[] = [];
    const count = rng.range(3, 8);
    for (let k = 0; k < count; k++) renderers.push(makeNpi(rng, '1'));
    const [mac, locality] = rng.pick(SYNTHETIC_LOCALITIES);
    const id = `FAC${String(i + 1).padStart(2, '0')}`;
    return {
      id,
      accountPrefix: chars(rng, LETTERS, 3),
      billingNpi: makeNpi(rng, rng.chance(0.7) ? '1' : '2'),
      renderers,
      reader: makeNpi(rng, '1'),
      locality: { mac, locality },
      pickEncounter: weighted(FACILITY_KINDS[kind]),
      markup: 1.6 + rng.next() * 1.6,
      prices: new Map(),
      facilityPrices: new Map(),
      undotted: rng.chance(0.3) ? 0.9 : 0.1,
    };
  });
}

/** A facility's list price in cents for one unit (whole dollars, fixed per facility and code). */
function price(f: Facility, key: string, facilityPos: boolean): number {
  const prices = facilityPos ? f.facilityPrices : f.prices;
  let p = prices.get(key);
  if (p === undefined) {
    // A per-facility, per-code jitter (FNV-1a of the key) so that chargemasters are not proportional to RVUs.
    let h = 2166136261 ^ f.markup * 1e6;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
    const jitter = 0.85 + ((h >>> 0) % 1000) / 2500;
    p = Math.max(1, Math.round(RVU[key][facilityPos ? 1 : 0] * CF_2022 * f.markup * jitter)) * 100;
    prices.set(key, p);
  }
  return p;
}

// ---------------------------------------------------------------- generation

const BAD_ICD = ['250.00', '401.9', 'E11-9', 'J06.9.', 'N39 0', 'R5.19'];
const BAD_CPT = ['9921', '992133', '9921A', 'G04'];
const BAD_MODIFIER = ['5', '255', '2-5', 'R'];

/** Claims plus which of them are invalid or replays (see GeneratedClaimSet). */
export function generateClaimSet(n: number, opts: SyntheticClaimOptions): GeneratedClaimSet {
  if (!Number.isInteger(n) || n < 0) throw new Error(`n must be a non-negative integer, got ${n}`);
  const rng = createRng(opts.seed);
  const start = opts.startStagingId ?? 1;
  const today = parseIsoDay(opts.today ?? new Date().toISOString().slice(0, 10));
  const defects = opts.defects ?? CLAIM_DEFECTS;
  if (defects.length === 0) throw new Error('defects must not be empty');

  // Plan first, so that the counts are exact: replays at positions 1.., invalid among the originals.
  const kind = new Uint8Array(n); // 0 valid original, 1 invalid original, 2 replay
  const dupCount = n > 1 ? Math.min(n - 1, Math.round(n * (opts.duplicateRate ?? 0))) : 0;
  select(rng, 1, n, dupCount, (i) => (kind[i] = 2));
  const originals: number[] = [];
  for (let i = 0; i < n; i++) if (kind[i] === 0) originals.push(i);
  const invCount = Math.min(originals.length, Math.round(n * (opts.invalidRate ?? 0)));
  select(rng, 0, originals.length, invCount, (j) => (kind[originals[j]] = 1));

  const facilities = buildFacilities(rng);
  const dates: string[] = [];
  for (let d = -100; d <= 40; d++) dates.push(isoFromDays(today + d));
  const dateOf = (offset: number): string => dates[offset + 100];

  const claims: Claim[] = new Array(n);
  const invalid: GeneratedClaimSet['invalid'] = [];
  const duplicates: GeneratedClaimSet['duplicates'] = [];
  const defectOf = new Map<number, ClaimDefect>();
  const validSoFar: number[] = [];
  const draft: Draft = { pos: '11', dx: [], lines: [], days: [], readByOther: 0 };

  for (let i = 0; i < n; i++) {
    const stagingId = String(start + i);
    if (kind[i] === 2) {
      const of = validSoFar.length ? validSoFar[rng.int(validSoFar.length)] : rng.int(i);
      claims[i] = { ...cloneClaim(claims[of]), stagingId };
      duplicates.push({ index: i, of });
      const inherited = defectOf.get(of);
      if (inherited) invalid.push({ index: i, defect: inherited });
      continue;
    }
    const f = facilities[rng.int(facilities.length)];
    draft.dx = [];
    draft.lines = [];
    draft.days.length = 0;
    draft.readByOther = 0;
    f.pickEncounter(rng)(rng, draft);
    const extraDx = rng.int(3);
    for (let k = 0; k < extraDx && draft.dx.length < 4; k++) {
      const dx = rng.pick(SYNTHETIC_DIAGNOSES);
      if (!draft.dx.includes(dx) && dx !== 'Z00.00' && dx !== 'Z23') draft.dx.push(dx);
    }
    const claim = buildClaim(rng, f, draft, today, dateOf, stagingId);
    claims[i] = claim;
    if (kind[i] === 1) {
      const defect = defects[rng.int(defects.length)];
      breakClaim(rng, claim, defect, dateOf, today);
      invalid.push({ index: i, defect });
      defectOf.set(i, defect);
    } else {
      validSoFar.push(i);
    }
  }
  return { claims, invalid, duplicates };
}

/** Knuth's selection sampling: exactly `k` of the positions [from, to), each set equally likely. */
function select(rng: Rng, from: number, to: number, k: number, take: (i: number) => void): void {
  let needed = k;
  for (let i = from; i < to && needed > 0; i++) {
    if (rng.next() * (to - i) < needed) {
      take(i);
      needed--;
    }
  }
}

function buildClaim(rng: Rng, f: Facility, d: Draft, today: number, dateOf: (o: number) => string, stagingId: string): Claim {
  const payer = pickPayer(rng);
  const sexRoll = rng.next();
  const sex = sexRoll < 0.52 ? 'F' : sexRoll < 0.995 ? 'M' : 'U';
  const minAge = payer.medicare && rng.chance(0.05) ? 30 : payer.minAge;
  const age = rng.range(minAge, payer.maxAge);
  const birthDate = isoFromDays(today - age * 365 - rng.int(365));
  const given = sex === 'M' ? rng.pick(GIVEN_M) : sex === 'F' ? rng.pick(GIVEN_F) : rng.pick(rng.chance(0.5) ? GIVEN_M : GIVEN_F);

  const facilityPos = FACILITY_POS.has(d.pos);
  let lastDay = 0;
  for (let k = 0; k < d.days.length; k++) if (d.days[k] > lastDay) lastDay = d.days[k];
  const first = -(lastDay + rng.int(90 - lastDay));
  const renderingNpi = rng.chance(0.05) ? undefined : f.renderers[rng.int(f.renderers.length)];
  const undotted = rng.chance(f.undotted);

  const lines = d.lines;
  let total = 0;
  for (let k = 0; k < lines.length; k++) {
    const l = lines[k];
    const m0 = l.modifiers.length ? l.modifiers[0] : '';
    const key = m0 === '26' || m0 === 'TC' ? `${l.procedureCode}-${m0}` : l.procedureCode;
    let charge = price(f, key, facilityPos) * l.units;
    if (rng.chance(0.005)) charge = Math.round((charge * (3 + rng.next() * 5)) / 100) * 100; // keying error / unbundled price
    total += charge;
    l.serviceFrom = dateOf(first + d.days[k]);
    l.chargeCents = charge;
    if (d.readByOther & (1 << k)) l.renderingNpi = f.reader;
  }
  const claim: Claim = {
    stagingId,
    claimId: f.accountPrefix + stagingId.padStart(9, '0'),
    facilityId: f.id,
    frequency: '1',
    payerId: payer.medicare ? f.locality.mac : payer.id,
    memberId: payer.memberId(rng),
    patientFamily: rng.pick(FAMILY),
    patientGiven: given,
    birthDate,
    sex,
    billingNpi: f.billingNpi,
    placeOfService: d.pos,
    diagnoses: undotted ? d.dx.map((x) => UNDOTTED[x]) : d.dx,
    lines,
    totalChargeCents: total,
    locality: { mac: f.locality.mac, locality: f.locality.locality },
  };
  if (renderingNpi) claim.renderingNpi = renderingNpi;
  return claim;
}

/** Breaks exactly one rule (see CLAIM_DEFECTS). */
function breakClaim(rng: Rng, c: Claim, defect: ClaimDefect, dateOf: (o: number) => string, today: number): void {
  const l = c.lines[rng.int(c.lines.length)];
  switch (defect) {
    case 'BAD_NPI_CHECK_DIGIT': {
      const last = c.billingNpi.charCodeAt(9) - 48;
      c.billingNpi = c.billingNpi.slice(0, 9) + String((last + 1 + rng.int(9)) % 10);
      break;
    }
    case 'FUTURE_SERVICE_DATE': {
      const ahead = rng.range(1, 30);
      for (let k = 0; k < c.lines.length; k++) c.lines[k].serviceFrom = dateOf(ahead + k);
      break;
    }
    case 'ICD10_FORMAT':
      c.diagnoses[rng.int(c.diagnoses.length)] = rng.pick(BAD_ICD);
      break;
    case 'POINTER_OUT_OF_RANGE':
      l.diagnosisPointers = [...l.diagnosisPointers.slice(0, 3), c.diagnoses.length + 1 + rng.int(3)];
      break;
    case 'ZERO_UNITS':
      l.units = 0;
      break;
    case 'ZERO_CHARGE':
      c.totalChargeCents -= l.chargeCents;
      l.chargeCents = 0;
      break;
    case 'TOTAL_MISMATCH':
      c.totalChargeCents += (rng.chance(0.5) ? 1 : -1) * rng.range(1, Math.max(1, Math.min(c.totalChargeCents - 1, 50000)));
      break;
    case 'MISSING_MEMBER_ID':
      c.memberId = '';
      break;
    case 'BAD_PROCEDURE_FORMAT':
      l.procedureCode = rng.pick(BAD_CPT);
      break;
    case 'BAD_MODIFIER':
      l.modifiers = [...l.modifiers.slice(0, 3), rng.pick(BAD_MODIFIER)];
      break;
    case 'FUTURE_BIRTH_DATE':
      c.birthDate = isoFromDays(today + rng.range(1, 400));
      break;
  }
}

/** A deep copy of a claim (its lines, arrays and locality are not shared with the original). */
export function cloneClaim(c: Claim): Claim {
  const out: Claim = { ...c, diagnoses: [...c.diagnoses], lines: c.lines.map((l) => ({ ...l, modifiers: [...l.modifiers], diagnosisPointers: [...l.diagnosisPointers] })) };
  if (c.locality) out.locality = { ...c.locality };
  return out;
}
