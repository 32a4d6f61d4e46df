/**
 * Who is calling, and may they: one express middleware in front of the API and the pages.
 * A caller is known by the `wasl_session` cookie (pages), HTTP basic auth or an API token
 * (`Authorization: Bearer wasl_...`, scripts). Not known: 401 for the API, a redirect to /signin
 * for pages. Known but not allowed: 403, and an `access.denied` audit entry naming the path
 * without its query string (a search query may hold an MRN).
 */
import type express from 'express';
import { LRUCache } from 'lru-cache';
import { logger } from '../../common/logger';
import type { AuditLog } from '../audit/types';
import { can } from './roles';
import { isOpenPath, isPagePath, permissionFor } from './route-permissions';
import { API_TOKEN_PREFIX, sha256, type TokenStore } from './tokens';
import { remoteOf, type RequestUser } from './types';
import type { SignInLimiter } from './sign-in-limiter';
import type { UserStore } from './users';

export const SESSION_COOKIE = 'wasl_session';

export interface AuthDeps {
  users: UserStore;
  tokens: TokenStore;
  audit: AuditLog;
  /** WASL_METRICS_TOKEN: when set, /metrics needs `Authorization: Bearer <it>`. */
  metricsToken?: string;
  /** Shared with the sign-in API, so form and basic-auth guesses count together. */
  limiter: SignInLimiter;
}

/** Basic auth with a wrong password (or a disabled user): said as such, not as "sign in first". */
class WrongCredentials extends Error {
  constructor() {
    super('wrong username or password, or the user is disabled');
  }
}

/** Too many wrong passwords: the request is refused before the password is checked. */
class SignInBlocked extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('too many failed sign-ins; try again later');
  }
}

export interface Authenticator {
  middleware: express.RequestHandler;
  /** Forget cached basic-auth results (after a user changes). */
  forget(username?: string): void;
}

export function authenticator(deps: AuthDeps): Authenticator {
  const log = logger({ stage: 'auth' });
  // bcrypt costs ~250 ms on purpose; a script sending basic auth on every call pays it once per
  // 5 minutes. Keyed by a hash of user:password, so the cache holds no password.
  const basicCache = new LRUCache<string, string>({ max: 1000, ttl: 5 * 60_000 });

  async function identify(req: express.Request): Promise<RequestUser | undefined> {
    const header = req.get('authorization') ?? '';
    if (/^basic /i.test(header)) {
      const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 1) return undefined;
      const username = decoded.slice(0, colon);
      const key = sha256(decoded);
      const cached = basicCache.get(key);
      if (!cached) {
        const wait = await deps.limiter.blockedFor(username, remoteOf(req));
        if (wait > 0) throw new SignInBlocked(wait);
      }
      const user = cached ? await deps.users.get(cached) : await deps.users.verify(username, decoded.slice(colon + 1));
      if (!user || user.disabled) {
        await deps.limiter.failed(username, remoteOf(req));
        await deps.audit.record({ actor: username.slice(0, 100), action: 'signin.failed', from: remoteOf(req), detail: { via: 'basic' } });
        throw new WrongCredentials();
      }
      basicCache.set(key, user.username);
      return { username: user.username, role: user.role, via: 'basic' };
    }
    if (/^bearer /i.test(header)) {
      const token = header.slice(7).trim();
      if (!token.startsWith(API_TOKEN_PREFIX)) return undefined;
      const username = await deps.tokens.apiTokenUser(token);
      const user = username ? await deps.users.get(username) : undefined;
      return user && !user.disabled ? { username: user.username, role: user.role, via: 'token' } : undefined;
    }
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (session) {
      const username = await deps.tokens.sessionUser(session);
      const user = username ? await deps.users.get(username) : undefined;
      return user && !user.disabled ? { username: user.username, role: user.role, via: 'session' } : undefined;
    }
    return undefined;
  }

  const middleware: express.RequestHandler = (req, res, next) => {
    void (async () => {
      const path = req.path;
      if (path === '/metrics' && deps.metricsToken) {
        if (req.get('authorization') !== `Bearer ${deps.metricsToken}`) {
          res.status(401).set('WWW-Authenticate', 'Bearer realm="wasl-metrics"').json({ error: 'metrics need the bearer token configured in WASL_METRICS_TOKEN' });
          return;
        }
        next();
        return;
      }
      // Open paths are served as they are; only the session API wants to know who asks.
      if (isOpenPath(path) && path !== '/api/v1/session') {
        next();
        return;
      }
      let user: RequestUser | undefined;
      try {
        user = await identify(req);
      } catch (err) {
        if (err instanceof WrongCredentials) {
          res.status(401).set('WWW-Authenticate', 'Basic realm="wasl", charset="UTF-8"').json({ error: err.message });
          return;
        }
        if (!(err instanceof SignInBlocked)) throw err;
        res.status(429).set('Retry-After', String(err.retryAfterSeconds)).json({ error: err.message });
        return;
      }
      if (user) req.waslUser = user;
      if (path === '/api/v1/session') {
        next();
        return;
      }
      const needed = permissionFor(req.method, path);
      if (needed === undefined) {
        next();
        return;
      }
      if (!user) {
        if (isPagePath(path) && req.method === 'GET') {
          res.redirect(303, `/signin?next=${encodeURIComponent(req.originalUrl)}`);
        } else {
          res.status(401).set('WWW-Authenticate', 'Basic realm="wasl", charset="UTF-8"').json({ error: 'sign in first: session cookie, HTTP basic auth or an API token' });
        }
        return;
      }
      // A cookie rides along on cross-site requests in old browsers: for a session, a write must
      // come from this origin (SameSite=Strict does the rest).
      if (user.via === 'session' && req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) {
        res.status(403).json({ error: 'cross-origin request refused' });
        return;
      }
      if (needed !== 'signed-in' && !can(user, needed)) {
        await deps.audit
          .record({ actor: user.username, action: 'access.denied', target: `${req.method} ${path}`, from: remoteOf(req), detail: { role: user.role, needed } })
          .catch((err: Error) => log.error('audit write failed', { error: err.message }));
        const message = `role ${user.role} may not do this (needs ${needed})`;
        if (isPagePath(path)) res.status(403).type('text/plain').send(message);
        else res.status(403).json({ error: message });
        return;
      }
      next();
    })().catch(next);
  };

  return {
    middleware,
    forget: (username) => {
      if (!username) basicCache.clear();
      else for (const [key, value] of basicCache.entries()) if (value === username) basicCache.delete(key);
    },
  };
}

/** One cookie's value from a Cookie header (the only cookie Wasl reads). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Whether a browser request comes from this host (no Origin header: not a cross-site browser request). */
export function sameOrigin(req: express.Request): boolean {
  const origin = req.get('origin');
  if (!origin) return true; // not a browser form/fetch from another site (those send Origin)
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}
