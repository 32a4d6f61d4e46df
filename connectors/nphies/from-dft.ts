/**
 * An HL7 v2 DFT^P03 (post detail financial transactions) as the builder input of an NPHIES
 * claim-request (bundles/claim.ts ClaimInput). Pure: no ids, no clock; the builder adds them.
 *
 * What HL7 v2 does not carry (claim type and subType, the provider's name, the payer's member-id
 * system, the practitioner's specialty) comes from `DftClaimDefaults` (node / destination config).
 * It does not invent clinical or financial content: a missing patient id, coverage, charge,
 * amount or diagnosis is an HL7 error 101 (required field missing) naming the segment and field.
 *
 * Claim identifier: MSH-10 (message control id), so a resent DFT keeps its identifier and NPHIES
 * deduplicates it; PV1-19 (visit number) becomes the episode; FT1-2 (transaction id) the line's
 * patient invoice when present.
 */
import { hl7ValidationError } from '../../transformers/hl7v2/errors';
import type { Hl7Message } from '../../transformers/hl7v2/message';
import type { Hl7Segment } from '../../transformers/hl7v2/segment';
import type { ClaimInput, ClaimItemInput, EncounterInput, Gender, PatientInput, PractitionerInput, ProviderInput } from './bundles';
import type { PatientIdKind } from './bundles/profiles';

export interface DftClaimDefaults {
  claimType: ClaimInput['claimType'];
  subType: ClaimInput['subType'];
  provider: ProviderInput;
  /** Payer-owned member id system (NPHIES.md §6) for the IN1 policy number. */
  memberIdSystem: string;
  /** practice-codes specialty for the care team (HL7 v2 has none). */
  specialty: string;
  /** Default SAR; FT1 amounts in another currency are refused. */
  currency?: string;
  /** NPHIES code system id for charge codes without a recognised coding system; default `services`. */
  codeSystem?: string;
  /** Insurer name when IN1-4 is empty. */
  insurerName?: string;
}

/** CX-5 identifier type (or CX-4 assigning authority) → NPHIES patient identifier kind. */
const ID_KIND: Record<string, PatientIdKind> = {
  NI: 'nationalid', NATIONALID: 'nationalid', NIN: 'nationalid',
  PRC: 'iqama', IQAMA: 'iqama',
  PPN: 'passport', PASSPORT: 'passport',
  BN: 'border', BORDER: 'border',
  DP: 'displaced', DISPLACED: 'displaced',
};

/** CE/CWE-3 coding system → NPHIES code system id (under http://nphies.sa/terminology/CodeSystem/). */
const CODE_SYSTEM: Record<string, string> = {
  C4: 'procedures', CPT: 'procedures', CPT4: 'procedures', ACHI: 'procedures', HCPCS: 'procedures',
  NDC: 'medication-codes', SFDA: 'medication-codes', GTIN: 'medication-codes',
  SERVICES: 'services', NPHIES: 'services',
};

/** Coding systems read as ICD-10 (the builder writes ICD-10-AM); other diagnosis codes are skipped. */
const ICD10 = new Set(['I10', 'I10C', 'ICD10', 'ICD10AM', 'ICD-10', 'ICD-10-AM', 'I10AM']);

const CLASS: Record<string, string> = { I: 'IMP', O: 'AMB', E: 'EMER', P: 'AMB', R: 'AMB', B: 'AMB' };
const GENDER: Record<string, Gender> = { M: 'male', F: 'female', O: 'other', U: 'unknown', A: 'other', N: 'unknown' };
const RELATIONSHIP: Record<string, string> = { SEL: 'self', SPO: 'spouse', CHD: 'child', EME: 'other', OTH: 'other' };

function missing(segmentId: string, field: number, what: string, sequence?: number) {
  return hl7ValidationError('HL7_CONTENT', 101, `${segmentId}-${field} (${what}) is required for an NPHIES claim`, { segmentId, field, ...(sequence ? { sequence } : {}) });
}

