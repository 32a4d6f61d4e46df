/**
 * At each start the flows file is written anew from channels.yaml and flows/*.json. Tabs an
 * analyst made in the editor (and deployed) live only in the previous flows file, so they are
 * carried over; compiled tabs are not (channels.yaml is their source, and a channel deleted from
 * it must stop), which is why compiled tabs carry a recognisable `info` line.
 */
import fs from 'node:fs';
import type { NodeRedFlow } from '../channels/flow-types';

const COMPILED_MARK = 'Compiled from channels.yaml';

export function isCompiledTab(node: NodeRedFlow): boolean {
  return node.type === 'tab' && typeof node.info === 'string' && node.info.startsWith(COMPILED_MARK);
}

/** `generated` plus the editor-made tabs (with their nodes) and config nodes of `previous`. */
export function mergeEditorFlows(previous: NodeRedFlow[], generated: NodeRedFlow[]): NodeRedFlow[] {
  const taken = new Set(generated.map((n) => n.id));
  const editorTabs = new Set(previous.filter((n) => n.type === 'tab' && !isCompiledTab(n) && !taken.has(n.id)).map((n) => n.id));
  const kept = previous.filter((n) => {
    if (taken.has(n.id)) return false;
    if (n.type === 'tab') return editorTabs.has(n.id);
    const z = (n as { z?: unknown }).z;
    // Config nodes (no tab) made in the editor are kept; nodes on compiled or removed tabs are not.
    return z === undefined || z === '' ? true : editorTabs.has(String(z));
  });
  return [...generated, ...kept];
}

/** Reads the previous flows file; a missing or unreadable one means no editor-made flows. */
export function readPreviousFlows(file: string): NodeRedFlow[] {
  try {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return Array.isArray(parsed) ? (parsed as NodeRedFlow[]) : [];
  } catch {
    return [];
  }
}
