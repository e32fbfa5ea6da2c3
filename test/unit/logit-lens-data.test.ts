import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LensMode, LogitLensPayload } from '../../src/protocol/panels';
import { LensScales, MIN_CELL_PX, cellAreaPx, cellChars, colouringLabel, colourings, lensHeatmap, lensLegend, lensPlotData, positionWindow } from '../../webview/logit-lens/data';

const SCALES: LensScales = { sequential: [[0, '#000'], [1, '#00f']], diverging: [[0, '#f00'], [0.5, '#000'], [1, '#00f']] };
/** Wide enough for 8 characters per cell at 2 positions. */
const WIDE = { cellAreaPx: 400 };

/** 2 components x 2 positions x k=2. */
function payload(withTarget: boolean, mode: LensMode = 'resid'): LogitLensPayload {
  return {
    view: 'logitLens',
    source: { kind: 'prompt', model: 'm', prompt: 'x' },
    model: 'm',
    tokens: [{ text: 'A', start: 0, end: 1 }, { text: ' B', start: 1, end: 3 }],
    mode,
    labels: mode === 'resid' ? ['0_pre', 'final_post'] : ['embed', '0_attn_out'],
    k: 2,
    // [component, pos, k]
    topTexts: ['a', 'b', 'c', 'd', ' averyverylongtoken', 'f', '<g>', 'h'],
    topValues: mode === 'resid' ? new Float32Array([0.5, 0.25, 0.4, 0.3, 0.9, 0.05, 0.6, 0.2]) : new Float32Array([2, 1, 3.5, 1, 1.25, 0.5, 4, 3]),
    target: withTarget ? { text: ' B', values: mode === 'resid' ? new Float32Array([0.1, 0.2, 0.3, 0.6]) : new Float32Array([-3, 0.5, 1, 2]), ranks: new Int32Array([0, 9, 99, 0]) } : undefined,
  };
}

/** Components x positions with distinct top tokens, as a 12-layer model's resid lens has. */
function research(nComp: number, pos: number): LogitLensPayload {
  const k = 5;
  return {
    view: 'logitLens', source: { kind: 'prompt', model: 'gpt2', prompt: 'x' }, model: 'gpt2',
    tokens: Array.from({ length: pos }, (_, i) => ({ text: ` w${i}`, start: i, end: i + 1 })),
    mode: 'resid',
    labels: Array.from({ length: nComp }, (_, c) => (c === nComp - 1 ? 'final_post' : `${c >> 1}_${c % 2 ? 'mid' : 'pre'}`)),
    k,
    topTexts: Array.from({ length: nComp * pos * k }, (_, i) => ` tok${i % 997}`),
    topValues: Float32Array.from({ length: nComp * pos * k }, (_, i) => 1 / (2 + (i % k))),
    target: { text: ' x', values: Float32Array.from({ length: nComp * pos }, (_, i) => (i % 100) / 100), ranks: Int32Array.from({ length: nComp * pos }, (_, i) => i % 5000) },
  };
}

test('cells show the top token coloured by its probability', () => {
  const h = lensHeatmap(payload(false), 'top', SCALES, { from: 0, to: 2, ...WIDE });
  assert.deepEqual(h.z, [[0.5, Math.fround(0.4)], [Math.fround(0.9), Math.fround(0.6)]]);
  assert.deepEqual(h.text, [['a', 'c'], ['·averyv…', '&lt;g&gt;']]);
  assert.deepEqual(h.yLabels, ['0_pre', 'final_post']);
  assert.deepEqual([h.xTitle, h.yTitle, h.colorbarTitle, h.zmin, h.zmax], ['position', 'residual stream', 'prob', 0, 1]);
  assert.equal(h.yDown, false);
  assert.match(h.hover[1][1], /1\. "&lt;g&gt;" 60%<br>2\. "h" 20%/);
  assert.deepEqual(colourings(payload(false)), ['top']);
  assert.match(lensLegend(payload(false)), /final norm afresh/);
});

test('target colourings: probability, and rank on a log scale with the scale reversed', () => {
  const p = payload(true);
  assert.deepEqual(colourings(p), ['target', 'targetRank', 'top']);
  assert.deepEqual(lensHeatmap(p, 'target', SCALES, { from: 0, to: 2, ...WIDE }).z, [[0.1, 0.2], [0.3, 0.6]].map((r) => r.map(Math.fround)));
  const r = lensHeatmap(p, 'targetRank', SCALES, { from: 0, to: 2, ...WIDE });
  assert.deepEqual(r.z, [[0, 1], [2, 0]]);
  assert.deepEqual(r.colorscale, [[0, '#00f'], [1, '#000']]);
  assert.deepEqual(r.colorbarTicks?.labels, ['1', '10', '100']);
  assert.match(r.hover[1][0], /target " B": 30%, rank 100/);
  assert.equal(colouringLabel('target', p), 'Probability of " B"');
});

