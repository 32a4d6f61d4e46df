/**
 * Shared HL7 v2 -> FHIR R4 building blocks for every message mapper (one import path):
 *
 * - readers.ts: CX/EI -> Identifier, CWE/CE/CNE -> CodeableConcept (coding-system names -> URIs),
 *   TS/DTM/DT/DR -> dateTime/date/Period, XCN -> Practitioner, XON -> Organization, PL -> Location,
 *   101/102 error helpers.
 * - patient.ts: PID (+PD1) -> Patient (`mapPatient`, upserted by the first PID-3 identifier).
 * - encounter.ts: PV1 (+PV2) -> Encounter (`mapEncounter`, upserted by PV1-19).
 * - segments.ts: NK1 -> RelatedPerson, IN1 (+IN2) -> Coverage, AL1/IAM -> AllergyIntolerance,
 *   DG1 -> Condition, PR1 -> Procedure, PRB -> Condition, GT1 + PID-18 -> Account.
 *
 * Each file documents its field-by-field mapping and where it deviates from the v2-to-FHIR IG.
 * Helpers appended below by other mappers import from './readers' (never from this file) so the
 * modules stay free of import cycles.
 */
export * from './readers';
export * from './patient';
export * from './encounter';
export * from './segments';
