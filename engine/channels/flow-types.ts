/**
 * The JSON objects of a Node-RED flows file, as far as Wasl writes them.
 */

/** A tab (a "flow" in Node-RED's editor). */
export interface NodeRedTab {
  id: string;
  type: 'tab';
  label: string;
  disabled: boolean;
  info: string;
}

/** A regular node on a tab. `x`/`y` are required: without them Node-RED files it as a config node. */
export interface NodeRedNode {
  id: string;
  type: string;
  z: string;
  name: string;
  x: number;
  y: number;
  /** One array per output port, each holding the ids of the nodes it feeds. */
  wires: string[][];
  [property: string]: unknown;
}

/** One object of a flows file: a tab or a node (hand-made files may hold config nodes too). */
export type NodeRedFlow = NodeRedTab | NodeRedNode | { id: string; type: string; [property: string]: unknown };
