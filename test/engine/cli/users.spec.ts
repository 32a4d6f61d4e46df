/**
 * `wasl user add`, `user list` and `audit verify` on a SQLite store in a temp WASL_DATA_DIR, the
 * way an operator creates the first admin without putting a password in the engine's environment.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { userAddCommand } from '../../../engine/cli/users';
import { KnexMessageStore } from '../../../engine/store/knex-store';
import { runCli, STACK_LINE } from './run-cli';

describe('engine/cli user and audit commands', function () {
  this.timeout(30_000);
  let dir: string;
  const saved = { data: process.env.WASL_DATA_DIR, db: process.env.DATABASE_URL, pw: process.env.WASL_USER_PASSWORD };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasl-cli-users-'));
    process.env.WASL_DATA_DIR = dir;
    delete process.env.DATABASE_URL;
    delete process.env.WASL_USER_PASSWORD;
  });

  after(() => {
    for (const [k, v] of [['WASL_DATA_DIR', saved.data], ['DATABASE_URL', saved.db], ['WASL_USER_PASSWORD', saved.pw]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds a user with the password from standard input (trailing line ends dropped) and lists it', async () => {
    const added = await runCli(['user', 'add', 'Ana', '--role', 'analyst'], 'ana password long\n');
    assert.equal(added.code, 0, added.err);
    assert.deepEqual(JSON.parse(added.out), { username: 'ana', role: 'analyst' });
    const store = await KnexMessageStore.open({ sqliteFile: path.join(dir, 'wasl.db') });
    try {
      const { UserStore } = await import('../../../engine/auth/users');
      assert.equal((await new UserStore(store.knex).verify('ANA', 'ana password long'))?.username, 'ana');
    } finally {
      await store.close();
    }
    const listed = await runCli(['user', 'list']);
    assert.deepEqual(JSON.parse(listed.out), [{ username: 'ana', role: 'analyst', disabled: false }]);
  });

  it('says what is wrong in one line: short or missing password, unknown role, a name taken', async () => {
    const short = await runCli(['user', 'add', 'bob', '--role', 'ui_user'], 'short\n');
    assert.deepEqual([short.code, short.err], [1, 'wasl: password must be at least 12 characters\n']);
    const none = await runCli(['user', 'add', 'bob', '--role', 'ui_user'], '\n\n');
    assert.deepEqual([none.code, none.err], [1, 'wasl: no password given (WASL_USER_PASSWORD or standard input)\n']);
    const role = await runCli(['user', 'add', 'bob', '--role', 'root'], 'long enough password\n');
    assert.equal(role.code, 1);
    assert.match(role.err, /^wasl: role must be one of admin, analyst, claims_processor, auditor, ui_user; got 'root'\n$/);
    const taken = await runCli(['user', 'add', 'ANA', '--role', 'admin'], 'another long password\n');
    assert.deepEqual([taken.code, taken.err], [1, "wasl: user 'ana' exists\n"]);
    for (const r of [short, none, role, taken]) assert.doesNotMatch(r.err, STACK_LINE);
  });

  it('at a terminal without WASL_USER_PASSWORD, asks for a pipe instead of echoing the password', async () => {
    const err: string[] = [];
    const code = await userAddCommand('carl', 'ui_user', { stdout: () => undefined, stderr: (s) => void err.push(s), readInput: async () => '' }, {}, true);
    assert.equal(code, 2);
    assert.match(err.join(''), /WASL_USER_PASSWORD or on standard input/);
  });

  it('audit verify: exit 0 on a whole chain, 1 naming the entry once a row was changed', async () => {
    const ok = await runCli(['audit', 'verify']);
    assert.equal(ok.code, 0, ok.err);
    assert.deepEqual(JSON.parse(ok.out), { ok: true, checked: 1 });
    const store = await KnexMessageStore.open({ sqliteFile: path.join(dir, 'wasl.db') });
    try {
      await store.knex.raw('DROP TRIGGER audit_log_no_update');
      await store.knex('audit_log').where({ seq: 1 }).update({ actor: 'someone else' });
    } finally {
      await store.close();
    }
    const broken = await runCli(['audit', 'verify']);
    assert.equal(broken.code, 1);
    assert.equal(broken.err, 'wasl: audit log chain broken at entry 1: hash does not match the entry (fields were changed)\n');
  });
});
