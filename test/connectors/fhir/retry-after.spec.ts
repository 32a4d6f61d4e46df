import assert from 'node:assert/strict';
import { parseRetryAfter } from '../../../connectors/fhir/retry-after';

describe('connectors/fhir parseRetryAfter', () => {
  const now = Date.parse('2026-11-23T10:00:00Z');

  it('reads delay-seconds', () => {
    assert.equal(parseRetryAfter('2', now), 2000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
  });

  it('reads an HTTP-date relative to now, never negative', () => {
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now), 0);
  });

  it('ignores absent and unparseable values', () => {
    for (const v of [undefined, null, '', '-1', '1.5', 'soon']) assert.equal(parseRetryAfter(v, now), undefined, String(v));
  });
});
