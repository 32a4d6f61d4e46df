/**
 * PHI masking for HL7 v2 text shown to staff who may not see message bodies: every value of a
 * field that identifies a person (names, identifiers, birth date, address, phone, SSN, mother's
 * maiden name; of the patient, next of kin, guarantor, insured, merged patient) becomes `***`,
 * while segments, fields, repetitions, components and subcomponents keep their delimiters. Staff
 * still see which fields were sent and where a value is missing, which is what they debug.
 *
 * Deliberately lenient and string-based (no parser): masking must work on exactly the text that
 * failed to parse too. A line that is not a segment (garbage, a broken-off note) is masked whole;
 * text that does not start with MSH/FHS/BHS is not HL7 v2 here (the caller masks it whole).
 */

export const MASK = '***';

/**
 * Fields (HL7 sequence numbers, same in v2.1 to v2.9) that identify a person, by segment.
 * Z-segments are site-defined and often carry identifiers: all their fields are masked.
 */
const PHI_FIELDS: Readonly<Record<string, readonly number[]>> = {
  // patient id, identifier list, alternate id, name, mother's maiden name, birth date, alias,
  // address, county, phones, account number, SSN, driver's licence, mother's identifier, birth
  // place, death date, telecom (v2.7+)
  PID: [2, 3, 4, 5, 6, 7, 9, 11, 12, 13, 14, 18, 19, 20, 21, 23, 29, 40],
  // next of kin: name, address, phones, employee number, birth date, mother's maiden name,
  // contact person's name/phone/address, identifiers, SSN, birth place, telecom
  NK1: [2, 4, 5, 6, 12, 16, 26, 30, 31, 32, 33, 37, 38, 40, 41],
  // guarantor: number, name, spouse, address, phones, birth date, SSN, employer and employee
  // ids, death date, mother's maiden name, contact person, birth place
  GT1: [2, 3, 4, 5, 6, 7, 8, 12, 16, 17, 18, 19, 24, 29, 42, 45, 46, 56],
  // insured: group employee id and name, name, birth date, address, policy number, employer
  // address, insured's id number, birth place
  IN1: [10, 11, 16, 18, 19, 36, 44, 49, 52],
  // insured (additional): employee id, SSN, Medicare/Medicaid numbers and names, military id,
  // subscriber id, mother's maiden name, contact persons, member number, phones
  IN2: [1, 2, 6, 7, 8, 9, 10, 26, 40, 49, 50, 52, 53, 61, 63, 64],
  // the merged patient's identifiers, account, visit numbers and name
  MRG: [1, 2, 3, 4, 5, 6, 7],
  // preadmit number, visit number, alternate visit id
  PV1: [5, 19, 50],
  // disabled person identifier
  DB1: [3],
  // accident description and address
  ACC: [8, 11],
  // query subject: who
  QRD: [8],
  // free-text comments and relevant clinical information name people more often than not
  NTE: [3],
  OBR: [13],
};

/** QPD-3 onwards are query parameters: patient identifiers and names in practice. */
const QPD_FIRST_PARAMETER = 3;

/**
 * OBX-2 value types whose OBX-5 is a number or a code: kept, since results are what analysts
 * debug. Every other type (text, formatted text, documents, identifiers, names) is masked.
 */
const OBX_KEPT_TYPES: ReadonlySet<string> = new Set(['NM', 'SN', 'NR', 'CE', 'CWE', 'CNE', 'ID', 'IS', 'TM', 'DT', 'DTM', 'TS']);

/** Segments that declare delimiters (field separator at position 3, encoding characters after). */
const HEADER_SEGMENTS: ReadonlySet<string> = new Set(['MSH', 'FHS', 'BHS']);

interface Delimiters {
  field: string;
  /** Characters that split a field into leaves: repetition, component, subcomponent. */
  inner: string;
  /** MASK, or `XXX` for a sender that uses `*` as a delimiter (the mask must not add structure). */
  mask: string;
}

