import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { detectionTargets, detectHeads, repeatedRandomTokens } from '../../src/engine/analysis/head-detectors';
import { ActivationCache } from '../../src/engine/cache';
import { parseConfig } from '../../src/engine/config';
import { topK, softmax } from '../../src/engine/math';
import { tokenLosses } from '../helpers/tensors';

test('detection targets follow the token sequence', () => {
  const toks = [9, 1, 2, 1, 2];
  assert.deepEqual(detectionTargets('previous-token', toks), [[], [0], [1], [2], [3]]);
  assert.deepEqual(detectionTargets('duplicate-token', toks), [[], [], [], [1], [2]]);
  assert.deepEqual(detectionTargets('induction', toks), [[], [], [], [2], [3]]);
});

test('a perfect previous-token head scores 1 and a uniform head scores 1/(q+1) on average', () => {
  const config = parseConfig({ model_type: 'gpt2', n_layer: 1, n_embd: 4, n_head: 2, n_positions: 8, vocab_size: 10 }, 'config.json');
  const pos = 4;
  const data = new Float32Array(2 * pos * pos); // [batch 1, head 2, q, k]
  for (let q = 0; q < pos; q++) {
    data[q * pos + Math.max(0, q - 1)] = 1; // head 0: previous token (BOS attends to itself)
    for (let k = 0; k <= q; k++) data[pos * pos + q * pos + k] = 1 / (q + 1); // head 1: uniform
  }
  const cache = new ActivationCache(new Map([['blocks.0.attn.hook_pattern', { dims: [1, 2, pos, pos], data }]]), config);
  const s = detectHeads(cache, [[0, 1, 2, 3]], 'previous-token');
  assert.equal(s.scores[0], 1);
  assert.ok(Math.abs(s.scores[1] - (1 / 2 + 1 / 3 + 1 / 4) / 3) < 1e-6);
});

test('repeated random tokens: BOS, then a half repeated once, reproducible by seed', () => {
  const [a] = repeatedRandomTokens(1, 50, 100, 99, 7);
  assert.equal(a.length, 101);
  assert.equal(a[0], 99);
  assert.deepEqual(a.slice(1, 51), a.slice(51));
  assert.ok(!a.slice(1).includes(99));
  assert.deepEqual(repeatedRandomTokens(1, 50, 100, 99, 7)[0], a);
  assert.notDeepEqual(repeatedRandomTokens(1, 50, 100, 99, 8)[0], a);
});

test('token losses are the negative log-probabilities of the next token', () => {
  const logits = { dims: [1, 2, 3], data: Float32Array.from([0, 0, 0, 1, 2, 3]) };
  const [losses] = tokenLosses(logits, [[0, 2]]);
  assert.equal(losses.length, 1);
  assert.ok(Math.abs(losses[0] - Math.log(3)) < 1e-9);
});

test('topK and softmax', () => {
  assert.deepEqual(topK(Float32Array.from([1, 5, 3, 5, -1]), 3).map((r) => r.index), [1, 3, 2]);
  const p = softmax(Float32Array.from([1000, 1000]));
  assert.deepEqual([...p], [0.5, 0.5]);
});
