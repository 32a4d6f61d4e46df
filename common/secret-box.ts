/**
 * Encryption of stored secrets: AES-256-GCM (node:crypto), a random 96-bit IV per value, the
 * 128-bit tag checked on every read, and additional authenticated data binding each value to its
 * owner (e.g. `fhir-connection:<id>`), so a ciphertext copied to another row does not decrypt.
 *
 * Stored form: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). `keyId` is the first 8 bytes
 * (hex) of HMAC-SHA256(key, "wasl-key-id"): it names the key without revealing it, so keys can
 * rotate: give the new key as current and the old ones as `previous`; old values still decrypt and
 * `needsReencrypt` tells the owner to write them again under the new key.
 *
 * The key comes from `WASL_SECRET_KEY` (the same variable gives Node-RED its credentialSecret):
 * - 64 hex characters, or base64 of exactly 32 bytes: used as the key as is (recommended:
 *   `WASL_SECRET_KEY=$(openssl rand -base64 32)`);
 * - anything else of at least 16 characters is a passphrase, stretched with scrypt (N=2^15, r=8,
 *   p=1, a fixed application salt: the key must be reproducible from the variable alone). A
 *   passphrase is only as strong as its entropy; prefer random bytes.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { WaslError } from './errors';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MIN_PASSPHRASE = 16;
const SCRYPT_SALT = 'wasl/secret-key/v1';

export const SECRET_KEY_HELP =
  'set WASL_SECRET_KEY to 32 random bytes, e.g. `export WASL_SECRET_KEY=$(openssl rand -base64 32)` (or a passphrase of 16+ characters), and restart Wasl';

/** Thrown when a secret cannot be stored or read because of the key (missing, wrong, rotated away). */
export class SecretKeyError extends WaslError {
  constructor(code: 'SECRET_KEY_MISSING' | 'SECRET_KEY_INVALID' | 'SECRET_KEY_UNKNOWN' | 'SECRET_DECRYPT_FAILED', message: string) {
    // Integration-kind: not the caller's input, and retrying will not help until an operator acts.
    super('integration', code, message);
    this.name = 'SecretKeyError';
  }
}

interface Key {
  id: string;
  bytes: Buffer;
}

/** Turns the variable's value into a 32-byte key (see the file comment). */
export function deriveKey(value: string): Buffer {
  const v = value.trim();
  if (/^[0-9a-fA-F]{64}$/.test(v)) return Buffer.from(v, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(v)) {
    const raw = Buffer.from(v.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (raw.length === 32) return raw;
  }
  if (v.length < MIN_PASSPHRASE) {
    throw new SecretKeyError('SECRET_KEY_INVALID', `WASL_SECRET_KEY is too short: ${SECRET_KEY_HELP}`);
  }
  return scryptSync(v, SCRYPT_SALT, 32, { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
}

function keyOf(value: string): Key {
  const bytes = deriveKey(value);
  return { bytes, id: createHmac('sha256', bytes).update('wasl-key-id').digest('hex').slice(0, 16) };
}

export class SecretBox {
  private readonly current: Key;
  private readonly keys = new Map<string, Key>();

  /**
   * @param current - the WASL_SECRET_KEY value
   * @param previous - earlier values, still accepted for reading
   */
  constructor(current: string, previous: string[] = []) {
    this.current = keyOf(current);
    for (const k of [this.current, ...previous.filter((p) => p.trim() !== '').map(keyOf)]) if (!this.keys.has(k.id)) this.keys.set(k.id, k);
  }

  get keyId(): string {
    return this.current.id;
  }

  /** Encrypts `plain` for `owner` (additional authenticated data). */
  seal(plain: string, owner: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(owner, 'utf8'));
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, this.current.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  /** Decrypts a value `seal` wrote for the same `owner`. Throws SecretKeyError, never returns garbage. */
  open(sealed: string, owner: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretKeyError('SECRET_DECRYPT_FAILED', 'Stored secret is not in a known format');
    const key = this.keys.get(parts[1]);
    if (!key) {
      throw new SecretKeyError('SECRET_KEY_UNKNOWN', `Stored secret was encrypted with key ${parts[1]}, which is not configured (give the old key as a previous key)`);
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(parts[2], 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(owner, 'utf8'));
      decipher.setAuthTag(Buffer.from(parts[3], 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(parts[4], 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError('SECRET_DECRYPT_FAILED', 'Stored secret failed its integrity check (wrong key, or the value was altered)');
    }
  }

  /** Whether a sealed value was written under an older key. */
  needsReencrypt(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.id;
  }
}

/** A box from the environment's value, or undefined when none is set. */
export function secretBoxFrom(current: string | undefined, previous?: string): SecretBox | undefined {
  if (!current) return undefined;
  return new SecretBox(current, previous ? previous.split(',') : []);
}

