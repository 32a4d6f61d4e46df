/**
 * Wasl's users, in the store's `users` table (migration 0008). Passwords are bcrypt hashes
 * (bcryptjs, cost 12); the plain password never leaves `create`/`verify`.
 */
import bcrypt from 'bcryptjs';
import type { Knex } from 'knex';
import { fromDbTime, toDbTime } from '../store/rows';
import { isRole, type Role } from './roles';

export interface User {
  username: string;
  role: Role;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

interface UserRow {
  username: string;
  password_hash: string;
  role: string;
  disabled: boolean | number;
  created_at: Date | number | string;
  updated_at: Date | number | string;
}

const BCRYPT_COST = 12;
const USERNAME = /^[A-Za-z0-9._@-]{1,100}$/;
export const MIN_PASSWORD_LENGTH = 12;

export class UserInputError extends Error {}

/**
 * A cost-12 bcrypt hash of a random value nobody kept: compared against when the user does not
 * exist, so the answer takes as long as for a real user and timing does not tell who exists.
 */
const DECOY_HASH = '$2a$12$oqKqk4gcM1rYp74tTsfm6ejelSXHBOzkP/HAvojrWdeqFHZLElLs6';

export class UserStore {
  private readonly dialect: 'postgres' | 'sqlite';

  constructor(private readonly knex: Knex) {
    this.dialect = knex.client.dialect === 'postgresql' ? 'postgres' : 'sqlite';
  }

  async count(): Promise<number> {
    const row = (await this.knex('users').count({ n: '*' }).first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  }

  async get(username: string): Promise<User | undefined> {
    const row = (await this.knex('users').where({ username: normalise(username) }).first()) as UserRow | undefined;
    return row ? toUser(row) : undefined;
  }

  async list(): Promise<User[]> {
    return ((await this.knex('users').select('*').orderBy('username')) as UserRow[]).map(toUser);
  }

  async create(input: { username: string; password: string; role: string }): Promise<User> {
    input = { ...input, username: normalise(input.username) };
    checkUsername(input.username);
    checkPassword(input.password);
    if (!isRole(input.role)) throw new UserInputError(`role must be one of admin, analyst, claims_processor, auditor, ui_user; got '${input.role}'`);
    if (await this.get(input.username)) throw new UserInputError(`user '${input.username}' exists`);
    const now = toDbTime(this.dialect, new Date());
    await this.knex('users').insert({
      username: input.username,
      password_hash: await bcrypt.hash(input.password, BCRYPT_COST),
      role: input.role,
      disabled: false,
      created_at: now,
      updated_at: now,
    });
    return (await this.get(input.username))!;
  }

  async update(username: string, change: { role?: string; password?: string; disabled?: boolean }): Promise<User> {
    username = normalise(username);
    const patch: Record<string, unknown> = { updated_at: toDbTime(this.dialect, new Date()) };
    if (change.role !== undefined) {
      if (!isRole(change.role)) throw new UserInputError(`role must be one of admin, analyst, claims_processor, auditor, ui_user; got '${change.role}'`);
      patch.role = change.role;
    }
    if (change.password !== undefined) {
      checkPassword(change.password);
      patch.password_hash = await bcrypt.hash(change.password, BCRYPT_COST);
    }
    if (change.disabled !== undefined) patch.disabled = change.disabled;
    const n = await this.knex('users').where({ username }).update(patch);
    if (n === 0) throw new UserInputError(`no user '${username}'`);
    // A disabled user or a changed password ends the user's sessions.
    if (change.disabled || change.password !== undefined) await this.knex('user_sessions').where({ username }).delete();
    return (await this.get(username))!;
  }

  /** The user when the password is right and the user is enabled; otherwise undefined. */
  async verify(username: string, password: string): Promise<User | undefined> {
    const row = (await this.knex('users').where({ username: normalise(username) }).first()) as UserRow | undefined;
    const ok = await bcrypt.compare(password, row?.password_hash ?? DECOY_HASH);
    if (!row || !ok) return undefined;
    const user = toUser(row);
    return user.disabled ? undefined : user;
  }
}

/** Usernames are not case-sensitive: `Ana` and `ana` are one user (stored in lower case). */
export function normalise(username: string): string {
  return username.trim().toLowerCase();
}

function checkUsername(username: string): void {
  if (!USERNAME.test(username)) throw new UserInputError('username must be 1-100 characters of letters, digits, . _ @ -');
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD_LENGTH) throw new UserInputError(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > 72) throw new UserInputError('password must be at most 72 characters (bcrypt reads no further)');
}

function toUser(row: UserRow): User {
  if (!isRole(row.role)) throw new Error(`user '${row.username}' has an unknown role in the store`);
  return { username: row.username, role: row.role, disabled: Boolean(row.disabled), createdAt: fromDbTime(row.created_at), updatedAt: fromDbTime(row.updated_at) };
}
