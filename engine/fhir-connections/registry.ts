/**
 * The FHIR connection registry: rows in `fhir_connections` (migration 0002), secrets sealed with
 * AES-256-GCM (secret-box.ts) under WASL_SECRET_KEY. What it hands out:
 *
 * - `list` / `get` / `create` / `update`: a {@link FhirConnectionView}, which never holds a secret
 *   (only `hasPassword: true` style flags): safe for the API and logs.
 * - `resolve(id)`: the decrypted {@link FhirConnection}, for the engine only (sources, destinations,
 *   the connection test). Never serialise it.
 *
 * Without a key, connections whose auth has no secret (type `none`) still work; creating one with a
 * secret is refused with `INTEGRATION_SECRET_KEY_MISSING`, whose message says how to set the key.
 */
import type { Knex } from 'knex';
import { IntegrationError, ValidationError } from '../../common/errors';
import { createAuthProvider } from '../../connectors/fhir/auth';
import type { FhirAuth, FhirAuthType, FhirConnection } from '../../connectors/fhir/connection';
import { fromDbTime, toDbTime, type Dialect } from '../store/rows';
import { SECRET_FIELDS, hasField, splitAuth } from './auth-fields';
import { SECRET_KEY_HELP, SecretKeyError, type SecretBox } from '../../common/secret-box';

/** What a caller gives to create a connection (or, with secrets optional, to update one). */
export interface FhirConnectionInput {
  /** Kebab-case; derived from `name` when omitted on create. */
  id?: string;
  name: string;
  baseUrl: string;
  fhirVersion?: 'R4';
  /** Auth settings; on update, secret fields may be omitted to keep the stored ones. */
  auth: { type: FhirAuthType } & Record<string, unknown>;
  timeoutMs?: number | null;
  rateLimitPerSecond?: number | null;
  enabled?: boolean;
}

/** A connection without its secrets. */
export interface FhirConnectionView {
  id: string;
  name: string;
  baseUrl: string;
  fhirVersion: 'R4';
  /** Type, non-secret settings, and `has<Secret>: true` for each stored secret. */
  auth: { type: FhirAuthType } & Record<string, unknown>;
  timeoutMs?: number;
  rateLimitPerSecond?: number;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

interface Row {
  id: string;
  name: string;
  base_url: string;
  fhir_version: string;
  auth_type: string;
  auth_secret: string | null;
  auth_public: string;
  timeout_ms: number | null;
  rate_limit_per_second: number | null;
  enabled: boolean | number;
  created_at: Date | number | string;
  updated_at: Date | number | string;
}

const TABLE = 'fhir_connections';
export const CONNECTION_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

export class FhirConnectionNotFound extends IntegrationError {
  constructor(id: string) {
    super('FHIR_CONNECTION_NOT_FOUND', `No FHIR connection ${id}`);
  }
}

export class FhirConnectionRegistry {
  constructor(
    private readonly knex: Knex,
    private readonly dialect: Dialect,
    /** Undefined when WASL_SECRET_KEY is not set. */
    private readonly box: SecretBox | undefined,
  ) {}

  /** Whether secrets can be stored (WASL_SECRET_KEY is set). */
  get canStoreSecrets(): boolean {
    return this.box !== undefined;
  }

  async list(): Promise<FhirConnectionView[]> {
    const rows = await this.knex<Row>(TABLE).select('*').orderBy('id');
    return rows.map((r) => this.view(r));
  }

  async get(id: string): Promise<FhirConnectionView | undefined> {
    const row = await this.row(id);
    return row ? this.view(row) : undefined;
  }

  /**
   * @throws ValidationError (`path` names the field) for unusable settings; IntegrationError
   *   `INTEGRATION_FHIR_CONNECTION_EXISTS` for a taken id; SecretKeyError without a key
   */
  async create(input: FhirConnectionInput): Promise<FhirConnectionView> {
    const id = input.id ?? slug(input.name);
    if (!CONNECTION_ID.test(id)) throw new ValidationError('FHIR_CONNECTION_ID', 'Connection id must be kebab-case (a-z, 0-9, -), at most 64 characters', { path: 'id' });
    const auth = completeAuth(input.auth, undefined);
    const now = toDbTime(this.dialect, new Date());
    const row: Row = { ...this.columns(id, input, auth), created_at: now, updated_at: now };
    try {
      await this.knex(TABLE).insert(row);
    } catch (err) {
      if (await this.row(id)) throw new IntegrationError('FHIR_CONNECTION_EXISTS', `FHIR connection ${id} already exists`, { path: 'id' });
      throw err;
    }
    return this.view(row);
  }

