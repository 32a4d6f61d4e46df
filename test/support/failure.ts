import assert from 'node:assert/strict';
import type { WaslError } from '../../common/errors';

/** Runs `fn` and returns what it threw, failing the test if it did not throw. */
export async function failure(fn: () => Promise<unknown>): Promise<WaslError> {
  try {
    await fn();
  } catch (err) {
    return err as WaslError;
  }
  assert.fail('expected a rejection');
}
