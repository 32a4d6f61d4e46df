import type { Account, ChargeItem, Coding, Encounter, Money, Patient } from '@medplum/fhirtypes';
import type { Hl7Segment } from '../segment';
import { leaf } from '../v2-datatypes';
import { mapEncounter } from './encounter';
import { mapPatient } from './patient';
import {
  badValue, collect, derivedIdentifier, messageIdentifier, practitionerReference, readCodeableConcept, readCodeableConcepts, readCx, readDateTime,
  readPeriod, requiredMissing, v2TableSystem, type KeyedIdentifier, type MappedResource,
} from './readers';
import { mapAccount, mapCoverages, mapDiagnosis, mapProcedure, mapRelatedPersons, mapAllergies } from './segments';
import type { MapperTable, MappingContext } from './types';

/**
 * DFT (detail financial transaction) and BAR (add/change billing account) -> FHIR R4 transaction.
 *
 * DFT^P03, DFT^P11: Patient (PID), Encounter (PV1, when present), Account (PID-18), Coverage (IN1),
 * Condition (DG1), Procedure (PR1), and one ChargeItem per FT1 (the FT1 -> ChargeItem mapping of
 * the FHIR R4 ChargeItem resource, the v2-to-FHIR IG has no FT1 map yet):
 *
 * | v2 | ChargeItem | note |
 * |---|---|---|
 * | FT1-2 transaction id | identifier and key | else derived from MSH-10 + FT1-1: a resend of the same message never duplicates, two different messages with the same charge line stay two charges |
 * | FT1-4 transaction date (DR or TS) | occurrenceDateTime / occurrencePeriod | |
 * | FT1-5 posting date | enteredDate | |
 * | FT1-6 transaction type (0017) | status billable (CG, CD, AJ); extension `urn:wasl:fhir:ft1-transaction-type` keeps the code | PY payments are not charges: skipped |
 * | FT1-7 transaction code, FT1-25 procedure code | code (FT1-25 codings appended) | FT1-7 required (101) unless FT1-25 is given |
 * | FT1-8 description | note | |
 * | FT1-10 quantity | quantity | |
 * | FT1-11 extended amount, else FT1-12 unit amount x quantity | priceOverride (MO: amount & currency) | |
 * | FT1-19 diagnosis codes | reason | |
 * | FT1-20 performed by | performer.actor (Practitioner) | FT1-21 ordered by is not mapped (ChargeItem has no orderer) |
 * | FT1-29 NDC code | productCodeableConcept | |
 * | PID-18 / PV1 | account / context | |
 *
 * BAR^P01 add account, P05 update account, P06 end account (Account status inactive), P12 update
 * diagnosis/procedure: Patient, Account (PID-18; else keyed by the first visit number), and per
 * visit group (PV1 and the DG1/PR1 after it) an Encounter, Conditions and Procedures; NK1 ->
 * RelatedPerson, IN1 -> Coverage, GT1 -> Account.guarantor, AL1 -> AllergyIntolerance.
 */

const TRANSACTION_TYPE_EXT = 'urn:wasl:fhir:ft1-transaction-type';

/** CP / MO amount at `field`: component 1 is MO (subcomponent 1 amount, 2 currency). */
function readMoney(seg: Hl7Segment, field: number, times = 1): Money | undefined {
  const amount = leaf(seg, field, 1, 1, 1);
  if (!amount) return undefined;
  const value = Number(amount);
  if (!Number.isFinite(value)) throw badValue(seg.id, field, `${seg.id}-${field} amount is not a number`);
  const money: Money = { value: Math.round(value * times * 10000) / 10000 };
  const currency = leaf(seg, field, 1, 1, 2);
  if (currency && /^[A-Z]{3}$/.test(currency)) money.currency = currency as Money['currency'];
  return money;
}

/** Key of a charge without FT1-2: the message control id + FT1-1 (else its position). */
function messageScopedKey(ctx: MappingContext, ft1: Hl7Segment, position: number): KeyedIdentifier {
  return derivedIdentifier('charge-item', messageIdentifier(ctx), leaf(ft1, 1) ?? String(position));
}

