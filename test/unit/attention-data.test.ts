import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttentionPayload, HeadValues } from '../../src/protocol/panels';
import { THUMB_MASKED } from '../../src/protocol/panels';
import { cellText, columnOf, headMaxOf, headName, headPlotData, rowOf, thumbnailOf, tokenLabel } from '../../webview/attention/data';
import { clampWindow, extent, paint, poolWindow, thumbnailValues } from '../../webview/attention/raster';
import { thinTicks } from '../../webview/ticks';

const tokens = [{ text: '<|endoftext|>', start: 0, end: 0 }, { text: 'a<b>', start: 0, end: 1 }, { text: ' c', start: 1, end: 3 }];

/** Head L3H1 over all 3 tokens: [query, key], masked NaN. */
function head(hook: 'pattern' | 'attn_scores' = 'pattern'): HeadValues {
  const values = new Float32Array([1, NaN, NaN, 0.25, 0.75, NaN, 0.2, 0.3, 0.5]);
  return { layer: 3, head: 1, hook, from: 0, to: 3, values: hook === 'pattern' ? values : values.map((v) => v * 4 - 2) };
}

test('labels, hover text and a query row or key column of a head', () => {
  const hv = head();
  assert.equal(headName(hv), 'L3H1');
  assert.equal(tokenLabel(tokens, 2), '2 ·c');
  assert.equal(cellText(tokens, hv, 2, 1), 'L3H1 weight: query 2 ·c → key 1 a<b>: 30%');
  assert.match(cellText(tokens, hv, 0, 2), /cannot see key 2 ·c \(masked\)/);
  assert.deepEqual(Array.from(rowOf(hv, 1)), [0.25, 0.75, NaN]);
  assert.deepEqual(Array.from(columnOf(hv, 1)), [NaN, 0.75, Math.fround(0.3)]);
  const d = headPlotData(tokens, head('attn_scores'));
  assert.deepEqual([d.dims, d.shape, d.scale, d.labels.key], [['query', 'key'], [3, 3], 'diverging', ['0 <|endoftext|>', '1 a<b>', '2 ·c']]);
});

test('thumbnails are found by layer and head; a thumbnail previews the head in its units', () => {
  const size = 2;
  const p = { layers: [3, 5], nHeads: 2, thumbnails: { size, data: Uint8Array.from({ length: 16 }, (_, i) => i) }, headMax: new Float32Array([0.1, 0.2, 0.3, 0.4]) } as unknown as AttentionPayload;
  assert.deepEqual(Array.from(thumbnailOf(p, { layer: 5, head: 1 })), [12, 13, 14, 15]);
  assert.equal(headMaxOf(p, { layer: 5, head: 0 }), Math.fround(0.3));
  const v = thumbnailValues(new Uint8Array([THUMB_MASKED - 1, THUMB_MASKED, 0, 127]), 0.5);
  assert.deepEqual([v[0], Number.isNaN(v[1]), v[2]], [0.5, true, 0]);
});

test('pooling a window keeps the max (patterns) or the largest magnitude (scores), masked blocks NaN', () => {
  // 4 tokens: a one-token stripe at (3, 2) must survive pooling to 2 x 2.
  const n = 4;
  const values = new Float32Array(16).fill(NaN);
  for (let q = 0; q < n; q++) for (let k = 0; k <= q; k++) values[q * n + k] = 0.01;
  values[3 * n + 2] = 0.9;
  const pooled = poolWindow(values, n, { q0: 0, k0: 0, span: 4 }, 2, false);
  assert.equal(pooled.cells, 2);
  assert.ok(Number.isNaN(pooled.data[1])); // queries 0-1 cannot see keys 2-3
  assert.equal(pooled.data[3], Math.fround(0.9));
  const signed = values.map((v) => (Number.isNaN(v) ? v : -v));
  assert.equal(poolWindow(signed, n, { q0: 0, k0: 0, span: 4 }, 2, true).data[3], Math.fround(-0.9));
  // A zoomed window at full resolution is the values themselves.
  const zoom = poolWindow(values, n, { q0: 2, k0: 1, span: 2 }, 100, false);
  assert.deepEqual(Array.from(zoom.data), [0.01, 0.01, 0.01, 0.9].map(Math.fround));
  assert.deepEqual(clampWindow({ q0: -3, k0: 3.6, span: 1 }, n), { q0: 0, k0: 0, span: 4 });
  assert.deepEqual(clampWindow({ q0: 900, k0: 3.6, span: 8 }, 1000), { q0: 900, k0: 4, span: 8 });
  assert.equal(extent(signed, true), Math.fround(0.9));
});

test('painting: signed values centre on the middle of the scale, NaN is the masked colour', () => {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) lut.set([i, 0, 255 - i, 255], i * 4);
  const rgba = new Uint8ClampedArray(3 * 4);
  paint(new Float32Array([-2, 0, NaN]), 2, true, lut, [9, 9, 9], rgba);
  assert.deepEqual(Array.from(rgba), [0, 0, 255, 255, 128, 0, 127, 255, 9, 9, 9, 255]);
});

test('tick labels are thinned to one per 14 px, at round steps', () => {
  assert.deepEqual(thinTicks(0, 5, 20), [0, 1, 2, 3, 4]);
  assert.deepEqual(thinTicks(0, 1000, 0.7).slice(0, 3), [0, 20, 40]);
  assert.ok(thinTicks(0, 1000, 0.7).length <= 1000 * 0.7 / 14 + 1);
  assert.deepEqual(thinTicks(13, 40, 3), [15, 20, 25, 30, 35]);
});
