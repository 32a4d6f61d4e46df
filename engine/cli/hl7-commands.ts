/** `wasl hl7-to-fhir` and `wasl fhir-validate`: the channel's transformer and validator on a file. */
import { WaslError } from '../../common/errors';
import { adtToFhirTransaction } from '../../transformers/hl7v2/adt-to-fhir';
import { parseHl7 } from '../../transformers/hl7v2/parse';
import { validateFhir } from '../../transformers/fhir/validate';
import { inputError, type CliIo } from './io';

export async function hl7ToFhirCommand(file: string, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = await io.readInput(file);
  } catch (err) {
    return inputError(io, file, err);
  }
  try {
    const bundle = adtToFhirTransaction(parseHl7(text));
    io.stdout(JSON.stringify(bundle, null, 2) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof WaslError) {
      const where = err.path ? ` at ${err.path}` : '';
      io.stderr(`wasl: ${file}: ${err.message}${where} (${err.code})\n`);
      return 1;
    }
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

