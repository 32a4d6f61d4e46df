/**
 * NPI format and check digit (NPPES.md §2): CMS's worked example, every NPI in the NPPES
 * fixtures, every wrong check digit of them, and the shapes that are not NPIs at all; the error
 * names the problem and never calls anything.
 */
import assert from 'node:assert/strict';
import { ValidationError } from '../../../common/errors';
import { isValidNpi, luhnWithPrefix, npiCheckDigit, npiProblem, requireValidNpi, withCheckDigit } from '../../../connectors/nppes/npi';
import { fixtureRecords } from '../../simulators/nppes/server';

describe('connectors/nppes npi', () => {
  it('computes CMS worked example: 123456789 → check digit 3 (1234567893)', () => {
    assert.equal(npiCheckDigit('123456789'), 3);
    assert.equal(withCheckDigit('123456789'), '1234567893');
    assert.ok(isValidNpi('1234567893'));
    // Cross-check of NPPES.md §2: a full Luhn over 80840 + NPI is 0 mod 10.
    assert.ok(luhnWithPrefix('1234567893'));
  });

  it('accepts every NPI in the NPPES fixtures (strings and JSON numbers), and agrees with the full Luhn', () => {
    const numbers = fixtureRecords().map((r) => r.number);
    assert.ok(numbers.length >= 25, `fixtures hold ${numbers.length} NPIs`);
    for (const n of numbers) {
      assert.equal(npiProblem(n), undefined, `fixture NPI ${String(n)}`);
      assert.equal(requireValidNpi(n), String(n));
      assert.ok(luhnWithPrefix(String(n)));
    }
  });

  it('refuses every wrong check digit, saying which digit is right', () => {
    const numbers = ['1234567893', ...fixtureRecords().map((r) => String(r.number))];
    let refused = 0;
    for (const npi of numbers) {
      for (let d = 0; d <= 9; d++) {
        const candidate = npi.slice(0, 9) + d;
        if (candidate === npi) continue;
        assert.equal(isValidNpi(candidate), false, candidate);
        assert.equal(luhnWithPrefix(candidate), false, candidate);
        assert.match(npiProblem(candidate) ?? '', new RegExp(`check digit is wrong: .* is ${npi[9]}, not ${d}`));
        refused += 1;
      }
    }
    assert.equal(refused, numbers.length * 9);
  });

  it('refuses a transposition of two adjacent digits (what Luhn is for)', () => {
    assert.equal(isValidNpi('1243567893'), false);
  });

  for (const [input, why] of [
    ['123456789', /10 digits \(got 9\)/],
    ['12345678931', /10 digits \(got 11\)/],
    ['3234567893', /start with 1 .* or 2/],
    ['0234567893', /start with 1/],
    ['12345A7893', /digits only/],
    ['', /digits only/],
    ['-123456789', /digits only/],
  ] as const) {
    it(`refuses ${JSON.stringify(input)} with a ValidationError naming the problem`, () => {
      assert.throws(
        () => requireValidNpi(input, 'payload.npi'),
        (err: unknown) => err instanceof ValidationError && err.code === 'VALIDATION_NPI_INVALID' && err.path === 'payload.npi' && why.test(err.message),
      );
    });
  }

  it('refuses non-strings and non-numbers', () => {
    for (const v of [undefined, null, {}, [], true]) assert.match(npiProblem(v) ?? '', /must be a string of 10 digits/);
  });

  it('trims surrounding blanks', () => {
    assert.equal(requireValidNpi(' 1234567893 '), '1234567893');
  });

  it('npiCheckDigit wants exactly nine digits', () => {
    assert.throws(() => npiCheckDigit('12345678'), ValidationError);
  });
});
