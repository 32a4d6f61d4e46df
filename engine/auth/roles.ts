/**
 * Who may do what. Five roles, each a fixed set of permissions; handlers ask `can(user, p)` and
 * never test role names, so a role's reach is read in one place. Body permissions are
 * conditional: an analyst sees bodies only of channels marked `test: true` in channels.yaml.
 */
export const ROLES = ['admin', 'analyst', 'claims_processor', 'auditor', 'ui_user'] as const;
export type Role = (typeof ROLES)[number];

export type Permission =
  /** Channel list, counters, charts, alerts, integration health: every signed-in user. */
  | 'channels.view'
  /** Start, pause, stop a channel. */
  | 'channels.control'
  /** Message metadata (ids, status, errors, masked keys and masked content). */
  | 'messages.view'
  /** Unmasked message content; recorded in the audit log on every view. See `canViewBody`. */
  | 'messages.body'
  /** Reprocess messages; replay dead letters. */
  | 'messages.reprocess'
  /** Failed-claims workbench, read. */
  | 'claims.view'
  /** Repair and reprocess failed claims. */
  | 'claims.repair'
  /** The audit log. */
  | 'audit.view'
  /** Users and API tokens of others. */
  | 'users.manage'
  /** Node-RED editor and admin API, deploy; FHIR connections, NPHIES and sync APIs. */
  | 'flows.edit';

const GRANTS: Record<Role, readonly Permission[]> = {
  admin: ['channels.view', 'channels.control', 'messages.view', 'messages.body', 'messages.reprocess', 'claims.view', 'claims.repair', 'audit.view', 'users.manage', 'flows.edit'],
  analyst: ['channels.view', 'channels.control', 'messages.view', 'messages.body', 'messages.reprocess', 'flows.edit'],
  claims_processor: ['channels.view', 'claims.view', 'claims.repair'],
  auditor: ['channels.view', 'messages.view', 'messages.body', 'claims.view', 'audit.view'],
  ui_user: ['channels.view', 'messages.view'],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export interface Principal {
  username: string;
  role: Role;
}

export function can(user: Principal | undefined, permission: Permission): boolean {
  return !!user && GRANTS[user.role].includes(permission);
}

/**
 * Whether `user` sees a message's content unmasked. Admin and auditor see every channel's bodies
 * (each view is audited); an analyst only those of test channels, where the data is not real.
 */
export function canViewBody(user: Principal | undefined, channel: { test?: boolean } | undefined): boolean {
  if (!can(user, 'messages.body')) return false;
  if (user!.role === 'analyst') return channel?.test === true;
  return true;
}

export function permissionsOf(role: Role): readonly Permission[] {
  return GRANTS[role];
}
