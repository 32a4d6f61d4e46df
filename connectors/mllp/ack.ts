/**
 * Reads an HL7 v2 acknowledgment (HL7V2.md §5–7) for the MLLP sender: MSA-1 (the code), MSA-2
 * (the MSH-10 it answers), MSA-3 and the ERR segments, and says what kind of outcome it is.
 *
 * Uses the engine's one HL7 parser (transformers/hl7v2) rather than a second one: an ACK is an
 * HL7 message with its own delimiters, escapes and old-version ERR layout. This is the one place a
 * connector reads through a transformer; the parser is pure, so the connector stays testable alone.
 */
import { parseHl7 } from '../../transformers/hl7v2/parse';

/** Table 0008. */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** One ERR segment, reduced to what an operator needs. */
export interface AckErrorEntry {
  /** HL7 table 0357 code (ERR-3.1), or ERR-1.4.1 in v2.4 and earlier. */
  code?: string;
  /** ERR-4 severity (E, W, I, F). */
  severity?: string;
  /** ERR-2 location (`PID^1^7`), or ERR-1.1–3 in v2.4 and earlier. */
  location?: string;
  /** ERR-8 user message, else ERR-7 diagnostics, else ERR-3.2 / ERR-1.4.2 code text. */
  text?: string;
}

export interface AckSummary {
  /** MSA-1 as sent (upper-cased); not necessarily a table 0008 value. */
  code: string;
  /** MSA-2, wire text: equal byte for byte to the MSH-10 it answers. */
  controlId: string;
  /** MSA-3 text message. */
  text?: string;
  errors: AckErrorEntry[];
}

const KNOWN: ReadonlySet<string> = new Set(['AA', 'AE', 'AR', 'CA', 'CE', 'CR']);

/** True for a table 0008 code. */
export function isAckCode(code: string): code is AckCode {
  return KNOWN.has(code);
}

/**
 * Reads the MSA and ERR segments of a response. Returns undefined when the text is not an HL7
 * message or has no MSA-2 to correlate on: such a frame answers nothing.
 */
export function readAck(text: string): AckSummary | undefined {
  let message;
  try {
    message = parseHl7(text);
  } catch {
    return undefined;
  }
  const msa = message.segment('MSA');
  if (!msa) return undefined;
  const controlId = msa.field(2);
  if (controlId === '') return undefined;
  const errors = message.segments('ERR').map((err): AckErrorEntry => {
    const modern = err.field(3) !== '' || err.field(8) !== '' || err.field(7) !== '';
    const entry: AckErrorEntry = modern
      ? {
          code: err.get('3.1'),
          severity: err.get('4'),
          location: err.field(2) || undefined,
          text: err.get('8') ?? err.get('7') ?? err.get('3.2'),
        }
      : {
          // v2.4 and earlier: ERR-1 is ELD = segment ^ sequence ^ field ^ code (CE: id & text).
          code: err.get('1.4.1'),
          location: [err.get('1.1'), err.get('1.2'), err.get('1.3')].filter(Boolean).join('^') || undefined,
          text: err.get('1.4.2'),
        };
    for (const k of Object.keys(entry) as Array<keyof AckErrorEntry>) if (entry[k] === undefined) delete entry[k];
    return entry;
  });
  const summary: AckSummary = { code: (msa.get('1') ?? '').toUpperCase(), controlId, errors };
  const msa3 = msa.get('3');
  if (msa3 !== undefined) summary.text = msa3;
  return summary;
}
