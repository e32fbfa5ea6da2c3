/** Generation and steering against the PyTorch reference. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { tokensFromIds } from '../../src/engine/model';
import { generate } from '../../src/engine/analysis/generate';
import { steer } from '../../src/engine/analysis/steering';
import { softmax, topK } from '../../src/engine/math';
import { withModel } from '../helpers/engine';
import { makeRandomCheckpoint, maxAbsDiff, referenceActivations } from '../helpers/reference';

const dir = makeRandomCheckpoint({ layers: 2, dModel: 32, heads: 4, dMlp: 64, vocab: 80, ctx: 24, dtype: 'F32', seed: 81 });
const ids = [3, 14, 15, 9, 26];

test('greedy generation follows the reference argmax step by step; sampling reproduces by seed', () => withModel(dir, async (engine) => {
  const out = await generate(engine, tokensFromIds(engine.ckpt, ids), { maxNewTokens: 4 });
  let seq = [...ids];
  for (const next of out) {
    const logits = referenceActivations(dir, [seq]).get('logits')!;
    const row = logits.data.subarray((seq.length - 1) * 80, seq.length * 80);
    assert.equal(next.id, topK(row, 1)[0].index);
    assert.ok(Math.abs(next.prob - softmax(row)[next.id]) < 1e-5, 'each token carries its probability');
    seq = [...seq, next.id];
  }
  const s1 = await generate(engine, tokensFromIds(engine.ckpt, ids), { maxNewTokens: 8, temperature: 1, seed: 1 });
  const s1again = await generate(engine, tokensFromIds(engine.ckpt, ids), { maxNewTokens: 8, temperature: 1, seed: 1 });
  const s2 = await generate(engine, tokensFromIds(engine.ckpt, ids), { maxNewTokens: 8, temperature: 1, seed: 2 });
  assert.deepEqual(s1, s1again);
  assert.notDeepEqual(s1, s2);
  const capped = await generate(engine, tokensFromIds(engine.ckpt, ids), { maxNewTokens: 100 });
  assert.equal(capped.length, 24 - ids.length, 'stops at the context length');
}));

test('steering by the difference of means: the vector, the steered logits and the continuation match the reference', () => withModel(dir, async (engine) => {
  const hook = 'blocks.0.hook_resid_post';
  const positive = [[1, 2, 3], [4, 5, 6, 7]];
  const negative = [[10, 11], [12, 13, 14]];
  const r = await steer(engine, tokensFromIds(engine.ckpt, ids), {
    hook, coefficient: 3, k: 5,
    positive: positive.map((p) => tokensFromIds(engine.ckpt, p)), negative: negative.map((p) => tokensFromIds(engine.ckpt, p)),
    generation: { maxNewTokens: 3 },
  });
  const mean = (prompts: number[][]) => {
    const sum = new Float64Array(32);
    let n = 0;
    for (const p of prompts) {
      const t = referenceActivations(dir, [p]).get(hook)!.data;
      t.forEach((v, i) => (sum[i % 32] += v));
      n += p.length;
    }
    return Float32Array.from(sum, (v) => v / n);
  };
  const [mp, mn] = [mean(positive), mean(negative)];
  const vector = mp.map((v, i) => 3 * (v - mn[i]));
  assert.ok(Math.abs(r.vectorNorm * 3 - Math.hypot(...vector)) < 1e-4);
  const steered = referenceActivations(dir, [ids], [{ hook, keep: { dims: [1], data: Float32Array.of(1) }, add: { dims: [32], data: vector } }]).get('logits')!;
  const last = steered.data.subarray(4 * 80, 5 * 80);
  r.increased.forEach((c) => assert.ok(Math.abs(c.after - last[c.id]) < 1e-4));
  const probs = softmax(last);
  r.decreased.forEach((c) => assert.ok(Math.abs(c.probAfter - probs[c.id]) < 1e-5 && c.probBefore > 0));
  assert.equal(r.topAfter[0].id, topK(last, 1)[0].index);
  assert.ok(r.increased[0].after - r.increased[0].before > 0.1, 'steering moved the logits');
  assert.equal(r.continuationAfter[0].id, r.topAfter[0].id);
  assert.equal(r.continuationBefore[0].id, r.topBefore[0].id);
  assert.ok(Math.abs(r.continuationAfter[0].prob - r.topAfter[0].prob) < 1e-6, 'the steered continuation is scored by the steered model');
}));

test('steering with coefficient 0 changes nothing', () => withModel(dir, async (engine) => {
  const r = await steer(engine, tokensFromIds(engine.ckpt, ids), { hook: 'blocks.1.hook_mlp_out', coefficient: 0, vector: new Float32Array(32).fill(1), generation: { maxNewTokens: 3 } });
  assert.deepEqual(r.topAfter, r.topBefore);
  assert.deepEqual(r.continuationAfter, r.continuationBefore);
  assert.ok(r.increased.every((c) => maxAbsDiff(Float32Array.of(c.before), Float32Array.of(c.after)) === 0));
}));
