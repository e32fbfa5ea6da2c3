import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogitLensPayload } from '../../src/protocol/panels';
import { colourings, lensHeatmap } from '../../webview/logit-lens/data';

/** 2 components x 2 positions x k=2. */
function payload(withTarget: boolean): LogitLensPayload {
  return {
    view: 'logitLens',
    source: { kind: 'prompt', model: 'm', prompt: 'x' },
    model: 'm',
    tokens: [{ text: 'A', start: 0, end: 1 }, { text: ' B', start: 1, end: 3 }],
    labels: ['0_pre', 'final_post'],
    k: 2,
    // [component, pos, k]
    topTexts: ['a', 'b', 'c', 'd', ' averyverylongtoken', 'f', '<g>', 'h'],
    topProbs: new Float32Array([0.5, 0.25, 0.4, 0.3, 0.9, 0.05, 0.6, 0.2]),
    target: withTarget ? { text: ' B', probs: new Float32Array([0.1, 0.2, 0.3, 0.6]), ranks: new Int32Array([0, 9, 99, 0]) } : undefined,
  };
}

test('cells show the top token coloured by its probability', () => {
  const h = lensHeatmap(payload(false), 'topProb', [[0, '#000'], [1, '#00f']]);
  assert.deepEqual(h.z, [[0.5, Math.fround(0.4)], [Math.fround(0.9), Math.fround(0.6)]]);
  assert.deepEqual(h.text, [['a', 'c'], ['·averyv…', '&lt;g&gt;']]);
  assert.deepEqual(h.yLabels, ['0_pre', 'final_post']);
  assert.equal(h.yDown, false);
  assert.match(h.hover[1][1], /1\. "&lt;g&gt;" 60%<br>2\. "h" 20%/);
  assert.deepEqual(colourings(payload(false)), ['topProb']);
});

test('target colourings: probability, and rank on a log scale with the scale reversed', () => {
  const p = payload(true);
  assert.deepEqual(colourings(p), ['targetProb', 'targetRank', 'topProb']);
  assert.deepEqual(lensHeatmap(p, 'targetProb', [[0, '#000'], [1, '#00f']]).z, [[0.1, 0.2], [0.3, 0.6]].map((r) => r.map(Math.fround)));
  const r = lensHeatmap(p, 'targetRank', [[0, '#000'], [1, '#00f']]);
  assert.deepEqual(r.z, [[0, 1], [2, 0]]);
  assert.deepEqual(r.colorscale, [[0, '#00f'], [1, '#000']]);
  assert.deepEqual(r.colorbarTicks?.labels, ['1', '10', '100']);
  assert.match(r.hover[1][0], /target " B": 30%, rank 100/);
});
