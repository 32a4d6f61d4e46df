/**
 * Stable Node-RED ids for compiled nodes.
 */
import { createHash } from 'node:crypto';

/**
 * The id of the node playing `role` in channel `channelId`: the first 16 hex characters of
 * sha256(`<channelId>/<role>`), the length Node-RED uses for its own ids. Derived, not random,
 * so recompiling an unchanged channel gives byte-identical flows and a `nodes` deploy restarts
 * nothing; a role is unique within a channel, and channel ids are unique in the file.
 */
export function nodeId(channelId: string, role: string): string {
  return createHash('sha256').update(`${channelId}/${role}`).digest('hex').slice(0, 16);
}
