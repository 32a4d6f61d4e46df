/**
 * The SQL knex generates for `receive`'s insert, per dialect, without a connection (as knex's own
 * builder tests do). SQL Server is not a store dialect yet; its case records why.
 */
import assert from 'node:assert/strict';
import knexFactory from 'knex';
import { receiveInsert, receiveRow } from '../../../engine/store/receive';

const row = receiveRow(
  { id: 'id-1', channel: 'adt', correlationId: 'c-1', sender: 'HIS^HOSP', controlId: '42', raw: 'MSH|' },
  1_700_000_000_000,
);
const COLUMNS = 'accepted, attempts, channel, control_id, correlation_id, id, message_type, patient_key, raw, received_at, sender, status, updated_at';
const PLACEHOLDERS = Array.from({ length: 13 }, () => '?').join(', ');

describe('engine/store receive SQL per dialect', () => {
  it('postgres: insert ... on conflict do nothing returning id', () => {
    const sql = receiveInsert(knexFactory({ client: 'pg' }), row).toSQL().toNative().sql;
    const pgPlaceholders = Array.from({ length: 13 }, (_, i) => `$${i + 1}`).join(', ');
    assert.equal(
      sql,
      `insert into "messages" (${COLUMNS.split(', ').map((c) => `"${c}"`).join(', ')}) values (${pgPlaceholders}) on conflict do nothing returning "id"`,
    );
  });

  it('sqlite: the same statement', () => {
    const sql = receiveInsert(knexFactory({ client: 'better-sqlite3', useNullAsDefault: true }), row).toSQL().sql;
    assert.equal(
      sql,
      `insert into \`messages\` (${COLUMNS.split(', ').map((c) => `\`${c}\``).join(', ')}) values (${PLACEHOLDERS}) on conflict do nothing returning \`id\``,
    );
  });

  it('mssql: knex has no onConflict, so a SQL Server store needs its own receive', () => {
    assert.throws(() => receiveInsert(knexFactory({ client: 'mssql' }), row).toSQL(), /onConflict\(\) is not supported for mssql/);
  });
});
