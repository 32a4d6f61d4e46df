import { ValidationError } from '../../common/errors';
import { HL7_ERROR_CODES } from './errors';

/** A parsed field path such as `OBX[2]-5[1].3.1`. All indexes are 1-based. */
export interface Hl7Path {
  /** Segment id; '' for a segment-relative path (`5.1`). */
  segment: string;
  /** Segment occurrence; 1 when not given. */
  occurrence: number;
  field: number;
  /** Field repetition; undefined when not given (get: first one; getAll: all of them). */
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

const PATH_RE = /^(?:([A-Z0-9]{3})(?:\[(\d+)\])?-)?(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?$/;

// Paths come from code and channel config, so there are few distinct ones; a small cache saves
// re-running the regex on every message. Cleared when full rather than LRU: simpler, still bounded.
const cache = new Map<string, Hl7Path>();
const CACHE_LIMIT = 2000;

/**
 * Parses `PID-3`, `PID-5.1`, `PID-5[2].1`, `PID-3.4.1`, `OBX[2]-5`, or a segment-relative `5[2].1`.
 * @throws ValidationError `HL7_PATH` for anything else, including zero indexes.
 */
export function parseHl7Path(path: string): Hl7Path {
  const hit = cache.get(path);
  if (hit) return hit;
  const m = PATH_RE.exec(path);
  const parsed = m && {
    segment: m[1] ?? '',
    occurrence: m[2] === undefined ? 1 : Number(m[2]),
    field: Number(m[3]),
    repetition: optional(m[4]),
    component: optional(m[5]),
    subcomponent: optional(m[6]),
  };
  if (!parsed || [parsed.occurrence, parsed.field, parsed.repetition, parsed.component, parsed.subcomponent].includes(0)) {
    throw new ValidationError(HL7_ERROR_CODES.PATH, `Invalid HL7 field path "${path}" (expected e.g. PID-5[2].1, 1-based)`, { path });
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(path, parsed);
  return parsed;
}

function optional(s: string | undefined): number | undefined {
  return s === undefined ? undefined : Number(s);
}
