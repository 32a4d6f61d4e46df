/** `wasl hl7-to-fhir` and `wasl fhir-validate`: the channel's transformer and validator on a file. */
import type { Bundle } from '@medplum/fhirtypes';
import { WaslError } from '../../common/errors';
import { splitHl7Batch } from '../../transformers/hl7v2/batch';
import { hl7ToFhirTransaction } from '../../transformers/hl7v2/fhir';
import { parseHl7 } from '../../transformers/hl7v2/parse';
import { validateFhir } from '../../transformers/fhir/validate';
import { inputError, type CliIo } from './io';

/**
 * `wasl hl7-to-fhir FILE|-`: one HL7 v2 message gives its FHIR transaction Bundle; a batch file
 * (FHS/BHS envelope, or several messages one after the other) gives a `collection` Bundle whose
 * entries are the per-message transaction Bundles, in file order. All or nothing: the first
 * invalid message (or a broken envelope) prints one stderr line naming the message, segment and
 * field, and nothing goes to stdout. Envelope warnings (skipped junk lines) go to stderr.
 */
export async function hl7ToFhirCommand(file: string, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = await io.readInput(file);
  } catch (err) {
    return inputError(io, file, err);
  }
  let where = '';
  try {
    const split = splitHl7Batch(text);
    const messages = split.batches.flatMap((b) => b.messages.map((message, i) => ({ message, line: b.lines[i] })));
    const isBatch = split.header !== undefined || split.batches.some((b) => b.header !== undefined) || messages.length !== 1;
    const bundles: Bundle[] = [];
    for (const [i, m] of messages.entries()) {
      where = isBatch ? `message ${i + 1} of ${messages.length} (line ${m.line}): ` : '';
      bundles.push(hl7ToFhirTransaction(parseHl7(m.message)));
    }
    where = '';
    for (const w of split.warnings) io.stderr(`wasl: ${file}: warning: ${w}\n`);
    const result: Bundle = isBatch ? { resourceType: 'Bundle', type: 'collection', entry: bundles.map((resource) => ({ resource })) } : bundles[0];
    io.stdout(JSON.stringify(result, null, 2) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof WaslError) {
      const at = err.path ? ` at ${err.path}` : '';
      io.stderr(`wasl: ${file}: ${where}${err.message}${at} (${err.code})\n`);
      return 1;
    }
    // A bug, not bad input: main() prints its message on one line; say which message hit it.
    if (err instanceof Error && where) err.message = `${where}${err.message}`;
    throw err;
  }
}

export async function fhirValidateCommand(file: string, io: CliIo): Promise<number> {
  let resource: unknown;
  try {
    resource = JSON.parse(await io.readInput(file));
  } catch (err) {
    if (err instanceof SyntaxError) {
      const outcome = {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'structure', diagnostics: `not JSON: ${err.message}` }],
      };
      io.stdout(JSON.stringify(outcome, null, 2) + '\n');
      return 1;
    }
    return inputError(io, file, err);
  }
  const result = validateFhir(resource);
  io.stdout(JSON.stringify(result.outcome, null, 2) + '\n');
  return result.valid ? 0 : 1;
}