/** HL7 DT/DTM → `YYYY-MM-DD`. */
function hl7Date(ts: string | undefined): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(ts ?? '');
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** HL7 DTM → FHIR dateTime with a zone (Riyadh +03:00 when the DTM has none). */
function hl7DateTime(ts: string | undefined): string | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$/.exec(ts ?? '');
  if (!m) return undefined;
  const zone = m[7] ? `${m[7].slice(0, 3)}:${m[7].slice(3)}` : '+03:00';
  return `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${zone}`;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function patientOf(msg: Hl7Message): PatientInput {
  const pid = msg.segment('PID');
  if (!pid) throw missing('PID', 3, 'patient identifier');
  let identifier: PatientInput['identifier'] | undefined;
  for (let rep = 1; rep <= pid.repetitionCount(3) && !identifier; rep++) {
    const value = pid.get(`3[${rep}].1`);
    const kind = ID_KIND[(pid.get(`3[${rep}].5`) ?? '').toUpperCase()] ?? ID_KIND[(pid.get(`3[${rep}].4.1`) ?? '').toUpperCase()];
    if (value && kind) identifier = { kind, value };
  }
  if (!identifier) throw missing('PID', 3, 'a national id, iqama, passport, border or displaced-person number, by CX-5 type NI/PRC/PPN/BN/DP');
  const family = pid.get('5.1.1') ?? pid.get('5.1');
  if (!family) throw missing('PID', 5, 'family name');
  const birthDate = hl7Date(pid.get('7.1') ?? pid.get('7'));
  if (!birthDate) throw missing('PID', 7, 'birth date');
  const given = [pid.get('5.2'), pid.get('5.3')].filter((g): g is string => Boolean(g));
  return { identifier, family, given: given.length ? given : undefined, gender: GENDER[(pid.get('8.1') ?? '').toUpperCase()] ?? 'unknown', birthDate };
}

function itemOf(ft1: Hl7Segment, seq: number, currency: string, defaults: DftClaimDefaults, invoiceDefault: string): ClaimItemInput {
  // FT1-25 procedure code when sent (the more specific), else FT1-7 transaction code.
  const field = ft1.get('25.1') ? 25 : 7;
  const code = ft1.get(`${field}.1`);
  if (!code) throw missing('FT1', 7, 'transaction code (or FT1-25 procedure code)', seq);
  const system = (ft1.get(`${field}.3`) ?? '').toUpperCase();
  const servicedDate = hl7Date(ft1.get('4.1') ?? ft1.get('4'));
  if (!servicedDate) throw missing('FT1', 4, 'transaction date', seq);
  const quantity = num(ft1.get('10')) ?? 1;
  // FT1-12 unit amount, else FT1-11 extended amount / quantity. CP.1 is MO: amount & currency.
  const unit = num(ft1.get('12.1.1'));
  const extended = num(ft1.get('11.1.1'));
  const unitPrice = unit ?? (extended !== undefined ? Math.round((extended / quantity) * 100) / 100 : undefined);
  if (unitPrice === undefined) throw missing('FT1', 11, 'transaction amount (FT1-11 extended or FT1-12 unit)', seq);
  for (const f of [11, 12]) {
    const cur = ft1.get(`${f}.1.2`);
    if (cur && cur.toUpperCase() !== currency.toUpperCase()) {
      throw hl7ValidationError('HL7_CONTENT', 102, `FT1-${f} currency ${cur} is not the claim currency ${currency}`, { segmentId: 'FT1', field: f, sequence: seq });
    }
  }
  return {
    code,
    display: ft1.get(`${field}.2`),
    codeSystem: CODE_SYSTEM[system] ?? defaults.codeSystem ?? 'services',
    servicedDate,
    quantity,
    unitPrice,
    invoice: ft1.get('2.1') ?? invoiceDefault,
  };
}

function diagnosesOf(msg: Hl7Message): ClaimInput['diagnoses'] {
  const out: ClaimInput['diagnoses'] = [];
  const seen = new Set<string>();
  const add = (code: string | undefined, display: string | undefined, system: string | undefined) => {
    if (!code || seen.has(code)) return;
    if (system && !ICD10.has(system.toUpperCase())) return;
    seen.add(code);
    out.push({ code, display });
  };
  for (const dg1 of msg.segments('DG1')) add(dg1.get('3.1'), dg1.get('3.2'), dg1.get('3.3'));
  for (const ft1 of msg.segments('FT1')) {
    for (let rep = 1; rep <= ft1.repetitionCount(19); rep++) add(ft1.get(`19[${rep}].1`), ft1.get(`19[${rep}].2`), ft1.get(`19[${rep}].3`));
  }
  if (out.length === 0) throw missing('DG1', 3, 'an ICD-10 diagnosis (DG1-3 or FT1-19 with coding system I10)');
  return out;
}