/** Whether `text` (after a BOM or blank lines) starts like an HL7 v2 message or batch. */
export function looksLikeHl7v2(text: string): boolean {
  return /^[\ufeff\s]*(MSH|FHS|BHS)[^A-Za-z0-9\s]/.test(text);
}

/**
 * Masks the PHI fields of an HL7 v2 message or batch, keeping segment terminators (CR, LF or
 * CRLF, whatever was sent) and every delimiter. Returns undefined when `text` is not HL7 v2.
 */
export function maskHl7v2(text: string): string | undefined {
  if (!looksLikeHl7v2(text)) return undefined;
  const lead = /^[\ufeff\s]*/.exec(text)![0];
  // Odd indexes hold the terminators, so joining puts back exactly what was there.
  const parts = text.slice(lead.length).split(/(\r\n|\r|\n)/);
  let d: Delimiters | undefined;
  for (let i = 0; i < parts.length; i += 2) {
    const line = parts[i];
    if (line.trim() === '') continue;
    const id = line.slice(0, 3);
    if (HEADER_SEGMENTS.has(id) && line.length > 3) {
      // Each header may declare its own delimiters (a batch of messages from several senders).
      d = readDelimiters(line);
      continue;
    }
    parts[i] = d && isSegment(line, d) ? maskSegment(line, d) : MASK;
  }
  return lead + parts.join('');
}

/**
 * MSH-1 and MSH-2, read without the parser's strictness: a delimiter MSH-2 does not declare
 * never splits, and a duplicated one only splits more finely, which is harmless when masking.
 */
function readDelimiters(header: string): Delimiters {
  const field = header.charAt(3);
  const end = header.indexOf(field, 4);
  const encoding = header.slice(4, end < 0 ? header.length : end);
  // Component, repetition, subcomponent: positions 1, 2 and 4 of MSH-2 (3 is the escape).
  const inner = [encoding.charAt(0), encoding.charAt(1), encoding.charAt(3)].filter((c) => c !== '' && c !== field).join('');
  return { field, inner, mask: `${field}${encoding}`.includes('*') ? 'XXX' : MASK };
}

function isSegment(line: string, d: Delimiters): boolean {
  return /^[A-Z0-9]{3}$/.test(line.slice(0, 3)) && (line.length === 3 || line.charAt(3) === d.field);
}

function maskSegment(line: string, d: Delimiters): string {
  const fields = line.split(d.field);
  const id = fields[0];
  const masked = phiFieldsOf(id, fields, d);
  if (masked === undefined) return line;
  for (let n = 1; n < fields.length; n++) {
    if (masked(n)) fields[n] = maskField(fields[n], d);
  }
  return fields.join(d.field);
}

/** Which fields of this segment to mask, or undefined for none. */
function phiFieldsOf(id: string, fields: string[], d: Delimiters): ((n: number) => boolean) | undefined {
  if (id.startsWith('Z')) return () => true;
  if (id === 'QPD') return (n) => n >= QPD_FIRST_PARAMETER;
  if (id === 'OBX') {
    const type = firstLeaf(fields[2] ?? '', d);
    return OBX_KEPT_TYPES.has(type) ? undefined : (n) => n === 5;
  }
  const listed = PHI_FIELDS[id];
  return listed ? (n) => listed.includes(n) : undefined;
}

function firstLeaf(value: string, d: Delimiters): string {
  let end = value.length;
  for (const c of d.inner) {
    const at = value.indexOf(c);
    if (at >= 0 && at < end) end = at;
  }
  return value.slice(0, end).trim().toUpperCase();
}

/**
 * Every non-empty leaf becomes MASK; delimiters stay. An empty leaf stays empty and the HL7 null
 * `""` stays `""` ("deleted"): neither holds data, and both tell staff what the sender meant.
 */
function maskField(value: string, d: Delimiters): string {
  let out = '';
  let leaf = '';
  const flush = () => {
    out += leaf === '' || leaf === '""' ? leaf : d.mask;
    leaf = '';
  };
  for (const c of value) {
    if (d.inner.includes(c)) {
      flush();
      out += c;
    } else {
      leaf += c;
    }
  }
  flush();
  return out;
}
