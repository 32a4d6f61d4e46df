/**
 * Node-RED's adminAuth wired to Wasl's users: the editor and its admin API (deploy) are open to
 * roles with `flows.edit` (admin, analyst), who sign in with their Wasl password. Node-RED asks
 * `users()` on every admin request, so answers are cached for a few seconds; a disabled user
 * loses the editor within that time.
 */
import { LRUCache } from 'lru-cache';
import { can } from './roles';
import type { User, UserStore } from './users';

interface NodeRedUser {
  username: string;
  permissions: '*';
}

export function nodeRedAdminAuth(users: UserStore): Record<string, unknown> {
  const cache = new LRUCache<string, { user: NodeRedUser | null }>({ max: 500, ttl: 5_000 });
  const editorUser = (u: User | undefined): NodeRedUser | null =>
    u && !u.disabled && can(u, 'flows.edit') ? { username: u.username, permissions: '*' } : null;
  return {
    type: 'credentials',
    users: async (username: string) => {
      const hit = cache.get(username);
      if (hit) return hit.user;
      const user = editorUser(await users.get(username));
      cache.set(username, { user });
      return user;
    },
    authenticate: async (username: string, password: string) => editorUser(await users.verify(username, password)),
  };
}
