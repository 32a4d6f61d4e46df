/**
 * The parsed HL7 v2 message of `msg`: parsed once per stage and kept on `msg.hl7` so a filter,
 * transformer and router in a row do not parse it three times.
 */
import { parseHl7, type Hl7Message } from '../../transformers/hl7v2/parse';
import type { WaslMsg } from '../../engine/runtime/wasl-msg';

export function hl7Of(msg: WaslMsg): Hl7Message {
  const cached = msg.hl7 as Hl7Message | undefined;
  if (cached && typeof cached.get === 'function') return cached;
  const parsed = parseHl7(String(msg.payload));
  msg.hl7 = parsed;
  return parsed;
}