test('the decomposed view: direct logits, the target on a diverging scale centred at 0, the normalisation in the legend', () => {
  const p = payload(true, 'decomposed');
  const h = lensHeatmap(p, 'target', SCALES, { from: 0, to: 2, ...WIDE });
  assert.deepEqual([h.zmin, h.zmax, h.colorscale, h.colorbarTitle, h.yTitle], [-3, 3, SCALES.diverging, 'logit', 'component']);
  assert.deepEqual(h.yLabels, ['embed', '0_attn_out']);
  assert.match(h.hover[0][1], /1\. "c" \+3\.50<br>2\. "d" \+1\.00<br>target " B": \+0\.50, rank 10/);
  assert.match(h.hover[0][0], /target " B": -3\.00, rank 1/);
  assert.equal(colouringLabel('target', p), 'Direct logit of " B"');
  const top = lensHeatmap(p, 'top', SCALES, { from: 0, to: 2, ...WIDE });
  assert.deepEqual([top.zmin, top.zmax, top.colorscale], [0, 4, SCALES.sequential]);
  assert.match(lensLegend(p), /divided by the final norm scale of the final residual at that position \(apply_ln_to_stack\)/);
  const data = lensPlotData(p, 'target');
  assert.deepEqual([data.dims, data.shape, Array.from(data.values), data.scale], [['component', 'position'], [2, 2], [-3, 0.5, 1, 2], 'diverging']);
  assert.deepEqual(data.labels, { component: ['embed', '0_attn_out'], position: ['0 A', '1 ·B'] });
  assert.deepEqual(Array.from(lensPlotData(payload(true), 'targetRank').values), [1, 10, 100, 1]);
});

test('cell text only where it fits; colour only otherwise, the token still on hover', () => {
  assert.equal(cellChars(60, 26), 8);
  assert.equal(cellChars(30, 26), 3);
  assert.equal(cellChars(12, 26), 0);
  assert.equal(cellChars(60, 10), 0);
  // A narrow split editor: two positions in 24 px.
  const narrow = lensHeatmap(payload(false), 'top', SCALES, { from: 0, to: 2, cellAreaPx: 24 });
  assert.equal(narrow.text, undefined);
  assert.match(narrow.hover[1][0], /1\. " averyverylongtoken" 90%/);
  const mid = lensHeatmap(payload(false), 'top', SCALES, { from: 0, to: 2, cellAreaPx: 70 });
  assert.deepEqual(mid.text, [['a', 'c'], ['·av…', '&lt;g&gt;']]);
});

test('research scale: 25 rows x 1,000 positions stay readable (thinned ticks, a window of positions) and fast', () => {
  const p = research(25, 1000);
  const px = cellAreaPx(800);
  // Too many positions for the width: a window as wide as fits at MIN_CELL_PX, opening at the end.
  const end = positionWindow(1000, px, 1000, false);
  assert.deepEqual(end, { from: 1000 - Math.floor(px / MIN_CELL_PX), to: 1000 });
  assert.deepEqual(positionWindow(1000, px, 10, false), { from: 10, to: 10 + Math.floor(px / MIN_CELL_PX) });
  assert.deepEqual(positionWindow(40, px, 30, false), { from: 0, to: 40 }, 'all of them when they fit');
  const t0 = performance.now();
  const win = lensHeatmap(p, 'target', SCALES, { ...end, cellAreaPx: px, selected: { row: 3, pos: 999 } });
  const windowMs = performance.now() - t0;
  assert.equal(win.z[0].length, end.to - end.from);
  assert.equal(win.text, undefined, 'cells of 8 px hold no text');
  const ticks = win.xTicks!;
  assert.ok(ticks.length <= px / 14 + 1, `${ticks.length} ticks in ${px} px`);
  assert.ok(ticks.every((t, i) => i === 0 || (t - ticks[i - 1]) * (px / (end.to - end.from)) >= 14), 'at most one tick per 14 px');
  assert.deepEqual(win.outlines, [{ row: 3, col: 999 - end.from }]);
  assert.equal(win.xGap, 1);
  // Every position at once: colour only, ticks thinned to round steps.
  const t1 = performance.now();
  const all = lensHeatmap(p, 'target', SCALES, { from: 0, to: 1000, cellAreaPx: px });
  const allMs = performance.now() - t1;
  assert.equal(all.z[24].length, 1000);
  assert.deepEqual([all.text, all.xGap], [undefined, 0], 'no text, and no gaps between sub-pixel columns');
  assert.ok(all.xTicks!.length <= px / 14 + 1 && all.xTicks!.length >= 10, `${all.xTicks!.length} ticks`);
  assert.ok(all.xTicks!.every((t) => t % 50 === 0), 'round tick steps');
  assert.equal(all.xLabels.length, 1000, 'every position keeps its label for the hover');
  assert.ok(windowMs < 100 && allMs < 1500, `heatmap built in ${windowMs.toFixed(1)} ms (window), ${allMs.toFixed(0)} ms (all)`);
  // Wide cells (a zoomed-in window) get text again.
  const zoom = lensHeatmap(p, 'top', SCALES, { from: 100, to: 110, cellAreaPx: px });
  assert.equal(zoom.text?.[0].length, 10);
  assert.deepEqual(zoom.xLabels[0], '100 ·w100');
  assert.equal(lensPlotData(p, 'top').values.length, 25 * 1000);
});
