/**
 * Validation before sending (connectors/nphies/validate.ts does the work): a Bundle with any
 * error-severity issue is never sent. Warnings (rules the IG does not confirm) do not stop it.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { ValidationError } from '../../common/errors';
import { validateNphiesBundle } from '../../connectors/nphies/validate';

/** @throws ValidationError `NPHIES_INVALID` with the OperationOutcome in `details.outcome` and the first error's path */
export function assertValidNphiesBundle(bundle: Bundle): void {
  const { valid, outcome } = validateNphiesBundle(bundle);
  if (valid) return;
  const errors = outcome.issue.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  const first = errors[0];
  const where = first?.expression?.[0];
  // Diagnostics name rules and paths, never values (validate.ts promises it), so they may be logged.
  throw new ValidationError('NPHIES_INVALID', `NPHIES request invalid: ${errors.length} error(s)${where ? `, first at ${where}: ${first.diagnostics ?? ''}` : ''}`, {
    path: where,
    details: { outcome },
  });
}
