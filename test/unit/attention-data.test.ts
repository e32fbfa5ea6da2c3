import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttentionPayload, HeadWindow } from '../../src/protocol/panels';
import { THUMB_MASKED } from '../../src/protocol/panels';
import { blockOf, cellText, covers, headMaxOf, headName, headPlotData, thumbnailOf, thumbnailWindow, tokenLabel } from '../../webview/attention/data';
import { clampWindow, paddedWindow, paint } from '../../webview/attention/raster';
import { ticksBetween } from '../../src/protocol/figures';

const tokens = [{ text: '<|endoftext|>', start: 0, end: 0 }, { text: 'a<b>', start: 0, end: 1 }, { text: ' c', start: 1, end: 3 }, { text: ' d', start: 3, end: 5 }];

/** Head L3H1 over all 3 tokens, exact: [query, key], masked NaN. */
function exact(hook: 'pattern' | 'attn_scores' = 'pattern'): HeadWindow {
  const values = new Float32Array([1, NaN, NaN, 0.25, 0.75, NaN, 0.2, 0.3, 0.5]);
  return { layer: 3, head: 1, hook, q: [0, 3], k: [0, 3], rows: 3, cols: 3, values: hook === 'pattern' ? values : values.map((v) => v * 4 - 2), max: 1 };
}

test('labels, hover text of exact and pooled windows, and plot data', () => {
  const w = exact();
  assert.equal(headName(w), 'L3H1');
  assert.equal(tokenLabel(tokens, 2), '2 ·c');
  assert.equal(cellText(tokens, w, 2, 1), 'L3H1 weight: query 2 ·c → key 1 a<b>: 30%');
  assert.match(cellText(tokens, w, 0, 2), /cannot see key 2 ·c \(masked\)/);
  // 4 tokens pooled to 2 x 2: the cell of (3, 1) covers queries 2-3 and keys 0-1.
  const pooled: HeadWindow = { layer: 3, head: 1, hook: 'pattern', q: [0, 4], k: [0, 4], rows: 2, cols: 2, values: new Float32Array([1, NaN, 0.9, 0.6]), max: 1 };
  assert.deepEqual(blockOf(pooled, 3, 1), { value: Math.fround(0.9), q: [2, 4], k: [0, 2] });
  assert.equal(cellText(tokens, pooled, 3, 1), 'L3H1 weight: queries 2–3 → keys 0–1: max 90% (zoom in for single tokens)');
  assert.equal(blockOf(pooled, 4, 0), undefined);
  const d = headPlotData(tokens, exact('attn_scores'));
  assert.deepEqual([d.dims, d.shape, d.scale, d.labels.key], [['query', 'key'], [3, 3], 'diverging', ['0 <|endoftext|>', '1 a<b>', '2 ·c']]);
});

test('a window covers the view when it holds it at the resolution wanted', () => {
  const pooled: HeadWindow = { layer: 0, head: 0, hook: 'pattern', q: [0, 1000], k: [0, 1000], rows: 250, cols: 250, values: new Float32Array(0), max: 1 };
  assert.ok(covers(pooled, [0, 1000], [0, 1000], 250));
  assert.ok(!covers(pooled, [0, 100], [0, 100], 250)); // zoomed in: 25 cells for 100 tokens is too coarse
  assert.ok(!covers(pooled, [900, 1001], [0, 100], 10));
  assert.ok(covers({ ...pooled, q: [0, 100], k: [0, 100], rows: 100, cols: 100 }, [10, 60], [20, 70], 250)); // exact covers any part
  assert.ok(!covers(undefined, [0, 1], [0, 1], 1));
});

test('thumbnails are found by layer and head, and stand in for the head over the whole prompt', () => {
  const size = 2;
  const p = { layers: [3, 5], nHeads: 2, tokens, thumbnails: { size, data: Uint8Array.from({ length: 16 }, (_, i) => i) }, headMax: new Float32Array([0.1, 0.2, 0.3, 0.4]) } as unknown as AttentionPayload;
  assert.deepEqual(Array.from(thumbnailOf(p, { layer: 5, head: 1 })), [12, 13, 14, 15]);
  assert.equal(headMaxOf(p, { layer: 5, head: 0 }), Math.fround(0.3));
  p.thumbnails.data[12] = THUMB_MASKED;
  p.thumbnails.data[13] = THUMB_MASKED - 1;
  const w = thumbnailWindow(p, { layer: 5, head: 1 });
  assert.deepEqual([w.q, w.k, w.rows, w.cols, w.max], [[0, 4], [0, 4], 2, 2, Math.fround(0.4)]);
  assert.ok(Number.isNaN(w.values[0]));
  assert.equal(w.values[1], Math.fround(0.4));
});

test('view windows stay in the token range; fetched windows reach past the view', () => {
  assert.deepEqual(clampWindow({ q0: -3, k0: 3.6, span: 1 }, 0, 4), { q0: 0, k0: 0, span: 4 });
  assert.deepEqual(clampWindow({ q0: 900, k0: 3.6, span: 8 }, 0, 1000), { q0: 900, k0: 4, span: 8 });
  assert.deepEqual(clampWindow({ q0: 0, k0: 0, span: 50 }, 100, 200), { q0: 100, k0: 100, span: 50 });
  assert.deepEqual(paddedWindow({ q0: 100, k0: 0, span: 100 }, 0, 1000, 0.25), { q: [75, 225], k: [0, 125] });
});

test('painting: signed values centre on the middle of the scale, NaN is the masked colour', () => {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) lut.set([i, 0, 255 - i, 255], i * 4);
  const rgba = new Uint8ClampedArray(3 * 4);
  paint(new Float32Array([-2, 0, NaN]), 2, true, lut, [9, 9, 9], rgba);
  assert.deepEqual(Array.from(rgba), [0, 0, 255, 255, 128, 0, 127, 255, 9, 9, 9, 255]);
});

test('tick labels are thinned to one per 14 px, at round steps', () => {
  assert.deepEqual(ticksBetween(0, 5, 20), [0, 1, 2, 3, 4]);
  assert.deepEqual(ticksBetween(0, 1000, 0.7).slice(0, 3), [0, 20, 40]);
  assert.ok(ticksBetween(0, 1000, 0.7).length <= 1000 * 0.7 / 14 + 1);
  assert.deepEqual(ticksBetween(13, 40, 3), [15, 20, 25, 30, 35]);
});
