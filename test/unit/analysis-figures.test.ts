/** The shared reading of an AnalysisOutput (src/protocol/figures.ts) and token labels of partial UTF-8 bytes. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { AnalysisOutput } from '../../src/protocol/analysis';
import {
  cellSize, cellText, colourAt, colourScale, displayLabel, extremes, figuresOf, flowingToken, formatProbability, formatValue, histogram, inkOn, visibleToken,
  niceTicks, sharedRange, tickIndices, tickText,
} from '../../src/protocol/figures';
import { byteText } from '../../src/engine/analysis/token-label';

test('a shared range: symmetric around 0 when diverging, from 0 when sequential, never empty', () => {
  assert.deepEqual(sharedRange([[0.2, -0.5], [3]], 'diverging'), [-3, 3]);
  assert.deepEqual(sharedRange([Float32Array.of(0.25, 0.5)], 'sequential'), [0, 0.5]);
  assert.deepEqual(sharedRange([[0, NaN]], 'diverging'), [-1, 1]);
  assert.deepEqual(sharedRange([[]], 'sequential'), [0, 1]);
});

test('an output without a stated scale: diverging when signed; a stated range wins', () => {
  const o: AnalysisOutput = { name: 'x', kind: 'k', valueLabel: 'v', axes: [{ name: 'a', labels: ['0', '1'] }], values: [-1, 2] };
  assert.deepEqual(colourScale(o), { scale: 'diverging', range: [-2, 2] });
  assert.deepEqual(colourScale({ ...o, values: [1, 2] }), { scale: 'sequential', range: [0, 2] });
  assert.deepEqual(colourScale({ ...o, scale: 'sequential', range: [0, 1] }), { scale: 'sequential', range: [0, 1] });
});

test('colours: RdBu red below 0, near-white at 0, blue above; text colour that reads on each', () => {
  const c = { scale: 'diverging' as const, range: [-1, 1] as [number, number] };
  assert.equal(colourAt(c, -1), 'rgb(103,0,31)');
  assert.equal(colourAt(c, 0), 'rgb(247,247,247)');
  assert.equal(colourAt(c, 5), 'rgb(5,48,97)', 'clamped to the range');
  assert.equal(colourAt(c, NaN), undefined);
  assert.equal(colourAt({ scale: 'sequential', range: [0, 1] }, 0), 'rgb(247,251,255)');
  assert.equal(inkOn('rgb(5,48,97)'), '#ffffff');
  assert.equal(inkOn('#f7f7f7'), '#1a1a1a');
});

test('top and bottom selection: the k highest then the k lowest, highest first; all when few', () => {
  const v = [5, -1, 3, 0, -7, 2];
  assert.deepEqual(extremes(v, 2), [0, 2, 1, 4]);
  assert.deepEqual(extremes(v, 3), [0, 2, 5, 3, 1, 4]);
  assert.deepEqual(extremes([1, NaN, 2], 5), [2, 0]);
});

test('histogram bins: equal widths over the range, every value counted, the maximum in the last bin', () => {
  const h = histogram([0, 1, 2, 3, 4, NaN], 4);
  assert.deepEqual(h.edges, [0, 1, 2, 3, 4]);
  assert.deepEqual(h.counts, [1, 1, 1, 2]);
  assert.deepEqual(histogram([2, 2], 2), { edges: [1.5, 2, 2.5], counts: [0, 2] });
});

test('tick thinning: at most one label per 14 px', () => {
  assert.deepEqual(tickIndices(4, 56), [0, 1, 2, 3]);
  assert.deepEqual(tickIndices(10, 5), [0, 5]); // 14 px needs every 3rd: the round step is 5
  assert.equal(tickIndices(1000, 0.7).length, 50);
});

test('round ticks for colour bars and value axes', () => {
  assert.deepEqual(niceTicks(-4.92, 4.92), [-4, -2, 0, 2, 4]);
  assert.deepEqual(niceTicks(0, 1), [0, 0.5, 1]);
  assert.deepEqual(niceTicks(0, 0.01), [0, 0.005, 0.01]);
  assert.deepEqual([tickText(0.5), tickText(-2), tickText(0.0001234)], ['0.5', '-2', '0.000123']);
});

test('cells: square up to 56 px; many columns make thin columns and rows of at least 12 px', () => {
  assert.deepEqual(cellSize(2, 2, 600), { width: 56, height: 56 });
  assert.deepEqual(cellSize(12, 20, 600), { width: 30, height: 30 });
  const wide = cellSize(12, 1000, 700);
  assert.ok(wide.width < 1 && wide.height === 12);
  assert.equal(cellSize(500, 2, 600).height, 900 / 500, 'never over 900 px tall');
});

test('labels and numbers in words', () => {
  assert.equal(displayLabel('position', '12 " of"'), '12 ·of');
  assert.equal(displayLabel('query', '3 "\\n"'), '3 ↵');
  assert.equal(displayLabel('token', ' God'), '·God');
  assert.equal(displayLabel('head', 'H3'), 'H3');
  assert.deepEqual([0.989, 3.0538, -3.17494, 123.4, 0.0000123, 0].map(formatValue), ['0.989', '3.05', '-3.17', '123', '1.2e-5', '0']);
  assert.deepEqual([-0.001, 0.5, 12.34].map(cellText), ['0.00', '0.50', '12.3']);
  assert.deepEqual([0.234, 0.015, 0.0015, 0.00002].map(formatProbability), ['23%', '1.5%', '0.15%', '2.0e-5']);
});

test('figures: 1-D bars, 2-D heatmap, neurons as extremes and histogram, 3-D as one heatmap per index, 4-D none', () => {
  const base = { name: 'x', kind: 'k', valueLabel: 'v' };
  assert.deepEqual(figuresOf({ ...base, axes: [{ name: 'layer', labels: ['0', '1'] }], values: [1, 2] }).map((f) => f.kind), ['bars']);
  const heat = figuresOf({ ...base, axes: [{ name: 'layer', labels: ['0'] }, { name: 'head', labels: ['H0', 'H1'] }], values: [1, 2] });
  assert.equal(heat[0].kind === 'heatmap' && heat[0].headGrid, true);
  assert.deepEqual(figuresOf({ ...base, axes: [{ name: 'layer', labels: ['0'] }, { name: 'neuron', labels: ['N0', 'N1'] }], values: [1, 2] }).map((f) => f.kind), ['bars', 'histogram']);
  const facets = figuresOf({ ...base, axes: [{ name: 'layer', labels: ['0', '1'] }, { name: 'head', labels: ['H0'] }, { name: 'position', labels: ['0 "a"', '1 "b"'] }], values: [1, 2, 3, -4] });
  assert.deepEqual(facets.map((f) => f.title), ['layer 0', 'layer 1']);
  assert.ok(facets.every((f) => f.kind === 'heatmap' && f.colour.range[1] === 4), 'one range across the facets');
  assert.deepEqual(facets[1].kind === 'heatmap' && facets[1].values, [3, -4]);
  const four = { name: 'a', labels: ['0'] };
  assert.deepEqual(figuresOf({ ...base, axes: [four, four, four, four], values: [1] }), []);
  assert.deepEqual(figuresOf({ ...base, axes: [], values: [] }), []);
});

test('partial UTF-8 bytes show as <0xNN>, whole characters as text', () => {
  assert.equal(byteText(Uint8Array.of(0xe2, 0x80)), '<0xE2><0x80>');
  assert.equal(byteText(Uint8Array.of(0x20, 0xe2, 0x80, 0x99, 0x9d)), ' ’<0x9D>');
  assert.equal(byteText(new TextEncoder().encode('é😀')), 'é😀');
});

test('token labels show whitespace and control characters instead of boxes', () => {
  assert.equal(visibleToken(' the\n'), '·the↵');
  assert.equal(visibleToken('\u001b[0m'), '<0x1B>[0m');
  assert.equal(visibleToken('\u0000\u007f'), '<0x00><0x7F>');
  assert.equal(flowingToken('a\u0085b'), 'a<U+0085>b');
  assert.equal(flowingToken(' word'), ' word');
  assert.equal(visibleToken(''), '∅');
});
