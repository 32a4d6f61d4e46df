/**
 * Users, sessions and API tokens on SQLite and PostgreSQL: bcrypt hashes (never the password),
 * role and password rules, disabled users, sessions that expire and end on a password change,
 * API tokens stored as hashes and revocable.
 */
import assert from 'node:assert/strict';
import { TokenStore, sha256 } from '../../../engine/auth/tokens';
import { UserInputError, UserStore } from '../../../engine/auth/users';
import type { KnexMessageStore } from '../../../engine/store/knex-store';
import { requireDialect, targetFor, type StoreTarget } from '../store/helpers';

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`engine/auth users and tokens (${dialect})`, function () {
    this.timeout(60_000);
    let target: StoreTarget;
    let store: KnexMessageStore;
    let users: UserStore;
    let tokens: TokenStore;

    before(async function () {
      await requireDialect(this, dialect);
      target = targetFor(dialect);
      store = await target.open();
      await store.migrate();
      users = new UserStore(store.knex);
      tokens = new TokenStore(store.knex, 1000);
      await users.create({ username: 'ana', password: 'correct horse battery', role: 'analyst' });
    });

    after(async () => {
      await store?.close();
      await target?.cleanup();
    });

    it('stores a bcrypt hash, verifies the password, and refuses a wrong one', async () => {
      const row = (await store.knex('users').where({ username: 'ana' }).first()) as { password_hash: string };
      assert.match(row.password_hash, /^\$2[aby]\$12\$/);
      assert.ok(!row.password_hash.includes('correct horse'));
      assert.equal((await users.verify('ana', 'correct horse battery'))?.role, 'analyst');
      assert.equal(await users.verify('ana', 'wrong password here'), undefined);
      assert.equal(await users.verify('nobody', 'correct horse battery'), undefined);
    });

    it('refuses unknown roles, short passwords, bad names and duplicates, saying why', async () => {
      await assert.rejects(users.create({ username: 'x', password: 'long enough password', role: 'root' }), (e: Error) => e instanceof UserInputError && /role must be one of/.test(e.message));
      await assert.rejects(users.create({ username: 'y', password: 'short', role: 'ui_user' }), /at least 12 characters/);
      await assert.rejects(users.create({ username: 'bad name', password: 'long enough password', role: 'ui_user' }), /username must be/);
      await assert.rejects(users.create({ username: 'ana', password: 'long enough password', role: 'ui_user' }), /exists/);
    });

    it('a disabled user cannot sign in; a password change ends the sessions', async () => {
      await users.create({ username: 'olly', password: 'olly password one', role: 'ui_user' });
      const { token } = await tokens.createSession('olly');
      assert.equal(await tokens.sessionUser(token), 'olly');
      await users.update('olly', { password: 'olly password two' });
      assert.equal(await tokens.sessionUser(token), undefined);
      await users.update('olly', { disabled: true });
      assert.equal(await users.verify('olly', 'olly password two'), undefined);
    });

    it('sessions expire and are stored as hashes', async () => {
      const { token } = await tokens.createSession('ana');
      assert.ok(await store.knex('user_sessions').where({ token_hash: sha256(token) }).first());
      assert.equal(await store.knex('user_sessions').where({ token_hash: token }).first(), undefined);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await tokens.sessionUser(token), undefined);
    });

    it('API tokens: shown once, stored hashed, revocable by their owner only', async () => {
      const { id, token } = await tokens.createApiToken('ana', 'nightly export');
      assert.match(token, /^wasl_[A-Za-z0-9_-]{43}$/);
      assert.equal(await tokens.apiTokenUser(token), 'ana');
      assert.equal((await tokens.listApiTokens('ana'))[0].name, 'nightly export');
      assert.ok((await tokens.listApiTokens('ana'))[0].lastUsedAt);
      assert.equal(await tokens.revokeApiToken(id, 'olly'), false);
      assert.equal(await tokens.revokeApiToken(id, 'ana'), true);
      assert.equal(await tokens.apiTokenUser(token), undefined);
    });
  });
}
