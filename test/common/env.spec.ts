import assert from 'node:assert/strict';
import { intervalMsFromEnv } from '../../common/env';

describe('common/env intervalMsFromEnv', () => {
  it('gives the fallback when unset or empty, the value when it is a whole number of 100 or more', () => {
    assert.equal(intervalMsFromEnv({}, 'WASL_X_MS', 2000), 2000);
    assert.equal(intervalMsFromEnv({ WASL_X_MS: '' }, 'WASL_X_MS', 2000), 2000);
    assert.equal(intervalMsFromEnv({ WASL_X_MS: '100' }, 'WASL_X_MS', 2000), 100);
  });

  it('refuses a value under 100, a fraction or text, naming the variable and the value', () => {
    for (const bad of ['99', '0', '-5', '250.5', '2s']) {
      assert.throws(() => intervalMsFromEnv({ WASL_X_MS: bad }, 'WASL_X_MS', 2000), new RegExp(`WASL_X_MS must be .* got '${bad.replace('.', '\\.')}'`));
    }
  });
});
