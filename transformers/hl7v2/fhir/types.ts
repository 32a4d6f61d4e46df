import type { Hl7Message } from '../message';
import type { IdentifierSystemResolver } from '../fhir-identity';
import type { TransactionBuilder } from './transaction';

export interface Hl7ToFhirOptions {
  /**
   * Maps an assigning authority (CX-4 / HD namespace id, else universal id) to a FHIR identifier
   * system. Return undefined to fall back to the built-in rule (`urn:oid:` for OIDs, else
   * `urn:wasl:assigning-authority:<name>`).
   */
  identifierSystem?: IdentifierSystemResolver;
  /**
   * Offset (`+03:00`) for HL7 timestamps that carry none. Without it such timestamps keep only
   * their date, because FHIR forbids a time without a zone.
   */
  defaultTimezoneOffset?: string;
}

/** What a message mapper gets: the parsed message and the Bundle it adds entries to. */
export interface MappingContext {
  readonly msg: Hl7Message;
  readonly options: Hl7ToFhirOptions;
  /** Identifier system for identifiers that name no assigning authority: the sending facility. */
  readonly facilitySystem: string;
  readonly bundle: TransactionBuilder;
}

/** Adds the resources one message describes to `ctx.bundle`; throws ValidationError (hl7ErrorCode) on bad content. */
export type MessageMapper = (ctx: MappingContext) => void;

/** Mappers keyed by `TYPE^TRIGGER` (`ADT^A01`), or by `TYPE^*` for every trigger of a type. */
export type MapperTable = Record<string, MessageMapper>;
