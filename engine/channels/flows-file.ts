/**
 * The flows file Node-RED runs: the tabs compiled from channels.yaml plus the hand-made flows
 * kept in `flows/` (one JSON array of nodes per file, as the editor's export writes them).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../common/errors';
import type { NodeRedFlow } from './flow-types';

/**
 * Returns `compiled` followed by the nodes of every `*.json` file in `handMadeDir`, files in name
 * order so the result does not depend on the file system. A missing directory means no
 * hand-made flows. Throws a `ValidationError` naming the file when a file is not a JSON array of
 * objects with string ids, or when one of its ids is already taken (by a compiled node or by an
 * earlier hand-made file): Node-RED would otherwise keep one of the two nodes silently.
 */
export function buildFlowsFile(compiled: NodeRedFlow[], handMadeDir: string): NodeRedFlow[] {
  const owners = new Map<string, string>();
  for (const node of compiled) owners.set(node.id, 'a flow compiled from channels.yaml');
  const result = [...compiled];
  for (const name of handMadeFiles(handMadeDir)) {
    const file = path.join(handMadeDir, name);
    for (const node of readFlowFile(file)) {
      const owner = owners.get(node.id);
      if (owner !== undefined) {
        throw new ValidationError('FLOW_ID_COLLISION', `${file}: node id "${node.id}" is already used by ${owner}; give the node in this file a new id`, {
          path: file,
        });
      }
      owners.set(node.id, file);
      result.push(node);
    }
  }
  return result;
}

function handMadeFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.json'))
    .map((e) => e.name)
    .sort();
}

function readFlowFile(file: string): NodeRedFlow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ValidationError('FLOW_FILE_INVALID', `${file}: not valid JSON (${(err as Error).message})`, { path: file, cause: err });
  }
  if (!Array.isArray(parsed)) {
    throw new ValidationError('FLOW_FILE_INVALID', `${file}: must be a JSON array of Node-RED nodes`, { path: file });
  }
  parsed.forEach((node: unknown, i) => {
    const n = node as { id?: unknown; type?: unknown } | null;
    if (typeof n !== 'object' || n === null || typeof n.id !== 'string' || !n.id || typeof n.type !== 'string') {
      throw new ValidationError('FLOW_FILE_INVALID', `${file}: item ${i} is not a Node-RED node (an object with string "id" and "type")`, { path: file });
    }
  });
  return parsed as NodeRedFlow[];
}
