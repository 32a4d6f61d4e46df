import assert from 'node:assert/strict';
import { claimsStageCommand } from '../../../engine/cli/claims-stage';
import { knexFor } from '../../support/claims';
import { freshPostgresSchema, requireService } from '../../support/services';

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t), readInput: async () => '' } };
}

describe('wasl claims-stage', function () {
  this.timeout(60_000);
  before(async function () {
    await requireService(this, 'PostgreSQL');
  });

  it('creates the staging table and COPYs the generated claims in, status new', async () => {
    const schema = await freshPostgresSchema();
    const knex = knexFor(schema.url);
    try {
      const { out, io: cli } = io();
      const code = await claimsStageCommand({ count: 1500, invalid: 0.1, duplicates: 0.02, seed: 5, table: 'claims_staging', urlEnv: 'STAGE_URL' }, cli as never, { STAGE_URL: schema.url });
      assert.equal(code, 0, out.stderr);
      assert.match(out.stdout, /staged 1500 synthetic claims into claims_staging/);
      const { rows } = (await knex.raw("SELECT count(*) AS n, count(*) FILTER (WHERE status = 'new') AS fresh, count(DISTINCT member_id) AS members FROM claims_staging")) as { rows: Array<{ n: string; fresh: string; members: string }> };
      assert.equal(Number(rows[0].n), 1500);
      assert.equal(Number(rows[0].fresh), 1500);
      assert.ok(Number(rows[0].members) > 100, 'members look generated, not constant');
    } finally {
      await knex.destroy();
      await schema.drop();
    }
  });

  it('says which variable to set when the URL is missing, and refuses bad rates', async () => {
    const a = io();
    assert.equal(await claimsStageCommand({ count: 1, invalid: 0, duplicates: 0, seed: 1, table: 't', urlEnv: 'NOPE_URL' }, a.io as never, {}), 1);
    assert.match(a.out.stderr, /set NOPE_URL to the staging database URL/);
    const b = io();
    assert.equal(await claimsStageCommand({ count: 1, invalid: 2, duplicates: 0, seed: 1, table: 't', urlEnv: 'U' }, b.io as never, { U: 'postgres://x@127.0.0.1:1/x' }), 1);
    assert.match(b.out.stderr, /--invalid must be a number from 0 to 1, got 2/);
  });
});
