import assert from 'node:assert/strict';
import { test } from 'node:test';
import { THUMB_MASKED } from '../../src/protocol/panels';
import { attentionThumbnails, headExtent, poolBlock, thumbnailSize } from '../../src/worker/attention-overview';

/** A causal [pos, pos] pattern: uniform rows, plus `stripe` at key q-1 (an induction-like one-token line). */
function pattern(pos: number, stripe: number): Float32Array {
  const p = new Float32Array(pos * pos);
  for (let q = 0; q < pos; q++) {
    const rest = q > 0 ? 1 - stripe : 1;
    for (let k = 0; k <= q; k++) p[q * pos + k] = rest / (q + 1);
    if (q > 0) p[q * pos + q - 1] += stripe;
  }
  return p;
}

test('pooling keeps a one-token stripe of a 1,000-token head (max, not average); masked blocks are NaN', () => {
  const pos = 1000;
  const size = thumbnailSize(pos);
  assert.equal(size, 40);
  const p = pattern(pos, 0.5);
  const cells = poolBlock(p, pos, [0, pos], [0, pos], size, size, false);
  assert.equal(headExtent(p, pos, false), 1); // query 0 attends only to itself
  // Every diagonal block holds part of the stripe (>= 0.5); far below it only the uniform part remains.
  for (let i = 1; i < size; i++) assert.ok(Math.max(cells[i * size + i], cells[i * size + i - 1]) >= 0.5, `block ${i}`);
  assert.ok(cells[(size - 1) * size + 1] < 0.01);
  assert.ok(Number.isNaN(cells[0 * size + 5]));
  // Signed: the value of largest magnitude survives.
  const signed = p.map((v) => -v);
  assert.equal(poolBlock(signed, pos, [500, 510], [0, 510], 1, 1, true)[0], Math.fround(-0.5 - 0.5 / 501)); // query 500 has the largest uniform part
});

test('each head is scaled to its own max, so a weak head is as visible as a strong one', () => {
  const pos = 8;
  const strong = pattern(pos, 0.9);
  const weak = strong.map((v) => v * 0.01);
  const all = new Float32Array([...strong, ...weak]); // [head, q, k]
  const t = attentionThumbnails(() => all, [0], 2, pos);
  assert.equal(t.size, 8);
  assert.ok(t.data.some((b) => b === THUMB_MASKED - 1));
  assert.deepEqual(Array.from(t.data.subarray(0, 64)), Array.from(t.data.subarray(64, 128)));
  assert.ok(Math.abs(t.headMax[1] - 0.01) < 1e-7);
});