  /**
   * Replaces a connection's settings. Secret fields omitted from `input.auth` keep their stored
   * values when the auth type is unchanged; a new auth type needs its secrets again.
   */
  async update(id: string, input: FhirConnectionInput): Promise<FhirConnectionView> {
    return this.knex.transaction(async (trx) => {
      const current = await trx<Row>(TABLE).where({ id }).first();
      if (!current) throw new FhirConnectionNotFound(id);
      let stored: FhirAuth | undefined;
      if (current.auth_type === input.auth.type) {
        try {
          stored = this.decryptRow(current);
        } catch (err) {
          // Unreadable (key lost or changed): fine when the update brings every secret again.
          if (!SECRET_FIELDS[input.auth.type].required.every((f) => typeof input.auth[f] === 'string' && input.auth[f] !== '')) throw err;
        }
      }
      const auth = completeAuth(input.auth, stored);
      const row: Row = { ...this.columns(id, input, auth), created_at: current.created_at, updated_at: toDbTime(this.dialect, new Date()) };
      await trx(TABLE).where({ id }).update(row);
      return this.view(row);
    });
  }

  async delete(id: string): Promise<boolean> {
    return (await this.knex(TABLE).where({ id }).delete()) > 0;
  }

  /** The connection with its secrets, for the engine. @throws FhirConnectionNotFound, SecretKeyError */
  async resolve(id: string): Promise<FhirConnection> {
    const row = await this.row(id);
    if (!row) throw new FhirConnectionNotFound(id);
    const auth = this.decryptRow(row);
    return {
      id: row.id,
      name: row.name,
      baseUrl: row.base_url,
      fhirVersion: 'R4',
      auth,
      ...(row.timeout_ms != null ? { timeoutMs: Number(row.timeout_ms) } : {}),
      ...(row.rate_limit_per_second != null ? { rateLimitPerSecond: Number(row.rate_limit_per_second) } : {}),
      enabled: Boolean(row.enabled),
    };
  }

  /**
   * Stores a refresh token the authorization server rotated (pass it as the auth provider's
   * `onRefreshTokenRotated`), dropping the cached access token that went with the old one.
   */
  async saveRotatedRefreshToken(id: string, refreshToken: string): Promise<void> {
    await this.knex.transaction(async (trx) => {
      const row = await trx<Row>(TABLE).where({ id }).first();
      if (!row || row.auth_type !== 'refresh-token') return;
      const auth = { ...(this.decryptRow(row) as Extract<FhirAuth, { type: 'refresh-token' }>), refreshToken, accessToken: undefined, expiresAt: undefined };
      await trx(TABLE).where({ id }).update({ auth_secret: this.seal(id, splitAuth(auth).secret), updated_at: toDbTime(this.dialect, new Date()) });
    });
  }

  /** Re-encrypts every secret written under an older key (after a key rotation). @returns how many rows */
  async reencryptAll(): Promise<number> {
    if (!this.box) return 0;
    let n = 0;
    for (const row of await this.knex<Row>(TABLE).select('*').whereNotNull('auth_secret')) {
      if (!this.box.needsReencrypt(row.auth_secret!)) continue;
      const plain = this.box.open(row.auth_secret!, owner(row.id));
      await this.knex(TABLE).where({ id: row.id }).update({ auth_secret: this.box.seal(plain, owner(row.id)) });
      n += 1;
    }
    return n;
  }

  private async row(id: string): Promise<Row | undefined> {
    return this.knex<Row>(TABLE).where({ id }).first();
  }

