/**
 * Which permission each route needs: one table for the API and the pages, read by the auth
 * middleware before any handler runs, so a new router is guarded without code of its own.
 * First match wins; an API route in no row needs `users.manage` (admin), so forgetting a row
 * fails closed.
 */
import type { Permission } from './roles';

interface RouteRule {
  methods?: readonly string[];
  path: RegExp;
  permission: Permission | 'signed-in';
}

const WRITE = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

export const ROUTE_RULES: readonly RouteRule[] = [
  // The API
  { path: /^\/api\/v1\/tokens(\/|$)/, permission: 'signed-in' },
  { path: /^\/api\/v1\/users(\/|$)/, permission: 'users.manage' },
  { path: /^\/api\/v1\/audit(\/|$)/, permission: 'audit.view' },
  { methods: ['POST'], path: /^\/api\/v1\/channels\/[^/]+\/(start|pause|stop)$/, permission: 'channels.control' },
  { methods: ['GET'], path: /^\/api\/v1\/channels(\/|$)/, permission: 'channels.view' },
  { methods: ['POST'], path: /^\/api\/v1\/messages\/reprocess$/, permission: 'messages.reprocess' },
  { methods: ['GET'], path: /^\/api\/v1\/messages(\/|$)/, permission: 'messages.view' },
  { methods: ['POST'], path: /^\/api\/v1\/queues\/[^/]+\/replay$/, permission: 'messages.reprocess' },
  { methods: ['GET'], path: /^\/api\/v1\/(queues|dead-letters)(\/|$)/, permission: 'messages.view' },
  { methods: ['GET'], path: /^\/api\/v1\/(alerts|integrations)(\/|$)/, permission: 'channels.view' },
  { methods: WRITE, path: /^\/api\/v1\/claims(\/|$)/, permission: 'claims.repair' },
  { methods: ['GET'], path: /^\/api\/v1\/claims(\/|$)/, permission: 'claims.view' },
  { path: /^\/api\/v1\/(fhir-connections|fhir-sync|nphies)(\/|$)/, permission: 'flows.edit' },
  // The pages
  { methods: ['GET'], path: /^\/$/, permission: 'channels.view' },
  { methods: ['GET'], path: /^\/channels\/[^/]+$/, permission: 'channels.view' },
  { methods: ['GET'], path: /^\/(alerts)$/, permission: 'channels.view' },
  { methods: ['GET'], path: /^\/(messages|dead-letters)(\/[^/]+)?$/, permission: 'messages.view' },
  { methods: ['GET'], path: /^\/audit$/, permission: 'audit.view' },
  { methods: ['GET'], path: /^\/users$/, permission: 'users.manage' },
  { methods: ['GET'], path: /^\/claims\/failed$/, permission: 'claims.view' },
];

/**
 * Paths served without sign-in: health checks, the sign-in page and its API, static assets,
 * the demo FHIR server, channel source endpoints (`/channels/<id>/<more>`: they face hospital
 * systems and carry their own auth), Node-RED (its adminAuth, wired to these users, guards
 * /editor; /http is Node-RED's httpNode for hand-made flows) and /metrics (its own bearer token).
 */
export function isOpenPath(path: string): boolean {
  if (path === '/api/v1/health' || path === '/signin' || path === '/api/v1/session') return true;
  if (path === '/metrics') return true;
  return /^\/(assets|fhir\/R4|editor|http)(\/|$)/.test(path) || /^\/channels\/[^/]+\/.+/.test(path);
}

/** The permission a request needs; undefined for a path that is not the API or a known page. */
export function permissionFor(method: string, path: string): Permission | 'signed-in' | undefined {
  for (const rule of ROUTE_RULES) {
    if (rule.methods && !rule.methods.includes(method)) continue;
    if (rule.path.test(path)) return rule.permission;
  }
  return path.startsWith('/api/') ? 'users.manage' : undefined;
}

/** Whether a path is a page (answered with a redirect to /signin) rather than the API (401 JSON). */
export function isPagePath(path: string): boolean {
  return !path.startsWith('/api/');
}
