/** The analysis panel's data module: what each output draws, without the DOM. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { analysisSections } from '../../webview/analysis/data';
import { wrapWords } from '../../src/protocol/figures';
import type { AnalysisOutput } from '../../src/protocol/analysis';

const WIDTH = 800;

test('a 2 x 2 layer x head grid: square cells with the values printed, axis titles, the stated range, a titled colour bar', () => {
  const o: AnalysisOutput = {
    name: 'heads', kind: 'patching', valueLabel: 'normalized logit difference',
    axes: [{ name: 'layer', labels: ['0', '1'] }, { name: 'head', labels: ['H0', 'H1'] }],
    values: [0, 0.5, -0.25, 2], scale: 'diverging', range: [-2, 2], summary: "logit difference ' God' - ' Israel': clean 3.05, corrupted -3.17",
  };
  const [section] = analysisSections(o, WIDTH);
  assert.equal(section.summary, "logit difference ' God' - ' Israel': clean 3.05, corrupted -3.17");
  const [plot] = section.plots;
  assert.equal(plot.kind, 'heatmap');
  if (plot.kind !== 'heatmap') return;
  const h = plot.heatmap;
  assert.equal(plot.headGrid, true);
  assert.deepEqual(h.z, [[0, 0.5], [-0.25, 2]]);
  assert.deepEqual([h.zmin, h.zmax], [-2, 2], 'the range the output states, not its own');
  assert.deepEqual([h.xTitle, h.yTitle], ['head', 'layer']);
  const cellW = (h.width! - h.margin!.l - h.margin!.r) / 2;
  const cellH = (h.height - h.margin!.t - h.margin!.b) / 2;
  assert.ok(cellW >= 30 && cellH >= 30, `cells of ${cellW} x ${cellH} px`);
  assert.ok(h.margin!.b + h.margin!.t + 2 * cellW >= h.height - 1 && Math.abs(cellW - 56) < 1e-9, 'square cells of the largest size');
  assert.deepEqual(h.text, [['0.00', '0.50'], ['-0.25', '2.00']]);
  assert.equal(h.textColours![1][1], '#ffffff', 'white on the dark blue of the maximum');
  assert.equal(h.textColours![0][0], '#1a1a1a', 'dark on the near-white of 0');
  assert.equal(h.colorscale[0][1], '#67001f', 'RdBu: red at the low end');
  assert.equal(h.colorscale[h.colorscale.length - 1][1], '#053061', 'blue at the high end');
  assert.equal(h.colorbarTitle, 'normalized logit<br>difference');
  assert.ok(h.colorbarStyle!.thickness >= 14 && h.colorbarStyle!.nticks <= 6);
  assert.match(h.hover[1][0], /^layer 1<br>head H0<br>normalized logit difference: -0\.250$/);
  assert.deepEqual(plot.data, { dims: ['layer', 'head'], shape: [2, 2], values: Float32Array.of(0, 0.5, -0.25, 2), labels: { layer: ['0', '1'], head: ['H0', 'H1'] }, valueLabel: 'normalized logit difference', scale: 'diverging' });
});

test('layer x position: token labels "12 ·of", ticks thinned to one per 14 px, no cell text in small cells', () => {
  const positions = Array.from({ length: 200 }, (_, p) => `${p} ${JSON.stringify(p % 2 ? ' of' : 'x')}`);
  const o: AnalysisOutput = {
    name: 'resid', kind: 'patching', valueLabel: 'normalized logit difference',
    axes: [{ name: 'layer', labels: ['0', '1', '2'] }, { name: 'position', labels: positions }], values: new Array(600).fill(0.5),
  };
  const [{ plots: [plot] }] = analysisSections(o, WIDTH);
  if (plot.kind !== 'heatmap') return assert.fail('a heatmap');
  const h = plot.heatmap;
  assert.equal(h.xLabels[1], '1 ·of');
  assert.equal(h.xTitle, 'position');
  const cell = (h.width! - h.margin!.l - h.margin!.r) / 200;
  assert.ok(cell < 14, 'too many columns for square cells at this width');
  assert.ok(h.xTicks!.length < 200 && h.xTicks![1] * cell >= 14, `one tick per ${h.xTicks![1]} columns of ${cell} px`);
  assert.equal(h.text, undefined);
  assert.equal(h.xTickAngle, -60);
  assert.equal(plot.data.labels.position[1], '1 ·of');
});

test('one axis: horizontal bars with labels, coloured by sign, on the shared range', () => {
  const o: AnalysisOutput = {
    name: 'dla', kind: 'attribution', valueLabel: 'logit difference contribution', summary: "logit difference ' God' - ' Israel' 2.31 = sum of contributions 2.31",
    axes: [{ name: 'component', labels: ['embed', 'L0 attn', 'L0 mlp'] }], values: [0.5, -1, 2], scale: 'diverging', range: [-4, 4],
    parts: [{ name: 'dla: heads', kind: 'attribution-heads', valueLabel: 'logit difference contribution', axes: [{ name: 'layer', labels: ['0'] }, { name: 'head', labels: ['H0', 'H1'] }], values: [1, -3], scale: 'diverging', range: [-4, 4] }],
  };
  const sections = analysisSections(o, WIDTH);
  assert.equal(sections.length, 2);
  const [bars] = sections[0].plots;
  if (bars.kind !== 'bars') return assert.fail('bars');
  assert.equal(bars.bars.orientation, 'h');
  assert.deepEqual(bars.bars.labels, ['embed', 'L0 attn', 'L0 mlp']);
  assert.deepEqual(bars.bars.series[0].values, [0.5, -1, 2]);
  assert.deepEqual(bars.bars.series[0].colours, ['#2166ac', '#b2182b', '#2166ac']);
  assert.deepEqual(bars.bars.series[0].text, ['0.500', '-1.00', '2.00']);
  assert.deepEqual([bars.bars.valueTitle, bars.bars.positionTitle], ['logit difference contribution', 'component']);
  assert.ok(bars.bars.valueRange![0] < -4 && bars.bars.valueRange![1] > 4, 'the shared range, with room for the values');
  const [heads] = sections[1].plots;
  if (heads.kind !== 'heatmap') return assert.fail('a heatmap');
  assert.deepEqual([heads.heatmap.zmin, heads.heatmap.zmax], [-4, 4], 'heads on the components\' range');
  assert.equal(sections[1].title, 'dla: heads');
});

test('neurons: the 20 highest and 20 lowest as bars labelled "L0 N123", and a histogram of all', () => {
  const values = Array.from({ length: 512 }, (_, i) => (i - 256) / 256); // N0 lowest, N511 highest
  const o: AnalysisOutput = {
    name: 'neurons', kind: 'ablation', valueLabel: 'change of logit difference',
    axes: [{ name: 'layer', labels: ['3'] }, { name: 'neuron', labels: values.map((_, i) => `N${i}`) }], values,
  };
  const [{ plots }] = analysisSections(o, WIDTH);
  assert.equal(plots.length, 2);
  const [bars, hist] = plots;
  if (bars.kind !== 'bars' || hist.kind !== 'bars') return assert.fail('bars and a histogram');
  assert.equal(bars.bars.labels!.length, 40);
  assert.deepEqual(bars.bars.labels!.slice(0, 2), ['L3 N511', 'L3 N510']);
  assert.equal(bars.bars.labels![39], 'L3 N0');
  assert.equal(bars.title, 'the 20 highest and 20 lowest of 512 neurons');
  assert.ok(bars.bars.ticks!.length === 40, 'every bar labelled (20 px rows)');
  assert.equal(hist.bars.orientation, 'v');
  assert.equal(hist.bars.series[0].values.reduce((a, b) => a + b, 0), 512);
  assert.equal(hist.bars.series[0].values.length, 23, 'about sqrt(512) bins');
  assert.equal(hist.title, 'all 512 neurons');
  assert.deepEqual(hist.data.dims, ['bin']);
});

test('grouped: bars by series with a legend, on a log axis when the values span decades', () => {
  const o: AnalysisOutput = {
    name: 'probs', kind: 'steering-probabilities', valueLabel: 'next-token probability', grouped: true, scale: 'sequential',
    axes: [{ name: 'token', labels: [' Egypt', 'x'] }, { name: 'steering', labels: ['without', 'with'] }], values: [0.001, 0.3, 0.00002, 0.00001],
  };
  const [{ plots: [plot] }] = analysisSections(o, WIDTH);
  if (plot.kind !== 'bars') return assert.fail('bars');
  assert.deepEqual(plot.bars.series.map((s) => s.name), ['without', 'with']);
  assert.deepEqual(plot.bars.series[1].values, [0.3, 0.00001]);
  assert.deepEqual(plot.bars.labels, ['·Egypt', 'x']);
  assert.equal(plot.bars.log, true);
  assert.deepEqual(plot.bars.series[1].text, ['30%', '1.0e-5']);
  assert.deepEqual(plot.data.shape, [2, 2]);
});

test('token sequences: prompt tokens plain, generated ones coloured by probability; texts only without sequences', () => {
  const o: AnalysisOutput = {
    name: 'g', kind: 'generation', valueLabel: '', axes: [], values: [],
    texts: [{ label: 'continuation', text: 'Hi there' }],
    sequences: [{ label: 'continuation', tokens: [{ text: 'Hi' }, { text: ' there', prob: 0.95 }, { text: '\n', prob: 0.02 }] }],
  };
  const [section] = analysisSections(o, WIDTH);
  assert.equal(section.plots.length, 0);
  assert.deepEqual(section.texts, []);
  const [seq] = section.sequences;
  assert.deepEqual(seq.tokens[0], { text: 'Hi', title: '"Hi" (prompt)' });
  assert.equal(seq.tokens[1].text, ' there');
  assert.equal(seq.tokens[1].title, '" there": probability 95%');
  assert.equal(seq.tokens[1].ink, '#ffffff');
  assert.equal(seq.tokens[2].text, '↵');
  assert.equal(seq.tokens[2].ink, '#1a1a1a');
  assert.deepEqual(analysisSections({ ...o, sequences: undefined }, WIDTH)[0].texts, o.texts);
});

test('plotly text is escaped and the colour bar title wraps', () => {
  const o: AnalysisOutput = { name: 'x', kind: 'steering', valueLabel: 'logit change', axes: [{ name: 'token', labels: ['<b>'] }], values: [1] };
  const [{ plots: [plot] }] = analysisSections(o, WIDTH);
  if (plot.kind !== 'bars') return assert.fail('bars');
  assert.deepEqual(plot.bars.labels, ['&lt;b&gt;']);
  assert.match(plot.bars.series[0].hover[0], /^&lt;b&gt;<br>/);
  assert.deepEqual(wrapWords('change of logit difference', 18), ['change of logit', 'difference']);
});
