/**
 * Sign-in, roles and the audit log, built on the store's database: what the engine mounts in
 * front of its pages and API (see docs/operations.md).
 */
import type express from 'express';
import type { Knex } from 'knex';
import { KnexAuditLog } from '../audit/audit-log';
import { auditApiRouter } from '../audit/audit-api';
import { authApiRouter } from './auth-api';
import { authenticator, type Authenticator } from './middleware';
import { nodeRedAdminAuth } from './node-red-auth';
import { SignInLimiter } from './sign-in-limiter';
import { TokenStore } from './tokens';
import { UserStore } from './users';

export interface AuthSettings {
  metricsToken?: string;
  secureCookie: boolean;
  sessionHours: number;
}

export interface Auth {
  users: UserStore;
  tokens: TokenStore;
  audit: KnexAuditLog;
  authenticator: Authenticator;
  /** Session, users and tokens, then the audit log: mount under /api/v1 after the middleware. */
  apiRouters: express.Router[];
  nodeRedAdminAuth: Record<string, unknown>;
}

export function createAuth(knex: Knex, settings: AuthSettings): Auth {
  const users = new UserStore(knex);
  const tokens = new TokenStore(knex, settings.sessionHours * 3600_000);
  const audit = new KnexAuditLog(knex);
  const limiter = new SignInLimiter();
  const auth = authenticator({ users, tokens, audit, metricsToken: settings.metricsToken, limiter });
  return {
    users,
    tokens,
    audit,
    authenticator: auth,
    apiRouters: [authApiRouter({ users, tokens, audit, authenticator: auth, secureCookie: settings.secureCookie, limiter }), auditApiRouter(audit, knex)],
    nodeRedAdminAuth: nodeRedAdminAuth(users),
  };
}

/** WASL_METRICS_TOKEN, WASL_COOKIE_SECURE, WASL_SESSION_HOURS (default 8). */
export function authSettingsFrom(env: NodeJS.ProcessEnv): AuthSettings {
  const hours = env.WASL_SESSION_HOURS ? Number(env.WASL_SESSION_HOURS) : 8;
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 30) throw new Error(`WASL_SESSION_HOURS must be a number of hours (0-720), got '${env.WASL_SESSION_HOURS}'`);
  return { metricsToken: env.WASL_METRICS_TOKEN || undefined, secureCookie: env.WASL_COOKIE_SECURE === 'true', sessionHours: hours };
}
