/**
 * The compiled ajv validator for `channelsSchema`, built once per process.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import { channelsSchema } from './schema';

let cached: ValidateFunction | undefined;

/**
 * Returns the schema validator. `allErrors` so an analyst sees every problem in one run;
 * `verbose` so error messages can read the schema (`x-hint`, `title`, allowed keys).
 */
export function channelsValidator(): ValidateFunction {
  if (!cached) {
    const ajv = new Ajv({ allErrors: true, verbose: true, discriminator: true, strict: true, strictRequired: false });
    ajv.addKeyword('x-hint');
    cached = ajv.compile(channelsSchema);
  }
  return cached;
}
