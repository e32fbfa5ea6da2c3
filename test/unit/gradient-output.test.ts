/**
 * How the gradient kinds' results are shown: verify's cells as bars by series with false negatives named
 * in their labels, the CLI's lines, and attribution-coloured tokens (red negative, blue positive).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { atpOutput, inputAttributionOutput } from '../../src/engine/analysis/gradient-outputs';
import type { AtpResult } from '../../src/engine/analysis/attribution-patching';
import type { AtpVerification } from '../../src/protocol/analysis';
import { DIVERGING_STOPS, figuresOf, sequenceSpans } from '../../src/protocol/figures';
import { gradientLines } from '../../src/cli/report/gradient-text';

const result: AtpResult = {
  target: 'resid_pre', method: 'atp', metric: 'logit difference', direction: 'denoise', layers: [0, 1], units: ['pos 0 "a"', 'pos 1 "b"'],
  values: Float32Array.from([0.9, 0.0, 0.01, 0.02]), clean: 3, corrupted: -1,
};
const check: AtpVerification = {
  cells: [
    { label: 'layer 0, pos 0 "a"', layer: 0, unit: 'pos 0 "a"', estimate: 0.9, exact: 1, chosen: 'top', falseNegative: false },
    { label: 'layer 0, pos 1 "b"', layer: 0, unit: 'pos 1 "b"', estimate: 0, exact: 0.8, chosen: 'sample', falseNegative: true },
  ],
  spearman: NaN, bar: 0.1, fraction: 0.1, sampled: 1, rest: 3, falseNegatives: 1, sampledFalseNegatives: 1, seed: 0,
};
const axes = { layer: { name: 'layer', labels: ['0', '1'] }, head: { name: 'head', labels: ['H0'] }, position: { name: 'position', labels: ['0 "a"', '1 "b"'] } };

test('attribution patching: a layer x position heatmap, and verify as estimate/exact bars with the false negative named', () => {
  const out = atpOutput('t', result, 'logit difference', axes, 'the residual stream', check);
  assert.deepEqual(out.axes.map((a) => a.name), ['layer', 'position']);
  assert.equal(figuresOf(out)[0].kind, 'heatmap');
  const part = out.parts![0];
  assert.deepEqual(part.axes[0].labels, ['layer 0, pos 0 "a"', 'layer 0, pos 1 "b" (random, false negative)']);
  assert.deepEqual(part.values, [0.9, 1, 0, 0.8]);
  const [bars] = figuresOf(part);
  assert.equal(bars.kind === 'bars' && bars.series?.labels.join(), 'estimate,exact');
  const lines = gradientLines(out);
  assert.match(lines[0], /Spearman undefined over the top 1; 1 false negative/);
  assert.match(lines.find((l) => l.includes('pos 1'))!, /drawn, FALSE NEGATIVE$/);
});

test('input attribution: tokens coloured red for negative, blue for positive, white at 0, the value in the title', () => {
  const out = inputAttributionOutput('t', { values: Float64Array.from([-2, 0, 2]), metric: 1, baselineMetric: 1, sum: 0, baseline: 'zero', steps: 4 }, 'logit difference', axes.position, ['a', 'b', 'c']);
  const spans = sequenceSpans(out.sequences![0]);
  const rgb = (hex: string) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(',')})`;
  assert.deepEqual(spans.map((s) => s.background), [rgb(DIVERGING_STOPS[0]), rgb(DIVERGING_STOPS[5]), rgb(DIVERGING_STOPS[10])]);
  assert.match(spans[0].title, /attribution to logit difference -2/);
});