/** FT1 -> ChargeItem (undefined for a payment). */
export function mapCharge(
  ctx: MappingContext,
  ft1: Hl7Segment,
  patient: MappedResource<Patient>,
  encounter: MappedResource<Encounter> | undefined,
  account: MappedResource<Account> | undefined,
  position: number,
): MappedResource<ChargeItem> | undefined {
  const type = leaf(ft1, 6, 1, 1)?.toUpperCase();
  if (type === 'PY') return undefined;
  const code = readCodeableConcept(ft1, 7);
  const procedure = readCodeableConcepts(ft1, 25);
  if (!code && procedure.length === 0) throw requiredMissing('FT1', 7, 'FT1-7 transaction code is missing');
  const merged = code ?? { ...procedure[0] };
  const seen = new Set((merged.coding ?? []).map((c) => `${c.system}|${c.code}`));
  for (const extra of code ? procedure : procedure.slice(1)) {
    for (const c of extra.coding ?? []) {
      if (seen.has(`${c.system}|${c.code}`)) continue;
      seen.add(`${c.system}|${c.code}`);
      (merged.coding ??= []).push(c);
    }
  }
  const key = readCx(ctx, ft1, 2) ?? messageScopedKey(ctx, ft1, position);
  const charge: ChargeItem = { resourceType: 'ChargeItem', identifier: [key], status: 'billable', code: merged, subject: { reference: patient.fullUrl } };
  if (type) {
    const coding: Coding = { system: v2TableSystem('0017'), code: type };
    charge.extension = [{ url: TRANSACTION_TYPE_EXT, valueCoding: coding }];
  }
  if (encounter) charge.context = { reference: encounter.fullUrl };
  const when = readPeriod(ctx, ft1, 4);
  if (when?.start && !when.end) charge.occurrenceDateTime = when.start;
  else if (when) charge.occurrencePeriod = when;
  const entered = readDateTime(ctx, ft1, 5);
  if (entered) charge.enteredDate = entered;
  const description = leaf(ft1, 8);
  if (description) charge.note = [{ text: description }];
  const quantityText = leaf(ft1, 10);
  let quantity: number | undefined;
  if (quantityText) {
    quantity = Number(quantityText);
    if (!Number.isFinite(quantity)) throw badValue('FT1', 10, 'FT1-10 transaction quantity is not a number');
    charge.quantity = { value: quantity };
  }
  const price = readMoney(ft1, 11) ?? readMoney(ft1, 12, quantity ?? 1);
  if (price) charge.priceOverride = price;
  const reason = readCodeableConcepts(ft1, 19);
  if (reason.length) charge.reason = reason;
  const performer = collect(ft1, 20, (rep) => practitionerReference(ctx, ft1, 20, rep)).map((actor) => ({ actor }));
  if (performer.length) charge.performer = performer;
  const product = readCodeableConcept(ft1, 29, 1, { defaultSystem: 'http://hl7.org/fhir/sid/ndc' });
  if (product) charge.productCodeableConcept = product;
  if (account) charge.account = [{ reference: account.fullUrl }];
  return { fullUrl: ctx.bundle.upsert(charge, key), identifier: key, resource: charge };
}

/**
 * Walks the segments after PID: each PV1 opens a visit; DG1, PR1 and FT1 belong to the visit
 * open at that point (or to none).
 */
function mapVisitGroups(
  ctx: MappingContext,
  patient: MappedResource<Patient>,
  account: () => MappedResource<Account> | undefined,
  status: (pv1: Hl7Segment) => Encounter['status'],
): MappedResource<Encounter>[] {
  const encounters: MappedResource<Encounter>[] = [];
  let current: MappedResource<Encounter> | undefined;
  let dg = 0;
  let pr = 0;
  let ft = 0;
  for (const seg of ctx.msg.segments()) {
    if (seg.id === 'PV1') {
      const pv2 = nextPv2(ctx, seg);
      current = mapEncounter(ctx, seg, patient, { status: status(seg), pv2 });
      encounters.push(current);
    } else if (seg.id === 'DG1') mapDiagnosis(ctx, seg, patient, current, ++dg);
    else if (seg.id === 'PR1') mapProcedure(ctx, seg, patient, current, ++pr);
    else if (seg.id === 'FT1') mapCharge(ctx, seg, patient, current, account(), ++ft);
  }
  return encounters;
}

/** The PV2 right after a PV1 (its visit's), if any. */
function nextPv2(ctx: MappingContext, pv1: Hl7Segment): Hl7Segment | undefined {
  const all = ctx.msg.segments();
  const next = all[all.indexOf(pv1) + 1];
  return next?.id === 'PV2' ? next : undefined;
}

function encounterStatus(pv1: Hl7Segment): Encounter['status'] {
  return leaf(pv1, 45) ? 'finished' : 'in-progress';
}

/** DFT^P03 / P11. */
function mapDft(ctx: MappingContext): void {
  if (!ctx.msg.has('FT1')) throw requiredMissing('FT1', 1, 'DFT message carries no FT1 segment');
  const patient = mapPatient(ctx);
  const coverages = mapCoverages(ctx, patient);
  const account = mapAccount(ctx, patient, { coverages });
  const encounters = mapVisitGroups(ctx, patient, () => account, encounterStatus);
  if (account) for (const e of encounters) e.resource.account = [{ reference: account.fullUrl }];
}

/** BAR^P01 / P05 / P06 / P12. */
function bar(accountStatus: Account['status']) {
  return (ctx: MappingContext): void => {
    const patient = mapPatient(ctx);
    mapRelatedPersons(ctx, patient);
    const coverages = mapCoverages(ctx, patient);
    const firstPv1 = ctx.msg.segment('PV1');
    const fallbackKey = firstPv1 ? readCx(ctx, firstPv1, 19) : undefined;
    const account = mapAccount(ctx, patient, { coverages, status: accountStatus, fallbackKey });
    const encounters = mapVisitGroups(ctx, patient, () => account, encounterStatus);
    if (account) for (const e of encounters) e.resource.account = [{ reference: account.fullUrl }];
    mapAllergies(ctx, patient);
  };
}

export const mappers: MapperTable = {
  'DFT^P03': mapDft,
  'DFT^P11': mapDft,
  'BAR^P01': bar('active'),
  'BAR^P05': bar('active'),
  'BAR^P06': bar('inactive'),
  'BAR^P12': bar('active'),
};
