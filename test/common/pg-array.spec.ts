/**
 * pgArray against the real PostgreSQL: what goes in as a literal comes back element for element,
 * whatever the characters, and node-postgres's own encoding agrees.
 */
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import { pgArray, pgLiteral } from '../../common/pg-array';
import { TEST_DATABASE_URL, requireService } from '../support/services';

describe('common/pg-array (PostgreSQL)', () => {
  let knex: Knex;
  before(async function () {
    await requireService(this, 'PostgreSQL');
    knex = knexFactory({ client: 'pg', connection: TEST_DATABASE_URL, pool: { min: 0, max: 1 } });
  });
  after(() => knex?.destroy());

  const roundTrip = async (literal: string, type: string): Promise<unknown[]> => ((await knex.raw(`SELECT ?::${type}[] AS a`, [literal])) as { rows: Array<{ a: unknown[] }> }).rows[0].a;

  it('text: quotes, backslashes, commas, braces, blanks, NULL as a word, empty strings and emoji come back as they went in', async () => {
    const values = ['plain', 'a"b', 'back\\slash', '\\"', 'a,b', '{x}', ' lead and trail ', 'NULL', 'null', '', 'é ✓ 🩺', 'tab\there', 'line\nbreak'];
    assert.deepEqual(await roundTrip(pgArray(values), 'text'), values);
  });

  it('null and undefined are SQL NULL, not the word', async () => {
    assert.deepEqual(await roundTrip(pgArray(['a', null, undefined, 'NULL']), 'text'), ['a', null, null, 'NULL']);
    assert.deepEqual(await roundTrip(pgArray([1, null]), 'integer'), [1, null]);
  });

  it('bigint: staging ids, numbers or digit strings; the empty array', async () => {
    assert.deepEqual(await roundTrip(pgArray(['1', '9007199254740993', 42]), 'bigint'), ['1', '9007199254740993', '42']);
    assert.deepEqual(await roundTrip(pgArray([]), 'bigint'), []);
  });

  it('is the literal node-postgres would build from the same values, when they need no escaping', () => {
    const { prepareValue } = require('pg/lib/utils') as { prepareValue(v: unknown): string };
    const ids = ['1', '22', '333'];
    assert.equal(pgArray(ids), prepareValue(ids));
    assert.equal(pgArray(['a"b', 'c\\d']), prepareValue(['a"b', 'c\\d']));
  });

  it('pgLiteral: any text spliced into SQL comes back as it went in, with standard_conforming_strings on or off', async () => {
    // No '?' among them: knex.raw, used here, would take it for a binding.
    const values = ["it's", 'back\\slash', "\\'; drop table x; --", "E'x'", '', 'é ✓ 🩺', 'line\nbreak', '$1 $$ %s', 'ends in $', '$w$', 'x$w$y$w0$z$w1$', '$w$$'];
    for (const setting of ['on', 'off']) {
      const rows = (await knex.transaction(async (trx) => {
        await trx.raw(`SET LOCAL standard_conforming_strings = ${setting}`);
        return (await trx.raw(`SELECT ${values.map((v, i) => `${pgLiteral(v)} AS v${i}`).join(', ')}`)) as { rows: Array<Record<string, string>> };
      })).rows;
      assert.deepEqual(values.map((_, i) => rows[0][`v${i}`]), values, setting);
    }
    // And an array literal inside a string literal: how the store sends content in one simple query.
    const content = ['{"a":"q\\"uote"}', "o'neil", null, 'a $w$ tag', 'back\\slash'];
    const { rows } = (await knex.raw(`SELECT ${pgLiteral(pgArray(content))}::text[] AS a`)) as { rows: Array<{ a: unknown[] }> };
    assert.deepEqual(rows[0].a, content);
  });
});
