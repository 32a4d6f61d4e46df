/**
 * One-line summaries of OperationOutcomes for error messages. Error messages reach logs, Catch
 * nodes and the debug panel, and servers put the offending value into diagnostics
 * (`Invalid date "1980-13-45"`, `No Patient with identifier 'MRN|123456'`), so quoted text and
 * long digit runs are masked. The full outcome travels separately in `details.outcome`.
 */
import type { OperationOutcome } from '@medplum/fhirtypes';

const MAX_TEXT = 160;

/** Masks values that are likely patient data: anything quoted and runs of 4+ digits. */
export function scrubDiagnostics(text: string): string {
  const masked = text
    .replace(/"[^"]*"|'[^']*'|`[^`]*`|“[^”]*”/g, '"…"')
    .replace(/\d{4,}/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
  return masked.length > MAX_TEXT ? `${masked.slice(0, MAX_TEXT - 1)}…` : masked;
}

/** True when the value looks like a FHIR OperationOutcome. */
export function isOperationOutcome(value: unknown): value is OperationOutcome {
  return typeof value === 'object' && value !== null && (value as { resourceType?: unknown }).resourceType === 'OperationOutcome';
}

/**
 * `<issue code>[ at <expression>]: <scrubbed text>` for the first error-level issue (else the first issue).
 * Expressions are FHIRPath locations such as `Patient.birthDate`: paths, not values.
 */
export function summariseOutcome(outcome: OperationOutcome | undefined): string {
  const issues = outcome?.issue ?? [];
  const issue = issues.find((i) => i.severity === 'error' || i.severity === 'fatal') ?? issues[0];
  if (!issue) return 'no OperationOutcome';
  const where = issue.expression?.[0] ?? issue.location?.[0];
  const text = issue.details?.text ?? issue.diagnostics ?? issue.details?.coding?.[0]?.code;
  let summary = issue.code ?? 'unknown';
  if (where) summary += ` at ${scrubDiagnostics(where)}`;
  if (text) summary += `: ${scrubDiagnostics(text)}`;
  return summary;
}
