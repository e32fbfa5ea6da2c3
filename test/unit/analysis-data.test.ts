import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { analysisPlots } from '../../webview/analysis/data';
import type { AnalysisOutput } from '../../src/protocol/analysis';

const colours = { background: '#000', positive: '#00f', negative: '#f00' };

test('a layer x head output becomes a clickable heatmap on a diverging scale', () => {
  const o: AnalysisOutput = {
    name: 'heads', kind: 'patching', valueLabel: 'normalized logit difference',
    axes: [{ name: 'layer', labels: ['0', '1'] }, { name: 'head', labels: ['H0', 'H1', 'H2'] }],
    values: [0, 0.5, -0.25, 1, 0, 0], notes: { clean: 3 },
  };
  const [plot] = analysisPlots(o, colours);
  assert.deepEqual(plot.heatmap.z, [[0, 0.5, -0.25], [1, 0, 0]]);
  assert.equal(plot.headGrid, true);
  assert.deepEqual([plot.heatmap.zmin, plot.heatmap.zmax], [-1, 1]);
  assert.equal(plot.heatmap.colorscale[1][1], '#000');
  assert.match(plot.heatmap.hover[0][2], /layer 0<br>head H2<br>normalized logit difference: -0.250/);
  assert.match(plot.note, /clean: 3\.00/);
});

test('one axis becomes a single column with the values written in; parts follow; text-only outputs give no plot', () => {
  const o: AnalysisOutput = {
    name: 'dla', kind: 'attribution', valueLabel: 'contribution', axes: [{ name: 'component', labels: ['embed', 'L0 attn'] }], values: [0.5, 2],
    parts: [{ name: 'heads', kind: 'attribution-heads', valueLabel: 'c', axes: [{ name: 'layer', labels: ['0'] }, { name: 'head', labels: ['H0'] }], values: [1] }],
  };
  const plots = analysisPlots(o, colours);
  assert.equal(plots.length, 2);
  assert.deepEqual(plots[0].heatmap.z, [[0.5], [2]]);
  assert.deepEqual(plots[0].heatmap.text, [['0.500'], ['2.00']]);
  assert.deepEqual([plots[0].heatmap.zmin, plots[0].heatmap.zmax], [0, 2]);
  assert.equal(plots[0].headGrid, false);
  assert.deepEqual(analysisPlots({ name: 'g', kind: 'generation', valueLabel: '', axes: [], values: [], texts: [{ label: 'x', text: 'y' }] }, colours), []);
});
