/**
 * The first admin. On start, when WASL_ADMIN_USER and WASL_ADMIN_PASSWORD are set and that user
 * does not exist, it is created as admin (an existing user is left alone: the variables are not a
 * way to reset a password). With no users and no variables, the engine still runs its channels,
 * but nobody can sign in: the banner says how to create the first admin.
 */
import type { AuditLog } from '../audit/types';
import type { UserStore } from './users';

/** `half-set`: only one of the two variables is set, so nothing was created (the banner says so). */
export type FirstAdmin = 'created' | 'exists' | 'no-users' | 'half-set';

export async function ensureFirstAdmin(users: UserStore, audit: AuditLog, env: { adminUser?: string; adminPassword?: string }): Promise<FirstAdmin> {
  if (env.adminUser && env.adminPassword) {
    if (await users.get(env.adminUser)) return 'exists';
    await users.create({ username: env.adminUser, password: env.adminPassword, role: 'admin' });
    await audit.record({ actor: 'system', action: 'user.create', target: env.adminUser, detail: { role: 'admin', from: 'WASL_ADMIN_USER' } });
    return 'created';
  }
  if (env.adminUser || env.adminPassword) return 'half-set';
  return (await users.count()) === 0 ? 'no-users' : 'exists';
}

export const CREATE_ADMIN_HELP = [
  'No users yet: nobody can sign in to the ops pages, the API or the editor. Create the first admin with',
  '  WASL_ADMIN_USER=admin WASL_ADMIN_PASSWORD=<12+ characters> npm start',
  'or, with the engine stopped or running:',
  '  ./bin/wasl user add admin --role admin   (password from standard input or WASL_USER_PASSWORD)',
].join('\n');
