import type { AckError } from './ack';
import type { Hl7Header } from './header';

/**
 * Checks a message type against a channel's accept list, before the message is stored.
 * Entries are `ADT^A01` (type and trigger), or `ADT` / `ADT^*` (every trigger of that type).
 * The version needs no check here: `parseHl7`/`readHl7Header` already answered 203.
 *
 * @returns undefined when accepted; otherwise an AckError with 200 (message type unknown) or
 *   201 (type known, trigger event not), located at MSH-9.1 or MSH-9.2.
 */
export function checkAccepted(header: Hl7Header, accept: string[]): AckError | undefined {
  const type = header.messageType;
  const event = header.triggerEvent;
  let typeKnown = false;
  for (const entry of accept) {
    const [t, e] = entry.trim().split('^', 2);
    if (t !== type) continue;
    typeKnown = true;
    if (e === undefined || e === '*' || e === event) return undefined;
  }
  if (!typeKnown) {
    return {
      code: 200,
      severity: 'E',
      location: { segment: 'MSH', sequence: 1, field: 9, component: 1 },
      diagnostic: `MSH-9 message type ${type} is not accepted by this channel`,
    };
  }
  return {
    code: 201,
    severity: 'E',
    location: { segment: 'MSH', sequence: 1, field: 9, component: 2 },
    diagnostic: `MSH-9 trigger event ${type}^${event || '(empty)'} is not accepted by this channel`,
  };
}
