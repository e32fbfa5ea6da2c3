import assert from 'node:assert/strict';
import { test } from 'node:test';
import { THUMB_MASKED } from '../../src/protocol/panels';
import { attentionThumbnails, poolHead, thumbnailSize } from '../../src/worker/attention-overview';

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

test('a thumbnail keeps a one-token stripe of a 1,000-token head (max-pooling, not averaging)', () => {
  const pos = 1000;
  const size = thumbnailSize(pos);
  assert.equal(size, 64);
  const out = new Uint8Array(size * size);
  const max = poolHead(pattern(pos, 0.5), pos, size, out, new Float32Array(size * size));
  assert.equal(max, 1); // query 0 attends only to itself
  // Every diagonal block holds part of the stripe: at least ~half the head's max there.
  for (let i = 1; i < size; i++) assert.ok(out[i * size + i] >= 0.45 * (THUMB_MASKED - 1) || out[i * size + i - 1] >= 0.45 * (THUMB_MASKED - 1), `block ${i}`);
  // Far below the diagonal only the uniform part remains (weight 0.5/q < 0.01 of the max).
  assert.ok(out[(size - 1) * size + 1] <= 3);
  // Blocks whose keys all come after their queries are masked; the diagonal block is not.
  assert.equal(out[0 * size + 5], THUMB_MASKED);
  assert.notEqual(out[5 * size + 5], THUMB_MASKED);
});

test('each head is scaled to its own max, so a weak head is as visible as a strong one', () => {
  const pos = 8;
  const strong = pattern(pos, 0.9);
  const weak = strong.map((v) => v * 0.01);
  const all = new Float32Array([...strong, ...weak]); // [head, q, k]
  const t = attentionThumbnails(() => all, [0], 2, pos);
  assert.equal(t.size, 8);
  assert.deepEqual(Array.from(t.data.subarray(0, 64)), Array.from(t.data.subarray(64, 128)));
  assert.ok(Math.abs(t.headMax[1] - 0.01) < 1e-7);
});
