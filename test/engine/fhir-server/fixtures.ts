/** Transaction Bundles shaped like the HL7 → FHIR mapper's output (ADT: Patient + Encounter). */
import type { Bundle } from '@medplum/fhirtypes';

export const PATIENT_FULL_URL = 'urn:uuid:6c1b2a4e-0b55-4c55-9d43-3f3b1d2f0a01';
export const ENCOUNTER_FULL_URL = 'urn:uuid:6c1b2a4e-0b55-4c55-9d43-3f3b1d2f0a02';
export const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.3.1.mrn';
export const VISIT_SYSTEM = 'urn:oid:2.16.840.1.113883.3.1.visit';

/**
 * Patient and Encounter, each written by conditional PUT on its identifier (or by POST with
 * ifNoneExist), the Encounter's subject pointing at the Patient entry's urn:uuid fullUrl.
 */
export function admitBundle(mrn: string, visit: string, mode: 'put' | 'ifNoneExist' = 'put'): Bundle {
  const patientQuery = `identifier=${MRN_SYSTEM}|${mrn}`;
  const encounterQuery = `identifier=${VISIT_SYSTEM}|${visit}`;
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: PATIENT_FULL_URL,
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: MRN_SYSTEM, value: mrn }],
          name: [{ family: 'Test', given: ['Synthetic'] }],
          gender: 'female',
          birthDate: '1980-02-29',
        },
        request: mode === 'put'
          ? { method: 'PUT', url: `Patient?${patientQuery}` }
          : { method: 'POST', url: 'Patient', ifNoneExist: patientQuery },
      },
      {
        fullUrl: ENCOUNTER_FULL_URL,
        resource: {
          resourceType: 'Encounter',
          status: 'in-progress',
          class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
          identifier: [{ system: VISIT_SYSTEM, value: visit }],
          subject: { reference: PATIENT_FULL_URL },
        },
        request: mode === 'put'
          ? { method: 'PUT', url: `Encounter?${encounterQuery}` }
          : { method: 'POST', url: 'Encounter', ifNoneExist: encounterQuery },
      },
    ],
  };
}
