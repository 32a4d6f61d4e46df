/**
 * The signed-in user on a request, set by the auth middleware (engine/auth/middleware.ts) from a
 * session cookie, HTTP basic auth or an API token.
 */
import type { Principal } from './roles';

export interface RequestUser extends Principal {
  via: 'session' | 'basic' | 'token';
}

declare module 'express-serve-static-core' {
  interface Request {
    waslUser?: RequestUser;
  }
}

/** Where a request came from, for the audit log: the socket address (no proxy headers trusted). */
export function remoteOf(req: { socket?: { remoteAddress?: string } }): string {
  return req.socket?.remoteAddress ?? 'unknown';
}