function careTeamOf(msg: Hl7Message, defaults: DftClaimDefaults): PractitionerInput[] {
  // FT1-21 ordered by, FT1-20 performed by, else PV1-7 attending doctor: XCN id is the license.
  const ft1 = msg.segment('FT1');
  const pv1 = msg.segment('PV1');
  const candidates: Array<Hl7Segment | undefined> = [ft1, ft1, pv1];
  const fields = [20, 21, 7];
  for (let i = 0; i < fields.length; i++) {
    const seg = candidates[i];
    const license = seg?.get(`${fields[i]}.1`);
    const family = seg?.get(`${fields[i]}.2.1`) ?? seg?.get(`${fields[i]}.2`);
    if (license && family) {
      const given = seg?.get(`${fields[i]}.3`);
      return [{ license, family, given: given ? [given] : undefined, specialty: defaults.specialty }];
    }
  }
  throw missing('PV1', 7, 'attending doctor (or FT1-20 performed by), id and family name');
}

function encounterOf(msg: Hl7Message, items: ClaimItemInput[]): EncounterInput | undefined {
  const pv1 = msg.segment('PV1');
  if (!pv1) return undefined;
  const visit = pv1.get('19.1');
  const start = hl7DateTime(pv1.get('44.1') ?? pv1.get('44')) ?? `${items.map((i) => i.servicedDate).sort()[0]}T00:00:00+03:00`;
  const end = hl7DateTime(pv1.get('45.1') ?? pv1.get('45'));
  return {
    identifier: visit ?? msg.get('MSH-10') ?? '',
    class: CLASS[(pv1.get('2') ?? '').toUpperCase()] ?? 'AMB',
    status: end ? 'finished' : 'in-progress',
    start,
    end,
  };
}

/**
 * The claim-request builder input for a parsed DFT^P03.
 * @throws ValidationError HL7_CONTENT (hl7ErrorCode 101 naming segment and field) when the DFT lacks what a claim needs
 */
export function claimInputFromDft(msg: Hl7Message, defaults: DftClaimDefaults): ClaimInput {
  const type = `${msg.get('MSH-9.1') ?? ''}^${msg.get('MSH-9.2') ?? ''}`;
  if (type !== 'DFT^P03') {
    throw hl7ValidationError('HL7_UNSUPPORTED', 200, `an NPHIES claim is built from DFT^P03, not ${type}`, { segmentId: 'MSH', field: 9 });
  }
  const identifier = msg.get('MSH-10');
  if (!identifier) throw missing('MSH', 10, 'message control id (the claim identifier)');
  const currency = defaults.currency ?? 'SAR';
  const patient = patientOf(msg);

  const in1 = msg.segment('IN1');
  if (!in1) throw missing('IN1', 36, 'policy number');
  const memberId = in1.get('36') ?? in1.get('49.1');
  if (!memberId) throw missing('IN1', 36, 'policy number');
  const insurerName = in1.get('4.1') ?? defaults.insurerName;
  if (!insurerName) throw missing('IN1', 4, 'insurance company name');
  const plan = in1.get('2.1');

  const ft1s = msg.segments('FT1');
  if (ft1s.length === 0) throw missing('FT1', 7, 'at least one financial transaction');
  const items = ft1s.map((ft1, i) => itemOf(ft1, i + 1, currency, defaults, identifier));

  return {
    identifier,
    claimType: defaults.claimType,
    subType: defaults.subType,
    episode: msg.get('PV1-19.1'),
    patient,
    coverage: {
      memberId,
      memberIdSystem: defaults.memberIdSystem,
      relationship: RELATIONSHIP[(in1.get('17.1') ?? 'SEL').toUpperCase()] ?? 'other',
      plan: plan ? { value: plan, name: in1.get('2.2') } : undefined,
      periodStart: hl7Date(in1.get('12')),
      periodEnd: hl7Date(in1.get('13')),
    },
    provider: defaults.provider,
    insurer: { name: insurerName },
    careTeam: careTeamOf(msg, defaults),
    diagnoses: diagnosesOf(msg),
    encounter: encounterOf(msg, items),
    items,
    currency,
  };
}