  private columns(id: string, input: FhirConnectionInput, auth: FhirAuth): Omit<Row, 'created_at' | 'updated_at'> {
    if (!isHttpUrl(input.baseUrl)) throw new ValidationError('FHIR_CONNECTION_BASE_URL', 'Base URL must be an absolute http(s) URL without credentials', { path: 'baseUrl' });
    // Builds the provider once to check the settings (e.g. the key fits the algorithm); nothing is sent.
    createAuthProvider(auth);
    const { pub, secret } = splitAuth(auth);
    return {
      id,
      name: input.name,
      base_url: input.baseUrl.replace(/\/+$/, ''),
      fhir_version: input.fhirVersion ?? 'R4',
      auth_type: auth.type,
      auth_public: JSON.stringify(pub),
      auth_secret: Object.keys(secret).length ? this.seal(id, secret) : null,
      timeout_ms: input.timeoutMs ?? null,
      rate_limit_per_second: input.rateLimitPerSecond ?? null,
      enabled: input.enabled ?? true,
    };
  }

  private seal(id: string, secret: Record<string, unknown>): string {
    if (!this.box) {
      throw new SecretKeyError('SECRET_KEY_MISSING', `Cannot store a FHIR connection secret: WASL_SECRET_KEY is not set; ${SECRET_KEY_HELP}`);
    }
    return this.box.seal(JSON.stringify(secret), owner(id));
  }

  private decryptRow(row: Row): FhirAuth {
    const pub = JSON.parse(row.auth_public) as Record<string, unknown>;
    let secret: Record<string, unknown> = {};
    if (row.auth_secret) {
      if (!this.box) throw new SecretKeyError('SECRET_KEY_MISSING', `FHIR connection ${row.id} has an encrypted secret but WASL_SECRET_KEY is not set; ${SECRET_KEY_HELP}`);
      secret = JSON.parse(this.box.open(row.auth_secret, owner(row.id))) as Record<string, unknown>;
    }
    return { type: row.auth_type, ...pub, ...secret } as FhirAuth;
  }

  private view(row: Row): FhirConnectionView {
    const type = row.auth_type as FhirAuthType;
    const pub = JSON.parse(row.auth_public) as Record<string, unknown>;
    // Which secrets exist is readable without the key: the sealed JSON's field names are not stored
    // apart, so report the required ones, plus optional ones only when we can open the box.
    const flags: Record<string, boolean> = {};
    if (row.auth_secret) {
      let present: string[] = [...SECRET_FIELDS[type].required];
      if (this.box) {
        try {
          present = Object.keys(JSON.parse(this.box.open(row.auth_secret, owner(row.id))) as object);
        } catch {
          // An undecryptable row still lists; resolve() reports the problem.
        }
      }
      for (const f of SECRET_FIELDS[type].fields) if (f !== 'expiresAt') flags[hasField(f)] = present.includes(f);
    }
    return {
      id: row.id,
      name: row.name,
      baseUrl: row.base_url,
      fhirVersion: 'R4',
      auth: { type, ...pub, ...flags },
      ...(row.timeout_ms != null ? { timeoutMs: Number(row.timeout_ms) } : {}),
      ...(row.rate_limit_per_second != null ? { rateLimitPerSecond: Number(row.rate_limit_per_second) } : {}),
      enabled: Boolean(row.enabled),
      createdAt: fromDbTime(row.created_at).toISOString(),
      updatedAt: fromDbTime(row.updated_at).toISOString(),
    };
  }
}

/** Additional authenticated data: a sealed secret only opens for its own connection. */
function owner(id: string): string {
  return `fhir-connection:${id}`;
}

/**
 * Merges `input` with the stored auth of the same type (secrets omitted in `input` keep theirs)
 * and checks the required secrets are there.
 */
function completeAuth(input: FhirConnectionInput['auth'], stored: FhirAuth | undefined): FhirAuth {
  const spec = SECRET_FIELDS[input.type];
  if (!spec) throw new ValidationError('FHIR_AUTH_CONFIG', `Unknown auth type ${String(input.type)}`, { path: 'auth.type' });
  const merged: Record<string, unknown> = { ...input };
  if (stored) {
    for (const f of spec.fields) if (merged[f] === undefined && (stored as Record<string, unknown>)[f] !== undefined) merged[f] = (stored as Record<string, unknown>)[f];
  }
  for (const f of spec.required) {
    if (typeof merged[f] !== 'string' || merged[f] === '') throw new ValidationError('FHIR_AUTH_CONFIG', `auth.${f} is required for auth type ${input.type}`, { path: `auth.${f}` });
  }
  return merged as FhirAuth;
}

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
}

function slug(name: string): string {
  return name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64).replace(/-+$/, '');
}
