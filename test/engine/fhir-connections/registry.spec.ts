/**
 * The FHIR connection registry on a real store: SQLite in a temp folder, and PostgreSQL in a fresh
 * schema when it is reachable. Secrets sealed with AES-256-GCM: checked in the raw rows too.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { WaslError } from '../../../common/errors';
import { FhirConnectionRegistry, SecretBox, deriveKey, fhirConnectionRegistryFor } from '../../../engine/fhir-connections';
import { KnexMessageStore, openStore } from '../../../engine/store';
import { tempDir } from '../../support/engine-process';
import { freshPostgresSchema, requireService } from '../../support/services';

const KEY = randomBytes(32).toString('base64');

async function failure(fn: () => Promise<unknown>): Promise<WaslError> {
  try {
    await fn();
  } catch (err) {
    return err as WaslError;
  }
  assert.fail('expected a rejection');
}

describe('engine/fhir-connections SecretBox', () => {
  it('takes 32 bytes as base64 or hex, or stretches a passphrase; refuses a short one', () => {
    const raw = randomBytes(32);
    assert.deepEqual(deriveKey(raw.toString('base64')), raw);
    assert.deepEqual(deriveKey(raw.toString('base64url')), raw);
    assert.deepEqual(deriveKey(raw.toString('hex')), raw);
    assert.equal(deriveKey('correct horse battery staple').length, 32);
    assert.deepEqual(deriveKey('correct horse battery staple'), deriveKey('correct horse battery staple'));
    assert.throws(() => deriveKey('short'), (e: WaslError) => e.code === 'INTEGRATION_SECRET_KEY_INVALID' && /openssl rand/.test(e.message));
  });

  it('seals with a fresh IV, checks the tag and the owner, and rotates keys', () => {
    const box = new SecretBox(KEY);
    const a = box.seal('s3cret', 'fhir-connection:a');
    assert.notEqual(a, box.seal('s3cret', 'fhir-connection:a'));
    assert.ok(!a.includes('s3cret'));
    assert.match(a, /^v1\.[0-9a-f]{16}\./);
    assert.equal(box.open(a, 'fhir-connection:a'), 's3cret');
    assert.throws(() => box.open(a, 'fhir-connection:b'), (e: WaslError) => e.code === 'INTEGRATION_SECRET_DECRYPT_FAILED');
    const parts = a.split('.');
    parts[4] = Buffer.from('x' + Buffer.from(parts[4], 'base64url').toString('latin1').slice(1), 'latin1').toString('base64url');
    assert.throws(() => box.open(parts.join('.'), 'fhir-connection:a'), (e: WaslError) => e.code === 'INTEGRATION_SECRET_DECRYPT_FAILED');

    const next = randomBytes(32).toString('hex');
    assert.throws(() => new SecretBox(next).open(a, 'fhir-connection:a'), (e: WaslError) => e.code === 'INTEGRATION_SECRET_KEY_UNKNOWN');
    const rotated = new SecretBox(next, [KEY]);
    assert.equal(rotated.open(a, 'fhir-connection:a'), 's3cret');
    assert.equal(rotated.needsReencrypt(a), true);
    assert.equal(rotated.needsReencrypt(rotated.seal('x', 'o')), false);
  });
});

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKeyPem = String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));

for (const dialect of ['sqlite', 'postgres'] as const) {
  describe(`engine/fhir-connections FhirConnectionRegistry (${dialect})`, function () {
    let store: KnexMessageStore;
    let drop: (() => Promise<void>) | undefined;
    let registry: FhirConnectionRegistry;

    before(async function () {
      if (dialect === 'postgres') await requireService(this, 'PostgreSQL');
    });

    beforeEach(async () => {
      if (dialect === 'postgres') {
        const pg = await freshPostgresSchema();
        drop = pg.drop;
        store = (await openStore({ databaseUrl: pg.url, dataDir: tempDir('fhir-conn') })) as KnexMessageStore;
      } else {
        store = (await openStore({ dataDir: tempDir('fhir-conn') })) as KnexMessageStore;
      }
      registry = fhirConnectionRegistryFor(store, KEY)!;
    });

    afterEach(async () => {
      await store?.close();
      await drop?.();
    });

    it('creates, lists, reads, updates and deletes; views carry no secret', async () => {
      const created = await registry.create({
        name: 'Epic Sandbox',
        baseUrl: 'https://ehr.example/fhir/R4/',
        auth: { type: 'client-credentials', tokenUrl: 'https://ehr.example/token', clientId: 'wasl', clientSecret: 'cc-SECRET-1', scope: 'system/*.read' },
        timeoutMs: 20_000,
        rateLimitPerSecond: 5,
      });
      assert.equal(created.id, 'epic-sandbox');
      assert.equal(created.baseUrl, 'https://ehr.example/fhir/R4');
      assert.deepEqual(created.auth, { type: 'client-credentials', tokenUrl: 'https://ehr.example/token', clientId: 'wasl', scope: 'system/*.read', hasClientSecret: true });
      assert.equal(created.enabled, true);
      assert.equal(created.rateLimitPerSecond, 5);
      assert.deepEqual(await registry.get('epic-sandbox'), created);
      assert.deepEqual((await registry.list()).map((c) => c.id), ['epic-sandbox']);
      assert.ok(!JSON.stringify(await registry.list()).includes('cc-SECRET-1'));

      // The raw row: secret sealed, public part readable.
      const row = await store.knex('fhir_connections').where({ id: 'epic-sandbox' }).first();
      assert.ok(!JSON.stringify(row).includes('cc-SECRET-1'));
      assert.match(row.auth_secret, /^v1\./);
      assert.deepEqual(JSON.parse(row.auth_public), { tokenUrl: 'https://ehr.example/token', clientId: 'wasl', scope: 'system/*.read' });

      const resolved = await registry.resolve('epic-sandbox');
      assert.deepEqual(resolved, {
        id: 'epic-sandbox', name: 'Epic Sandbox', baseUrl: 'https://ehr.example/fhir/R4', fhirVersion: 'R4', enabled: true, timeoutMs: 20_000, rateLimitPerSecond: 5,
        auth: { type: 'client-credentials', tokenUrl: 'https://ehr.example/token', clientId: 'wasl', scope: 'system/*.read', clientSecret: 'cc-SECRET-1' },
      });

      // Update without the secret keeps it; with it replaces it.
      const updated = await registry.update('epic-sandbox', { name: 'Epic', baseUrl: 'https://ehr.example/fhir/R4', auth: { type: 'client-credentials', tokenUrl: 'https://ehr.example/token2', clientId: 'wasl' }, enabled: false });
      assert.equal(updated.name, 'Epic');
      assert.equal(updated.enabled, false);
      assert.equal(updated.timeoutMs, undefined);
      assert.equal(updated.createdAt, created.createdAt);
      const auth1 = (await registry.resolve('epic-sandbox')).auth as { clientSecret: string; tokenUrl: string };
      assert.equal(auth1.clientSecret, 'cc-SECRET-1');
      assert.equal(auth1.tokenUrl, 'https://ehr.example/token2');
      await registry.update('epic-sandbox', { name: 'Epic', baseUrl: 'https://ehr.example/fhir/R4', auth: { type: 'client-credentials', tokenUrl: 'https://ehr.example/token2', clientId: 'wasl', clientSecret: 'cc-SECRET-2' } });
      assert.equal(((await registry.resolve('epic-sandbox')).auth as { clientSecret: string }).clientSecret, 'cc-SECRET-2');

      // A new auth type needs its secrets again.
      const e = await failure(() => registry.update('epic-sandbox', { name: 'Epic', baseUrl: 'https://ehr.example/fhir/R4', auth: { type: 'basic', username: 'u' } }));
      assert.equal(e.code, 'VALIDATION_FHIR_AUTH_CONFIG');
      assert.equal(e.path, 'auth.password');

      assert.equal(await registry.delete('epic-sandbox'), true);
      assert.equal(await registry.delete('epic-sandbox'), false);
      assert.equal(await registry.get('epic-sandbox'), undefined);
      assert.equal((await failure(() => registry.resolve('epic-sandbox'))).code, 'INTEGRATION_FHIR_CONNECTION_NOT_FOUND');
    });

    it('stores every auth type and resolves it back', async () => {
      const auths = [
        { type: 'none' },
        { type: 'basic', username: 'u', password: 'pw' },
        { type: 'api-key', header: 'x-api-key', key: 'k' },
        { type: 'smart-backend', tokenUrl: 'https://a/token', clientId: 'c', privateKeyPem, algorithm: 'RS384', keyId: 'k1' },
        { type: 'refresh-token', tokenUrl: 'https://a/token', clientId: 'c', refreshToken: 'rt-1', accessToken: 'at-1', expiresAt: 1_900_000_000_000 },
      ] as const;
      for (const [i, auth] of auths.entries()) {
        await registry.create({ id: `c${i}`, name: `c${i}`, baseUrl: 'http://127.0.0.1:1/fhir', auth: { ...auth } });
        assert.deepEqual((await registry.resolve(`c${i}`)).auth, auth);
      }
      const views = await registry.list();
      assert.deepEqual(views.map((v) => v.auth), [
        { type: 'none' },
        { type: 'basic', username: 'u', hasPassword: true },
        { type: 'api-key', header: 'x-api-key', hasKey: true },
        { type: 'smart-backend', tokenUrl: 'https://a/token', clientId: 'c', algorithm: 'RS384', keyId: 'k1', hasPrivateKeyPem: true },
        { type: 'refresh-token', tokenUrl: 'https://a/token', clientId: 'c', hasClientSecret: false, hasRefreshToken: true, hasAccessToken: true },
      ]);
      assert.ok(!JSON.stringify(views).includes('PRIVATE KEY'));

      await registry.saveRotatedRefreshToken('c4', 'rt-2');
      assert.deepEqual((await registry.resolve('c4')).auth, { type: 'refresh-token', tokenUrl: 'https://a/token', clientId: 'c', refreshToken: 'rt-2' });
    });

    it('refuses bad settings with the field path, duplicates, and secrets without a key', async () => {
      assert.equal((await failure(() => registry.create({ name: 'x', baseUrl: 'ftp://x', auth: { type: 'none' } }))).path, 'baseUrl');
      assert.equal((await failure(() => registry.create({ name: 'x', baseUrl: 'https://u:p@x/fhir', auth: { type: 'none' } }))).path, 'baseUrl');
      assert.equal((await failure(() => registry.create({ id: 'Bad Id', name: 'x', baseUrl: 'https://x', auth: { type: 'none' } }))).path, 'id');
      const keyMismatch = await failure(() => registry.create({ name: 'x', baseUrl: 'https://x', auth: { type: 'smart-backend', tokenUrl: 'https://a/t', clientId: 'c', privateKeyPem, algorithm: 'ES384' } }));
      assert.equal(keyMismatch.code, 'VALIDATION_FHIR_AUTH_KEY');
      await registry.create({ name: 'dup', baseUrl: 'https://x', auth: { type: 'none' } });
      assert.equal((await failure(() => registry.create({ name: 'dup', baseUrl: 'https://x', auth: { type: 'none' } }))).code, 'INTEGRATION_FHIR_CONNECTION_EXISTS');

      const keyless = fhirConnectionRegistryFor(store, undefined)!;
      const e = await failure(() => keyless.create({ name: 'secretive', baseUrl: 'https://x', auth: { type: 'basic', username: 'u', password: 'p' } }));
      assert.equal(e.code, 'INTEGRATION_SECRET_KEY_MISSING');
      assert.match(e.message, /WASL_SECRET_KEY.*openssl rand -base64 32/);
      // No secret, no key needed.
      await keyless.create({ name: 'open', baseUrl: 'https://x', auth: { type: 'none' } });
      assert.equal((await keyless.resolve('open')).auth.type, 'none');
    });

    it('re-encrypts under a new key after rotation; a wrong key cannot read', async () => {
      await registry.create({ name: 'rot', baseUrl: 'https://x', auth: { type: 'basic', username: 'u', password: 'p1' } });
      const next = randomBytes(32).toString('base64');
      assert.equal((await failure(() => fhirConnectionRegistryFor(store, next)!.resolve('rot'))).code, 'INTEGRATION_SECRET_KEY_UNKNOWN');
      const rotated = fhirConnectionRegistryFor(store, next, KEY)!;
      assert.equal(await rotated.reencryptAll(), 1);
      assert.equal(await rotated.reencryptAll(), 0);
      assert.equal(((await fhirConnectionRegistryFor(store, next)!.resolve('rot')).auth as { password: string }).password, 'p1');
      // A lost key: the secret cannot be read, but an update that brings it again replaces it.
      const lost = fhirConnectionRegistryFor(store, randomBytes(32).toString('base64'))!;
      assert.equal((await failure(() => lost.update('rot', { name: 'rot', baseUrl: 'https://x', auth: { type: 'basic', username: 'u' } }))).code, 'INTEGRATION_SECRET_KEY_UNKNOWN');
      await lost.update('rot', { name: 'rot', baseUrl: 'https://x', auth: { type: 'basic', username: 'u', password: 'p2' } });
      assert.equal(((await lost.resolve('rot')).auth as { password: string }).password, 'p2');
    });
  });
}
