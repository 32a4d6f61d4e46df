/**
 * Facility vs non-facility PE RVUs by place of service (CLAIMS.md §4–§5).
 *
 * Source: Medicare Claims Processing Manual (Pub. 100-04) ch. 12 §20.4.2 "Site of Service Payment
 * Differential" (https://www.cms.gov/Regulations-and-Guidance/Guidance/Manuals/Downloads/clm104c12.pdf)
 * lists the settings paid at the facility rate: 19 off-campus outpatient hospital, 21 inpatient
 * hospital, 22 on-campus outpatient hospital, 23 emergency room, 24 ASC, 26 military treatment
 * facility, 31 SNF (Part A resident), 34 hospice (inpatient care), 41 ambulance land, 42 ambulance
 * air/water, 51 inpatient psychiatric facility, 52 psychiatric partial hospitalization, 53 community
 * mental health center, 56 psychiatric residential treatment center, 61 comprehensive inpatient
 * rehabilitation facility. Every other POS (11 office, 12 home, 20 urgent care, 32 nursing
 * facility, 81 independent lab, ...) is non-facility.
 *
 * Telehealth: POS 02 (patient not at home) is paid at the facility rate (CMS telehealth policy since
 * 2017, restated in CLAIMS.md §5); POS 10 (patient at home, since 2022) is paid at the non-facility
 * rate from 2024 (CY 2024 PFS final rule). Both are less settled than the manual's list: payment for
 * telehealth has changed with each year's rule and statutory extensions, so check them per year.
 *
 * Simplifications: 24 and 31 are treated as facility unconditionally (the manual conditions them on
 * the ASC list and Part A status, which a claim does not carry), and the rule that a hospital
 * inpatient/outpatient's services are paid at the facility rate wherever the encounter happened is
 * not applied (it needs the patient's status, not the POS).
 */
export const FACILITY_POS: ReadonlySet<string> = new Set([
  '02',
  '19',
  '21',
  '22',
  '23',
  '24',
  '26',
  '31',
  '34',
  '41',
  '42',
  '51',
  '52',
  '53',
  '56',
  '61',
]);

/** Normalises a POS to CMS's two digits ("2" → "02"); other text is returned trimmed. */
export function normalisePos(pos: string | undefined): string {
  const p = (pos ?? '').trim();
  return p.length === 1 && p >= '0' && p <= '9' ? '0' + p : p;
}

/** True when the POS is paid at the facility rate (facility PE RVUs). */
export function isFacilityPos(pos: string): boolean {
  return FACILITY_POS.has(pos);
}
