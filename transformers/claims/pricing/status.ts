/**
 * PFS status codes (RVU file documentation, Attachment A). "Only RVUs associated with status codes
 * of "A", "R", or "T", are used for Medicare payment."
 *
 * - A active: paid separately under the PFS, if covered.
 * - R restricted coverage: "If no RVUs are shown, the service is carrier priced" (so not priceable here).
 * - T injections: "only paid if there are no other services payable under the physician fee
 *   schedule billed on the same date by the same provider"; otherwise bundled. Applied per claim
 *   and date of service (one claim = one billing provider).
 * Every other status (B bundled, C contractor priced, E excluded, I not valid for Medicare, J
 * anesthesia, M measurement, N non-covered, P bundled/excluded, X statutory exclusion, ...) is not
 * payable from the RVUs.
 */
export const PAYABLE_STATUS: ReadonlySet<string> = new Set(['A', 'R', 'T']);

const MEANING: Record<string, string> = {
  A: 'active',
  B: 'bundled',
  C: 'contractor priced',
  D: 'deleted',
  E: 'excluded by regulation',
  F: 'deleted/discontinued',
  G: 'not valid for Medicare (another code is used)',
  H: 'deleted modifier',
  I: 'not valid for Medicare (another code is used)',
  J: 'anesthesia (no RVUs)',
  M: 'measurement code',
  N: 'non-covered',
  P: 'bundled/excluded',
  R: 'restricted coverage',
  T: 'injection, paid only alone on its date',
  X: 'statutory exclusion',
};

/** "status C (contractor priced)" for messages. */
export function describeStatus(status: string): string {
  const meaning = MEANING[status];
  return meaning ? `status ${status} (${meaning})` : `status ${status || 'blank'}`;
}
