/**
 * Sign-in sessions and API tokens. Both are random 256-bit values handed out once and stored only
 * as SHA-256 hashes (tables user_sessions and api_tokens, migration 0008): a copy of the database
 * gives no usable credential.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { fromDbTime, toDbTime } from '../store/rows';

export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** API tokens start with this, so a leaked one is recognisable in a secret scanner. */
export const API_TOKEN_PREFIX = 'wasl_';

export interface ApiToken {
  id: string;
  username: string;
  name: string;
  createdAt: Date;
  lastUsedAt?: Date;
  revokedAt?: Date;
}

export class TokenStore {
  private readonly dialect: 'postgres' | 'sqlite';

  constructor(
    private readonly knex: Knex,
    /** Idle sessions end after this long (WASL_SESSION_HOURS, default 8). */
    private readonly sessionMs = 8 * 3600_000,
  ) {
    this.dialect = knex.client.dialect === 'postgresql' ? 'postgres' : 'sqlite';
  }

  async createSession(username: string): Promise<{ token: string; expiresAt: Date }> {
    const token = newSecret('');
    const now = new Date();
    const expiresAt = new Date(now.getTime() + this.sessionMs);
    await this.knex('user_sessions').insert({ token_hash: sha256(token), username, created_at: toDbTime(this.dialect, now), expires_at: toDbTime(this.dialect, expiresAt) });
    return { token, expiresAt };
  }

  /** The session's user when it is live; a live session's expiry slides forward (at most once a minute). */
  async sessionUser(token: string): Promise<string | undefined> {
    const hash = sha256(token);
    const row = (await this.knex('user_sessions').where({ token_hash: hash }).first()) as { username: string; expires_at: Date | number | string } | undefined;
    if (!row) return undefined;
    const expires = fromDbTime(row.expires_at).getTime();
    const now = Date.now();
    if (expires <= now) {
      await this.knex('user_sessions').where({ token_hash: hash }).delete();
      return undefined;
    }
    if (now + this.sessionMs - expires > 60_000) {
      await this.knex('user_sessions').where({ token_hash: hash }).update({ expires_at: toDbTime(this.dialect, new Date(now + this.sessionMs)) });
    }
    return row.username;
  }

  async endSession(token: string): Promise<void> {
    await this.knex('user_sessions').where({ token_hash: sha256(token) }).delete();
  }

  /** Removes expired sessions (called now and then, not on the request path). */
  async pruneSessions(): Promise<number> {
    return this.knex('user_sessions').where('expires_at', '<=', toDbTime(this.dialect, new Date())).delete();
  }

  async createApiToken(username: string, name: string): Promise<{ id: string; token: string }> {
    const token = newSecret(API_TOKEN_PREFIX);
    const id = randomBytes(8).toString('hex');
    await this.knex('api_tokens').insert({ id, username, name: name.slice(0, 200), token_hash: sha256(token), created_at: toDbTime(this.dialect, new Date()) });
    return { id, token };
  }

  /** The token's owner when the token is live. */
  async apiTokenUser(token: string): Promise<string | undefined> {
    const row = (await this.knex('api_tokens').where({ token_hash: sha256(token) }).whereNull('revoked_at').first()) as { id: string; username: string } | undefined;
    if (!row) return undefined;
    await this.knex('api_tokens').where({ id: row.id }).update({ last_used_at: toDbTime(this.dialect, new Date()) });
    return row.username;
  }

  async listApiTokens(username?: string): Promise<ApiToken[]> {
    const q = this.knex('api_tokens').select('id', 'username', 'name', 'created_at', 'last_used_at', 'revoked_at').orderBy('created_at', 'desc');
    if (username) q.where({ username });
    const rows = (await q) as Array<{ id: string; username: string; name: string; created_at: Date | number; last_used_at: Date | number | null; revoked_at: Date | number | null }>;
    return rows.map((r) => ({
      id: r.id,
      username: r.username,
      name: r.name,
      createdAt: fromDbTime(r.created_at),
      ...(r.last_used_at !== null ? { lastUsedAt: fromDbTime(r.last_used_at) } : {}),
      ...(r.revoked_at !== null ? { revokedAt: fromDbTime(r.revoked_at) } : {}),
    }));
  }

  /** Revokes a token; `owner` limits it to that user's tokens. Returns whether one was revoked. */
  async revokeApiToken(id: string, owner?: string): Promise<boolean> {
    const q = this.knex('api_tokens').where({ id }).whereNull('revoked_at');
    if (owner) q.where({ username: owner });
    return (await q.update({ revoked_at: toDbTime(this.dialect, new Date()) })) > 0;
  }
}
