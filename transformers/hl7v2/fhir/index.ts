import { uriPart } from '../fhir-identity';
import type { Bundle } from '@medplum/fhirtypes';
import { HL7_ERROR_CODES, hl7ValidationError } from '../errors';
import type { Hl7Message } from '../message';
import { mappers as adt } from './adt';
import { mappers as documents } from './documents';
import { mappers as financial } from './financial';
import { mappers as immunization } from './immunization';
import { mappers as orders } from './orders';
import { mappers as problems } from './problems';
import { mappers as results } from './results';
import { mappers as scheduling } from './scheduling';
import { TransactionBuilder } from './transaction';
import type { Hl7ToFhirOptions, MapperTable, MessageMapper } from './types';

export type { Hl7ToFhirOptions } from './types';

/** Every message type Wasl maps, keyed `TYPE^TRIGGER` (or `TYPE^*`). */
const MAPPERS: MapperTable = { ...adt, ...results, ...orders, ...scheduling, ...immunization, ...documents, ...financial, ...problems };

/** The `TYPE^TRIGGER` pairs that have a mapping, sorted (for docs and error messages). */
export function mappedMessageTypes(): string[] {
  return Object.keys(MAPPERS).sort();
}

/** True when `TYPE^TRIGGER` (e.g. `SIU^S12`) has a mapping, exact or through `TYPE^*`. */
export function hasMapping(messageType: string, triggerEvent: string): boolean {
  return mapperFor(messageType, triggerEvent) !== undefined;
}

/** The mapper for a message, or undefined when its type/trigger has none. */
function mapperFor(messageType: string, triggerEvent: string): MessageMapper | undefined {
  return MAPPERS[`${messageType}^${triggerEvent}`] ?? MAPPERS[`${messageType}^*`];
}

/**
 * Maps one HL7 v2 message to a FHIR R4 transaction Bundle of the resources it describes.
 * Pure and deterministic: the same message gives the same Bundle, and applying it twice
 * leaves one copy of each resource (upserts are conditional on business identifiers).
 *
 * @throws ValidationError `HL7_UNSUPPORTED` (hl7ErrorCode 200 unknown message type, 201 unknown
 *   trigger) or `HL7_CONTENT` (101 required field missing, 102 bad value) naming segment and field.
 */
export function hl7ToFhirTransaction(msg: Hl7Message, options: Hl7ToFhirOptions = {}): Bundle {
  const { messageType, triggerEvent } = msg.header;
  const mapper = mapperFor(messageType, triggerEvent);
  if (!mapper) {
    const typeKnown = Object.keys(MAPPERS).some((k) => k.startsWith(`${messageType}^`));
    throw hl7ValidationError(
      HL7_ERROR_CODES.UNSUPPORTED,
      typeKnown ? 201 : 200,
      typeKnown
        ? `MSH-9 trigger event ${messageType}^${triggerEvent} has no FHIR mapping`
        : `MSH-9 message type ${messageType} has no FHIR mapping`,
      { segmentId: 'MSH', field: 9, component: typeKnown ? 2 : 1 },
    );
  }
  // The facility's namespace id (else universal id, else the application): identifiers with no
  // assigning authority are scoped to it, so ids from different senders never collide.
  const sender = msg.get('MSH-4.1') || msg.get('MSH-4.2') || msg.get('MSH-3.1') || msg.get('MSH-3.2') || 'unknown';
  const bundle = new TransactionBuilder();
  mapper({ msg, options, facilitySystem: `urn:wasl:sending-facility:${uriPart(sender)}`, bundle });
  return bundle.build();
}
