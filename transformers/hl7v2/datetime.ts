/**
 * HL7 v2 DT/TS/DTM values (`YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`) to FHIR date and
 * dateTime. Pure functions; undefined means "not a valid value", and the caller decides which
 * 0357 error that is.
 */

interface TsParts {
  year: string;
  month?: string;
  day?: string;
  hour?: string;
  minute?: string;
  second?: string;
  fraction?: string;
  /** `+0200` style. */
  offset?: string;
}

const TS_RE = /^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d{1,4}))?)?)?)?)?)?([+-]\d{4})?$/;

/** Splits and range-checks a TS; undefined when it is not a real date/time. */
export function parseHl7Timestamp(value: string): TsParts | undefined {
  const m = TS_RE.exec(value.trim());
  if (!m) return undefined;
  const [, year, month, day, hour, minute, second, fraction, offset] = m;
  if (year === '0000') return undefined;
  if (month !== undefined && (+month < 1 || +month > 12)) return undefined;
  if (day !== undefined && (+day < 1 || +day > daysInMonth(+year, +month!))) return undefined;
  if (hour !== undefined && +hour > 23) return undefined;
  if (minute !== undefined && +minute > 59) return undefined;
  if (second !== undefined && +second > 59) return undefined;
  if (offset !== undefined && (+offset.slice(1, 3) > 14 || +offset.slice(3) > 59)) return undefined;
  return { year, month, day, hour, minute, second, fraction, offset };
}

/**
 * FHIR `date` (`YYYY`, `YYYY-MM`, `YYYY-MM-DD`) from an HL7 DT or TS; a time part is dropped
 * (birth dates are often sent as TS).
 */
export function hl7ToFhirDate(value: string): string | undefined {
  const p = parseHl7Timestamp(value);
  return p && datePart(p);
}

/**
 * FHIR `dateTime` from an HL7 TS. FHIR requires a zone whenever a time is given, and a TS
 * without offset is the sender's local time (HL7V2.md §10), so: the TS offset if present, else
 * `defaultOffset` (`+03:00`), else only the date is kept (less precise, never wrong).
 */
export function hl7ToFhirDateTime(value: string, defaultOffset?: string): string | undefined {
  const p = parseHl7Timestamp(value);
  if (!p) return undefined;
  const offset = p.offset ? `${p.offset.slice(0, 3)}:${p.offset.slice(3)}` : defaultOffset;
  if (p.hour === undefined || !offset) return datePart(p);
  const frac = p.fraction ? `.${p.fraction}` : '';
  return `${datePart(p)}T${p.hour}:${p.minute ?? '00'}:${p.second ?? '00'}${frac}${offset}`;
}

function datePart(p: TsParts): string {
  return [p.year, p.month, p.day].filter((x) => x !== undefined).join('-');
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
