/**
 * Sign-in and user management under /api/v1: `session` (sign in, who am I, sign out), `users`
 * (admin) and `tokens` (API tokens of the caller; admin sees all). The auth middleware has
 * already decided who may reach each route (route-permissions.ts); these handlers check input.
 */
import express from 'express';
import { logger } from '../../common/logger';
import type { AuditLog } from '../audit/types';
import type { Authenticator } from './middleware';
import { SESSION_COOKIE, cookieValue, sameOrigin } from './middleware';
import { can, permissionsOf } from './roles';
import type { TokenStore } from './tokens';
import type { SignInLimiter } from './sign-in-limiter';
import { remoteOf } from './types';
import { UserInputError, type User, type UserStore } from './users';

export interface AuthApiDeps {
  users: UserStore;
  tokens: TokenStore;
  audit: AuditLog;
  authenticator: Authenticator;
  /** WASL_COOKIE_SECURE=true: mark the cookie Secure even behind a TLS-terminating proxy. */
  secureCookie: boolean;
  limiter: SignInLimiter;
}

export function authApiRouter(deps: AuthApiDeps): express.Router {
  const log = logger({ stage: 'auth' });
  const router = express.Router();
  router.use(express.json({ limit: '16kb' }));
  // A plain HTML form or `curl -d username=...` posts url-encoded; both are fine for signing in.
  router.use(express.urlencoded({ extended: false, limit: '16kb' }));

  router.post('/session', async (req, res, next) => {
    try {
      // A page on another site must not sign a browser in (to an account of its choosing).
      if (!sameOrigin(req)) {
        res.status(403).json({ error: 'cross-origin sign-in refused' });
        return;
      }
      const { username, password } = (req.body ?? {}) as { username?: unknown; password?: unknown };
      if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) {
        res.status(400).json({ error: 'username and password are required' });
        return;
      }
      const wait = await deps.limiter.blockedFor(username, remoteOf(req));
      if (wait > 0) {
        res.status(429).set('Retry-After', String(wait)).json({ error: `too many failed sign-ins; try again in ${Math.ceil(wait / 60)} minutes` });
        return;
      }
      const user = await deps.users.verify(username, password);
      if (!user) {
        await deps.limiter.failed(username, remoteOf(req));
        await deps.audit.record({ actor: username.slice(0, 100), action: 'signin.failed', from: remoteOf(req) });
        res.status(401).json({ error: 'wrong username or password, or the user is disabled' });
        return;
      }
      await deps.limiter.succeeded(username, remoteOf(req));
      const session = await deps.tokens.createSession(user.username);
      res.cookie(SESSION_COOKIE, session.token, {
        httpOnly: true,
        sameSite: 'strict',
        secure: deps.secureCookie || req.secure,
        path: '/',
        expires: session.expiresAt,
      });
      await deps.audit.record({ actor: user.username, action: 'signin', from: remoteOf(req) });
      res.json(describe(user));
    } catch (err) {
      next(err);
    }
  });

  router.get('/session', (req, res) => {
    if (!req.waslUser) {
      res.status(401).json({ error: 'not signed in' });
      return;
    }
    res.json({ username: req.waslUser.username, role: req.waslUser.role, permissions: permissionsOf(req.waslUser.role), via: req.waslUser.via });
  });

  router.delete('/session', async (req, res, next) => {
    try {
      const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
      if (token) await deps.tokens.endSession(token);
      if (req.waslUser) await deps.audit.record({ actor: req.waslUser.username, action: 'signout', from: remoteOf(req) });
      res.clearCookie(SESSION_COOKIE, { path: '/' });
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  router.get('/users', async (_req, res, next) => {
    try {
      res.json({ users: (await deps.users.list()).map(describe) });
    } catch (err) {
      next(err);
    }
  });

  router.post('/users', async (req, res, next) => {
    try {
      const { username, password, role } = (req.body ?? {}) as Record<string, unknown>;
      const user = await deps.users.create({ username: String(username ?? ''), password: String(password ?? ''), role: String(role ?? '') });
      await deps.audit.record({ actor: req.waslUser!.username, action: 'user.create', target: user.username, from: remoteOf(req), detail: { role: user.role } });
      res.status(201).json(describe(user));
    } catch (err) {
      inputError(err, res, next);
    }
  });

  router.patch('/users/:username', async (req, res, next) => {
    try {
      const body = (req.body ?? {}) as { role?: unknown; password?: unknown; disabled?: unknown };
      const change = {
        ...(body.role !== undefined ? { role: String(body.role) } : {}),
        ...(body.password !== undefined ? { password: String(body.password) } : {}),
        ...(body.disabled !== undefined ? { disabled: body.disabled === true } : {}),
      };
      if (req.params.username === req.waslUser!.username && (change.disabled || (change.role && change.role !== 'admin'))) {
        res.status(400).json({ error: 'an admin cannot disable or demote themselves (ask another admin)' });
        return;
      }
      const user = await deps.users.update(req.params.username, change);
      deps.authenticator.forget(user.username);
      await deps.audit.record({
        actor: req.waslUser!.username,
        action: 'user.update',
        target: user.username,
        from: remoteOf(req),
        detail: { ...(change.role ? { role: change.role } : {}), ...(change.disabled !== undefined ? { disabled: change.disabled } : {}), ...(change.password ? { password: 'changed' } : {}) },
      });
      res.json(describe(user));
    } catch (err) {
      inputError(err, res, next);
    }
  });

  router.get('/tokens', async (req, res, next) => {
    try {
      const all = can(req.waslUser, 'users.manage') && req.query.all === 'true';
      res.json({ tokens: await deps.tokens.listApiTokens(all ? undefined : req.waslUser!.username) });
    } catch (err) {
      next(err);
    }
  });

  router.post('/tokens', async (req, res, next) => {
    try {
      const name = typeof req.body?.name === 'string' && req.body.name.trim() ? (req.body.name as string).trim() : 'api token';
      const created = await deps.tokens.createApiToken(req.waslUser!.username, name);
      await deps.audit.record({ actor: req.waslUser!.username, action: 'token.create', target: created.id, from: remoteOf(req) });
      // The only time the token is shown: the store keeps its hash.
      res.status(201).json({ id: created.id, name, token: created.token });
    } catch (err) {
      next(err);
    }
  });

  router.delete('/tokens/:id', async (req, res, next) => {
    try {
      const owner = can(req.waslUser, 'users.manage') ? undefined : req.waslUser!.username;
      if (!(await deps.tokens.revokeApiToken(req.params.id, owner))) {
        res.status(404).json({ error: 'no such live token of yours' });
        return;
      }
      await deps.audit.record({ actor: req.waslUser!.username, action: 'token.revoke', target: req.params.id, from: remoteOf(req) });
      res.status(204).end();
    } catch (err) {
      next(err);
    }
  });

  router.use((err: Error & { type?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    // A body that is not JSON (or is too large) is the caller's mistake, not a server fault.
    if (err.type === 'entity.parse.failed' || err.type === 'entity.too.large') {
      res.status(err.type === 'entity.too.large' ? 413 : 400).json({ error: err.type === 'entity.too.large' ? 'body too large' : 'body: not valid JSON' });
      return;
    }
    log.error('auth api failed', { error: err.message });
    res.status(500).json({ error: err.message });
  });
  return router;
}

function describe(user: User): { username: string; role: string; disabled: boolean; permissions: readonly string[] } {
  return { username: user.username, role: user.role, disabled: user.disabled, permissions: permissionsOf(user.role) };
}

function inputError(err: unknown, res: express.Response, next: express.NextFunction): void {
  if (err instanceof UserInputError) res.status(400).json({ error: err.message });
  else next(err);
}
