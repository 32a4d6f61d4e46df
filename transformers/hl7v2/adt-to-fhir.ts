import type { Bundle } from '@medplum/fhirtypes';
import { HL7_ERROR_CODES, hl7ValidationError } from './errors';
import type { IdentifierSystemResolver } from './fhir-identity';
import { hl7ToFhirTransaction } from './fhir';
import type { Hl7Message } from './message';

/**
 * @deprecated Use `hl7ToFhirTransaction` (transformers/hl7v2/fhir), which maps every supported
 * message type; this wrapper stays until the CLI and the wasl-hl7-to-fhir node switch to it.
 */
export interface AdtToFhirOptions {
  /** Maps a CX-4 / HD assigning authority to a FHIR identifier system (see Hl7ToFhirOptions.identifierSystem). */
  patientIdentifierSystem?: IdentifierSystemResolver;
  /** Offset (`+03:00`) for HL7 timestamps that carry none; without it they keep only their date. */
  defaultTimezoneOffset?: string;
}

/**
 * Maps an ADT message to a FHIR R4 transaction Bundle: the Patient upserted by its first PID-3
 * identifier, the Encounter by PV1-19, and the other resources the event describes (see
 * transformers/hl7v2/fhir/adt.ts for the events and the field-by-field mapping).
 *
 * @deprecated Use `hl7ToFhirTransaction`; this only adds the check that the message is ADT.
 * @throws ValidationError `HL7_UNSUPPORTED` (hl7ErrorCode 200 not ADT, 201 unmapped event);
 *   `HL7_CONTENT` (101 missing PID / PID-3 / PV1, 102 bad value).
 */
export function adtToFhirTransaction(msg: Hl7Message, options: AdtToFhirOptions = {}): Bundle {
  const { messageType } = msg.header;
  if (messageType !== 'ADT') {
    throw hl7ValidationError(HL7_ERROR_CODES.UNSUPPORTED, 200, `MSH-9 message type ${messageType} is not ADT`, {
      segmentId: 'MSH', field: 9, component: 1,
    });
  }
  return hl7ToFhirTransaction(msg, { identifierSystem: options.patientIdentifierSystem, defaultTimezoneOffset: options.defaultTimezoneOffset });
}
