import assert from 'node:assert/strict';
import { mergeEditorFlows } from '../../../engine/server/editor-flows';
import type { NodeRedFlow } from '../../../engine/channels/flow-types';

const compiledInfo = 'Compiled from channels.yaml channel x. Edit channels.yaml, not this tab.';

describe('engine/server/editor-flows', () => {
  const generated: NodeRedFlow[] = [
    { id: 'tabA', type: 'tab', label: 'A', info: compiledInfo },
    { id: 'a1', type: 'wasl-queue', z: 'tabA' },
  ];
  const previous: NodeRedFlow[] = [
    { id: 'tabA', type: 'tab', label: 'A (old)', info: compiledInfo },
    { id: 'a1', type: 'wasl-queue', z: 'tabA', old: true },
    { id: 'a2', type: 'wasl-filter', z: 'tabA' },
    { id: 'gone', type: 'tab', label: 'deleted channel', info: compiledInfo },
    { id: 'g1', type: 'wasl-mllp-in', z: 'gone' },
    { id: 'mine', type: 'tab', label: 'made in the editor' },
    { id: 'm1', type: 'inject', z: 'mine' },
    { id: 'cfg', type: 'mqtt-broker' },
  ];

  it('keeps editor-made tabs, their nodes and config nodes; regenerates compiled tabs', () => {
    const merged = mergeEditorFlows(previous, generated);
    assert.deepEqual(merged.map((n) => n.id), ['tabA', 'a1', 'mine', 'm1', 'cfg']);
    assert.equal((merged[1] as { old?: boolean }).old, undefined, 'compiled node comes from the new compile');
  });

  it('drops the tab of a channel removed from channels.yaml', () => {
    const merged = mergeEditorFlows(previous, []);
    assert.ok(!merged.some((n) => n.id === 'gone' || n.id === 'g1'));
  });
});
