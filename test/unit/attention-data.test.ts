import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttentionPayload } from '../../src/protocol/panels';
import { attendedBy, attendsTo, headHeatmap, headMatrix, headName, stripTokens } from '../../webview/attention/data';

/** 1 layer (layer 3 of the model), 2 heads, 3 tokens; head 1 is head 0 doubled where visible. */
function payload(): AttentionPayload {
  // [layer, head, q, k]
  const data = new Float32Array([
    1, 0, 0, 0.25, 0.75, 0, 0.2, 0.3, 0.5, // head 0
    1, 0, 0, 0.5, 0.5, 0, 0.1, 0.1, 0.8, // head 1
  ]);
  return {
    view: 'attention',
    source: { kind: 'prompt', model: 'm', prompt: 'ab' },
    model: 'm',
    tokens: [{ text: '<|endoftext|>', start: 0, end: 0 }, { text: 'a<b>', start: 0, end: 1 }, { text: ' c', start: 1, end: 3 }],
    nHeads: 2,
    layers: [3],
    patterns: { dims: [1, 2, 3, 3], data },
    focus: { layer: 3, head: 1 },
  };
}

test('head matrix masks the upper triangle with null', () => {
  assert.deepEqual(headMatrix(payload(), { layerIdx: 0, head: 0 }), [[1, null, null], [0.25, 0.75, null], [0.2, 0.3, 0.5]].map((r) => r.map((v) => (v === null ? null : Math.fround(v)))));
  assert.equal(headName(payload(), { layerIdx: 0, head: 1 }), 'L3H1');
});

test('attends-to is a row, attended-by a column of visible cells', () => {
  const p = payload();
  assert.deepEqual(attendsTo(p, { layerIdx: 0, head: 1 }, 1), [0.5, 0.5, 0]);
  assert.deepEqual(attendedBy(p, { layerIdx: 0, head: 0 }, 1), [0, 0.75, Math.fround(0.3)]);
});

test('the large heatmap: escaped unique labels, masked hover, outlined locked row', () => {
  const h = headHeatmap(payload(), { layerIdx: 0, head: 0 }, [[0, '#000'], [1, '#00f']], 2);
  assert.deepEqual(h.xLabels, ['0 &lt;|endoftext|&gt;', '1 a&lt;b&gt;', '2 ·c']);
  assert.match(h.hover[0][2], /masked/);
  assert.match(h.hover[2][1], /weight 30%/);
  assert.deepEqual(h.outlines, [{ row: 2, col: 0 }, { row: 2, col: 1 }, { row: 2, col: 2 }]);
  assert.equal(h.zmax, 1);
  assert.equal(h.yDown, true);
});

test('token strip shows whitespace and weights', () => {
  const s = stripTokens(payload(), [0, 0.5, 0.5]);
  assert.equal(s[2].text, '·c');
  assert.equal(s[1].weight, 0.5);
  assert.match(s[1].title, /50%/);
});
