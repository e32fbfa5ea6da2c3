/**
 * The spread over a dataset's prompts (AnalysisOutput.spread) as the panel and the HTML report show it:
 * "mean ± standard deviation" in each cell's and bar's hover, sliced with the values for three-axis
 * heatmaps and the extreme neurons.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { analysisSections } from '../../webview/analysis/data';
import { figuresOf } from '../../src/protocol/figures';
import { htmlReport } from '../../src/cli/report/html';
import type { AnalysisOutput } from '../../src/protocol/analysis';

const heads: AnalysisOutput = {
  name: 'heads', kind: 'patching', valueLabel: 'normalized logit difference',
  axes: [{ name: 'layer', labels: ['0', '1'] }, { name: 'head', labels: ['H0', 'H1'] }],
  values: [0, 0.5, -0.25, 1], spread: [0.01, 0.125, 0.5, 0], scale: 'diverging',
};

test('a heatmap cell\'s hover and tooltip give the mean and its spread', () => {
  const [plot] = analysisSections(heads, 800)[0].plots;
  assert.ok(plot.kind === 'heatmap');
  assert.match(plot.heatmap.hover[1][0], /normalized logit difference: -0\.250 ± 0\.500$/);
  assert.match(plot.heatmap.hover[0][1], /: 0\.500 ± 0\.125$/);
  assert.match(htmlReport('s', 'demo', [heads]), /<title>layer 1, head H0: -0\.250 ± 0\.500<\/title>/);
  const plain = analysisSections({ ...heads, spread: undefined }, 800)[0].plots[0];
  assert.ok(plain.kind === 'heatmap' && !plain.heatmap.hover[1][0].includes('±'), 'one prompt: no spread');
});

test('bars, three-axis heatmaps and the extreme neurons carry the spread of the values they show', () => {
  const bars: AnalysisOutput = { name: 'dla', kind: 'attribution', valueLabel: 'mean logit contribution', axes: [{ name: 'component', labels: ['embed', 'L0 attn'] }], values: [1.5, -2], spread: [0.25, 1] };
  const [plot] = analysisSections(bars, 800)[0].plots;
  assert.ok(plot.kind === 'bars');
  assert.match(plot.bars.series[0].hover[1], /mean logit contribution: -2\.00 ± 1\.00$/);
  const cube: AnalysisOutput = { ...heads, axes: [{ name: 'layer', labels: ['0', '1'] }, { name: 'head', labels: ['H0'] }, { name: 'position', labels: ['0', '1'] }] };
  assert.deepEqual(figuresOf(cube).map((f) => (f.kind === 'heatmap' ? f.spread : [])), [[0.01, 0.125], [0.5, 0]]);
  const neurons: AnalysisOutput = { name: 'n', kind: 'ablation', valueLabel: 'mean change', axes: [{ name: 'layer', labels: ['0'] }, { name: 'neuron', labels: ['N0', 'N1', 'N2'] }], values: [3, -1, 2], spread: [0.3, 0.1, 0.2] };
  const [top] = figuresOf(neurons);
  assert.ok(top.kind === 'bars');
  assert.deepEqual(top.spread, [0.3, 0.2, 0.1], 'highest first, each with its own spread');
});
